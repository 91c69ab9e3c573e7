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

use rusqlite::types::Value;
use std::collections::BTreeMap;
use std::time::Instant;
use synthetic::{env, CLASSES};
use trainlog::query;
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
    let mut params: BTreeMap<String, Value> = BTreeMap::new();
    params.insert("experiment".into(), Value::Text("bench".into()));
    params.insert("run".into(), Value::Null);
    params.insert("phase".into(), Value::Text("eval".into()));
    params.insert("split".into(), Value::Text("train".into()));
    params.insert("model".into(), Value::Null);
    for c in query::canned() {
        let mut p = params.clone();
        for spec in &c.params {
            if let Some(d) = &spec.default {
                p.insert(spec.name.clone(), query::param_value(d));
            }
        }
        let mut best = f64::INFINITY;
        let mut rows = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let out = query::run(&store, c.sql, &p).expect(c.name);
            best = best.min(t.elapsed().as_secs_f64());
            rows = out.iter().map(|s| s.batch.num_rows()).sum::<usize>();
        }
        println!("query {:<24} {:>8.1} ms  ({rows} rows)", c.name, best * 1e3);
    }
}
