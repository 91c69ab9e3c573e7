//! Canned-query latency on a synthetic experiment (default 10 runs × 100 epochs × 16,000
//! examples, 10 classes), written through the real recorder, with the metrics computed as
//! `record` does.
//!
//!   cargo bench --bench queries
//!   TRAINLOG_BENCH_RUNS=3 TRAINLOG_BENCH_EPOCHS=20 TRAINLOG_BENCH_EXAMPLES=2000 cargo bench --bench queries
//!
//! The log is kept in target/ between runs (delete it to rebuild). Prints the write rate, the
//! metrics time per run, the database size and each canned query's latency (best of 3).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::types::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use trainlog::dataset::{Dataset, Example, Inputs, Split};
use trainlog::metrics::compute_run;
use trainlog::query;
use trainlog::recorder::{Recorder, RunTarget};
use trainlog::store::{NewRun, RunStatus, Store};
use trainlog::trainer::{BatchRecord, EpochSummary, Event, Phase};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const CLASSES: usize = 10;

fn synthetic_dataset(n: usize) -> Dataset {
    let n_train = n * 4 / 5;
    Dataset {
        spec: format!("synthetic:n={n}"),
        class_names: (0..CLASSES).map(|c| c.to_string()).collect(),
        examples: (0..n)
            .map(|i| Example {
                source_id: i.to_string(),
                split: if i < n_train {
                    Split::Train
                } else {
                    Split::Test
                },
                label: (i % CLASSES) as u32,
                orig_label: (i % CLASSES) as u32,
                length: 1,
            })
            .collect(),
        inputs: Inputs::Numeric {
            seq_len: 1,
            features: 1,
            values: vec![0.0; n],
        },
        label_noise: 0.0,
    }
}

/// Logits of example i at epoch e of run r: the true class wins once the example is learned
/// (at an epoch set by its difficulty plus run noise), with noise that causes some forgetting.
fn logits(rng: &mut ChaCha8Rng, label: usize, learned_at: f64, epoch: usize, out: &mut Vec<f32>) {
    for k in 0..CLASSES {
        let mut z: f32 = rng.random::<f32>() - 0.5;
        if k == label {
            z += if epoch as f64 >= learned_at { 2.0 } else { 0.0 } + rng.random::<f32>() - 0.4;
        }
        out.push(z);
    }
}

fn build(path: &std::path::Path, runs: usize, epochs: usize, n: usize) {
    let data = synthetic_dataset(n);
    let mut store = Store::open(path).expect("store");
    let ds = store.ensure_dataset(&data).expect("dataset");
    store.ensure_experiment("bench", ds).expect("experiment");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let difficulty: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let n_train = data.indices(Split::Train).len();
    let (mut rows, mut write_s, mut metrics_s) = (0u64, 0.0, 0.0);
    for r in 0..runs {
        let run_id = store
            .create_run(&NewRun {
                experiment: "bench",
                init_seed: r as u64,
                order_seed: r as u64,
                model: "synthetic",
                config_json: "{}",
                epochs,
                capture: "both",
                device: "cpu",
            })
            .expect("run");
        let learned: Vec<f64> = difficulty
            .iter()
            .map(|d| 1.0 + d * d * epochs as f64 * 0.8 + rng.random::<f64>() * 3.0)
            .collect();
        let mut rec = Recorder::new(
            store,
            RunTarget {
                run_id,
                labels: data.examples.iter().map(|e| e.label).collect(),
                n_classes: CLASSES,
                store_logits: true,
            },
        );
        let t = Instant::now();
        for epoch in 0..=epochs {
            if epoch > 0 {
                // Step phase: the train examples in a shuffled order, batches of 100.
                let mut order: Vec<u32> = (0..n_train as u32).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.random_range(0..=i));
                }
                for (b, chunk) in order.chunks(100).enumerate() {
                    let mut z = Vec::with_capacity(chunk.len() * CLASSES);
                    for &i in chunk {
                        logits(
                            &mut rng,
                            i as usize % CLASSES,
                            learned[i as usize] + 0.5,
                            epoch,
                            &mut z,
                        );
                    }
                    rec.handle(Event::Batch(BatchRecord {
                        phase: Phase::Step,
                        epoch: epoch as u32,
                        batch: b as u32,
                        first_position: (b * 100) as u32,
                        examples: chunk.to_vec(),
                        logits: z,
                    }))
                    .expect("step batch");
                }
            }
            for (b, start) in (0..n).step_by(1000).enumerate() {
                let ids: Vec<u32> = (start as u32..(start + 1000).min(n) as u32).collect();
                let mut z = Vec::with_capacity(ids.len() * CLASSES);
                for &i in &ids {
                    logits(
                        &mut rng,
                        i as usize % CLASSES,
                        learned[i as usize],
                        epoch,
                        &mut z,
                    );
                }
                rec.handle(Event::Batch(BatchRecord {
                    phase: Phase::Eval,
                    epoch: epoch as u32,
                    batch: b as u32,
                    first_position: start as u32,
                    examples: ids,
                    logits: z,
                }))
                .expect("eval batch");
            }
            rec.handle(Event::EpochEnd(EpochSummary {
                epoch: epoch as u32,
                train_loss: None,
                train_acc: None,
                eval_train_acc: None,
                test_loss: None,
                test_acc: None,
                wall_s: 0.0,
            }))
            .expect("epoch end");
            rec.handle(Event::Commit {
                epoch: epoch as u32,
                obsolete: Vec::new(),
            })
            .expect("commit");
        }
        write_s += t.elapsed().as_secs_f64();
        let (s, stats) = rec.finish();
        rows += stats.expect("recorded").rows;
        store = s;
        let t = Instant::now();
        compute_run(&store, run_id).expect("metrics");
        metrics_s += t.elapsed().as_secs_f64();
        store
            .finish_run(run_id, RunStatus::Completed, None)
            .expect("finish");
        eprintln!("run {}/{runs} written", r + 1);
    }
    println!(
        "wrote {rows} observation rows in {write_s:.1} s: {:.0} rows/s (capture arithmetic and SQLite, one transaction per epoch)",
        rows as f64 / write_s
    );
    println!(
        "per-example metrics: {:.2} s per run",
        metrics_s / runs as f64
    );
}

fn main() {
    let runs = env("TRAINLOG_BENCH_RUNS", 10);
    let epochs = env("TRAINLOG_BENCH_EPOCHS", 100);
    let n = env("TRAINLOG_BENCH_EXAMPLES", 16_000);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("bench-queries-{runs}x{epochs}x{n}.db"));
    println!("trainlog query latency: synthetic log, {runs} runs × {epochs} epochs × {n} examples, {CLASSES} classes");
    if !path.exists() {
        let tmp = path.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        build(&tmp, runs, epochs, n);
        std::fs::rename(&tmp, &path).expect("rename");
        let _ = std::fs::remove_file(tmp.with_extension("partial-wal"));
        let _ = std::fs::remove_file(tmp.with_extension("partial-shm"));
    }
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
