//! Parquet export throughput and size on a synthetic log: 10 classes, capture both (the eval
//! phase over every example at epochs 0..E, the step phase over the train examples at 1..E,
//! with positions), logits stored, built directly through the Store API.
//!
//!   cargo bench --bench export                                  # about 2 million rows
//!   TRAINLOG_BENCH_ROWS=20000000 cargo bench --bench export     # the 20-million-row log
//!   TRAINLOG_BENCH_EXAMPLES=16000 TRAINLOG_BENCH_EPOCHS=25 …    # the shape of one run
//!
//! Runs are added until the log has at least TRAINLOG_BENCH_ROWS rows. The log is kept in
//! target/ between runs (delete it to rebuild). The export runs in a child process, so that
//! its peak resident memory (VmHWM from /proc/self/status) is the export's alone; it prints
//! rows/s, bytes per row of the observation files, the bytes per row of each column and the
//! peak RSS.

mod synthetic;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Instant;
use synthetic::{env, synthetic_dataset, CLASSES};
use trainlog::capture::{logits_to_blob, observe};
use trainlog::dataset::Split;
use trainlog::export::parquet::{export_parquet, ParquetOptions};
use trainlog::export::Scope;
use trainlog::store::{ObservationRow, RunStatus, Store};

/// Logits of one example: noise, plus a lead for the true class once it is learned.
fn logits(rng: &mut ChaCha8Rng, label: usize, learned: bool, out: &mut [f32]) {
    for (k, z) in out.iter_mut().enumerate() {
        *z = rng.random::<f32>() * 2.0 - 1.0;
        if k == label && learned {
            *z += 2.0 + rng.random::<f32>();
        }
    }
}

/// Writes runs until the log holds at least `target` rows; returns the rows.
fn build(path: &Path, target: u64, epochs: usize, n: usize) -> u64 {
    let data = synthetic_dataset(n);
    let mut store = Store::open(path).expect("store");
    let ds = store.ensure_dataset(&data).expect("dataset");
    store.ensure_experiment("bench", ds).expect("experiment");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let difficulty: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let n_train = data.indices(Split::Train).len();
    let t = Instant::now();
    let (mut rows, mut run) = (0u64, 0u64);
    let mut z = [0f32; CLASSES];
    let mut blob = Vec::with_capacity(4 * CLASSES);
    while rows < target {
        let run_id = synthetic::create_run(&store, run, epochs, "f32");
        store.begin().expect("begin");
        let mut insert = |phase: i64, epoch: usize, id: usize, pos: Option<usize>, z: &[f32]| {
            let label = id % CLASSES;
            let o = observe(z, label as u32);
            logits_to_blob(z, &mut blob);
            store
                .insert_observations(std::iter::once(ObservationRow {
                    run_id,
                    phase,
                    epoch: epoch as i64,
                    example_id: id as i64,
                    position: pos.map(|p| p as i64),
                    batch: pos.map(|p| (p / 100) as i64),
                    pred: o.pred as i64,
                    // f32 logits: loss and margin are recomputed from them on read.
                    loss: None,
                    margin: None,
                    logits: Some(&blob),
                }))
                .expect("insert");
        };
        for epoch in 0..=epochs {
            for (id, d) in difficulty.iter().enumerate() {
                let learned = epoch as f64 >= 1.0 + d * epochs as f64;
                logits(&mut rng, id % CLASSES, learned, &mut z);
                insert(0, epoch, id, None, &z);
            }
            rows += n as u64;
            if epoch > 0 {
                let mut order: Vec<usize> = (0..n_train).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.random_range(0..=i));
                }
                let mut position = vec![0usize; n_train];
                for (p, &id) in order.iter().enumerate() {
                    position[id] = p;
                }
                // Rows in key order (phase, epoch, example_id), as the recorder's B-tree holds them.
                for (id, (d, &p)) in difficulty.iter().zip(&position).enumerate() {
                    let learned = epoch as f64 >= 1.5 + d * epochs as f64;
                    logits(&mut rng, id % CLASSES, learned, &mut z);
                    insert(1, epoch, id, Some(p), &z);
                }
                rows += n_train as u64;
            }
        }
        store.commit().expect("commit");
        store
            .finish_run(run_id, RunStatus::Completed, None)
            .expect("finish");
        run += 1;
        eprintln!("run {run} written ({rows} rows)");
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "built the log: {rows} rows in {run} runs, {s:.1} s ({:.0} rows/s through Store::insert_observations)",
        rows as f64 / s
    );
    rows
}

