//! Helpers shared by the test modules: the real binary, scratch folders, the reference data.
#![allow(dead_code)]

use assert_cmd::Command;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The `trainlog` binary built by cargo for this test run.
pub fn trainlog() -> Command {
    let mut c = Command::cargo_bin("trainlog").expect("the trainlog binary is built");
    c.env_remove("RUST_BACKTRACE");
    c
}

/// The reference MNIST-1D file in ../shared (beside the checkout, in CI too).
pub fn reference_mnist1d() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist1d/mnist1d_5000_seed42.csv")
}

/// Records with the small, fast settings the tests use, plus `extra`; panics on failure.
pub fn record(db: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "record",
        "--db",
        db.to_str().unwrap(),
        "--quiet",
        "--threads",
        "1",
        "--hidden",
        "8",
    ];
    args.extend_from_slice(extra);
    let out = trainlog().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "trainlog {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `trainlog query --db DB --format csv ARGS`, which must succeed; its stdout.
pub fn query_csv(db: &Path, args: &[&str]) -> String {
    let out = trainlog()
        .args(["query", "--db", db.to_str().unwrap(), "--format", "csv"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trainlog query {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the binary expecting failure; returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = trainlog().args(args).output().unwrap();
    assert!(
        !out.status.success(),
        "trainlog {args:?} should have failed but printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// Opens a log with trainlog's SQL functions, which its `dynamics` view uses.
pub fn open(db: &Path) -> Connection {
    let c = Connection::open(db).unwrap();
    trainlog::store::functions::register(&c).unwrap();
    c
}

pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Softmax-based values of one example computed here, independently of trainlog's code:
/// (pred, loss, p_true, margin).
pub fn metrics_by_hand(logits: &[f32], label: usize) -> (usize, f64, f64, f64) {
    let z: Vec<f64> = logits.iter().map(|&v| v as f64).collect();
    let mut pred = 0;
    for k in 1..z.len() {
        if z[k] > z[pred] {
            pred = k;
        }
    }
    let denom: f64 = z.iter().map(|v| v.exp()).sum();
    let p_true = z[label].exp() / denom;
    let other = z
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != label)
        .map(|(_, v)| *v)
        .fold(f64::NEG_INFINITY, f64::max);
    (pred, -p_true.ln(), p_true, z[label] - other)
}

pub fn decode_logits(blob: &[u8]) -> Vec<f32> {
    blob.chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
