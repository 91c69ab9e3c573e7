//! Canned-query latency on a synthetic experiment (default 10 runs × 100 epochs × 16,000
//! examples, 10 classes), written through the real recorder, with the metrics computed as
//! `record` does.
//!
//!   cargo bench --bench queries
//!   TRAINLOG_BENCH_RUNS=3 TRAINLOG_BENCH_EPOCHS=20 TRAINLOG_BENCH_EXAMPLES=2000 cargo bench --bench queries
//!
//! The log is kept in target/ between runs (delete it to rebuild). Prints the write rate, the
//! metrics time per run, the database size and each canned query's latency (best of 3).

mod synthetic;

use synthetic::{env, CLASSES};

fn main() {
    let runs = env("TRAINLOG_BENCH_RUNS", 10);
    let epochs = env("TRAINLOG_BENCH_EPOCHS", 100);
    let n = env("TRAINLOG_BENCH_EXAMPLES", 16_000);
    println!("trainlog query latency: synthetic log, {runs} runs × {epochs} epochs × {n} examples, {CLASSES} classes");
    let store = synthetic::open_log(runs, epochs, n);
    for (name, best, rows) in synthetic::canned_latencies(&store) {
        println!("query {name:<24} {:>8.1} ms  ({rows} rows)", best * 1e3);
    }
}
