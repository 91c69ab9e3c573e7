//! The store and the capture arithmetic, without training.

use trainlog::capture::{blob_to_logits, logits_to_blob, observe};
use trainlog::store::{schema, Store};

#[test]
fn migrations_apply_on_an_in_memory_database() {
    schema::migrations().validate().unwrap();
    let store = Store::open_in_memory().unwrap();
    let c = store.conn();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v as usize, schema::latest_version());
    for name in [
        "datasets",
        "classes",
        "examples",
        "experiments",
        "runs",
        "epochs",
        "observations",
        "dynamics",
    ] {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{name} missing");
    }
    // The stable columns of the two public views.
    let cols = |t: &str| -> Vec<String> {
        c.prepare(&format!("SELECT * FROM {t} LIMIT 0"))
            .unwrap()
            .column_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let dynamics = cols("dynamics");
    for col in [
        "run_id",
        "experiment",
        "init_seed",
        "order_seed",
        "epoch",
        "example_id",
        "split",
        "label",
        "phase",
        "position",
        "batch",
        "loss",
        "p_true",
        "margin",
        "pred",
        "correct",
        "logits",
    ] {
        assert!(dynamics.iter().any(|c| c == col), "dynamics lacks {col}");
    }
    let runs = cols("runs");
    for col in ["run_id", "experiment", "init_seed", "order_seed", "status"] {
        assert!(runs.iter().any(|c| c == col), "runs lacks {col}");
    }
}

#[test]
fn capture_arithmetic_matches_values_worked_by_hand() {
    // z = (1, 2, 3), y = 0: log-sum-exp = ln(e + e² + e³) = 3.40760596444438;
    // loss = 2.40760596444438, p_true = e / (e + e² + e³) = 0.0900305731703805,
    // margin = 1 − 3 = −2, pred = 2.
    let o = observe(&[1.0, 2.0, 3.0], 0);
    assert_eq!(o.pred, 2);
    assert!((o.loss - 2.40760596444438).abs() < 1e-12);
    assert!((o.p_true - 0.0900305731703805).abs() < 1e-12);
    assert!((o.margin + 2.0).abs() < 1e-12);
    assert!(!o.correct(0));
    // y = 2: loss = ln(e + e² + e³) − 3 = 0.40760596444438, p_true = 0.665240955774822,
    // margin = 3 − 2 = 1.
    let o = observe(&[1.0, 2.0, 3.0], 2);
    assert!((o.loss - 0.40760596444438).abs() < 1e-12);
    assert!((o.p_true - 0.665240955774822).abs() < 1e-12);
    assert!((o.margin - 1.0).abs() < 1e-12);
    assert!(o.correct(2));
    // Ties: the lowest index wins; the margin against an equal logit is 0.
    let o = observe(&[2.0, 2.0, 1.0], 1);
    assert_eq!(o.pred, 0);
    assert_eq!(o.margin, 0.0);
    // Uniform logits over 4 classes: p_true = 1/4, loss = ln 4.
    let o = observe(&[0.5; 4], 3);
    assert!((o.p_true - 0.25).abs() < 1e-12);
    assert!((o.loss - 4f64.ln()).abs() < 1e-12);
    // Large logits do not overflow: z = (1000, 0), y = 1 → loss = 1000 (to f64 precision).
    let o = observe(&[1000.0, 0.0], 1);
    assert!((o.loss - 1000.0).abs() < 1e-9);
    assert_eq!(o.p_true, 0.0f64.max((-1000f64).exp()));
    assert_eq!(o.margin, -1000.0);
}

#[test]
fn logits_blob_round_trips() {
    let z = [1.5f32, -2.25, 3.0e-7, f32::MAX];
    let mut b = Vec::new();
    logits_to_blob(&z, &mut b);
    assert_eq!(b.len(), 16);
    assert_eq!(&b[0..4], &1.5f32.to_le_bytes());
    assert_eq!(blob_to_logits(&b), z.to_vec());
}
