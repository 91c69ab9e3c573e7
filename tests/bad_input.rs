//! Bad input: one clear line naming the problem and the fix, a non-zero exit, and nothing
//! half-written marked completed.

use crate::common::*;
use std::path::Path;
use tempfile::tempdir;

/// Runs `record` with small settings and `extra`, expecting failure; returns the one-line
/// message.
fn record_fails(db: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "record",
        "--db",
        db.to_str().unwrap(),
        "--quiet",
        "--hidden",
        "8",
    ];
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "1"]);
    }
    args.extend_from_slice(extra);
    let err = fails(&args);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("trainlog: "), "{err}");
    lines[0].to_string()
}

fn no_runs(db: &Path) {
    if db.exists() {
        let c = open(db);
        assert_eq!(count(&c, "SELECT count(*) FROM runs"), 0);
        assert_eq!(count(&c, "SELECT count(*) FROM observations"), 0);
    }
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn missing_file() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", "nope/data.csv"]);
    assert!(
        msg.contains("does not exist") && msg.contains("nope/data.csv"),
        "{msg}"
    );
    no_runs(&db);
}

#[test]
fn csv_without_label_column() {
    let dir = tempdir().unwrap();
    let f = write(dir.path(), "d.csv", "a,b,c\n1,2,3\n4,5,6\n");
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", &f]);
    assert!(msg.contains("label"), "{msg}");
    no_runs(&db);
}

#[test]
fn ragged_rows() {
    let dir = tempdir().unwrap();
    let f = write(
        dir.path(),
        "d.csv",
        "label,x0,x1\n0,1,2\n1,3\n0,1,1\n1,2,2\n",
    );
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", &f]);
    assert!(msg.contains("3"), "{msg}");
    no_runs(&db);
}

#[test]
fn non_number_in_a_sequence_column() {
    let dir = tempdir().unwrap();
    let f = write(
        dir.path(),
        "d.csv",
        "label,x0,x1\n0,1,2\n1,3,abc\n0,1,1\n1,2,2\n",
    );
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", &f]);
    assert!(msg.contains("abc") && msg.contains("x1"), "{msg}");
    no_runs(&db);
}

#[test]
fn empty_file() {
    let dir = tempdir().unwrap();
    let f = write(dir.path(), "d.csv", "");
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", &f]);
    assert!(msg.contains("empty"), "{msg}");
    no_runs(&db);
}

#[test]
fn class_with_a_single_example() {
    let dir = tempdir().unwrap();
    let f = write(dir.path(), "d.csv", "label,x0\na,1\na,2\nb,3\nb,4\nc,5\n");
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", &f]);
    assert!(msg.contains("'c'") && msg.contains("one example"), "{msg}");
    no_runs(&db);
}

#[test]
fn unknown_dataset_name() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", "mnist2d"]);
    assert!(
        msg.contains("unknown dataset 'mnist2d'") && msg.contains("mnist1d"),
        "{msg}"
    );
    let msg = record_fails(&db, &["--dataset", "planted:wobble=3"]);
    assert!(msg.contains("wobble"), "{msg}");
    no_runs(&db);
}

#[test]
fn zero_epochs() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", "planted", "--epochs", "0"]);
    assert!(msg.contains("--epochs"), "{msg}");
    assert!(!db.exists(), "nothing is written for a bad command line");
}

#[test]
fn empty_seed_range() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", "planted", "--seeds", "3..3"]);
    assert!(
        msg.contains("empty seed range") && msg.contains("0..3"),
        "{msg}"
    );
    assert!(!db.exists());
}

#[test]
fn conflicting_seed_options() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let msg = record_fails(&db, &["--dataset", "planted", "--init-seed", "3"]);
    assert!(msg.contains("--vary"), "{msg}");
}

#[test]
fn database_from_a_newer_trainlog() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("new.db");
    {
        let c = open(&db);
        c.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 999;")
            .unwrap();
    }
    let msg = record_fails(&db, &["--dataset", "planted"]);
    assert!(
        msg.contains("newer trainlog") && msg.contains("999"),
        "{msg}"
    );
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"),
        0
    );
}

#[test]
fn missing_directory_for_the_database() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("no/such/dir/t.db");
    let msg = record_fails(&db, &["--dataset", "planted"]);
    assert!(
        msg.contains("does not exist") && msg.contains("no/such/dir"),
        "{msg}"
    );
}

#[test]
fn nan_loss_marks_the_run_diverged() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    // Plain SGD with an absurd learning rate overflows the weights within a few epochs.
    let msg = record_fails(
        &db,
        &[
            "--dataset",
            "planted:n=100",
            "--optimizer",
            "sgd",
            "--lr",
            "1e37",
            "--epochs",
            "5",
            "--seeds",
            "0..2",
        ],
    );
    assert!(
        msg.contains("diverged") && msg.contains("lower --lr"),
        "{msg}"
    );
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs"),
        1,
        "training stops at the first diverged run"
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM runs WHERE status = 'diverged' AND message LIKE '%lower --lr%'"
        ),
        1
    );
    // Only complete epochs are in the log: every recorded epoch has all its rows.
    let epochs = count(&c, "SELECT count(*) FROM epochs");
    assert!(epochs >= 1);
    assert_eq!(
        count(&c, "SELECT count(*) FROM observations WHERE phase = 0"),
        epochs * 100
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM observations WHERE phase = 1"),
        (epochs - 1) * 80
    );
}

#[test]
fn bad_options_are_refused_before_writing() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    for (args, needle) in [
        (vec!["--lr=-1"], "--lr"),
        (vec!["--dropout", "1.5"], "--dropout"),
        (vec!["--label-noise", "1.5"], "label-noise"),
        (vec!["--batch-size", "0"], "batch"),
    ] {
        let mut a = vec!["--dataset", "planted"];
        a.extend(args);
        let msg = record_fails(&db, &a);
        assert!(msg.contains(needle), "{msg}");
    }
    no_runs(&db);
}