/// VmHWM of this process, in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The child process: exports the log once and reports.
fn export(db: &Path, out: &Path) {
    let store = Store::open_read_only(db).expect("open");
    let opts = ParquetOptions::default();
    let t = Instant::now();
    let r = export_parquet(&store, &Scope::Experiment("bench".into()), out, true, &opts)
        .expect("export");
    let s = t.elapsed().as_secs_f64();
    let parts: Vec<&PathBuf> = r
        .files
        .iter()
        .map(|f| &f.0)
        .filter(|p| p.starts_with(out.join("observations")))
        .collect();
    println!(
        "export: {} rows in {} part files, {s:.2} s: {:.0} rows/s",
        r.rows,
        parts.len(),
        r.rows as f64 / s
    );
    println!(
        "observation files: {:.1} MB, {:.2} bytes per row ({CLASSES} classes, zstd level {})",
        r.observation_bytes as f64 / 1e6,
        r.observation_bytes as f64 / r.rows as f64,
        opts.zstd_level
    );
    // Compressed bytes per row of each column, from the files' metadata.
    let mut by_column: Vec<(String, i64)> = Vec::new();
    for p in &parts {
        let f = std::fs::File::open(p).expect("part file");
        let reader = parquet::file::reader::SerializedFileReader::new(f).expect("parquet");
        let meta = parquet::file::reader::FileReader::metadata(&reader);
        for rg in meta.row_groups() {
            for c in rg.columns() {
                let name = c.column_path().string();
                match by_column.iter_mut().find(|(n, _)| *n == name) {
                    Some(e) => e.1 += c.compressed_size(),
                    None => by_column.push((name, c.compressed_size())),
                }
            }
        }
    }
    let cols: Vec<String> = by_column
        .iter()
        .map(|(n, b)| format!("{n} {:.2}", *b as f64 / r.rows as f64))
        .collect();
    println!("bytes per row by column: {}", cols.join(", "));
    match peak_rss_mib() {
        Some(m) => println!("peak RSS of the export process (VmHWM): {m:.1} MiB"),
        None => println!("peak RSS: /proc/self/status not readable"),
    }
}

fn main() {
    if let (Ok(db), Ok(out)) = (
        std::env::var("TRAINLOG_BENCH_EXPORT_DB"),
        std::env::var("TRAINLOG_BENCH_EXPORT_OUT"),
    ) {
        export(Path::new(&db), Path::new(&out));
        return;
    }
    let target = env("TRAINLOG_BENCH_ROWS", 2_000_000) as u64;
    let epochs = env("TRAINLOG_BENCH_EPOCHS", 25);
    let n = env("TRAINLOG_BENCH_EXAMPLES", 16_000);
    let target_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let path = target_dir.join(format!("bench-export-v4-{target}x{epochs}x{n}.db"));
    println!("trainlog export: synthetic log of at least {target} rows ({n} examples, {epochs} epochs per run, capture both, {CLASSES} classes)");
    if !path.exists() {
        let tmp = path.with_extension("partial");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
        }
        build(&tmp, target, epochs, n);
        std::fs::rename(&tmp, &path).expect("rename");
        let _ = std::fs::remove_file(tmp.with_extension("partial-wal"));
        let _ = std::fs::remove_file(tmp.with_extension("partial-shm"));
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database: {:.1} MB", bytes as f64 / 1e6);
    let out = target_dir.join(format!("bench-export-{target}x{epochs}x{n}.parquet"));
    let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .env("TRAINLOG_BENCH_EXPORT_DB", &path)
        .env("TRAINLOG_BENCH_EXPORT_OUT", &out)
        .status()
        .expect("the export process");
    assert!(status.success(), "the export process failed");
    let _ = std::fs::remove_dir_all(&out);
}
