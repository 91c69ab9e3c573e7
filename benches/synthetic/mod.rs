//! The synthetic experiment the benchmarks share: `runs` runs × `epochs` epochs × `n` examples,
//! 10 classes, written through the real recorder with the metrics computed as `record` does,
//! and kept in target/ between runs (delete it to rebuild). Each bench uses part of it.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use trainlog::capture::LogitsFormat;
use trainlog::dataset::{Dataset, Example, Inputs, Split};
use trainlog::metrics::compute_run;
use trainlog::recorder::{Recorder, RunTarget};
use trainlog::store::{NewRun, RunStatus, Store};
use trainlog::trainer::{BatchRecord, EpochSummary, Event, Phase};

pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub const CLASSES: usize = 10;

/// `n` examples of 10 classes (label = index mod 10), the first 80% train; no real inputs.
pub fn synthetic_dataset(n: usize) -> Dataset {
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

/// A run of the bench experiment: seeds `seed`, model "synthetic", capture both.
pub fn create_run(store: &Store, seed: u64, epochs: usize, logits: &str) -> i64 {
    store
        .create_run(&NewRun {
            experiment: "bench",
            init_seed: seed,
            order_seed: seed,
            model: "synthetic",
            config_json: "{}",
            epochs,
            capture: "both",
            device: "cpu",
            logits,
        })
        .expect("run")
}

pub fn build(path: &std::path::Path, runs: usize, epochs: usize, n: usize) {
    let data = synthetic_dataset(n);
    let mut store = Store::open(path).expect("store");
    let ds = store.ensure_dataset(&data).expect("dataset");
    store.ensure_experiment("bench", ds).expect("experiment");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let difficulty: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let n_train = data.indices(Split::Train).len();
    let (mut rows, mut write_s, mut metrics_s) = (0u64, 0.0, 0.0);
    for r in 0..runs {
        let run_id = create_run(&store, r as u64, epochs, "f32");
        let learned: Vec<f64> = difficulty
            .iter()
            .map(|d| 1.0 + d * d * epochs as f64 * 0.8 + rng.random::<f64>() * 3.0)
            .collect();
        let shared = Arc::new(Mutex::new(store));
        let mut rec = Recorder::new(
            shared.clone(),
            RunTarget {
                run_id,
                labels: data.examples.iter().map(|e| e.label).collect(),
                n_classes: CLASSES,
                logits: LogitsFormat::F32,
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
        rows += rec.finish().expect("recorded").rows;
        store = Arc::try_unwrap(shared)
            .ok()
            .expect("the recorder is done")
            .into_inner()
            .expect("not poisoned");
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

/// The log of `runs` × `epochs` × `n`, built on first use (experiment 'bench').
pub fn log(runs: usize, epochs: usize, n: usize) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("bench-queries-v4-{runs}x{epochs}x{n}.db"));
    if !path.exists() {
        let tmp = path.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        build(&tmp, runs, epochs, n);
        std::fs::rename(&tmp, &path).expect("rename");
        let _ = std::fs::remove_file(tmp.with_extension("partial-wal"));
        let _ = std::fs::remove_file(tmp.with_extension("partial-shm"));
    }
    path
}

/// Every canned query's latency on the bench experiment (best of 3), with its rows.
pub fn canned_latencies(store: &Store) -> Vec<(&'static str, f64, usize)> {
    use rusqlite::types::Value;
    let mut params: std::collections::BTreeMap<String, Value> = Default::default();
    params.insert("experiment".into(), Value::Text("bench".into()));
    params.insert("run".into(), Value::Null);
    params.insert("phase".into(), Value::Text("eval".into()));
    params.insert("split".into(), Value::Text("train".into()));
    params.insert("model".into(), Value::Null);
    trainlog::query::canned()
        .iter()
        .map(|c| {
            let mut p = params.clone();
            for spec in &c.params {
                if let Some(d) = &spec.default {
                    p.insert(spec.name.clone(), trainlog::query::param_value(d));
                }
            }
            let mut best = f64::INFINITY;
            let mut rows = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let out = trainlog::query::run(store, c.sql, &p).expect(c.name);
                best = best.min(t.elapsed().as_secs_f64());
                rows = out.iter().map(|s| s.batch.num_rows()).sum::<usize>();
            }
            (c.name, best, rows)
        })
        .collect()
}

/// Opens the bench experiment's log (built on first use) read-only and prints its size.
pub fn open_log(runs: usize, epochs: usize, n: usize) -> Store {
    let path = log(runs, epochs, n);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let store = Store::open_read_only(&path).expect("open");
    let obs: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
        .expect("count");
    println!(
        "database: {:.1} MB, {obs} observations, {:.1} bytes per observation (file / rows)",
        bytes as f64 / 1e6,
        bytes as f64 / obs as f64
    );
    store
}
