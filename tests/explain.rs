//! Why some classes and examples are learned first: the shallow baselines (`record --model
//! linear|mlp`), the canned query `shallow-learnable`, and `trainlog explain` (Saxe et al.'s
//! linear-dynamics prediction of the class order). The arithmetic on hand-made inputs whose
//! correlation matrix, SVD and predicted times are worked out below by hand; then the planted
//! dataset, whose class order is known (class 0 strongest), end to end through the binary.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use tempfile::tempdir;
use trainlog::dataset::{Dataset, Example, Inputs, Split};
use trainlog::explain::{self, Correlation};

fn example(split: Split, label: u32, length: u32) -> Example {
    Example {
        source_id: String::new(),
        split,
        label,
        orig_label: label,
        length,
    }
}

// =============================================================================================
// The arithmetic, by hand
//
// Six train examples of three classes, sequences of two values (x₁, x₂), and one test example
// that must change nothing:
//
//   class 0: (2, 1), (2, −1)     class 1: (−1, 1), (−1, 1)     class 2: (−1, −1), (−1, −1)
//   test:    (100, −50), class 0
//
// Over the train examples x₁ has mean 0 and population variance (4+4+1+1+1+1)/6 = 2, x₂ mean
// 0 and variance 1; standardised, x₁ is √2 for class 0 and −1/√2 otherwise, x₂ unchanged.
// Σ_yx = Yᵀ X / 6, row c = (sum of class c's standardised inputs) / 6:
//
//   row 0 = (2√2/6, 0)        = (√2/3, 0)
//   row 1 = (−2/(6√2), 2/6)   = (−√2/6, 1/3)
//   row 2 = (−√2/6, −1/3)
//
// ΣᵀΣ = diag(2/9 + 1/18 + 1/18, 1/9 + 1/9) = diag(1/3, 2/9): singular values s₁ = 1/√3 and
// s₂ = √2/3, right singular vectors e₁ and e₂, left singular vectors u_α = Σ e_α / s_α:
// u₁ = (2, −1, −1)/√6 and u₂ = (0, 1, −1)/√2 (the third mode, u ∝ (1, 1, 1), has s = 0).
//
// With a0 = 0.01: class 0 loads on mode 1 only, so its time is mode 1's half-time,
//   t₀ = ln(s₁/a0 − 1) / (2 s₁) = ln(56.735…) · √3/2 = 3.4973498707981263.
// Classes 1 and 2 load on both modes with u² = 1/6 and 1/2; their progress is
//   y(t) = (s₁ a₁(t)/6 + s₂ a₂(t)/2) / (s₁²/6 + s₂²/2),   s₁²/6 + s₂²/2 = 1/18 + 1/9 = 1/6,
// with a_α(t) = s_α / (1 + (s_α/a0 − 1) e^(−2 s_α t)); y(t) = ½ was solved by bisection in
// double precision outside trainlog (Python): t₁ = t₂ = 3.850240218969732, between t₀ and mode
// 2's half-time ln(s₂/a0 − 1)/(2 s₂) = 4.064121027365776.
// =============================================================================================

fn hand_dataset() -> Dataset {
    let rows: [(u32, [f32; 2]); 7] = [
        (0, [2.0, 1.0]),
        (1, [-1.0, 1.0]),
        (2, [-1.0, -1.0]),
        (0, [2.0, -1.0]),
        (1, [-1.0, 1.0]),
        (2, [-1.0, -1.0]),
        (0, [100.0, -50.0]),
    ];
    Dataset {
        spec: "hand".into(),
        class_names: vec!["a".into(), "b".into(), "c".into()],
        examples: rows
            .iter()
            .enumerate()
            .map(|(i, (y, _))| example(if i < 6 { Split::Train } else { Split::Test }, *y, 2))
            .collect(),
        inputs: Inputs::Numeric {
            seq_len: 2,
            features: 1,
            values: rows.iter().flat_map(|(_, x)| *x).collect(),
        },
        label_noise: 0.0,
    }
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (± {tol})"
    );
}

