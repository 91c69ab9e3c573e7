//! The benchmark suite: every figure BENCHMARKS.md quotes, measured in one run on this machine.
//!
//!   cargo bench --bench suite
//!
//! 1. Training throughput of `trainlog record` (the release binary, as a user runs it) on the
//!    built-in MNIST-1D: --capture none and both, and their time ratio; then two seeds with
//!    --jobs 1 and --jobs 2 (the same --threads in all) and their throughput ratio.
//! 2. The SQLite writer: rows/s of `Store::insert_observations` alone (prepared statement, one
//!    transaction, rows in key order), and of the recorder (capture arithmetic, sorting and
//!    inserting) on synthetic 10-class logits.
//! 3. Bytes per observation in SQLite for --logits f32, f16 and none: the growth of the
//!    database file over the rows written, eval phase alone and both phases.
//! 4. On a synthetic experiment (TRAINLOG_BENCH_RUNS × TRAINLOG_BENCH_LOG_EPOCHS ×
//!    TRAINLOG_BENCH_EXAMPLES, default 4 × 20 × 10,000): Parquet export rows/s and bytes per
//!    row, and every canned query's latency (best of 3).
//!
//! Other knobs: TRAINLOG_BENCH_EPOCHS (training epochs, default 3), TRAINLOG_BENCH_REPEATS
//! (default 2; the best time of each mode is kept, modes interleaved), TRAINLOG_BENCH_ROWS
//! (writer rows, default 2,000,000). The synthetic experiment is kept in target/ between runs.

mod synthetic;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use synthetic::{env, synthetic_dataset, CLASSES};
use trainlog::capture::{observe, LogitsFormat};
use trainlog::export::parquet::{export_parquet, ParquetOptions};
use trainlog::export::Scope;
use trainlog::recorder::{Recorder, RunTarget};
use trainlog::store::{ObservationRow, Store};
use trainlog::trainer::{BatchRecord, EpochSummary, Event, Phase};

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or("?".into(), |k| format!("{:.0} GiB", k / 1048576.0));
    format!(
        "{cpu}, {cores} cores, {mem}; libtorch {} (CPU)",
        trainlog::LIBTORCH_VERSION
    )
}

/// Seconds `trainlog record` takes with `args` into a fresh database in `dir`.
fn record(dir: &Path, args: &[&str]) -> f64 {
    let db = dir.join("bench.db");
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_dir_all(dir.join("bench.db.checkpoints"));
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_trainlog"))
        .args(["record", "--dataset", "mnist1d", "--quiet", "--db"])
        .arg(&db)
        .args(args)
        .output()
        .expect("running trainlog");
    let s = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "trainlog record {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    s
}

fn training(dir: &Path) {
    let epochs = env("TRAINLOG_BENCH_EPOCHS", 3);
    let repeats = env("TRAINLOG_BENCH_REPEATS", 2);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (e, t) = (epochs.to_string(), threads.to_string());
    let train_examples = 4000.0 * epochs as f64;
    // capture none / both, one seed; then --jobs 1 / 2 over two seeds (capture both).
    let modes: [(&str, Vec<&str>, f64); 4] = [
        (
            "capture none",
            vec!["--capture", "none", "--seeds", "0..1"],
            1.0,
        ),
        (
            "capture both",
            vec!["--capture", "both", "--seeds", "0..1"],
            1.0,
        ),
        (
            "2 seeds, --jobs 1",
            vec!["--seeds", "0..2", "--jobs", "1"],
            2.0,
        ),
        (
            "2 seeds, --jobs 2",
            vec!["--seeds", "0..2", "--jobs", "2"],
            2.0,
        ),
    ];
    let mut best = [f64::INFINITY; 4];
    for rep in 0..repeats {
        for k in 0..4 {
            let m = (k + rep) % 4;
            let mut args = modes[m].1.clone();
            args.extend(["--epochs", &e, "--threads", &t]);
            best[m] = best[m].min(record(dir, &args));
        }
    }
    println!("\n## Training throughput (MNIST-1D, 4,000 train examples, {epochs} epochs, --threads {threads}, best of {repeats})");
    for (m, (name, _, seeds)) in modes.iter().enumerate() {
        println!(
            "{name:<20} {:>8.0} train examples/s  ({:.2} s)",
            seeds * train_examples / best[m],
            best[m]
        );
    }
    println!(
        "capture both / none: time ratio {:.3} (the eval phase's extra pass over all 5,000 examples included)",
        best[1] / best[0]
    );
    println!(
        "--jobs 2 / --jobs 1: throughput ratio {:.3}",
        best[2] / best[3]
    );
}

