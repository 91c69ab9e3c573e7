//! `trainlog record` end to end: the real binary, a real database, checked row by row.

use crate::common::*;
use std::collections::BTreeSet;
use tempfile::tempdir;

const PLANTED: &str = "planted:n=100,classes=4,len=12,seed=1";

#[test]
fn records_every_example_every_epoch_every_seed() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = record(
        &db,
        &[
            "--dataset",
            PLANTED,
            "--seeds",
            "0..3",
            "--epochs",
            "3",
            "--batch-size",
            "16",
        ],
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("run ")).count(),
        3,
        "{out}"
    );
    assert!(out.contains("log: "), "{out}");
    let c = open(&db);
    // 100 examples, 80 train: eval rows = runs × (E+1) × N, step rows = runs × E × N_train.
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'eval'"),
        3 * 4 * 100
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'step'"),
        3 * 3 * 80
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE status = 'completed'"),
        3
    );
    assert_eq!(count(&c, "SELECT count(*) FROM epochs"), 3 * 4);
    assert_eq!(count(&c, "SELECT count(DISTINCT experiment) FROM runs"), 1);
    // Seeds as asked: --vary both.
    let seeds: Vec<(i64, i64)> = c
        .prepare("SELECT init_seed, order_seed FROM runs ORDER BY run_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seeds, vec![(0, 0), (1, 1), (2, 2)]);

    // Every epoch's step positions are a permutation of 0..N_train, over the train examples,
    // and batches hold batch_size consecutive positions.
    let mut st = c
        .prepare(
            "SELECT run_id, epoch, example_id, position, batch, split FROM dynamics
             WHERE phase = 'step' ORDER BY run_id, epoch, position",
        )
        .unwrap();
    let rows: Vec<(i64, i64, i64, i64, i64, String)> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for chunk in rows.chunks(80) {
        let positions: Vec<i64> = chunk.iter().map(|r| r.3).collect();
        assert_eq!(positions, (0..80).collect::<Vec<_>>());
        let examples: BTreeSet<i64> = chunk.iter().map(|r| r.2).collect();
        assert_eq!(examples.len(), 80);
        assert!(chunk.iter().all(|r| r.5 == "train" && r.4 == r.3 / 16));
        assert!(chunk.iter().all(|r| r.0 == chunk[0].0 && r.1 == chunk[0].1));
    }
    // Different order seeds give different orders; epochs of one run differ too.
    let order = |run: i64, epoch: i64| -> Vec<i64> {
        rows.iter()
            .filter(|r| r.0 == run && r.1 == epoch)
            .map(|r| r.2)
            .collect()
    };
    assert_ne!(order(1, 1), order(2, 1));
    assert_ne!(order(1, 1), order(1, 2));

    // loss, p_true, margin, pred and correct agree with the stored logits (computed here).
    let mut st = c
        .prepare("SELECT label, logits, loss, p_true, margin, pred, correct FROM dynamics")
        .unwrap();
    let mut n = 0;
    let mut rows = st.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let label: i64 = r.get(0).unwrap();
        let logits = decode_logits(&r.get::<_, Vec<u8>>(1).unwrap());
        assert_eq!(logits.len(), 4);
        let (pred, loss, p_true, margin) = metrics_by_hand(&logits, label as usize);
        assert!((r.get::<_, f64>(2).unwrap() - loss).abs() < 1e-5);
        assert!((r.get::<_, f64>(3).unwrap() - p_true).abs() < 1e-5);
        assert!((r.get::<_, f64>(4).unwrap() - margin).abs() < 1e-5);
        assert_eq!(r.get::<_, i64>(5).unwrap(), pred as i64);
        assert_eq!(r.get::<_, i64>(6).unwrap(), (pred as i64 == label) as i64);
        n += 1;
    }
    assert_eq!(n, 3 * 4 * 100 + 3 * 3 * 80);

    // The epoch summaries agree with the observations: eval accuracy on the test split.
    let mismatched = count(
        &c,
        "SELECT count(*) FROM epochs e WHERE abs(e.test_acc - (
             SELECT avg(correct) FROM dynamics d
             WHERE d.run_id = e.run_id AND d.epoch = e.epoch AND d.phase = 'eval' AND d.split = 'test'
         )) > 1e-9",
    );
    assert_eq!(mismatched, 0);
}