#[test]
fn explain_arithmetic_on_a_hand_made_input() {
    let corr = explain::correlation(&hand_dataset()).unwrap();
    let r2 = std::f64::consts::SQRT_2;
    let want = [r2 / 3.0, 0.0, -r2 / 6.0, 1.0 / 3.0, -r2 / 6.0, -1.0 / 3.0];
    assert_eq!((corr.classes, corr.features, corr.n), (3, 2, 6));
    for (k, (g, w)) in corr.matrix.iter().zip(want).enumerate() {
        close(*g, w, 1e-12, &format!("Σ entry {k}"));
    }

    let modes = explain::modes(&corr).unwrap();
    assert_eq!(modes.singular_values.len(), 2, "the zero mode is dropped");
    close(modes.singular_values[0], 1.0 / 3f64.sqrt(), 1e-12, "s1");
    close(modes.singular_values[1], r2 / 3.0, 1e-12, "s2");
    let u = [
        [2.0 / 6f64.sqrt(), 0.0],
        [1.0 / 6f64.sqrt(), 1.0 / r2],
        [1.0 / 6f64.sqrt(), 1.0 / r2],
    ];
    for (c, row) in u.iter().enumerate() {
        for (a, want) in row.iter().enumerate() {
            close(modes.u[c][a].abs(), *want, 1e-12, &format!("|u[{c}][{a}]|"));
        }
    }

    let a0 = 0.01;
    close(
        explain::mode_half_time(1.0 / 3f64.sqrt(), a0).unwrap(),
        3.4973498707981263,
        1e-12,
        "half-time of mode 1",
    );
    close(
        explain::mode_half_time(r2 / 3.0, a0).unwrap(),
        4.064121027365776,
        1e-12,
        "half-time of mode 2",
    );
    assert_eq!(explain::mode_half_time(0.015, a0), None, "s ≤ 2 a0");
    let t = explain::class_times(&modes, a0).unwrap();
    close(t[0].unwrap(), 3.4973498707981263, 1e-9, "t0");
    close(t[1].unwrap(), 3.850240218969732, 1e-9, "t1");
    close(t[2].unwrap(), 3.850240218969732, 1e-9, "t2");
    assert!(explain::class_times(&modes, 0.0).is_err());
}

// Text: one-hot per position. Four train examples of one token each over the vocabulary
// (<pad>, <unk>, a, b): class 0 is "a" twice, class 1 "b" twice. The <pad> and <unk> features
// are constant (0) and stay 0; the "a" feature is 1, 1, 0, 0: mean ½, standard deviation ½,
// standardised +1, +1, −1, −1; "b" the opposite. Σ = [[0, 0, ½, −½], [0, 0, −½, ½]] =
// 1 · u vᵀ with u = (1, −1)/√2, v = (0, 0, 1, −1)/√2: one mode, s = 1, on which both classes
// load equally, so both take its half-time ln(1/a0 − 1)/2 = 2.297559925067295 (a0 = 0.01).
#[test]
fn explain_one_hot_text_by_hand() {
    let data = Dataset {
        spec: "text".into(),
        class_names: vec!["x".into(), "y".into()],
        examples: [0, 0, 1, 1]
            .iter()
            .map(|&y| example(Split::Train, y, 1))
            .collect(),
        inputs: Inputs::Tokens {
            max_len: 1,
            vocab: vec!["<pad>".into(), "<unk>".into(), "a".into(), "b".into()],
            tokens: vec![2, 2, 3, 3],
        },
        label_noise: 0.0,
    };
    let corr = explain::correlation(&data).unwrap();
    assert_eq!(
        corr,
        Correlation {
            classes: 2,
            features: 4,
            n: 4,
            matrix: vec![0.0, 0.0, 0.5, -0.5, 0.0, 0.0, -0.5, 0.5],
        }
    );
    let modes = explain::modes(&corr).unwrap();
    assert_eq!(modes.singular_values.len(), 1);
    close(modes.singular_values[0], 1.0, 1e-12, "s");
    let t = explain::class_times(&modes, 0.01).unwrap();
    close(t[0].unwrap(), 2.297559925067295, 1e-9, "t0");
    close(t[1].unwrap(), 2.297559925067295, 1e-9, "t1");
}