/// `rows` synthetic observations of one run over `n` examples in key order: (phase, epoch,
/// example, logits).
fn synthetic_rows(n: usize, rows: usize) -> Vec<(i64, i64, i64, [f32; CLASSES])> {
    let mut out = Vec::with_capacity(rows);
    let mut x: u32 = 1;
    for i in 0..rows {
        let mut z = [0f32; CLASSES];
        for v in &mut z {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *v = (x % 2000) as f32 / 500.0 - 2.0;
        }
        out.push((0, (i / n) as i64, (i % n) as i64, z));
    }
    out
}

/// A fresh log at `path` with the synthetic dataset of `n` examples and one run.
fn fresh(path: &Path, n: usize, logits: LogitsFormat) -> (Store, i64) {
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
    let mut store = Store::open(path).expect("store");
    let ds = store
        .ensure_dataset(&synthetic_dataset(n))
        .expect("dataset");
    store.ensure_experiment("bench", ds).expect("experiment");
    let run = synthetic::create_run(&store, 0, 1, logits.as_str());
    (store, run)
}

fn file_bytes(store: &Store) -> i64 {
    store
        .conn()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    store
        .conn()
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )
        .expect("size")
}

/// Writes the events of `epochs` epochs over `n` examples through a recorder; returns (rows,
/// seconds in the recorder, bytes the file grew by).
fn through_recorder(
    path: &Path,
    n: usize,
    epochs: usize,
    step: bool,
    logits: LogitsFormat,
) -> (u64, f64, i64) {
    let (store, run_id) = fresh(path, n, logits);
    let before = file_bytes(&store);
    let shared = Arc::new(Mutex::new(store));
    let mut rec = Recorder::new(
        shared.clone(),
        RunTarget {
            run_id,
            labels: (0..n).map(|i| (i % CLASSES) as u32).collect(),
            n_classes: CLASSES,
            logits,
        },
    );
    let n_train = n * 4 / 5;
    let template = synthetic_rows(n, n);
    let mut spent = 0.0;
    for epoch in 0..=epochs as u32 {
        let mut events = Vec::new();
        if step && epoch > 0 {
            // Train examples in a shuffled order (a fixed stride permutation), batches of 100.
            let order: Vec<u32> = (0..n_train as u32)
                .map(|i| (i as u64 * 7919 % n_train as u64) as u32)
                .collect();
            for (b, chunk) in order.chunks(100).enumerate() {
                events.push(Event::Batch(BatchRecord {
                    phase: Phase::Step,
                    epoch,
                    batch: b as u32,
                    first_position: (b * 100) as u32,
                    examples: chunk.to_vec(),
                    logits: chunk.iter().flat_map(|&i| template[i as usize].3).collect(),
                }));
            }
        }
        for (b, start) in (0..n).step_by(250).enumerate() {
            let ids: Vec<u32> = (start as u32..(start + 250).min(n) as u32).collect();
            events.push(Event::Batch(BatchRecord {
                phase: Phase::Eval,
                epoch,
                batch: b as u32,
                first_position: start as u32,
                logits: ids.iter().flat_map(|&i| template[i as usize].3).collect(),
                examples: ids,
            }));
        }
        events.push(Event::EpochEnd(EpochSummary {
            epoch,
            train_loss: None,
            train_acc: None,
            eval_train_acc: None,
            test_loss: None,
            test_acc: None,
            wall_s: 0.0,
        }));
        events.push(Event::Commit {
            epoch,
            obsolete: Vec::new(),
        });
        let t = Instant::now();
        for ev in events {
            rec.handle(ev).expect("recorded");
        }
        spent += t.elapsed().as_secs_f64();
    }
    let rows = rec.finish().expect("recorded").rows;
    let store = Arc::try_unwrap(shared)
        .ok()
        .expect("done")
        .into_inner()
        .expect("lock");
    let grew = file_bytes(&store) - before;
    (rows, spent, grew)
}