#[test]
fn same_seeds_give_identical_rows() {
    let dir = tempdir().unwrap();
    let args = [
        "--dataset",
        PLANTED,
        "--seeds",
        "4,7",
        "--epochs",
        "2",
        "--dropout",
        "0.2",
    ];
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    record(&a, &args);
    record(&b, &args);
    type Row = (i64, i64, String, Option<i64>, Vec<u8>, f64);
    let dump = |db: &std::path::Path| -> Vec<Row> {
        open(db)
            .prepare(
                "SELECT init_seed, epoch, phase, position, logits, loss FROM dynamics
                 ORDER BY run_id, phase, epoch, example_id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let (ra, rb) = (dump(&a), dump(&b));
    assert_eq!(ra.len(), 2 * 3 * 100 + 2 * 2 * 80);
    assert!(ra == rb, "two recordings with the same seeds differ");
}

#[test]
fn vary_init_holds_the_data_order_fixed() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("v.db");
    record(
        &db,
        &[
            "--dataset",
            PLANTED,
            "--seeds",
            "0..2",
            "--vary",
            "init",
            "--order-seed",
            "5",
            "--epochs",
            "1",
        ],
    );
    let c = open(&db);
    assert_eq!(
        count(
            &c,
            "SELECT count(DISTINCT order_seed) FROM runs WHERE order_seed = 5"
        ),
        1
    );
    assert_eq!(count(&c, "SELECT count(DISTINCT init_seed) FROM runs"), 2);
    // Same order seed: every example sits at the same position in both runs.
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM dynamics a JOIN dynamics b
             ON a.example_id = b.example_id AND a.epoch = b.epoch AND a.phase = b.phase
             WHERE a.phase = 'step' AND a.run_id < b.run_id AND a.position <> b.position"
        ),
        0
    );
    // ...but different initialisations give different logits at epoch 0.
    assert!(
        count(
            &c,
            "SELECT count(*) FROM dynamics a JOIN dynamics b
             ON a.example_id = b.example_id AND a.epoch = b.epoch AND a.phase = b.phase
             WHERE a.phase = 'eval' AND a.epoch = 0 AND a.run_id < b.run_id AND a.logits <> b.logits"
        ) > 90
    );
}

#[test]
fn capture_modes_record_what_they_say() {
    let dir = tempdir().unwrap();
    for (mode, eval, step) in [("none", 0, 0), ("eval", 3 * 100, 0), ("step", 0, 2 * 80)] {
        let db = dir.path().join(format!("{mode}.db"));
        record(
            &db,
            &[
                "--dataset",
                PLANTED,
                "--seeds",
                "0",
                "--epochs",
                "2",
                "--capture",
                mode,
            ],
        );
        let c = open(&db);
        assert_eq!(
            count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'eval'"),
            eval,
            "{mode}"
        );
        assert_eq!(
            count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'step'"),
            step,
            "{mode}"
        );
        // Test accuracy is reported whatever is captured.
        assert_eq!(count(&c, "SELECT count(test_acc) FROM epochs"), 3, "{mode}");
        assert_eq!(
            count(&c, "SELECT count(*) FROM runs WHERE status = 'completed'"),
            1
        );
    }
    let db = dir.path().join("nologits.db");
    record(
        &db,
        &[
            "--dataset",
            PLANTED,
            "--seeds",
            "0",
            "--epochs",
            "1",
            "--no-logits",
        ],
    );
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE logits IS NOT NULL"),
        0
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE loss > 0"),
        2 * 100 + 80
    );
}

#[test]
fn logits_are_reachable_from_sql() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("l.db");
    record(
        &db,
        &["--dataset", PLANTED, "--seeds", "0", "--epochs", "1"],
    );
    let out = trainlog()
        .args(["query", "--db", db.to_str().unwrap(), "--format", "csv", "--sql"])
        .arg(
            "SELECT count(*) AS bad FROM dynamics WHERE n_logits(logits) <> 4 OR abs(margin - (logit(logits, label) - (SELECT max(v) FROM (
                SELECT logit(logits, 0) AS v WHERE label <> 0 UNION ALL SELECT logit(logits, 1) WHERE label <> 1
                UNION ALL SELECT logit(logits, 2) WHERE label <> 2 UNION ALL SELECT logit(logits, 3) WHERE label <> 3)))) > 1e-6",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bad\n0");
}

#[test]
fn label_noise_flips_train_labels_and_records_them() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("n.db");
    record(
        &db,
        &[
            "--dataset",
            PLANTED,
            "--seeds",
            "0",
            "--epochs",
            "1",
            "--label-noise",
            "0.25",
            "--noise-seed",
            "3",
        ],
    );
    let c = open(&db);
    // 25% of the 80 train examples, none of the test ones, each to another class.
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM examples WHERE flipped AND split = 'train'"
        ),
        20
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM examples WHERE flipped AND split = 'test'"
        ),
        0
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM examples WHERE label <> orig_label"
        ),
        20
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM datasets WHERE label_noise = 0.25"),
        1
    );
    // Training used the noisy labels: `correct` is against the label trained on.
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics d JOIN examples e USING (example_id) WHERE d.label <> e.label"),
        0
    );
}