// =============================================================================================
// The planted dataset, end to end

const PLANTED: &str = "planted:n=900,classes=3,len=16";

fn run_ok(args: &[&str]) -> String {
    let out = trainlog().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trainlog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Three LSTM runs, then two linear runs in the same experiment (the user's order).
fn planted_log(db: &Path) {
    let db = db.to_str().unwrap();
    let common = [
        "record",
        "--db",
        db,
        "--dataset",
        PLANTED,
        "--epochs",
        "8",
        "--threads",
        "1",
        "--quiet",
        "--experiment",
        "planted",
    ];
    let mut lstm = common.to_vec();
    lstm.extend(["--hidden", "16", "--seeds", "0..3"]);
    run_ok(&lstm);
    let mut linear = common.to_vec();
    linear.extend(["--model", "linear", "--lr", "0.03", "--seeds", "0..2"]);
    run_ok(&linear);
}

type Rows = Vec<BTreeMap<String, String>>;

/// CSV output, split into its `# title` sections.
fn sections(text: &str) -> Vec<Rows> {
    let mut out = Vec::new();
    for part in text.split("# ").filter(|p| !p.trim().is_empty()) {
        let body = if text.starts_with("# ") {
            part.split_once('\n').map_or("", |(_, b)| b)
        } else {
            part
        };
        let mut rd = csv::Reader::from_reader(body.as_bytes());
        let head: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
        out.push(
            rd.records()
                .map(|r| {
                    let r = r.unwrap();
                    head.iter()
                        .cloned()
                        .zip(r.iter().map(String::from))
                        .collect()
                })
                .collect(),
        );
    }
    out
}

fn f(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?} is not a number", row[col]))
}

fn csv_of(db: &Path, args: &[&str]) -> Vec<Rows> {
    let mut a = vec!["--db", db.to_str().unwrap(), "--format", "csv"];
    a.splice(0..0, args.iter().copied());
    sections(&run_ok(&a))
}

#[test]
fn planted_order_is_observed_predicted_and_shallow_learnable_first() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("planted.db");
    planted_log(&db);

    // The runs say which model they are; the config records it for --resume.
    let c = open(&db);
    let models: Vec<(String, String)> = c
        .prepare("SELECT model, json_extract(config, '$.model.kind') FROM runs ORDER BY run_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let lstm = ("lstm".to_string(), "lstm".to_string());
    let linear = ("linear".to_string(), "linear".to_string());
    assert_eq!(
        models,
        [lstm.clone(), lstm.clone(), lstm, linear.clone(), linear]
    );

    // Observed: the LSTM learns class 0 first in every run, and the classes in planted order.
    let observed = &csv_of(&db, &["query", "classes-learned-first"])[0];
    assert_eq!(observed.len(), 3);
    assert!(
        observed.iter().all(|r| r["runs"] == "3"),
        "linear runs mixed in: {observed:?}"
    );
    assert_eq!(observed[0]["class"], "0");
    close(
        f(&observed[0], "mean_rank"),
        1.0,
        0.0,
        "class 0's mean rank",
    );
    let by_class: BTreeMap<String, f64> = observed
        .iter()
        .map(|r| (r["class"].clone(), f(r, "learned_epoch")))
        .collect();
    assert!(
        by_class["0"] < by_class["1"] && by_class["1"] < by_class["2"],
        "mean learned_epoch by class: {by_class:?}"
    );

    // Predicted: the linear dynamics order the classes as planted; rho with the observed order.
    let ex = csv_of(&db, &["explain"]);
    let modes = &ex[0];
    assert_eq!(modes.len(), 2, "3 classes: 2 modes (the rows sum to 0)");
    assert!(f(&modes[0], "singular_value") > f(&modes[1], "singular_value"));
    assert_eq!(
        modes[0]["top_class"], "0",
        "class 0 dominates the strongest mode"
    );
    let classes = &ex[1];
    let predicted: Vec<f64> = classes.iter().map(|r| f(r, "predicted_rank")).collect();
    assert_eq!(predicted, [1.0, 2.0, 3.0]);
    let times: Vec<f64> = classes.iter().map(|r| f(r, "predicted_time")).collect();
    assert!(times[0] < times[1] && times[1] < times[2], "{times:?}");
    assert_eq!(classes[0]["observed_rank"], "1.0");
    let rho: f64 = classes[0]["rho"].parse().unwrap();
    assert!(
        rho >= 0.5,
        "Spearman's rho between predicted and observed: {rho}"
    );
    assert!(classes[0]["note"].contains("over the lstm runs"));
    // The observed columns are the query's, not recomputed.
    for r in classes {
        let q = observed.iter().find(|o| o["class"] == r["class"]).unwrap();
        close(f(r, "mean_rank"), f(q, "mean_rank"), 1e-12, "mean_rank");
        close(
            f(r, "learned_epoch"),
            f(q, "learned_epoch"),
            1e-12,
            "learned_epoch",
        );
    }

    // Shallow-learnable: more of class 0 than of 1 than of 2, and the examples the LSTM learns
    // in epoch 1 are shallow-learnable more often than the base rate (Mangalam & Prabhu).
    let sl = csv_of(&db, &["query", "shallow-learnable"]);
    let (per_class, per_epoch) = (&sl[0], &sl[1]);
    assert_eq!(per_class[0]["class"], "all");
    assert_eq!(per_class[0]["baseline_runs"], "2");
    let base = f(&per_class[0], "share");
    let share: Vec<f64> = per_class[1..].iter().map(|r| f(r, "share")).collect();
    assert!(
        share[0] > share[1] && share[1] > share[2],
        "per-class shares {share:?}"
    );
    assert!(base > 0.3 && base < 0.95, "base rate {base}");
    assert_eq!(per_epoch.len(), 8);
    let e1 = &per_epoch[0];
    assert_eq!(e1["runs"], "3");
    close(f(e1, "base_rate"), base, 1e-12, "base rate");
    assert!(
        f(e1, "learned_shallow") > base + 0.05,
        "epoch 1: {} learned, {} shallow-learnable, base rate {base}",
        e1["learned"],
        e1["learned_shallow"]
    );
    assert!(f(e1, "first_correct_shallow") > base);
    assert!(f(e1, "shallow_given_correct") > base);
    assert!(f(e1, "explained") > 0.2, "explained {}", e1["explained"]);
    // accuracy and shallow_given_correct, computed here from the dynamics view: shallow =
    // correct in both linear runs at their last epoch (a strict majority of 2).
    let c = open(&db);
    let shallow: std::collections::BTreeSet<i64> = c
        .prepare(
            "SELECT example_id FROM dynamics d JOIN runs r USING (run_id)
             WHERE r.model = 'linear' AND d.phase = 'eval' AND d.split = 'train' AND d.epoch = r.epochs
             GROUP BY example_id HAVING sum(correct) = 2",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for row in per_epoch {
        let e: i64 = row["epoch"].parse().unwrap();
        let obs: Vec<(i64, i64)> = c
            .prepare(
                "SELECT example_id, correct FROM dynamics d JOIN runs r USING (run_id)
                 WHERE r.model = 'lstm' AND d.phase = 'eval' AND d.split = 'train' AND d.epoch = ?1",
            )
            .unwrap()
            .query_map([e], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let right: Vec<i64> = obs.iter().filter(|o| o.1 == 1).map(|o| o.0).collect();
        let acc = right.len() as f64 / obs.len() as f64;
        let given =
            right.iter().filter(|x| shallow.contains(x)).count() as f64 / right.len() as f64;
        close(f(row, "accuracy"), acc, 1e-12, "accuracy");
        close(
            f(row, "shallow_given_correct"),
            given,
            1e-12,
            "shallow_given_correct",
        );
    }
    // The later epochs' newly learned examples are shallow-learnable less often than epoch 1's.
    let late: Vec<f64> = per_epoch[3..]
        .iter()
        .filter(|r| !r["learned_shallow"].is_empty())
        .map(|r| f(r, "learned_shallow"))
        .collect();
    let late_mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!(late_mean < f(e1, "learned_shallow"), "{late:?}");
}

#[test]
fn baseline_runs_stay_out_of_the_lstm_seed_statistics() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("mixed.db");
    let d = db.to_str().unwrap();
    let base = [
        "record",
        "--db",
        d,
        "--dataset",
        "planted:n=200,classes=3,len=12",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--quiet",
        "--experiment",
        "mixed",
        "--hidden",
        "8",
    ];
    let mut lstm = base.to_vec();
    lstm.extend(["--seeds", "0..2"]);
    run_ok(&lstm);
    for model in ["linear", "mlp"] {
        let mut b = base.to_vec();
        b.extend(["--model", model, "--seeds", "0..1"]);
        let out = run_ok(&b);
        assert!(out.contains("3 epochs"), "{out}");
    }
    let runs_of = |args: &[&str]| -> Vec<String> {
        csv_of(&db, args)[0]
            .iter()
            .map(|r| r["runs"].clone())
            .collect()
    };
    // Default: the experiment's first run's model, lstm.
    assert_eq!(runs_of(&["query", "classes-learned-first"]), ["2"; 3]);
    assert_eq!(
        runs_of(&["query", "classes-learned-first", "--model", "all"]),
        ["4"; 3]
    );
    assert_eq!(
        runs_of(&["query", "classes-learned-first", "--model", "mlp"]),
        ["1"; 3]
    );
    // --run of a baseline run reads that run, whatever the experiment's main model.
    assert_eq!(
        runs_of(&["query", "classes-learned-first", "--run", "3"]),
        ["1"; 3]
    );
    let pairs = &csv_of(&db, &["query", "seed-agreement"])[0];
    assert_eq!(pairs.len(), 1, "one pair of LSTM runs: {pairs:?}");
    assert_eq!(
        (pairs[0]["run_a"].as_str(), pairs[0]["run_b"].as_str()),
        ("1", "2")
    );
    let ove = &csv_of(&db, &["query", "order-vs-ease"])[0];
    let runs: Vec<&str> = ove.iter().map(|r| r["run"].as_str()).collect();
    assert_eq!(runs, ["1", "2", "mean"]);
    // explain observes the same runs.
    let ex = csv_of(&db, &["explain", "--model", "all"]);
    assert!(ex[1][0]["note"].contains("over the runs of every model"));

    // Baselines are LSTM-free: the LSTM-only settings are refused.
    let mut bad = base.to_vec();
    bad.extend(["--model", "linear", "--bidirectional"]);
    let msg = fails(&bad);
    assert!(
        msg.contains("--layers and --bidirectional are LSTM settings"),
        "{msg}"
    );
}

#[test]
fn baselines_train_on_text_through_one_hot_inputs() {
    let dir = tempdir().unwrap();
    let csv = dir.path().join("text.csv");
    let mut body = String::from("id,text,label\n");
    for i in 0..60 {
        let (t, l) = if i % 2 == 0 {
            ("good fun", "pos")
        } else {
            ("bad sad", "neg")
        };
        body.push_str(&format!("r{i},{t} {},{l}\n", i % 7));
    }
    std::fs::write(&csv, body).unwrap();
    let db = dir.path().join("t.db");
    for model in ["linear", "mlp"] {
        let out = run_ok(&[
            "record",
            "--db",
            db.to_str().unwrap(),
            "--dataset",
            csv.to_str().unwrap(),
            "--model",
            model,
            "--seeds",
            "0",
            "--epochs",
            "15",
            "--lr",
            "0.05",
            "--hidden",
            "8",
            "--threads",
            "1",
            "--quiet",
            "--experiment",
            model,
        ]);
        let train: f64 = out
            .split("train ")
            .nth(1)
            .and_then(|s| s.split('%').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        assert!(train > 90.0, "{model} on an easy text dataset: {out}");
    }
    let ex = csv_of(&db, &["explain", "--experiment", "linear"]);
    assert_eq!(ex[1].len(), 2);
}

/// Old stored configurations (before --model) still load, as LSTMs.
#[test]
fn configs_without_a_model_kind_are_lstms() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("old.db");
    run_ok(&[
        "record",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "planted:n=100,classes=3,len=8",
        "--seeds",
        "0",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--threads",
        "1",
        "--quiet",
    ]);
    let config: String = open(&db)
        .query_row("SELECT config FROM runs", [], |r| r.get(0))
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&config).unwrap();
    let m = v["model"].as_object_mut().unwrap();
    assert_eq!(m.remove("kind"), Some(serde_json::json!("lstm")));
    assert_eq!(m.remove("seq_len"), Some(serde_json::json!(8)));
    let old: trainlog::run::RunConfig = serde_json::from_value(v).unwrap();
    assert_eq!(old.model.kind, trainlog::model::ModelKind::Lstm);
}

