//! Scale: `record --jobs N` records the rows of `--jobs 1`; shards recorded apart and merged
//! answer every canned query as one log does; `--logits f32|f16|none` store what they say
//! and give the same values; a log of the previous schema is upgraded without changing them.

use crate::common::*;
use rusqlite::types::Value;
use std::path::Path;
use tempfile::tempdir;

const DATA: &str = "planted:n=300,classes=3,len=10";

/// `trainlog record` on DATA (3 epochs, hidden 8) with `extra`; panics on failure.
fn rec(extra: &[&str]) -> String {
    let mut args = vec![
        "record",
        "--dataset",
        DATA,
        "--epochs",
        "3",
        "--hidden",
        "8",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let out = trainlog().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "trainlog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every row of `sql`, values compared exactly.
fn rows(db: &Path, sql: &str) -> Vec<Vec<Value>> {
    let c = open(db);
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What a run recorded, by table, without the wall-clock columns.
fn recorded(db: &Path) -> Vec<Vec<Vec<Value>>> {
    [
        "SELECT run_id, experiment, init_seed, order_seed, status, model, config, epochs, capture, logits
         FROM runs ORDER BY run_id",
        "SELECT * FROM observations ORDER BY run_id, phase, epoch, example_id",
        "SELECT run_id, epoch, train_loss, train_acc, eval_train_acc, test_loss, test_acc
         FROM epochs ORDER BY run_id, epoch",
        "SELECT * FROM example_metrics ORDER BY run_id, phase, example_id",
        "SELECT * FROM class_accuracy ORDER BY run_id, phase, epoch, split, class",
    ]
    .iter()
    .map(|sql| rows(db, sql))
    .collect()
}

#[test]
fn jobs_2_records_the_rows_of_jobs_1() {
    let dir = tempdir().unwrap();
    let (one, two) = (dir.path().join("one.db"), dir.path().join("two.db"));
    // Two LSTM layers and dropout: the masks and the initialisation must not depend on what
    // runs beside a run.
    let common = [
        "--seeds",
        "0..3",
        "--layers",
        "2",
        "--dropout",
        "0.2",
        "--experiment",
        "e",
    ];
    let mut a = common.to_vec();
    a.extend([
        "--db",
        one.to_str().unwrap(),
        "--jobs",
        "1",
        "--threads",
        "1",
    ]);
    rec(&a);
    let mut b = common.to_vec();
    b.extend([
        "--db",
        two.to_str().unwrap(),
        "--jobs",
        "2",
        "--threads",
        "2",
    ]);
    let out = rec(&b);
    assert!(out.contains("runs 1, 2, 3"), "{out}");

    let (ra, rb) = (recorded(&one), recorded(&two));
    assert_eq!(ra[0].len(), 3, "three runs");
    assert_eq!(ra[1].len(), 3 * (4 * 300 + 3 * 240), "every observation");
    for (k, name) in [
        "runs",
        "observations",
        "epochs",
        "example_metrics",
        "class_accuracy",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            ra[k] == rb[k],
            "{name} differ between --jobs 1 and --jobs 2"
        );
    }
    // The two jobs did run at once: run 2 started before run 1 finished.
    let c = open(&two);
    let overlap = count(
        &c,
        "SELECT (SELECT started_at FROM runs WHERE run_id = 2) < (SELECT finished_at FROM runs WHERE run_id = 1)",
    );
    assert_eq!(overlap, 1, "--jobs 2 ran the runs one after the other");
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE status = 'completed'"),
        3
    );
}

/// CSV of canned query `q` on `db`.
fn query(db: &Path, q: &str) -> String {
    query_csv(db, &[q])
}

#[test]
fn merged_shards_answer_every_canned_query_as_one_log() {
    let dir = tempdir().unwrap();
    let (one, merged) = (dir.path().join("one.db"), dir.path().join("merged.db"));
    let shards = dir.path().join("shards");
    let pq = dir.path().join("pq");
    let noise = [
        "--label-noise",
        "0.1",
        "--experiment",
        "e",
        "--threads",
        "1",
    ];
    let mut a = noise.to_vec();
    a.extend(["--seeds", "0..3", "--db", one.to_str().unwrap()]);
    rec(&a);
    // Two "machines": seeds 0 and 1 on one, seed 2 on the other, into shards.
    for seeds in ["0..2", "2..3"] {
        let mut b = noise.to_vec();
        b.extend([
            "--seeds",
            seeds,
            "--shard-dir",
            shards.to_str().unwrap(),
            "--parquet",
            pq.to_str().unwrap(),
        ]);
        let out = rec(&b);
        assert!(out.contains("trainlog merge"), "{out}");
    }
    let mut files: Vec<String> = std::fs::read_dir(&shards)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".db"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["e-lstm-i0-o0.db", "e-lstm-i1-o1.db", "e-lstm-i2-o2.db"]
    );
    // Each shard's Parquet files are under its own partition, not under a run id they share.
    for f in &files {
        let part = pq
            .join("observations/experiment=e")
            .join(format!("shard={}", f.trim_end_matches(".db")));
        assert!(part.is_dir(), "{} is missing", part.display());
    }

    let paths: Vec<String> = files
        .iter()
        .map(|f| shards.join(f).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["merge"];
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--db", merged.to_str().unwrap()]);
    let out = trainlog().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("experiment e: runs 1, 2, 3"), "{said}");

    // Every canned query but `runs` (its times and configurations differ by design).
    for c in trainlog::query::canned()
        .iter()
        .filter(|c| c.name != "runs")
    {
        let q = c.name;
        let (x, y) = (query(&one, q), query(&merged, q));
        assert!(x.lines().count() > 1, "{q} answered nothing");
        assert_eq!(x, y, "{q} differs between one log and the merged shards");
    }
    // DuckDB reads the shards' Parquet files as one dataset: each shard holds its run's rows.
    match crate::export::duckdb() {
        None => println!(
            "DuckDB check skipped: neither python3's duckdb nor the duckdb CLI is installed"
        ),
        Some(duck) => {
            let got = crate::export::duckdb_csv(
                &duck,
                &format!(
                    "SELECT shard, count(*), sum(correct) FROM read_parquet('{}/observations/**/*.parquet', hive_partitioning = true) GROUP BY shard ORDER BY shard",
                    pq.display()
                ),
            );
            let want: Vec<String> = rows(
                &merged,
                "SELECT run_id, count(*), sum(correct) FROM dynamics GROUP BY run_id ORDER BY run_id",
            )
            .iter()
            .zip(&files)
            .map(|(r, f)| match (&r[1], &r[2]) {
                (Value::Integer(n), Value::Integer(c)) => {
                    format!("{},{n},{c}", f.trim_end_matches(".db"))
                }
                other => panic!("{other:?}"),
            })
            .collect();
            assert_eq!(got, want, "the shards' Parquet files");
        }
    }
    // And the rows themselves, run for run.
    let (ra, rb) = (recorded(&one), recorded(&merged));
    for k in 1..5 {
        assert!(ra[k] == rb[k], "table {k} differs");
    }

    // A shard given twice: refused, and the output is not touched.
    let before = std::fs::read(&merged).unwrap();
    let again = fails(&["merge", &paths[0], "--db", merged.to_str().unwrap()]);
    assert!(again.contains("already in"), "{again}");
    assert_eq!(again.trim().lines().count(), 1, "{again}");
    assert_eq!(std::fs::read(&merged).unwrap(), before);
    let fresh = dir.path().join("fresh.db");
    let twice = fails(&[
        "merge",
        &paths[1],
        &paths[1],
        "--db",
        fresh.to_str().unwrap(),
    ]);
    assert!(twice.contains("given twice"), "{twice}");
    assert!(!fresh.exists(), "a failed merge left {}", fresh.display());
    // Not a log; a log given as its own output.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not sqlite at all, just text").unwrap();
    let bad = fails(&[
        "merge",
        junk.to_str().unwrap(),
        "--db",
        fresh.to_str().unwrap(),
    ]);
    assert!(bad.contains("junk.db"), "{bad}");
    assert!(!fresh.exists());
    let same = fails(&["merge", &paths[0], "--db", &paths[0]]);
    assert!(
        same.contains("as the output") || same.contains("another trainlog"),
        "{same}"
    );
    // Shards need an experiment name shared by the machines, and are never overwritten.
    let no_name = fails(&[
        "record",
        "--dataset",
        DATA,
        "--shard-dir",
        shards.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(no_name.contains("--experiment"), "{no_name}");
    let exists = fails(&[
        "record",
        "--dataset",
        DATA,
        "--seeds",
        "0..1",
        "--experiment",
        "e",
        "--label-noise",
        "0.1",
        "--shard-dir",
        shards.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(exists.contains("exists"), "{exists}");
}

#[test]
fn an_unfinished_shard_is_not_merged() {
    let dir = tempdir().unwrap();
    let shard = dir.path().join("s.db");
    rec(&[
        "--seeds",
        "0..1",
        "--db",
        shard.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    open(&shard)
        .execute("UPDATE runs SET status = 'interrupted'", [])
        .unwrap();
    let out = dir.path().join("out.db");
    let err = fails(&[
        "merge",
        shard.to_str().unwrap(),
        "--db",
        out.to_str().unwrap(),
    ]);
    assert!(
        err.contains("interrupted") && err.contains("--resume"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn logits_formats_store_what_they_say_with_the_same_values() {
    let dir = tempdir().unwrap();
    let db = |f: &str| dir.path().join(format!("{f}.db"));
    for f in ["f32", "f16", "none"] {
        rec(&[
            "--seeds",
            "0..1",
            "--logits",
            f,
            "--db",
            db(f).to_str().unwrap(),
            "--threads",
            "1",
        ]);
    }
    // What is stored: f32 logits without loss and margin (recomputed on read); f16 logits
    // (2 bytes a class) with them; no logits with them.
    let stored = |f: &str| {
        rows(
            &db(f),
            "SELECT min(length(logits)), max(length(logits)), count(logits), count(loss), count(margin), count(*), (SELECT logits FROM runs) FROM observations",
        )
    };
    let n = Value::Integer(4 * 300 + 3 * 240);
    let i = Value::Integer;
    assert_eq!(
        stored("f32")[0],
        [
            i(12),
            i(12),
            n.clone(),
            i(0),
            i(0),
            n.clone(),
            Value::Text("f32".into())
        ]
    );
    assert_eq!(
        stored("f16")[0],
        [
            i(6),
            i(6),
            n.clone(),
            n.clone(),
            n.clone(),
            n.clone(),
            Value::Text("f16".into())
        ]
    );
    assert_eq!(
        stored("none")[0],
        [
            Value::Null,
            Value::Null,
            i(0),
            n.clone(),
            n.clone(),
            n.clone(),
            Value::Text("none".into())
        ]
    );

    // What is read: the same loss, p_true, margin and pred whatever the format, and those of
    // the f32 logits computed here.
    let read = |f: &str| {
        rows(
            &db(f),
            "SELECT loss, p_true, margin, pred, correct, label, logits FROM dynamics
             ORDER BY run_id, phase, epoch, example_id",
        )
    };
    let (a, b, c) = (read("f32"), read("f16"), read("none"));
    assert_eq!(a.len(), 4 * 300 + 3 * 240);
    for ((x, y), z) in a.iter().zip(&b).zip(&c) {
        assert_eq!(x[..6], y[..6], "f32 and f16 logs read different values");
        assert_eq!(x[..6], z[..6], "f32 and none logs read different values");
        let (Value::Blob(b32), Value::Blob(b16)) = (&x[6], &y[6]) else {
            panic!("f32 and f16 logs give logits: {x:?} {y:?}");
        };
        assert_eq!(z[6], Value::Null);
        let (z32, z16) = (decode_logits(b32), decode_logits(b16));
        assert_eq!(z16.len(), 3, "the view gives f16 logits as f32");
        for (p, q) in z32.iter().zip(&z16) {
            // Half precision: 11 significant bits.
            assert!((p - q).abs() <= p.abs() / 1024.0 + 1e-7, "{p} vs f16 {q}");
        }
        let Value::Integer(label) = x[5] else {
            panic!()
        };
        let (pred, loss, p_true, margin) = metrics_by_hand(&z32, label as usize);
        let real = |v: &Value| match v {
            Value::Real(r) => *r,
            v => panic!("{v:?}"),
        };
        assert!((real(&x[0]) - loss).abs() < 1e-9);
        assert!((real(&x[1]) - p_true).abs() < 1e-9);
        assert!((real(&x[2]) - margin).abs() < 1e-9);
        assert_eq!(x[3], Value::Integer(pred as i64));
    }
    for q in ["classes-learned-first", "data-map", "forgetting"] {
        assert_eq!(query(&db("f32"), q), query(&db("none"), q), "{q}");
        assert_eq!(query(&db("f32"), q), query(&db("f16"), q), "{q}");
    }
    let err = fails(&[
        "record",
        "--dataset",
        DATA,
        "--logits",
        "f8",
        "--db",
        db("x").to_str().unwrap(),
    ]);
    assert!(err.contains("f8"), "{err}");
    assert!(!db("x").exists());
}

#[test]
fn a_log_of_schema_3_is_upgraded_with_the_same_values() {
    let dir = tempdir().unwrap();
    let new = dir.path().join("new.db");
    rec(&[
        "--seeds",
        "0..1",
        "--db",
        new.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    let want = rows(
        &new,
        "SELECT run_id, phase, epoch, example_id, loss, p_true, margin, pred, logits FROM dynamics
         ORDER BY 1, 2, 3, 4",
    );
    // The same rows in a log of schema 3, which stored loss, p_true and margin.
    let old = dir.path().join("old.db");
    let mut c = rusqlite::Connection::open(&old).unwrap();
    rusqlite_migration::Migrations::from_slice(&trainlog::store::schema::MIGRATIONS[..3])
        .to_latest(&mut c)
        .unwrap();
    c.execute("ATTACH DATABASE ?1 AS new", [new.to_str().unwrap()])
        .unwrap();
    trainlog::store::functions::register(&c).unwrap();
    c.execute_batch(
        "INSERT INTO datasets SELECT * FROM new.datasets;
         INSERT INTO classes SELECT * FROM new.classes;
         INSERT INTO examples (dataset_id, example_id, source_id, split, label, orig_label, length)
             SELECT dataset_id, example_id, source_id, split, label, orig_label, length FROM new.examples;
         INSERT INTO experiments SELECT * FROM new.experiments;
         INSERT INTO runs SELECT run_id, experiment, init_seed, order_seed, status, model, config, epochs,
             capture, trainlog_version, libtorch_version, device, started_at, finished_at, message FROM new.runs;
         INSERT INTO epochs SELECT * FROM new.epochs;
         INSERT INTO observations SELECT d.run_id, o.phase, d.epoch, d.example_id, d.position, d.batch,
             d.pred, d.loss, d.p_true, d.margin, d.logits
             FROM new.dynamics d JOIN new.observations o USING (run_id, epoch, example_id)
             WHERE (o.phase = 0) = (d.phase = 'eval');
         INSERT INTO example_metrics SELECT * FROM new.example_metrics;
         INSERT INTO class_accuracy SELECT * FROM new.class_accuracy;",
    )
    .unwrap();
    drop(c);
    // Any write command upgrades it; `metrics` is the one the read-only commands suggest.
    let out = trainlog()
        .args(["metrics", "--db", old.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = rows(
        &old,
        "SELECT run_id, phase, epoch, example_id, loss, p_true, margin, pred, logits FROM dynamics
         ORDER BY 1, 2, 3, 4",
    );
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the upgrade changed values");
    assert_eq!(
        rows(&old, "SELECT logits FROM runs"),
        [[Value::Text("f32".into())]]
    );
}