fn writer(dir: &Path) {
    let rows = env("TRAINLOG_BENCH_ROWS", 2_000_000);
    let n = 100_000;
    println!("\n## SQLite writer ({rows} eval observations of {CLASSES} classes, f32 logits)");
    // The statement alone: values computed beforehand, one transaction, key order.
    let (store, run_id) = fresh(&dir.join("writer.db"), n, LogitsFormat::F32);
    let data = synthetic_rows(n, rows);
    let blobs: Vec<u8> = data
        .iter()
        .flat_map(|r| r.3.iter().flat_map(|v| v.to_le_bytes()))
        .collect();
    let preds: Vec<i64> = data
        .iter()
        .map(|r| observe(&r.3, (r.2 as usize % CLASSES) as u32).pred as i64)
        .collect();
    let t = Instant::now();
    store.begin().expect("begin");
    let written = store
        .insert_observations(data.iter().enumerate().map(|(i, r)| ObservationRow {
            run_id,
            phase: r.0,
            epoch: r.1,
            example_id: r.2,
            position: None,
            batch: None,
            pred: preds[i],
            loss: None,
            margin: None,
            logits: Some(&blobs[i * 4 * CLASSES..(i + 1) * 4 * CLASSES]),
        }))
        .expect("insert");
    store.commit().expect("commit");
    let s = t.elapsed().as_secs_f64();
    println!(
        "Store::insert_observations: {written} rows in {s:.2} s: {:.0} rows/s",
        written as f64 / s
    );
    drop(store);
    // The recorder: capture arithmetic, sorting, inserting, committing per epoch.
    let epochs = rows / n - 1;
    let (r, s, _) = through_recorder(
        &dir.join("recorder.db"),
        n,
        epochs,
        false,
        LogitsFormat::F32,
    );
    println!(
        "recorder (capture arithmetic + insert, {n} examples × {} epochs): {r} rows in {s:.2} s: {:.0} rows/s",
        epochs + 1,
        r as f64 / s
    );
}

fn bytes_per_observation(dir: &Path) {
    let (n, epochs) = (20_000, 10);
    println!("\n## Bytes per observation in SQLite ({n} examples, {CLASSES} classes, epochs 0..{epochs}; file growth / rows)");
    for logits in [LogitsFormat::F32, LogitsFormat::F16, LogitsFormat::None] {
        let (r, _, b) = through_recorder(&dir.join("bytes.db"), n, epochs, false, logits);
        let (r2, _, b2) = through_recorder(&dir.join("bytes.db"), n, epochs, true, logits);
        println!(
            "--logits {:<4}  eval phase alone {:>6.1} B/observation   both phases {:>6.1} B/observation",
            logits.as_str(),
            b as f64 / r as f64,
            b2 as f64 / r2 as f64
        );
    }
}

fn experiment_log(dir: &Path) {
    let runs = env("TRAINLOG_BENCH_RUNS", 4);
    let epochs = env("TRAINLOG_BENCH_LOG_EPOCHS", 20);
    let n = env("TRAINLOG_BENCH_EXAMPLES", 10_000);
    println!("\n## Synthetic experiment: {runs} runs × {epochs} epochs × {n} examples, {CLASSES} classes, capture both, f32 logits");
    let store = synthetic::open_log(runs, epochs, n);
    let out = dir.join("export");
    let opts = ParquetOptions::default();
    let t = Instant::now();
    let r = export_parquet(
        &store,
        &Scope::Experiment("bench".into()),
        &out,
        true,
        &opts,
    )
    .expect("export");
    let s = t.elapsed().as_secs_f64();
    println!(
        "Parquet export: {} rows in {s:.2} s: {:.0} rows/s, {:.1} bytes per row",
        r.rows,
        r.rows as f64 / s,
        r.observation_bytes as f64 / r.rows as f64
    );
    for (name, best, _) in synthetic::canned_latencies(&store) {
        println!("query {name:<24} {:>8.1} ms", best * 1e3);
    }
}

fn main() {
    let tmp = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-suite");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("scratch folder");
    println!("# trainlog benchmark suite");
    println!("machine: {}", machine());
    let only = std::env::var("TRAINLOG_BENCH_ONLY").unwrap_or_default();
    let wants = |s: &str| only.is_empty() || only.split(',').any(|o| o == s);
    if wants("training") {
        training(&tmp);
    }
    if wants("writer") {
        writer(&tmp);
    }
    if wants("bytes") {
        bytes_per_observation(&tmp);
    }
    if wants("log") {
        experiment_log(&tmp);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