/// The eval logits of every epoch, as the trainer emits them.
#[derive(Default)]
struct EvalLogits(BTreeMap<u32, Vec<f32>>);

impl trainlog::trainer::Sink for EvalLogits {
    fn emit(
        &mut self,
        event: trainlog::trainer::Event,
    ) -> Result<(), trainlog::trainer::TrainError> {
        if let trainlog::trainer::Event::Batch(b) = event {
            if b.phase == trainlog::trainer::Phase::Eval {
                self.0.entry(b.epoch).or_default().extend(b.logits);
            }
        }
        Ok(())
    }
}

/// A baseline interrupted mid-training and resumed from its checkpoint (weights saved by name)
/// ends with the same weights as one trained without a break, bit for bit.
#[test]
fn baselines_checkpoint_and_resume_bit_for_bit() {
    use trainlog::model::ModelKind;
    use trainlog::trainer::{self, Capture, Control, OptimizerKind, Schedule, Seeds, TrainConfig};
    tch::set_num_threads(1);
    let data = trainlog::dataset::load("planted:n=200,classes=3,len=12").unwrap();
    let cfg = TrainConfig {
        epochs: 4,
        batch_size: 32,
        eval_batch_size: 64,
        optimizer: OptimizerKind::Adam,
        lr: 0.01,
        schedule: Schedule::Cosine,
        momentum: 0.9,
        weight_decay: 0.0,
        clip_grad: Some(1.0),
        capture: Capture::Eval,
    };
    let seeds = Seeds { init: 3, order: 5 };
    for kind in [ModelKind::Linear, ModelKind::Mlp] {
        let model = trainer::model_config(&data, kind, 16, 1, 0.2, false, 8);
        let mut whole = EvalLogits::default();
        let dev = tch::Device::Cpu;
        trainer::train(&data, &model, &cfg, seeds, dev, &mut whole, Control::none()).unwrap();

        let dir = tempdir().unwrap();
        let polls = std::cell::Cell::new(0);
        // 160 train examples in batches of 32: 5 batches an epoch; stop inside epoch 3.
        let stop = || {
            polls.set(polls.get() + 1);
            polls.get() > 12
        };
        let mut first = EvalLogits::default();
        let control = Control {
            checkpoint_dir: Some(dir.path()),
            checkpoint_every: 1,
            resume: None,
            stop: &stop,
        };
        let err = trainer::train(&data, &model, &cfg, seeds, dev, &mut first, control);
        assert!(
            matches!(err, Err(trainer::TrainError::Interrupted { epoch: 3 })),
            "{err:?}"
        );
        let ck = trainlog::checkpoint::load(&trainlog::checkpoint::path(dir.path(), 2)).unwrap();
        let mut rest = EvalLogits::default();
        let control = Control {
            checkpoint_dir: Some(dir.path()),
            checkpoint_every: 1,
            resume: Some(ck),
            stop: &|| false,
        };
        trainer::train(&data, &model, &cfg, seeds, dev, &mut rest, control).unwrap();
        assert_eq!(rest.0.keys().copied().collect::<Vec<_>>(), [3, 4]);
        assert_eq!(rest.0[&4], whole.0[&4], "{kind:?}: resumed ≠ uninterrupted");
        assert_eq!(first.0[&2], whole.0[&2]);
    }
}