#[test]
fn a_text_dataset_trains_through_an_embedding() {
    let dir = tempdir().unwrap();
    let csv = dir.path().join("text.csv");
    let mut body = String::from("id,text,label\n");
    for i in 0..40 {
        let (t, l) = if i % 2 == 0 {
            ("good fun day", "pos")
        } else {
            ("bad sad", "neg")
        };
        body.push_str(&format!("r{i},{t} {i},{l}\n"));
    }
    std::fs::write(&csv, body).unwrap();
    let db = dir.path().join("t.db");
    record(
        &db,
        &[
            "--dataset",
            csv.to_str().unwrap(),
            "--seeds",
            "0",
            "--epochs",
            "2",
        ],
    );
    let c = open(&db);
    assert_eq!(count(&c, "SELECT count(*) FROM classes"), 2);
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'eval'"),
        3 * 40
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM examples WHERE source_id = 'r7'"),
        1
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM datasets WHERE input_kind = 'tokens'"
        ),
        1
    );
}

#[test]
fn more_runs_join_an_existing_experiment_and_share_the_dataset() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("e.db");
    record(
        &db,
        &[
            "--dataset",
            PLANTED,
            "--seeds",
            "0",
            "--epochs",
            "1",
            "--experiment",
            "x",
        ],
    );
    record(
        &db,
        &[
            "--dataset",
            PLANTED,
            "--seeds",
            "1",
            "--epochs",
            "1",
            "--experiment",
            "x",
        ],
    );
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE experiment = 'x'"),
        2
    );
    assert_eq!(count(&c, "SELECT count(*) FROM datasets"), 1);
    assert_eq!(count(&c, "SELECT count(*) FROM examples"), 100);
    // Another dataset under the same name is refused before anything is written.
    let err = fails(&[
        "record",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "planted:n=60",
        "--seeds",
        "0",
        "--epochs",
        "1",
        "--experiment",
        "x",
        "--quiet",
    ]);
    assert!(err.contains("already exists with another dataset"), "{err}");
    assert_eq!(count(&c, "SELECT count(*) FROM runs"), 2);
}

/// The acceptance command, as written: MNIST-1D, 3 seeds, 5 epochs.
#[test]
fn mnist1d_three_seeds_five_epochs() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = trainlog()
        .args([
            "record",
            "--dataset",
            "mnist1d",
            "--seeds",
            "0..3",
            "--epochs",
            "5",
        ])
        .args(["--db", db.to_str().unwrap(), "--quiet"])
        // Other tests run beside this one: OpenMP threads that spin while waiting would crawl
        // on a busy machine. Results do not depend on it.
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'eval'"),
        3 * 6 * 5000
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM dynamics WHERE phase = 'step'"),
        3 * 5 * 4000
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE status = 'completed'"),
        3
    );
    // Every epoch's step positions are a permutation of 0..3999.
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM (
                 SELECT run_id, epoch, count(DISTINCT position) AS p, min(position) AS lo,
                        max(position) AS hi, count(DISTINCT example_id) AS e
                 FROM dynamics WHERE phase = 'step' GROUP BY run_id, epoch)
             WHERE p = 4000 AND lo = 0 AND hi = 3999 AND e = 4000"
        ),
        15
    );
    // loss, p_true, margin, pred and correct agree with the stored logits to 1e-5.
    let mut st = c
        .prepare("SELECT label, logits, loss, p_true, margin, pred, correct FROM dynamics")
        .unwrap();
    let mut rows = st.query([]).unwrap();
    let mut worst = 0f64;
    while let Some(r) = rows.next().unwrap() {
        let label: i64 = r.get(0).unwrap();
        let logits = decode_logits(&r.get::<_, Vec<u8>>(1).unwrap());
        let (pred, loss, p_true, margin) = metrics_by_hand(&logits, label as usize);
        for (got, want) in [
            (r.get::<_, f64>(2).unwrap(), loss),
            (r.get(3).unwrap(), p_true),
            (r.get(4).unwrap(), margin),
        ] {
            worst = worst.max((got - want).abs());
        }
        assert_eq!(r.get::<_, i64>(5).unwrap(), pred as i64);
        assert_eq!(r.get::<_, i64>(6).unwrap(), (pred as i64 == label) as i64);
    }
    assert!(worst < 1e-5, "largest difference {worst}");
}
