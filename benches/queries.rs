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
use trainlog::store::Store;

fn main() {
    let runs = env("TRAINLOG_BENCH_RUNS", 10);
    let epochs = env("TRAINLOG_BENCH_EPOCHS", 100);
    let n = env("TRAINLOG_BENCH_EXAMPLES", 16_000);
    println!("trainlog query latency: synthetic log, {runs} runs × {epochs} epochs × {n} examples, {CLASSES} classes");
    let path = synthetic::log(runs, epochs, n);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let store = Store::open_read_only(&path).expect("open");
    let obs: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
        .expect("count");
    println!(
        "database: {:.1} MB, {obs} observations, {:.1} bytes per observation",
        bytes as f64 / 1e6,
        bytes as f64 / obs as f64
    );
    for (name, best, rows) in synthetic::canned_latencies(&store) {
        println!("query {name:<24} {:>8.1} ms  ({rows} rows)", best * 1e3);
    }
}
