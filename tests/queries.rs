//! The canned queries, run through the real binary on a log written by hand, against answers
//! worked out by hand from METRICS.md and each query's header (the derivations are in the
//! comments; no expected value comes from trainlog's own code). Then a real recorded run checked
//! against a second, independent computation from the `dynamics` view; the read-only guard; the
//! output formats.

use crate::common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use tempfile::{tempdir, TempDir};
use trainlog::store::Store;

// =============================================================================================
// The hand-made log
//
// One dataset, three classes (0 circle, 1 square, 2 triangle), eight examples:
//
//   example  split  label  orig_label
//   0        train  0      0
//   1        train  0      0
//   2        train  1      1
//   3        train  1      2          flipped
//   4        train  2      2
//   5        train  2      0          flipped
//   6        test   0      0
//   7        test   1      1
//
// One experiment 'handmade', E = 4 epochs. Runs 1, 2, 3 completed (init seeds 10, 11, 12,
// order seeds 20, 21, 22); run 4 (seeds 13, 23) failed after epoch 1: it has observations
// (every example correct with p_true 0.99) and even metrics, so any query that forgets the
// `status = 'completed'` scope gives visibly different numbers.
//
// Eval phase (phase 0):
// - epoch 0: pred 0 for every example (the untrained model), so exactly the class-0 examples
//   are correct; p_true 0.4 (label 0) or 0.3, margin ±0.1; no logits.
// - epochs 1..4: correct as in EVAL below; pred = label when correct, else (label + 1) mod 3;
//   p_true = hi when correct, lo when not (HI_LO, per example); margin +1 correct, −2 wrong;
//   loss −ln p_true. Logits only at epoch 1: 2.0 at pred, 0 elsewhere (for el2n).
// Step phase (phase 1), train examples only, epochs 1..4: correct(e) = eval correct(e − 1)
//   (with eval epoch 0 as above); p_true 0.6 / 0.3, margin ±0.5; position in epoch 1 as in
//   POS1, epoch e: (POS1 + e − 1) mod 6; batch = position / 2.
//
// Consequences used throughout (k = epochs correct out of 4, q = k/4, w = hi − lo):
//   confidence  = lo + w·q
//   variability = w·√(q(1 − q)): 0 for k = 0 or 4, w·s for k = 1 or 3 with s = √3/4 = 0.4330…,
//                 w·½ for k = 2
//   correctness = q
//   aum         = (k·1 + (4 − k)·(−2))/4 = (3k − 8)/4: k=0 −2, 1 −1.25, 2 −0.5, 3 0.25, 4 1
//   el2n@1      = with A = e² + 2, softmax of (2, 0, 0)-like logits is e²/A, 1/A, 1/A:
//                 correct at epoch 1: ‖(e²/A − 1, 1/A, 1/A)‖ = √(4 + 2)/A = √6/A     =: C
//                 wrong at epoch 1:   ‖(1/A − 1, e²/A, 1/A)‖ = √((e²+1)² + e⁴ + 1)/A =: W
// =============================================================================================

const EXPERIMENT: &str = "handmade";
const CLASS_NAMES: [&str; 3] = ["circle", "square", "triangle"];
const LABEL: [i64; 8] = [0, 0, 1, 1, 2, 2, 0, 1];
const ORIG_LABEL: [i64; 8] = [0, 0, 1, 2, 2, 0, 0, 1];
const SPLIT: [&str; 8] = [
    "train", "train", "train", "train", "train", "train", "test", "test",
];
const N_TRAIN: usize = 6;
/// (hi, lo): p_true of the eval phase when correct / wrong, per example.
const HI_LO: [(f64, f64); 8] = [
    (0.9, 0.3),
    (0.8, 0.3),
    (0.7, 0.2),
    (0.4, 0.1),
    (0.9, 0.2),
    (0.6, 0.1),
    (0.8, 0.2),
    (0.7, 0.25),
];
/// Eval-phase correctness at epochs 1..4, per run (1, 2, 3) and example (0..7).
const EVAL: [[&str; 8]; 3] = [
    [
        "1111", "0111", "0011", "1010", "0101", "0000", "0111", "0001",
    ],
    [
        "0111", "1111", "0001", "0000", "1011", "0100", "1111", "0000",
    ],
    [
        "1111", "0011", "0111", "0000", "0111", "1000", "0011", "1011",
    ],
];
/// Position of each train example in epoch 1's training order, per run.
const POS1: [[i64; 6]; 3] = [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [2, 0, 4, 1, 5, 3]];

struct Log {
    dir: TempDir,
    db: PathBuf,
}

fn blob(z: &[f32]) -> Vec<u8> {
    z.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn eval_correct(run: usize, ex: usize, epoch: usize) -> bool {
    if epoch == 0 {
        LABEL[ex] == 0
    } else {
        EVAL[run - 1][ex].as_bytes()[epoch - 1] == b'1'
    }
}

fn wrong_pred(ex: usize) -> i64 {
    (LABEL[ex] + 1) % 3
}

#[allow(clippy::too_many_arguments)]
fn observe(
    c: &rusqlite::Connection,
    run: i64,
    phase: i64,
    epoch: i64,
    ex: usize,
    position: Option<i64>,
    pred: i64,
    p_true: f64,
    margin: f64,
    logits: Option<Vec<u8>>,
) {
    c.execute(
        "INSERT INTO observations (run_id, phase, epoch, example_id, position, batch, pred, loss,
             margin, logits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![
            run,
            phase,
            epoch,
            ex as i64,
            position,
            position.map(|p| p / 2),
            pred,
            // p_true is read back as exp(−loss).
            -p_true.ln(),
            margin,
            logits
        ],
    )
    .unwrap();
}

/// Writes the hand-made log described above into a fresh database and computes the metrics.
fn hand_made_log() -> Log {
    let dir = tempdir().unwrap();
    let db = dir.path().join("hand.db");
    let store = Store::open(&db).unwrap();
    let c = store.conn();
    c.execute_batch("BEGIN").unwrap();
    c.execute(
        "INSERT INTO datasets (dataset_id, spec, fingerprint, n_examples, n_classes, seq_len,
             input_kind, label_noise, created_at)
         VALUES (1, 'hand-made', 'hand-made-fixture-0001', 8, 3, 4, 'numeric', 0.3333,
             '2025-01-01T00:00:00.000Z')",
        [],
    )
    .unwrap();
    for (k, name) in CLASS_NAMES.iter().enumerate() {
        c.execute(
            "INSERT INTO classes (dataset_id, class, name) VALUES (1, ?1, ?2)",
            rusqlite::params![k as i64, name],
        )
        .unwrap();
    }
    for ex in 0..8 {
        c.execute(
            "INSERT INTO examples (dataset_id, example_id, source_id, split, label, orig_label,
                 length) VALUES (1, ?1, ?2, ?3, ?4, ?5, 4)",
            rusqlite::params![
                ex as i64,
                format!("src-{ex}"),
                SPLIT[ex],
                LABEL[ex],
                ORIG_LABEL[ex]
            ],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO experiments (experiment, dataset_id, created_at)
         VALUES (?1, 1, '2025-01-01T00:00:00.000Z')",
        [EXPERIMENT],
    )
    .unwrap();
    for run in 1..=4i64 {
        let (status, message) = if run == 4 {
            ("failed", Some("boom"))
        } else {
            ("completed", None)
        };
        c.execute(
            "INSERT INTO runs (run_id, experiment, init_seed, order_seed, status, model, config,
                 epochs, capture, trainlog_version, libtorch_version, device, started_at,
                 finished_at, message)
             VALUES (?1, ?2, ?3, ?4, ?5, 'lstm', '{}', 4, 'both', '0.1.0', '2.13.0', 'cpu', ?6,
                 ?7, ?8)",
            rusqlite::params![
                run,
                EXPERIMENT,
                9 + run,
                19 + run,
                status,
                format!("2025-01-01T00:0{run}:00.000Z"),
                format!("2025-01-01T00:0{run}:30.000Z"),
                message
            ],
        )
        .unwrap();
    }
    // Runs 1-3: epochs 0..4, eval phase every example, step phase the train examples.
    for run in 1..=3usize {
        for epoch in 0..=4usize {
            let train_ok = (0..N_TRAIN)
                .filter(|&ex| eval_correct(run, ex, epoch))
                .count();
            let test_ok = (N_TRAIN..8)
                .filter(|&ex| eval_correct(run, ex, epoch))
                .count();
            // Run 3's last epoch has no eval_train_acc: `runs` falls back to train_acc (0.5).
            let eval_train_acc = if run == 3 && epoch == 4 {
                None
            } else {
                Some(train_ok as f64 / 6.0)
            };
            let (train_loss, train_acc) = if epoch == 0 {
                (None, None)
            } else {
                (Some(1.0 / epoch as f64), Some(0.5))
            };
            c.execute(
                "INSERT INTO epochs (run_id, epoch, train_loss, train_acc, eval_train_acc,
                     test_loss, test_acc, wall_s, committed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0.7, ?6, 0.1, '2025-01-01T01:00:00.000Z')",
                rusqlite::params![
                    run as i64,
                    epoch as i64,
                    train_loss,
                    train_acc,
                    eval_train_acc,
                    test_ok as f64 / 2.0
                ],
            )
            .unwrap();
            for ex in 0..8 {
                let ok = eval_correct(run, ex, epoch);
                let pred = if epoch == 0 {
                    0
                } else if ok {
                    LABEL[ex]
                } else {
                    wrong_pred(ex)
                };
                let (p_true, margin) = if epoch == 0 {
                    if ok {
                        (0.4, 0.1)
                    } else {
                        (0.3, -0.1)
                    }
                } else if ok {
                    (HI_LO[ex].0, 1.0)
                } else {
                    (HI_LO[ex].1, -2.0)
                };
                let logits = (epoch == 1).then(|| {
                    let mut z = [0f32; 3];
                    z[pred as usize] = 2.0;
                    blob(&z)
                });
                observe(
                    c,
                    run as i64,
                    0,
                    epoch as i64,
                    ex,
                    None,
                    pred,
                    p_true,
                    margin,
                    logits,
                );
                if epoch >= 1 && ex < N_TRAIN {
                    let ok = eval_correct(run, ex, epoch - 1);
                    let pred = if ok { LABEL[ex] } else { wrong_pred(ex) };
                    let position = (POS1[run - 1][ex] + epoch as i64 - 1) % 6;
                    let (p, m) = if ok { (0.6, 0.5) } else { (0.3, -0.5) };
                    observe(
                        c,
                        run as i64,
                        1,
                        epoch as i64,
                        ex,
                        Some(position),
                        pred,
                        p,
                        m,
                        None,
                    );
                }
            }
        }
    }
    // Run 4, failed: epochs 0 and 1; at epoch 1 every example is right and sure of it.
    for epoch in 0..=1i64 {
        c.execute(
            "INSERT INTO epochs (run_id, epoch, train_loss, train_acc, eval_train_acc, test_loss,
                 test_acc, wall_s, committed_at)
             VALUES (4, ?1, NULL, NULL, ?2, NULL, ?2, 0.1, '2025-01-01T01:00:00.000Z')",
            rusqlite::params![epoch, if epoch == 0 { 0.25 } else { 1.0 }],
        )
        .unwrap();
        for ex in 0..8 {
            if epoch == 0 {
                let ok = LABEL[ex] == 0;
                observe(
                    c,
                    4,
                    0,
                    0,
                    ex,
                    None,
                    0,
                    if ok { 0.4 } else { 0.3 },
                    if ok { 0.1 } else { -0.1 },
                    None,
                );
                continue;
            }
            let mut z = [0f32; 3];
            z[LABEL[ex] as usize] = 9.0;
            observe(c, 4, 0, 1, ex, None, LABEL[ex], 0.99, 5.0, Some(blob(&z)));
            if ex < N_TRAIN {
                observe(c, 4, 1, 1, ex, Some(ex as i64), LABEL[ex], 0.99, 5.0, None);
            }
        }
    }
    c.execute_batch("COMMIT").unwrap();
    for run in 1..=4 {
        trainlog::metrics::compute_run(&store, run).unwrap();
    }
    drop(store);
    Log { dir, db }
}

// =============================================================================================
// The answers by hand, per run and example (eval phase, epochs 1..4)
//
// Run 1                  k  first learned forget conf                 variability      corr aum  el2n
//   ex0 1111 (.9/.3)     4  1     1       0      .9                   0                1    1    C
//   ex1 0111 (.8/.3)     3  2     2       0      .3+.5·¾ = .675       .5s = .2165      .75  .25  W
//   ex2 0011 (.7/.2)     2  3     3       0      .2+.5·½ = .45        .5·½ = .25       .5   −.5  W
//   ex3 1010 (.4/.1)     2  1     –       2 (e2, e4) .1+.3·½ = .25    .3·½ = .15       .5   −.5  C
//   ex4 0101 (.9/.2)     2  2     4       1 (e3) .2+.7·½ = .55        .7·½ = .35       .5   −.5  W
//   ex5 0000 (.6/.1)     0  –     –       0      .1                   0                0    −2   W
//   train variabilities sorted: 0 0 .15 .2165 .25 .35; type-7 2/3 quantile at h = 5·⅔ = 3.33:
//   .2165 + ⅓(.25 − .2165) = .2277 → ambiguous: ex2 (.25), ex4 (.35); else conf ≥ .5:
//   ex0 easy, ex1 easy, ex3 hard (.25), ex5 hard (.1).
//   ex6 0111 (.8/.2) test 3  2     2       0      .2+.6·¾ = .65        .6s = .2598      .75  .25  W
//   ex7 0001 (.7/.25) test 1 4     4       0      .25+.45·¼ = .3625    .45s = .1949     .25  −1.25 W
//   test split alone: h = 1·⅔, threshold .1949 + ⅔(.2598 − .1949) = .2382 → ex6 ambiguous,
//   ex7 hard (.3625).
// Run 2
//   ex0 0111 (.9/.3)     3  2     2       0      .3+.6·¾ = .75        .6s = .2598      .75  .25  W
//   ex1 1111             4  1     1       0      .8                   0                1    1    C
//   ex2 0001 (.7/.2)     1  4     4       0      .2+.5·¼ = .325       .5s = .2165      .25  −1.25 W
//   ex3 0000             0  –     –       0      .1                   0                0    −2   W
//   ex4 1011 (.9/.2)     3  1     3       1 (e2) .2+.7·¾ = .725       .7s = .3031      .75  .25  C
//   ex5 0100 (.6/.1)     1  2     –       1 (e3) .1+.5·¼ = .225       .5s = .2165      .25  −1.25 W
//   sorted: 0 0 .5s .5s .6s .7s → .5s + ⅓(.6s − .5s) = .2309 → ambiguous ex0, ex4; ex1 easy,
//   ex2 hard (.325), ex3 hard, ex5 hard (.225).
//   ex6 1111 test        4  1     1       0      .8                   0                1    1    C
//   ex7 0000 test        0  –     –       0      .25                  0                0    −2   W
//   test: both variabilities exactly 0, threshold 0, 0 ≥ 0 → both ambiguous.
// Run 3
//   ex0 1111             4  1     1       0      .9                   0                1    1    C
//   ex1 0011 (.8/.3)     2  3     3       0      .3+.5·½ = .55        .25              .5   −.5  W
//   ex2 0111 (.7/.2)     3  2     2       0      .2+.5·¾ = .575       .5s = .2165      .75  .25  W
//   ex3 0000             0  –     –       0      .1                   0                0    −2   W
//   ex4 0111 (.9/.2)     3  2     2       0      .725                 .7s = .3031      .75  .25  W
//   ex5 1000 (.6/.1)     1  1     –       1 (e2) .225                 .5s = .2165      .25  −1.25 C
//   sorted: 0 0 .5s .5s .25 .7s → .5s + ⅓(.25 − .5s) = .2277 → ambiguous ex1, ex4; ex0 easy,
//   ex2 easy (.575), ex3 hard, ex5 hard.
//   ex6 0011 (.8/.2) test 2  3     3       0      .2+.6·½ = .5         .6·½ = .3        .5   −.5  W
//   ex7 1011 (.7/.25) test 3 1     3       1 (e2) .25+.45·¾ = .5875    .45s = .1949     .75  .25  C
//   test: threshold .1949 + ⅔(.3 − .1949) = .2649 → ex6 ambiguous, ex7 easy.
// =============================================================================================

#[derive(Debug, Clone, Copy)]
struct Hand {
    first: Option<i64>,
    learned: Option<i64>,
    forgetting: i64,
    unforgettable: bool,
    confidence: f64,
    variability: f64,
    correctness: f64,
    region: &'static str,
    aum: f64,
    /// el2n at epoch 1 is C when correct at epoch 1, else W.
    el2n_correct: bool,
}

fn s() -> f64 {
    3f64.sqrt() / 4.0
}

/// C and W above.
fn el2n_c_w() -> (f64, f64) {
    let e2 = 2f64.exp();
    let a = e2 + 2.0;
    (
        6f64.sqrt() / a,
        ((e2 + 1.0) * (e2 + 1.0) + e2 * e2 + 1.0).sqrt() / a,
    )
}

#[allow(clippy::too_many_arguments)]
fn h(
    first: Option<i64>,
    learned: Option<i64>,
    forgetting: i64,
    unforgettable: bool,
    confidence: f64,
    variability: f64,
    correctness: f64,
    region: &'static str,
    aum: f64,
    el2n_correct: bool,
) -> Hand {
    Hand {
        first,
        learned,
        forgetting,
        unforgettable,
        confidence,
        variability,
        correctness,
        region,
        aum,
        el2n_correct,
    }
}

/// The table above.
fn hand(run: usize, ex: usize) -> Hand {
    let s = s();
    let (n, y) = (None, true);
    let x = false;
    match (run, ex) {
        (1, 0) => h(Some(1), Some(1), 0, y, 0.9, 0.0, 1.0, "easy", 1.0, y),
        (1, 1) => h(
            Some(2),
            Some(2),
            0,
            y,
            0.675,
            0.5 * s,
            0.75,
            "easy",
            0.25,
            x,
        ),
        (1, 2) => h(
            Some(3),
            Some(3),
            0,
            y,
            0.45,
            0.25,
            0.5,
            "ambiguous",
            -0.5,
            x,
        ),
        (1, 3) => h(Some(1), n, 2, x, 0.25, 0.15, 0.5, "hard", -0.5, y),
        (1, 4) => h(
            Some(2),
            Some(4),
            1,
            x,
            0.55,
            0.35,
            0.5,
            "ambiguous",
            -0.5,
            x,
        ),
        (1, 5) => h(n, n, 0, x, 0.1, 0.0, 0.0, "hard", -2.0, x),
        (1, 6) => h(
            Some(2),
            Some(2),
            0,
            y,
            0.65,
            0.6 * s,
            0.75,
            "ambiguous",
            0.25,
            x,
        ),
        (1, 7) => h(
            Some(4),
            Some(4),
            0,
            y,
            0.3625,
            0.45 * s,
            0.25,
            "hard",
            -1.25,
            x,
        ),
        (2, 0) => h(
            Some(2),
            Some(2),
            0,
            y,
            0.75,
            0.6 * s,
            0.75,
            "ambiguous",
            0.25,
            x,
        ),
        (2, 1) => h(Some(1), Some(1), 0, y, 0.8, 0.0, 1.0, "easy", 1.0, y),
        (2, 2) => h(
            Some(4),
            Some(4),
            0,
            y,
            0.325,
            0.5 * s,
            0.25,
            "hard",
            -1.25,
            x,
        ),
        (2, 3) => h(n, n, 0, x, 0.1, 0.0, 0.0, "hard", -2.0, x),
        (2, 4) => h(
            Some(1),
            Some(3),
            1,
            x,
            0.725,
            0.7 * s,
            0.75,
            "ambiguous",
            0.25,
            y,
        ),
        (2, 5) => h(Some(2), n, 1, x, 0.225, 0.5 * s, 0.25, "hard", -1.25, x),
        (2, 6) => h(Some(1), Some(1), 0, y, 0.8, 0.0, 1.0, "ambiguous", 1.0, y),
        (2, 7) => h(n, n, 0, x, 0.25, 0.0, 0.0, "ambiguous", -2.0, x),
        (3, 0) => h(Some(1), Some(1), 0, y, 0.9, 0.0, 1.0, "easy", 1.0, y),
        (3, 1) => h(
            Some(3),
            Some(3),
            0,
            y,
            0.55,
            0.25,
            0.5,
            "ambiguous",
            -0.5,
            x,
        ),
        (3, 2) => h(
            Some(2),
            Some(2),
            0,
            y,
            0.575,
            0.5 * s,
            0.75,
            "easy",
            0.25,
            x,
        ),
        (3, 3) => h(n, n, 0, x, 0.1, 0.0, 0.0, "hard", -2.0, x),
        (3, 4) => h(
            Some(2),
            Some(2),
            0,
            y,
            0.725,
            0.7 * s,
            0.75,
            "ambiguous",
            0.25,
            x,
        ),
        (3, 5) => h(Some(1), n, 1, x, 0.225, 0.5 * s, 0.25, "hard", -1.25, y),
        (3, 6) => h(Some(3), Some(3), 0, y, 0.5, 0.3, 0.5, "ambiguous", -0.5, x),
        (3, 7) => h(
            Some(1),
            Some(3),
            1,
            x,
            0.5875,
            0.45 * s,
            0.75,
            "easy",
            0.25,
            y,
        ),
        _ => unreachable!(),
    }
}

// =============================================================================================
// Helpers: run the binary, read its CSV, compare

/// `trainlog query ARGS --db DB`, which must succeed; its stdout.
fn query(db: &Path, args: &[&str]) -> String {
    let out = trainlog()
        .arg("query")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trainlog query {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `trainlog query ARGS --db DB`, which must fail; its stderr.
fn query_fails(db: &Path, args: &[&str]) -> String {
    let out = trainlog()
        .arg("query")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "trainlog query {args:?} should have failed but printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

type Row = BTreeMap<String, String>;

struct Table {
    header: Vec<String>,
    rows: Vec<Row>,
}

fn parse_csv(text: &str) -> Table {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    Table { header, rows }
}

/// A multi-section CSV: `# Title` lines before each section, blank lines between.
fn parse_sections(text: &str) -> Vec<(String, Table)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# ") {
            out.push((t.to_string(), String::new()));
        } else if !line.is_empty() {
            let last = out.last_mut().expect("a section title first");
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out.into_iter()
        .map(|(t, body)| (t, parse_csv(&body)))
        .collect()
}

fn cell<'a>(row: &'a Row, col: &str) -> &'a str {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col} in {row:?}"))
}

fn num(row: &Row, col: &str) -> Option<f64> {
    let v = cell(row, col);
    (!v.is_empty()).then(|| {
        v.parse()
            .unwrap_or_else(|_| panic!("{col} = {v:?} is not a number"))
    })
}

#[track_caller]
fn near_tol(got: Option<f64>, want: Option<f64>, tol: f64, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= tol,
            "{what}: got {g}, want {w} (off by {})",
            g - w
        ),
        _ => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

#[track_caller]
fn near(row: &Row, col: &str, want: Option<f64>, what: &str) {
    near_tol(num(row, col), want, 1e-9, &format!("{what} {col}"));
}

#[track_caller]
fn is(row: &Row, col: &str, want: f64, what: &str) {
    near(row, col, Some(want), what);
}

#[track_caller]
fn null(row: &Row, col: &str, what: &str) {
    assert_eq!(cell(row, col), "", "{what} {col} should be NULL");
}

fn header(t: &Table, want: &[&str]) {
    assert_eq!(t.header, want, "columns");
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1), None for fewer than two values.
fn sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    Some((xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() as f64 - 1.0)).sqrt())
}

/// The table output's lines that are not part of the drawn table.
fn footer_lines(table: &str) -> Vec<String> {
    table
        .lines()
        .filter(|l| {
            !l.starts_with('+') && !l.starts_with('|') && !l.trim().is_empty() && *l != "(no rows)"
        })
        .map(String::from)
        .collect()
}

// =============================================================================================
// One test per canned query

const EXAMPLES_COLUMNS: &[&str] = &[
    "example_id",
    "split",
    "label",
    "runs",
    "first_correct_epoch",
    "first_correct_epoch_sd",
    "learned_epoch",
    "learned_epoch_sd",
    "forgetting_events",
    "forgetting_events_sd",
    "unforgettable",
    "confidence",
    "confidence_sd",
    "variability",
    "variability_sd",
    "correctness",
    "correctness_sd",
    "region",
    "aum",
    "aum_sd",
    "el2n",
    "el2n_sd",
    "note",
];

#[test]
fn examples_one_run_every_split() {
    let log = hand_made_log();
    let t = parse_csv(&query(
        &log.db,
        &[
            "examples", "--run", "1", "--split", "all", "--format", "csv",
        ],
    ));
    header(&t, EXAMPLES_COLUMNS);
    assert_eq!(t.rows.len(), 8, "the 8 examples of both splits");
    let (c, w) = el2n_c_w();
    for (ex, row) in t.rows.iter().enumerate() {
        let want = hand(1, ex);
        let what = format!("run 1 example {ex}");
        assert_eq!(cell(row, "example_id"), ex.to_string());
        assert_eq!(cell(row, "split"), SPLIT[ex]);
        assert_eq!(cell(row, "label"), LABEL[ex].to_string());
        assert_eq!(cell(row, "runs"), "1");
        // One run: the value itself, NULL when never; every *_sd is NULL (one value).
        near(
            row,
            "first_correct_epoch",
            want.first.map(|v| v as f64),
            &what,
        );
        near(row, "learned_epoch", want.learned.map(|v| v as f64), &what);
        is(row, "forgetting_events", want.forgetting as f64, &what);
        is(
            row,
            "unforgettable",
            want.unforgettable as i64 as f64,
            &what,
        );
        is(row, "confidence", want.confidence, &what);
        is(row, "variability", want.variability, &what);
        is(row, "correctness", want.correctness, &what);
        assert_eq!(cell(row, "region"), want.region, "{what} region");
        is(row, "aum", want.aum, &what);
        is(row, "el2n", if want.el2n_correct { c } else { w }, &what);
        for col in EXAMPLES_COLUMNS.iter().filter(|c| c.ends_with("_sd")) {
            null(row, col, &what);
        }
        assert_eq!(
            cell(row, "note"),
            "one run; NULL = never correct / never learned"
        );
    }
    // Spelled out for two rows: example 3 (1010: forgotten twice, never learned) and 5.
    assert_eq!(cell(&t.rows[3], "first_correct_epoch"), "1");
    assert_eq!(cell(&t.rows[3], "learned_epoch"), "");
    assert_eq!(cell(&t.rows[5], "first_correct_epoch"), "");
    is(&t.rows[3], "forgetting_events", 2.0, "ex3");
    is(&t.rows[4], "variability", 0.35, "ex4");

    // The default split is train; --split test gives the two test examples only.
    let train = parse_csv(&query(
        &log.db,
        &["examples", "--run", "1", "--format", "csv"],
    ));
    assert_eq!(train.rows.len(), 6);
    assert_eq!(train.rows, t.rows[..6].to_vec());
    let test = parse_csv(&query(
        &log.db,
        &[
            "examples", "--run", "1", "--split", "test", "--format", "csv",
        ],
    ));
    assert_eq!(test.rows, t.rows[6..].to_vec());

    // el2n at an epoch without logits: NULL. The failed run 4 has no rows at all.
    let k2 = parse_csv(&query(
        &log.db,
        &[
            "examples", "--run", "1", "--param", "k=2", "--format", "csv",
        ],
    ));
    assert!(k2.rows.iter().all(|r| cell(r, "el2n").is_empty()));
    let failed = parse_csv(&query(
        &log.db,
        &["examples", "--run", "4", "--format", "csv"],
    ));
    assert!(failed.rows.is_empty(), "a failed run is out of scope");
}

#[test]
fn examples_mean_over_runs() {
    let log = hand_made_log();
    let t = parse_csv(&query(&log.db, &["examples", "--format", "csv"]));
    header(&t, EXAMPLES_COLUMNS);
    assert_eq!(t.rows.len(), N_TRAIN, "train examples (the default split)");
    let (c, w) = el2n_c_w();
    // Aggregates over runs 1-3 of the hand table (never = E + 1 = 5 in the means).
    // E.g. example 0: learned 1 2 1 → mean 4/3, sd √(((−⅓)² + (⅔)² + (−⅓)²)/2) = √(1/3);
    // confidence .9 .75 .9 → .85, sd √((.05² + .1² + .05²)/2) = √.0075;
    // variability 0, .6s, 0 → .2s = .05√3, sd √((.04 + .16 + .04)s²/2) = √(.12·3/16) = .15;
    // correctness 1 .75 1 → 11/12, sd √3/12; region easy, ambiguous, easy → easy;
    // aum 1 .25 1 → .75, sd √.1875; el2n C W C → (2C + W)/3, sd |W − C|/√3.
    // Example 2: regions ambiguous, hard, easy: a three-way tie → easy (ties: easy first).
    // Example 3: first_correct 1, never, never → (1 + 5 + 5)/3 = 11/3.
    let majority = ["easy", "easy", "easy", "hard", "ambiguous", "hard"];
    for (ex, row) in t.rows.iter().enumerate() {
        let what = format!("example {ex}");
        let per: Vec<Hand> = (1..=3).map(|r| hand(r, ex)).collect();
        let col = |f: &dyn Fn(&Hand) -> f64| -> Vec<f64> { per.iter().map(f).collect() };
        let first = col(&|m| m.first.unwrap_or(5) as f64);
        let learned = col(&|m| m.learned.unwrap_or(5) as f64);
        let forgetting = col(&|m| m.forgetting as f64);
        let conf = col(&|m| m.confidence);
        let var = col(&|m| m.variability);
        let corr = col(&|m| m.correctness);
        let aum = col(&|m| m.aum);
        let el2n = col(&|m| if m.el2n_correct { c } else { w });
        assert_eq!(cell(row, "example_id"), ex.to_string());
        assert_eq!(cell(row, "runs"), "3");
        for (name, xs) in [
            ("first_correct_epoch", &first),
            ("learned_epoch", &learned),
            ("forgetting_events", &forgetting),
            ("confidence", &conf),
            ("variability", &var),
            ("correctness", &corr),
            ("aum", &aum),
            ("el2n", &el2n),
        ] {
            is(row, name, mean(xs), &what);
            near(row, &format!("{name}_sd"), sd(xs), &what);
        }
        is(
            row,
            "unforgettable",
            mean(&col(&|m| m.unforgettable as i64 as f64)),
            &what,
        );
        assert_eq!(cell(row, "region"), majority[ex], "{what} region");
        assert_eq!(
            cell(row, "note"),
            "means over runs; never correct / never learned count as E+1"
        );
    }
    // The worked example 0, as literals.
    let r0 = &t.rows[0];
    is(r0, "learned_epoch", 4.0 / 3.0, "ex0");
    is(r0, "learned_epoch_sd", (1.0f64 / 3.0).sqrt(), "ex0");
    is(r0, "confidence", 0.85, "ex0");
    is(r0, "confidence_sd", 0.0075f64.sqrt(), "ex0");
    is(r0, "variability", 0.05 * 3f64.sqrt(), "ex0");
    is(r0, "variability_sd", 0.15, "ex0");
    is(r0, "correctness", 11.0 / 12.0, "ex0");
    is(r0, "correctness_sd", 3f64.sqrt() / 12.0, "ex0");
    is(r0, "aum", 0.75, "ex0");
    is(r0, "aum_sd", 0.1875f64.sqrt(), "ex0");
    is(r0, "el2n", (2.0 * c + w) / 3.0, "ex0");
    is(r0, "el2n_sd", (w - c) / 3f64.sqrt(), "ex0");
    is(&t.rows[3], "first_correct_epoch", 11.0 / 3.0, "ex3");
    is(&t.rows[3], "unforgettable", 0.0, "ex3");
    is(&t.rows[4], "unforgettable", 1.0 / 3.0, "ex4");

    // --experiment by name gives the same.
    let named = parse_csv(&query(
        &log.db,
        &["examples", "--experiment", EXPERIMENT, "--format", "csv"],
    ));
    assert_eq!(named.rows, t.rows);
}

#[test]
fn classes_learned_first() {
    // Per run, learned_epoch of the train examples (never = 5):
    //   run 1: ex0..5 = 1 2 3 5 4 5;  run 2: 2 1 4 5 3 5;  run 3: 1 3 2 5 2 5.
    // Mean per class (circle = ex0, ex1; square = ex2, ex3; triangle = ex4, ex5):
    //   run 1: 1.5, 4, 4.5 → ranks 1 2 3
    //   run 2: 1.5, 4.5, 4 → ranks 1 3 2
    //   run 3: 2, 3.5, 3.5 → ranks 1 2.5 2.5 (a tie)
    // learned_epoch = mean over runs: circle (1.5 + 1.5 + 2)/3 = 5/3, square 12/3 = 4,
    //   triangle 12/3 = 4. mean_rank: 1, 2.5, 2.5; rank_sd: 0, √((.25 + .25 + 0)/2) = .5, .5.
    //   Tied mean ranks keep class order.
    // Kendall's W: R = 3, 7.5, 7.5; R̄ = 6; S = 9 + 2.25 + 2.25 = 13.5; run 3's tie of two:
    //   T = 2³ − 2 = 6; W = 12·13.5 / (3²·(3³ − 3) − 3·6) = 162/198 = 9/11.
    // Class accuracy curves (train, eval, epochs 1..4; epoch 0, where circle is at 1.0, is left
    // out), first epoch ≥ .5 / ≥ .9:
    //   circle:   run 1: .5 1 1 1 (e50 1, e90 2); run 2: .5 1 1 1 (1, 2); run 3: .5 .5 1 1 (1, 3)
    //   square:   run 1: .5 0 1 .5 (1, 3); run 2: 0 0 0 .5 (4, –); run 3: 0 .5 .5 .5 (2, –)
    //   triangle: run 1: 0 .5 0 .5 (2, –); run 2: .5 .5 .5 .5 (1, –); run 3: .5 .5 .5 .5 (1, –)
    // epoch_to_50: circle 1 (sd 0, 3 runs); square (1+4+2)/3 = 7/3, sd √((16+25+1)/9/2) = √(7/3);
    //   triangle 4/3, sd √((4+1+1)/9/2) = √(1/3).
    // epoch_to_90: circle 7/3, sd √(1/3), 3 runs; square 3 (one run, sd NULL); triangle NULL,
    //   0 runs.
    let log = hand_made_log();
    let t = parse_csv(&query(
        &log.db,
        &["classes-learned-first", "--format", "csv"],
    ));
    header(
        &t,
        &[
            "class",
            "name",
            "runs",
            "epoch_to_50",
            "epoch_to_50_sd",
            "runs_to_50",
            "epoch_to_90",
            "epoch_to_90_sd",
            "runs_to_90",
            "learned_epoch",
            "mean_rank",
            "rank_sd",
            "kendall_w",
        ],
    );
    assert_eq!(t.rows.len(), 3);
    let third = (1.0f64 / 3.0).sqrt();
    #[allow(clippy::type_complexity)]
    let want: [(
        &str,
        &str,
        f64,
        Option<f64>,
        &str,
        Option<f64>,
        Option<f64>,
        &str,
        f64,
        f64,
        f64,
    ); 3] = [
        (
            "0",
            "circle",
            1.0,
            Some(0.0),
            "3",
            Some(7.0 / 3.0),
            Some(third),
            "3",
            5.0 / 3.0,
            1.0,
            0.0,
        ),
        (
            "1",
            "square",
            7.0 / 3.0,
            Some((7.0f64 / 3.0).sqrt()),
            "3",
            Some(3.0),
            None,
            "1",
            4.0,
            2.5,
            0.5,
        ),
        (
            "2",
            "triangle",
            4.0 / 3.0,
            Some(third),
            "3",
            None,
            None,
            "0",
            4.0,
            2.5,
            0.5,
        ),
    ];
    for (row, w) in t.rows.iter().zip(want) {
        let what = format!("class {}", w.0);
        assert_eq!(cell(row, "class"), w.0);
        assert_eq!(cell(row, "name"), w.1);
        assert_eq!(cell(row, "runs"), "3");
        is(row, "epoch_to_50", w.2, &what);
        near(row, "epoch_to_50_sd", w.3, &what);
        assert_eq!(cell(row, "runs_to_50"), w.4);
        near(row, "epoch_to_90", w.5, &what);
        near(row, "epoch_to_90_sd", w.6, &what);
        assert_eq!(cell(row, "runs_to_90"), w.7);
        is(row, "learned_epoch", w.8, &what);
        is(row, "mean_rank", w.9, &what);
        is(row, "rank_sd", w.10, &what);
        is(row, "kendall_w", 9.0 / 11.0, &what);
    }
    // The table shows W once, under the table, as a footer line (4 decimals).
    let table = query(&log.db, &["classes-learned-first", "--format", "table"]);
    assert!(
        footer_lines(&table)
            .iter()
            .any(|l| l == "Kendall's W of the class order across runs (1 = identical): 0.8182"),
        "{table}"
    );
    assert!(
        !table.contains("kendall_w"),
        "W is not a column in the table: {table}"
    );
    // One run: W needs two raters → NULL, shown as n/a.
    let one = parse_csv(&query(
        &log.db,
        &["classes-learned-first", "--run", "2", "--format", "csv"],
    ));
    assert!(one.rows.iter().all(|r| cell(r, "kendall_w").is_empty()));
    // Run 2 alone: circle 1.5 (rank 1), triangle 4 (rank 2), square 4.5 (rank 3).
    let order: Vec<&str> = one.rows.iter().map(|r| cell(r, "name")).collect();
    assert_eq!(order, ["circle", "triangle", "square"]);
    let table = query(
        &log.db,
        &["classes-learned-first", "--run", "2", "--format", "table"],
    );
    assert!(
        table.contains("Kendall's W of the class order across runs (1 = identical): n/a"),
        "{table}"
    );
}

/// learned_epoch per run (never = 5), train examples 0..5: see classes_learned_first.
/// Example: 0: 1 2 1 → 4/3, sd √(1/3), 1..2; 1: 2 1 3 → 2, sd 1, 1..3; 2: 3 4 2 → 3, sd 1, 2..4;
/// 3: 5 5 5 → 5, sd 0; 4: 4 3 2 → 3, sd 1, 2..4; 5: 5 5 5 → 5, sd 0.
fn learned_stats(ex: usize) -> (f64, f64, &'static str, &'static str) {
    match ex {
        0 => (4.0 / 3.0, (1.0f64 / 3.0).sqrt(), "1", "2"),
        1 => (2.0, 1.0, "1", "3"),
        2 => (3.0, 1.0, "2", "4"),
        3 => (5.0, 0.0, "5", "5"),
        4 => (3.0, 1.0, "2", "4"),
        5 => (5.0, 0.0, "5", "5"),
        _ => unreachable!(),
    }
}

const LEARNED_FIRST_COLUMNS: &[&str] = &[
    "example_id",
    "split",
    "label",
    "class_name",
    "learned_epoch",
    "learned_epoch_sd",
    "earliest",
    "latest",
    "runs_in_top_n",
    "runs",
    "note",
];

#[test]
fn examples_learned_first() {
    // rank() per run by learned_epoch ascending (ties share the better rank):
    //   run 1 (1 2 3 5 4 5): ex0 1, ex1 2, ex2 3, ex4 4, ex3 5, ex5 5
    //   run 2 (2 1 4 5 3 5): ex1 1, ex0 2, ex4 3, ex2 4, ex3 5, ex5 5
    //   run 3 (1 3 2 5 2 5): ex0 1, ex2 2, ex4 2, ex1 4, ex3 5, ex5 5
    // n = 4: runs_in_top_n (rank ≤ 4): ex0 3, ex1 3, ex2 3, ex4 3, ex3 0, ex5 0.
    // Order: mean learned 4/3 (ex0), 2 (ex1), 3 (ex2, ex4: same top-n count, so by id).
    let log = hand_made_log();
    let t = parse_csv(&query(
        &log.db,
        &[
            "examples-learned-first",
            "--param",
            "n=4",
            "--format",
            "csv",
        ],
    ));
    header(&t, LEARNED_FIRST_COLUMNS);
    let ids: Vec<&str> = t.rows.iter().map(|r| cell(r, "example_id")).collect();
    assert_eq!(ids, ["0", "1", "2", "4"]);
    for row in &t.rows {
        let ex: usize = cell(row, "example_id").parse().unwrap();
        let (m, s, lo, hi) = learned_stats(ex);
        let what = format!("example {ex}");
        assert_eq!(cell(row, "split"), "train");
        assert_eq!(cell(row, "label"), LABEL[ex].to_string());
        assert_eq!(cell(row, "class_name"), CLASS_NAMES[LABEL[ex] as usize]);
        is(row, "learned_epoch", m, &what);
        is(row, "learned_epoch_sd", s, &what);
        assert_eq!(cell(row, "earliest"), lo);
        assert_eq!(cell(row, "latest"), hi);
        assert_eq!(cell(row, "runs_in_top_n"), "3", "{what}");
        assert_eq!(cell(row, "runs"), "3");
        assert_eq!(cell(row, "note"), "never learned counts as E+1");
    }
    // n = 2: runs_in_top_n (rank ≤ 2): ex0 run 1 (1), run 2 (2), run 3 (1) → 3;
    //   ex1 run 1 (2), run 2 (1), run 3 (4 ✗) → 2. Only two rows.
    let t = parse_csv(&query(
        &log.db,
        &[
            "examples-learned-first",
            "--param",
            "n=2",
            "--format",
            "csv",
        ],
    ));
    let got: Vec<(&str, &str)> = t
        .rows
        .iter()
        .map(|r| (cell(r, "example_id"), cell(r, "runs_in_top_n")))
        .collect();
    assert_eq!(got, [("0", "3"), ("1", "2")]);
    // Default n = 10: all six train examples, the never-learned 3 and 5 last.
    let t = parse_csv(&query(
        &log.db,
        &["examples-learned-first", "--format", "csv"],
    ));
    let ids: Vec<&str> = t.rows.iter().map(|r| cell(r, "example_id")).collect();
    assert_eq!(ids, ["0", "1", "2", "4", "3", "5"]);
}

#[test]
fn examples_learned_last() {
    // rank() per run by learned_epoch descending (ties share the better rank):
    //   run 1 (1 2 3 5 4 5): ex3 1, ex5 1, ex4 3, ex2 4, ex1 5, ex0 6
    //   run 2 (2 1 4 5 3 5): ex3 1, ex5 1, ex2 3, ex4 4, ex0 5, ex1 6
    //   run 3 (1 3 2 5 2 5): ex3 1, ex5 1, ex1 3, ex2 4, ex4 4, ex0 6
    // n = 3: runs_in_top_n (rank ≤ 3): ex3 3, ex5 3, ex2 1 (run 2), ex4 1 (run 1), ex1 1.
    // Order: learned 5 (ex3, ex5, same count → by id), then 3 (ex2, ex4 → by id); LIMIT 3.
    let log = hand_made_log();
    let t = parse_csv(&query(
        &log.db,
        &["examples-learned-last", "--param", "n=3", "--format", "csv"],
    ));
    header(&t, LEARNED_FIRST_COLUMNS);
    let got: Vec<(&str, &str)> = t
        .rows
        .iter()
        .map(|r| (cell(r, "example_id"), cell(r, "runs_in_top_n")))
        .collect();
    assert_eq!(got, [("3", "3"), ("5", "3"), ("2", "1")]);
    for row in &t.rows {
        let ex: usize = cell(row, "example_id").parse().unwrap();
        let (m, s, lo, hi) = learned_stats(ex);
        let what = format!("example {ex}");
        assert_eq!(cell(row, "class_name"), CLASS_NAMES[LABEL[ex] as usize]);
        is(row, "learned_epoch", m, &what);
        is(row, "learned_epoch_sd", s, &what);
        assert_eq!(cell(row, "earliest"), lo);
        assert_eq!(cell(row, "latest"), hi);
        assert_eq!(cell(row, "runs"), "3");
    }
    let table = query(&log.db, &["examples-learned-last", "--format", "table"]);
    assert!(
        footer_lines(&table)
            .iter()
            .any(|l| l == "note: never learned counts as E+1"),
        "{table}"
    );
}

#[test]
fn forgetting() {
    // forgetting_events per run (train): run 1: 0 0 0 2 1 0; run 2: 0 0 0 0 1 1;
    //   run 3: 0 0 0 0 0 1. Over the 18 (run, example) pairs: 0 → 13, 1 → 4, 2 → 1.
    // Unforgettable (correct some time, never forgotten):
    //   run 1: ex0 ex1 ex2 → 3 (ex5 never correct); run 2: ex0 ex1 ex2 → 3 (ex3 never);
    //   run 3: ex0 ex1 ex2 ex4 → 4 (ex3 never). Every run: ex0 ex1 ex2 → 3; any: + ex4 → 4.
    let log = hand_made_log();
    let sections = parse_sections(&query(&log.db, &["forgetting", "--format", "csv"]));
    let titles: Vec<&str> = sections.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Forgetting events: examples forgotten k times (counted over runs)",
            "Unforgettable examples per run",
            "Across runs: unforgettable in every run and in any run",
        ]
    );
    let t = &sections[0].1;
    header(t, &["forgetting_events", "examples", "per_run", "share"]);
    let want = [(0, 13.0), (1, 4.0), (2, 1.0)];
    assert_eq!(t.rows.len(), 3);
    for (row, (k, n)) in t.rows.iter().zip(want) {
        let what = format!("{k} events");
        assert_eq!(cell(row, "forgetting_events"), k.to_string());
        is(row, "examples", n, &what);
        is(row, "per_run", n / 3.0, &what);
        is(row, "share", n / 18.0, &what);
    }
    let t = &sections[1].1;
    header(
        t,
        &[
            "run_id",
            "init_seed",
            "order_seed",
            "unforgettable",
            "never_correct",
            "examples",
            "share",
        ],
    );
    let want = [
        ("1", "10", "20", "3", 0.5),
        ("2", "11", "21", "3", 0.5),
        ("3", "12", "22", "4", 4.0 / 6.0),
    ];
    assert_eq!(t.rows.len(), 3, "the failed run 4 is not counted");
    for (row, w) in t.rows.iter().zip(want) {
        assert_eq!(cell(row, "run_id"), w.0);
        assert_eq!(cell(row, "init_seed"), w.1);
        assert_eq!(cell(row, "order_seed"), w.2);
        assert_eq!(cell(row, "unforgettable"), w.3);
        assert_eq!(cell(row, "never_correct"), "1");
        assert_eq!(cell(row, "examples"), "6");
        is(row, "share", w.4, &format!("run {}", w.0));
    }
    let t = &sections[2].1;
    header(
        t,
        &[
            "runs",
            "examples",
            "unforgettable_in_every_run",
            "unforgettable_in_any_run",
        ],
    );
    assert_eq!(t.rows.len(), 1);
    let r = &t.rows[0];
    assert_eq!(
        (
            cell(r, "runs"),
            cell(r, "examples"),
            cell(r, "unforgettable_in_every_run"),
            cell(r, "unforgettable_in_any_run")
        ),
        ("3", "6", "3", "4")
    );

    // Step phase, run 1: step correctness is eval correctness one epoch earlier:
    //   ex0 1111, ex1 1011 (forgotten at 2), ex2 0001, ex3 0101 (at 3), ex4 0010, ex5 0000;
    //   ex4 is correct at 3 and wrong at 4: forgotten at 4. So 0 → 3, 1 → 3.
    let sections = parse_sections(&query(
        &log.db,
        &[
            "forgetting",
            "--run",
            "1",
            "--phase",
            "step",
            "--format",
            "csv",
        ],
    ));
    let got: Vec<(&str, &str)> = sections[0]
        .1
        .rows
        .iter()
        .map(|r| (cell(r, "forgetting_events"), cell(r, "examples")))
        .collect();
    assert_eq!(got, [("0", "3"), ("1", "3")]);
}

#[test]
fn data_map() {
    // Regions from the hand table (train, 3 runs = 18 pairs):
    //   run 1: easy ex0 ex1; ambiguous ex2 ex4; hard ex3 ex5
    //   run 2: easy ex1; ambiguous ex0 ex4; hard ex2 ex3 ex5
    //   run 3: easy ex0 ex2; ambiguous ex1 ex4; hard ex3 ex5
    // all: easy 5, ambiguous 6, hard 7.
    // circle (ex0, ex1): easy 4 (r1 ex0, r1 ex1, r2 ex1, r3 ex0), ambiguous 2, hard 0
    // square (ex2, ex3): easy 1 (r3 ex2), ambiguous 1 (r1 ex2), hard 4
    // triangle (ex4, ex5): easy 0, ambiguous 3, hard 3
    let log = hand_made_log();
    let t = parse_csv(&query(&log.db, &["data-map", "--format", "csv"]));
    header(
        &t,
        &[
            "class",
            "runs",
            "examples",
            "easy",
            "ambiguous",
            "hard",
            "easy_share",
            "ambiguous_share",
            "hard_share",
        ],
    );
    let want = [
        ("all", 18.0, 5.0, 6.0, 7.0),
        ("circle", 6.0, 4.0, 2.0, 0.0),
        ("square", 6.0, 1.0, 1.0, 4.0),
        ("triangle", 6.0, 0.0, 3.0, 3.0),
    ];
    assert_eq!(t.rows.len(), 4);
    for (row, (class, n, e, a, h)) in t.rows.iter().zip(want) {
        assert_eq!(cell(row, "class"), class);
        assert_eq!(cell(row, "runs"), "3");
        is(row, "examples", n, class);
        is(row, "easy", e, class);
        is(row, "ambiguous", a, class);
        is(row, "hard", h, class);
        is(row, "easy_share", e / n, class);
        is(row, "ambiguous_share", a / n, class);
        is(row, "hard_share", h / n, class);
    }
    // Run 2, test split: both test examples ambiguous (variability 0 = the threshold 0).
    let t = parse_csv(&query(
        &log.db,
        &[
            "data-map", "--run", "2", "--split", "test", "--format", "csv",
        ],
    ));
    let all = &t.rows[0];
    assert_eq!(cell(all, "class"), "all");
    is(all, "examples", 2.0, "run 2 test");
    is(all, "ambiguous", 2.0, "run 2 test");
    is(all, "ambiguous_share", 1.0, "run 2 test");
}

#[test]
fn seed_agreement() {
    // Section 1: learned_epoch (never = 5) over the train examples, average ranks:
    //   run 1: 1 2 3 5 4 5 → ranks 1 2 3 5.5 4 5.5, minus 3.5: −2.5 −1.5 −.5 2 .5 2 (Σ² = 17)
    //   run 2: 2 1 4 5 3 5 → ranks 2 1 4 5.5 3 5.5, minus 3.5: −1.5 −2.5 .5 2 −.5 2 (Σ² = 17)
    //   run 3: 1 3 2 5 2 5 → ranks 1 4 2.5 5.5 2.5 5.5, minus 3.5: −2.5 .5 −1 2 −1 2 (Σ² = 16.5)
    //   rho(1,2) = (3.75 + 3.75 − .25 + 4 − .25 + 4)/17 = 15/17
    //   rho(1,3) = (6.25 − .75 + .5 + 4 − .5 + 4)/√(17·16.5) = 13.5/√280.5
    //   rho(2,3) = (3.75 − 1.25 − .5 + 4 + .5 + 4)/√280.5 = 10.5/√280.5
    //   mean = (15/17 + 24/√280.5)/3 = 0.7718…
    // Section 2 at epoch 2 (eval correct at epoch 2, train):
    //   run 1: 1 1 0 0 1 0; run 2: 1 1 0 0 0 1; run 3: 1 0 1 0 1 0
    //   runs correct per example: 3 2 1 0 2 1 → histogram k = 0..3: 1 2 2 1 (n = 6)
    //   mean accuracy p = (3+2+1+0+2+1)/18 = ½ → binomial(3, ½): ⅛ ⅜ ⅜ ⅛
    //   excess at the extremes = (1/6 − ⅛) + (1/6 − ⅛) = 1/12.
    let log = hand_made_log();
    let text = query(
        &log.db,
        &["seed-agreement", "--param", "epoch=2", "--format", "csv"],
    );
    assert!(
        text.starts_with("# Spearman's rho of learned_epoch between runs\n"),
        "{text}"
    );
    assert!(
        text.contains("\n\n# True-positive agreement at the epoch\n"),
        "{text}"
    );
    let sections = parse_sections(&text);
    assert_eq!(sections.len(), 2);
    let t = &sections[0].1;
    header(t, &["run_a", "run_b", "examples", "rho", "mean_rho"]);
    let r280 = 280.5f64.sqrt();
    let mean_rho = (15.0 / 17.0 + 24.0 / r280) / 3.0;
    let want = [
        ("1", "2", 15.0 / 17.0),
        ("1", "3", 13.5 / r280),
        ("2", "3", 10.5 / r280),
    ];
    assert_eq!(t.rows.len(), 3);
    for (row, (a, b, rho)) in t.rows.iter().zip(want) {
        let what = format!("runs {a}, {b}");
        assert_eq!((cell(row, "run_a"), cell(row, "run_b")), (a, b));
        assert_eq!(cell(row, "examples"), "6");
        is(row, "rho", rho, &what);
        is(row, "mean_rho", mean_rho, &what);
    }
    let t = &sections[1].1;
    header(
        t,
        &[
            "runs_correct",
            "examples",
            "observed",
            "expected",
            "expected_examples",
            "excess_at_extremes",
        ],
    );
    let want = [
        (1.0, 1.0 / 8.0),
        (2.0, 3.0 / 8.0),
        (2.0, 3.0 / 8.0),
        (1.0, 1.0 / 8.0),
    ];
    assert_eq!(t.rows.len(), 4);
    for (k, (row, (n, p))) in t.rows.iter().zip(want).enumerate() {
        let what = format!("epoch 2, k = {k}");
        assert_eq!(cell(row, "runs_correct"), k.to_string());
        is(row, "examples", n, &what);
        is(row, "observed", n / 6.0, &what);
        is(row, "expected", p, &what);
        is(row, "expected_examples", 6.0 * p, &what);
        is(row, "excess_at_extremes", 1.0 / 12.0, &what);
    }

    // JSON, default epoch 1: {title: rows}.
    //   epoch 1 correct: run 1: 1 0 0 1 0 0; run 2: 0 1 0 0 1 0; run 3: 1 0 0 0 0 1
    //   runs correct: 2 1 0 1 1 1 → histogram 1 4 1 0; p = 6/18 = ⅓ → binomial(3, ⅓):
    //   8/27 12/27 6/27 1/27; excess = (1/6 − 8/27) + (0 − 1/27) = 1/6 − 1/3 = −1/6.
    let json: serde_json::Value =
        serde_json::from_str(&query(&log.db, &["seed-agreement", "--format", "json"])).unwrap();
    let obj = json.as_object().expect("an object of sections");
    let keys: Vec<&String> = obj.keys().collect();
    assert_eq!(keys.len(), 2, "{json}");
    let pairs = obj["Spearman's rho of learned_epoch between runs"]
        .as_array()
        .unwrap();
    assert_eq!(pairs.len(), 3);
    near_tol(
        pairs[0]["rho"].as_f64(),
        Some(15.0 / 17.0),
        1e-9,
        "json rho(1,2)",
    );
    let hist = obj["True-positive agreement at the epoch"]
        .as_array()
        .unwrap();
    let want = [(1, 8.0), (4, 12.0), (1, 6.0), (0, 1.0)];
    assert_eq!(hist.len(), 4);
    for (k, (row, (n, p27))) in hist.iter().zip(want).enumerate() {
        let what = format!("epoch 1, k = {k}");
        assert_eq!(row["runs_correct"].as_i64(), Some(k as i64), "{what}");
        assert_eq!(row["examples"].as_i64(), Some(n), "{what}");
        near_tol(row["observed"].as_f64(), Some(n as f64 / 6.0), 1e-9, &what);
        near_tol(row["expected"].as_f64(), Some(p27 / 27.0), 1e-9, &what);
        near_tol(
            row["expected_examples"].as_f64(),
            Some(6.0 * p27 / 27.0),
            1e-9,
            &what,
        );
        near_tol(
            row["excess_at_extremes"].as_f64(),
            Some(-1.0 / 6.0),
            1e-9,
            &what,
        );
    }
    // The table's footers.
    let table = query(
        &log.db,
        &["seed-agreement", "--param", "epoch=2", "--format", "table"],
    );
    let feet = footer_lines(&table);
    assert!(
        feet.iter()
            .any(|l| l == "mean Spearman's rho over pairs of runs: 0.7718"),
        "{table}"
    );
    assert!(
        feet.iter()
            .any(|l| l
                == "excess share of examples at 0 and at all runs (observed − binomial): 0.0833"),
        "{table}"
    );
}

#[test]
fn order_vs_ease() {
    // Position in epoch 1 (ranks = position + 1) against
    //  (a) first_correct_epoch of the step phase (never = 5); step correct(e) = eval correct(e−1):
    //      run 1: ex0..5 = 1 1 4 2 3 5; run 2: 1 1 5 5 2 3; run 3: 1 1 3 5 3 2
    //  (b) learned_epoch of the eval phase: run 1: 1 2 3 5 4 5; run 2: 2 1 4 5 3 5;
    //      run 3: 1 3 2 5 2 5.
    // Run 1, positions 0..5: x − 3.5 = −2.5 −1.5 −.5 .5 1.5 2.5 (Σ² = 17.5)
    //  (a) ranks 1.5 1.5 5 3 4 6 → −2 −2 1.5 −.5 .5 2.5 (Σ² = 17);
    //      Σ = 5 + 3 − .75 − .25 + .75 + 6.25 = 14 → 14/√(17.5·17) = 14/√297.5
    //  (b) ranks 1 2 3 5.5 4 5.5 → −2.5 −1.5 −.5 2 .5 2 (Σ² = 17);
    //      Σ = 6.25 + 2.25 + .25 + 1 + .75 + 5 = 15.5 → 15.5/√297.5
    // Run 2, positions 5 4 3 2 1 0: x − 3.5 = 2.5 1.5 .5 −.5 −1.5 −2.5
    //  (a) ranks 1.5 1.5 5.5 5.5 3 4 → −2 −2 2 2 −.5 .5 (Σ² = 16.5);
    //      Σ = −5 − 3 + 1 − 1 + .75 − 1.25 = −8.5 → −8.5/√(17.5·16.5) = −8.5/√288.75
    //  (b) ranks 2 1 4 5.5 3 5.5 → −1.5 −2.5 .5 2 −.5 2 (Σ² = 17);
    //      Σ = −3.75 − 3.75 + .25 − 1 + .75 − 5 = −12.5 → −12.5/√297.5
    // Run 3, positions 2 0 4 1 5 3: x − 3.5 = −.5 −2.5 1.5 −1.5 2.5 .5
    //  (a) ranks 1.5 1.5 4.5 6 4.5 3 → −2 −2 1 2.5 1 −.5 (Σ² = 16.5);
    //      Σ = 1 + 5 + 1.5 − 3.75 + 2.5 − .25 = 6 → 6/√288.75
    //  (b) ranks 1 4 2.5 5.5 2.5 5.5 → −2.5 .5 −1 2 −1 2 (Σ² = 16.5);
    //      Σ = 1.25 − 1.25 − 1.5 − 3 − 2.5 + 1 = −6 → −6/√288.75
    // Mean (b) = (3/√297.5 − 6/√288.75)/3 = −0.0597 → |·| < 0.1: "not explained".
    // Seed agreement = 0.7718 (see seed_agreement) ≥ 0.5: "shared".
    let log = hand_made_log();
    let t = parse_csv(&query(&log.db, &["order-vs-ease", "--format", "csv"]));
    header(
        &t,
        &[
            "run",
            "init_seed",
            "order_seed",
            "order_vs_first_correct",
            "order_vs_learned",
            "seed_agreement",
            "verdict",
        ],
    );
    let a = 297.5f64.sqrt();
    let b = 288.75f64.sqrt();
    let r280 = 280.5f64.sqrt();
    let agreement = (15.0 / 17.0 + 24.0 / r280) / 3.0;
    let first = [14.0 / a, -8.5 / b, 6.0 / b];
    let learned = [15.5 / a, -12.5 / a, -6.0 / b];
    let verdict = "learning order is shared across seeds (rho = 0.77) and not explained by data order (rho = -0.06)";
    assert_eq!(t.rows.len(), 4);
    for (i, row) in t.rows.iter().enumerate() {
        let what = format!("row {i}");
        if i < 3 {
            assert_eq!(cell(row, "run"), (i + 1).to_string());
            assert_eq!(cell(row, "init_seed"), (10 + i).to_string());
            assert_eq!(cell(row, "order_seed"), (20 + i).to_string());
            is(row, "order_vs_first_correct", first[i], &what);
            is(row, "order_vs_learned", learned[i], &what);
        } else {
            assert_eq!(cell(row, "run"), "mean");
            null(row, "init_seed", &what);
            null(row, "order_seed", &what);
            is(row, "order_vs_first_correct", mean(&first), &what);
            is(row, "order_vs_learned", mean(&learned), &what);
        }
        is(row, "seed_agreement", agreement, &what);
        assert_eq!(cell(row, "verdict"), verdict);
    }
    assert!((mean(&learned) + 0.0597).abs() < 5e-5);
    let table = query(&log.db, &["order-vs-ease", "--format", "table"]);
    assert!(
        footer_lines(&table)
            .iter()
            .any(|l| *l == format!("verdict: {verdict}")),
        "{table}"
    );
    // One run: no pairs, so no seed agreement, and the verdict says why.
    let one = parse_csv(&query(
        &log.db,
        &["order-vs-ease", "--run", "1", "--format", "csv"],
    ));
    assert_eq!(one.rows.len(), 2);
    is(&one.rows[0], "order_vs_learned", 15.5 / a, "run 1 alone");
    null(&one.rows[0], "seed_agreement", "run 1 alone");
    assert_eq!(
        cell(&one.rows[0], "verdict"),
        "seed agreement needs at least two completed runs"
    );
}

#[test]
fn class_curves() {
    // Class accuracy (train, eval) per run at epochs 0..4 (epoch 0: pred 0, circle right):
    //   circle:   run 1: 1 .5 1 1 1;  run 2: 1 .5 1 1 1;  run 3: 1 .5 .5 1 1
    //   square:   run 1: 0 .5 0 1 .5; run 2: 0 0 0 0 .5;  run 3: 0 0 .5 .5 .5
    //   triangle: run 1: 0 0 .5 0 .5; run 2: 0 .5 .5 .5 .5; run 3: 0 .5 .5 .5 .5
    // Mean and sample sd over runs; the sd of a (a, a, b) triple is |a − b|/√3, so {1,1,.5}
    // and {.5,0,0} give .5/√3 = √(1/12); {1, 0, .5} gives √((.25 + .25 + 0)/2) = .5.
    let log = hand_made_log();
    let t = parse_csv(&query(&log.db, &["class-curves", "--format", "csv"]));
    header(
        &t,
        &["class", "name", "epoch", "runs", "accuracy", "accuracy_sd"],
    );
    let r12 = (1.0f64 / 12.0).sqrt();
    let want: [[(f64, f64); 5]; 3] = [
        [
            (1.0, 0.0),
            (0.5, 0.0),
            (5.0 / 6.0, r12),
            (1.0, 0.0),
            (1.0, 0.0),
        ],
        [
            (0.0, 0.0),
            (1.0 / 6.0, r12),
            (1.0 / 6.0, r12),
            (0.5, 0.5),
            (0.5, 0.0),
        ],
        [
            (0.0, 0.0),
            (1.0 / 3.0, r12),
            (0.5, 0.0),
            (1.0 / 3.0, r12),
            (0.5, 0.0),
        ],
    ];
    assert_eq!(t.rows.len(), 15);
    for (i, row) in t.rows.iter().enumerate() {
        let (class, epoch) = (i / 5, i % 5);
        let what = format!("class {class} epoch {epoch}");
        assert_eq!(cell(row, "class"), class.to_string());
        assert_eq!(cell(row, "name"), CLASS_NAMES[class]);
        assert_eq!(cell(row, "epoch"), epoch.to_string());
        assert_eq!(cell(row, "runs"), "3");
        is(row, "accuracy", want[class][epoch].0, &what);
        is(row, "accuracy_sd", want[class][epoch].1, &what);
    }
    // Step phase: epochs 1..4 only. Circle: step correct(e) = eval correct(e − 1):
    //   run 1: ex0 1111, ex1 1011 → 1 .5 1 1; run 2: ex0 1011, ex1 1111 → 1 .5 1 1;
    //   run 3: ex0 1111, ex1 1001 → 1 .5 .5 1. Means 1, .5, 5/6, 1.
    let t = parse_csv(&query(
        &log.db,
        &["class-curves", "--phase", "step", "--format", "csv"],
    ));
    assert_eq!(t.rows.len(), 12);
    let circle: Vec<(&str, f64, f64)> = t.rows[..4]
        .iter()
        .map(|r| {
            (
                cell(r, "epoch"),
                num(r, "accuracy").unwrap(),
                num(r, "accuracy_sd").unwrap(),
            )
        })
        .collect();
    let want = [
        ("1", 1.0, 0.0),
        ("2", 0.5, 0.0),
        ("3", 5.0 / 6.0, r12),
        ("4", 1.0, 0.0),
    ];
    for (g, w) in circle.iter().zip(want) {
        assert_eq!(g.0, w.0);
        near_tol(Some(g.1), Some(w.1), 1e-9, "step circle accuracy");
        near_tol(Some(g.2), Some(w.2), 1e-9, "step circle sd");
    }
    // Test split, one run: run 2, square (ex7 0000 at 1..4, wrong at 0): all zero, sd NULL.
    let t = parse_csv(&query(
        &log.db,
        &[
            "class-curves",
            "--run",
            "2",
            "--split",
            "test",
            "--format",
            "csv",
        ],
    ));
    let square: Vec<&Row> = t.rows.iter().filter(|r| cell(r, "class") == "1").collect();
    assert_eq!(square.len(), 5);
    for r in square {
        is(r, "accuracy", 0.0, "run 2 test square");
        null(r, "accuracy_sd", "run 2 test square");
    }
}

#[test]
fn noisy_labels() {
    // Flipped: ex3 and ex5. AUROC = P(flipped scores higher than clean), ties ½; 8 pairs.
    // run 1: aum 1 .25 −.5 −.5 −.5 −2 → −aum: clean −1 −.25 .5 .5; flipped .5, 2
    //          .5: 1 + 1 + ½ + ½ = 3; 2: 4 → 7/8
    //        conf .9 .675 .45 .25 .55 .1 → −conf: flipped −.25, −.1 above every clean → 1
    //        forgetting 0 0 0 2 1 0, but ex5 is never correct, so it counts as ∞ (Toneva):
    //          flipped 2 → 4, flipped ∞ → 4 → 8/8 = 1
    // run 2: −aum: clean −.25 −1 1.25 −.25; flipped 2 → 4, 1.25 → 3 + ½ → 7.5/8 = 15/16
    //        −conf: flipped −.1, −.225; clean −.75 −.8 −.325 −.725 → 1
    //        forgetting clean 0 0 0 1; flipped ex3 never correct → ∞ → 4, ex5 1 → 3.5
    //          → 7.5/8 = 15/16
    // run 3: −aum: clean −1 .5 −.25 −.25; flipped 2, 1.25 → 1; −conf → 1
    //        forgetting clean 0 0 0 0; flipped ex3 never correct → ∞ → 4, ex5 1 → 4 → 1
    // mean: aum (7/8 + 15/16 + 1)/3 = 15/16; confidence 1; forgetting (1 + 15/16 + 1)/3 = 47/48.
    let log = hand_made_log();
    let t = parse_csv(&query(&log.db, &["noisy-labels", "--format", "csv"]));
    header(
        &t,
        &[
            "run",
            "flipped",
            "examples",
            "auroc_low_aum",
            "auroc_low_confidence",
            "auroc_forgetting",
            "note",
        ],
    );
    let want = [
        ("1", 7.0 / 8.0, 1.0, 1.0),
        ("2", 15.0 / 16.0, 1.0, 15.0 / 16.0),
        ("3", 1.0, 1.0, 1.0),
        ("mean", 15.0 / 16.0, 1.0, 47.0 / 48.0),
    ];
    assert_eq!(t.rows.len(), 4);
    for (row, (run, aum, conf, forg)) in t.rows.iter().zip(want) {
        assert_eq!(cell(row, "run"), run);
        is(row, "flipped", 2.0, run);
        is(row, "examples", 6.0, run);
        is(row, "auroc_low_aum", aum, run);
        is(row, "auroc_low_confidence", conf, run);
        is(row, "auroc_forgetting", forg, run);
        assert_eq!(
            cell(row, "note"),
            "flipped = train labels changed by --label-noise"
        );
    }
    // --split does not change it: the query is over train examples by definition.
    let all = parse_csv(&query(
        &log.db,
        &["noisy-labels", "--split", "all", "--format", "csv"],
    ));
    assert_eq!(all.rows, t.rows);
}

#[test]
fn runs() {
    // Last epoch of each run: runs 1 and 2: eval train acc 4/6 at epoch 4 (ex3, ex5 wrong),
    // test acc 1 and ½ (run 2: ex7 wrong); run 3 has no eval_train_acc at epoch 4, so train_acc
    // (0.5) stands in; test 1. Run 4 failed after epoch 1: 1.0 and 1.0. Every run is listed.
    let log = hand_made_log();
    let t = parse_csv(&query(&log.db, &["runs", "--format", "csv"]));
    header(
        &t,
        &[
            "run_id",
            "init_seed",
            "order_seed",
            "status",
            "epochs",
            "train_acc",
            "test_acc",
            "started_at",
            "finished_at",
        ],
    );
    let want = [
        ("1", "10", "20", "completed", "4", 4.0 / 6.0, 1.0),
        ("2", "11", "21", "completed", "4", 4.0 / 6.0, 0.5),
        ("3", "12", "22", "completed", "4", 0.5, 1.0),
        ("4", "13", "23", "failed", "1", 1.0, 1.0),
    ];
    assert_eq!(t.rows.len(), 4);
    for (i, (row, w)) in t.rows.iter().zip(want).enumerate() {
        assert_eq!(
            (
                cell(row, "run_id"),
                cell(row, "init_seed"),
                cell(row, "order_seed"),
                cell(row, "status"),
                cell(row, "epochs")
            ),
            (w.0, w.1, w.2, w.3, w.4)
        );
        is(row, "train_acc", w.5, w.0);
        is(row, "test_acc", w.6, w.0);
        assert_eq!(
            cell(row, "started_at"),
            format!("2025-01-01T00:0{}:00.000Z", i + 1)
        );
        assert_eq!(
            cell(row, "finished_at"),
            format!("2025-01-01T00:0{}:30.000Z", i + 1)
        );
    }
    let one = parse_csv(&query(&log.db, &["runs", "--run", "2", "--format", "csv"]));
    assert_eq!(one.rows.len(), 1);
    assert_eq!(cell(&one.rows[0], "run_id"), "2");
}

// =============================================================================================
// A real run, checked a second way from the dynamics view

/// Per-example metrics per METRICS.md from one example's eval series (epochs 1..E in order),
/// written here independently of trainlog::metrics.
struct Independent {
    first: Option<i64>,
    learned: Option<i64>,
    forgetting: i64,
    unforgettable: bool,
    confidence: f64,
    variability: f64,
    correctness: f64,
    aum: f64,
}

fn independent(series: &[(i64, bool, f64, f64)]) -> Independent {
    let e = series.len();
    let first = series.iter().find(|s| s.1).map(|s| s.0);
    // learned: the smallest e such that correct at every epoch from e to E.
    let mut learned = None;
    for start in (0..e).rev() {
        if series[start..].iter().all(|s| s.1) {
            learned = Some(series[start].0);
        } else {
            break;
        }
    }
    let forgetting = (1..e).filter(|&i| series[i - 1].1 && !series[i].1).count() as i64;
    let p: Vec<f64> = series.iter().map(|s| s.2).collect();
    let confidence = p.iter().sum::<f64>() / e as f64;
    let variability = (p.iter().map(|v| (v - confidence).powi(2)).sum::<f64>() / e as f64).sqrt();
    Independent {
        first,
        learned,
        forgetting,
        unforgettable: first.is_some() && forgetting == 0,
        confidence,
        variability,
        correctness: series.iter().filter(|s| s.1).count() as f64 / e as f64,
        aum: series.iter().map(|s| s.3).sum::<f64>() / e as f64,
    }
}

#[test]
fn real_run_examples_match_an_independent_computation() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("real.db");
    record(
        &db,
        &[
            "--dataset",
            "planted:n=120,classes=3,len=12",
            "--seeds",
            "0..2",
            "--epochs",
            "6",
        ],
    );
    // The eval series of run 1's train examples, from the stable view.
    let conn = open(&db);
    let mut series: BTreeMap<i64, Vec<(i64, bool, f64, f64)>> = BTreeMap::new();
    {
        let mut st = conn
            .prepare(
                "SELECT example_id, epoch, correct, p_true, margin FROM dynamics
                 WHERE run_id = 1 AND phase = 'eval' AND epoch >= 1 AND split = 'train'
                 ORDER BY example_id, epoch",
            )
            .unwrap();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            series.entry(r.get(0).unwrap()).or_default().push((
                r.get(1).unwrap(),
                r.get::<_, i64>(2).unwrap() == 1,
                r.get(3).unwrap(),
                r.get(4).unwrap(),
            ));
        }
    }
    let e_max = 6;
    assert!(series.len() > 50, "{} train examples", series.len());
    assert!(series.values().all(|s| s.len() == e_max));
    let ind: BTreeMap<i64, Independent> =
        series.iter().map(|(k, s)| (*k, independent(s))).collect();
    // Regions: the type-7 2/3 quantile of the train variabilities.
    let mut v: Vec<f64> = ind.values().map(|m| m.variability).collect();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * 2.0 / 3.0;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    let threshold = v[lo] + frac * (v[(lo + 1).min(v.len() - 1)] - v[lo]);
    // el2n at epoch 1: softmax of the stored logits, in f64.
    let mut el2n: BTreeMap<i64, f64> = BTreeMap::new();
    {
        let mut st = conn
            .prepare(
                "SELECT example_id, label, logits FROM dynamics
                 WHERE run_id = 1 AND phase = 'eval' AND epoch = 1 AND split = 'train'",
            )
            .unwrap();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let z: Vec<f64> = decode_logits(&r.get::<_, Vec<u8>>(2).unwrap())
                .into_iter()
                .map(f64::from)
                .collect();
            let y = r.get::<_, i64>(1).unwrap() as usize;
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = z.iter().map(|v| (v - m).exp()).sum();
            let sq: f64 = z
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    let p = (v - m).exp() / total;
                    let t = if k == y { 1.0 } else { 0.0 };
                    (p - t) * (p - t)
                })
                .sum();
            el2n.insert(r.get(0).unwrap(), sq.sqrt());
        }
    }
    drop(conn);

    let t = parse_csv(&query(&db, &["examples", "--run", "1", "--format", "csv"]));
    assert_eq!(t.rows.len(), ind.len());
    let mut seen_never = false;
    for row in &t.rows {
        let id: i64 = cell(row, "example_id").parse().unwrap();
        let m = &ind[&id];
        let what = format!("real run 1 example {id}");
        let near6 = |col: &str, want: Option<f64>| {
            near_tol(num(row, col), want, 1e-6, &format!("{what} {col}"))
        };
        near6("first_correct_epoch", m.first.map(|v| v as f64));
        near6("learned_epoch", m.learned.map(|v| v as f64));
        near6("forgetting_events", Some(m.forgetting as f64));
        near6("unforgettable", Some(m.unforgettable as i64 as f64));
        near6("confidence", Some(m.confidence));
        near6("variability", Some(m.variability));
        near6("correctness", Some(m.correctness));
        near6("aum", Some(m.aum));
        near6("el2n", Some(el2n[&id]));
        let region = if m.variability >= threshold {
            "ambiguous"
        } else if m.confidence >= 0.5 {
            "easy"
        } else {
            "hard"
        };
        assert_eq!(cell(row, "region"), region, "{what} region");
        seen_never |= m.learned.is_none();
    }
    // The run is short enough that some example is never learned (NULL, not E+1, with --run).
    if seen_never {
        assert!(t.rows.iter().any(|r| cell(r, "learned_epoch").is_empty()));
    }
    // The same numbers as JSON (nulls may be left out).
    let json: serde_json::Value =
        serde_json::from_str(&query(&db, &["examples", "--run", "1", "--format", "json"])).unwrap();
    assert_same_as_csv(&json, &t);
}

// =============================================================================================
// Read-only

fn state(db: &Path) -> (Vec<u8>, i64, i64, i64, i64) {
    let bytes = std::fs::read(db).unwrap();
    let c = open(db);
    (
        bytes,
        count(&c, "SELECT count(*) FROM runs"),
        count(&c, "SELECT count(*) FROM observations"),
        count(&c, "SELECT count(*) FROM sqlite_master"),
        count(&c, "PRAGMA user_version"),
    )
}

#[test]
fn writes_are_refused_and_change_nothing() {
    let log = hand_made_log();
    let before = state(&log.db);
    let script = log.dir.path().join("write.sql");
    std::fs::write(
        &script,
        "SELECT count(*) FROM runs;\nUPDATE runs SET status = 'failed';\n",
    )
    .unwrap();
    let statements = [
        "DELETE FROM runs",
        "UPDATE runs SET status = 'failed'",
        "INSERT INTO phases VALUES (7, 'other')",
        "DROP TABLE observations",
        "CREATE TABLE x(a)",
        "ATTACH 'x.db' AS x",
        "PRAGMA user_version = 5",
        "SELECT 1; DELETE FROM runs",
        "CREATE INDEX o_by_loss ON observations (loss)",
        "ALTER TABLE runs ADD COLUMN y",
        "REPLACE INTO phases VALUES (0, 'eval')",
    ];
    let mut runs: Vec<Vec<String>> = statements
        .iter()
        .map(|s| vec!["--sql".to_string(), s.to_string()])
        .collect();
    runs.push(vec![
        "--file".to_string(),
        script.to_str().unwrap().to_string(),
    ]);
    for args in &runs {
        let out = trainlog()
            .current_dir(log.dir.path())
            .arg("query")
            .args(args)
            .arg("--db")
            .arg(&log.db)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} should be refused");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("read-only"), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed something");
        assert_eq!(state(&log.db), before, "{args:?} changed the database");
        assert!(
            !log.dir.path().join("x.db").exists(),
            "{args:?} created x.db"
        );
    }
    // Reads still work, including a PRAGMA that only reads.
    let t = parse_csv(&query(
        &log.db,
        &["--sql", "SELECT count(*) AS n FROM runs", "--format", "csv"],
    ));
    assert_eq!(cell(&t.rows[0], "n"), "4");
    let t = parse_csv(&query(
        &log.db,
        &["--sql", "PRAGMA user_version", "--format", "csv"],
    ));
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0].values().next().unwrap(), &before.4.to_string());
    assert_eq!(state(&log.db), before);
}

// =============================================================================================
// Output formats and errors

/// JSON rows against CSV rows: the same columns and values (a JSON null or a missing key is an
/// empty CSV cell).
fn assert_same_as_csv(json: &serde_json::Value, t: &Table) {
    let rows = json.as_array().expect("a JSON array");
    assert_eq!(rows.len(), t.rows.len());
    for (j, c) in rows.iter().zip(&t.rows) {
        let obj = j.as_object().expect("an object per row");
        for k in obj.keys() {
            assert!(t.header.contains(k), "JSON key {k} is not a CSV column");
        }
        for col in &t.header {
            let csv = cell(c, col);
            match obj.get(col) {
                None | Some(serde_json::Value::Null) => {
                    assert_eq!(csv, "", "{col}: JSON null, CSV {csv:?}")
                }
                Some(serde_json::Value::String(s)) => assert_eq!(s, csv, "{col}"),
                Some(serde_json::Value::Number(n)) => {
                    near_tol(n.as_f64(), Some(csv.parse::<f64>().unwrap()), 1e-12, col)
                }
                Some(other) => panic!("{col}: unexpected JSON {other}"),
            }
        }
    }
}

#[test]
fn json_and_ndjson_agree_with_csv() {
    let log = hand_made_log();
    let cases: [&[&str]; 5] = [
        &["examples"],
        &["examples", "--run", "1", "--split", "all"],
        &["classes-learned-first"],
        &["noisy-labels"],
        &["order-vs-ease"],
    ];
    for args in cases {
        let csv = parse_csv(&query(&log.db, &[args, &["--format", "csv"][..]].concat()));
        let json: serde_json::Value =
            serde_json::from_str(&query(&log.db, &[args, &["--format", "json"][..]].concat()))
                .unwrap();
        assert_same_as_csv(&json, &csv);
        let nd = query(&log.db, &[args, &["--format", "ndjson"][..]].concat());
        let lines: Vec<serde_json::Value> = nd
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        assert_eq!(lines.len(), csv.rows.len(), "{args:?}: one object per line");
        assert!(lines.iter().all(|l| l.is_object()));
        assert_same_as_csv(&serde_json::Value::Array(lines), &csv);
    }
    // Several sections in ndjson: each object says its section.
    let nd = query(&log.db, &["forgetting", "--format", "ndjson"]);
    let sections: Vec<String> = nd
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["section"].as_str().unwrap().to_string()
        })
        .collect();
    // 3 rows (0, 1, 2 events) + 3 runs + 1 summary.
    assert_eq!(sections.len(), 7);
    assert_eq!(
        sections[0],
        "Forgetting events: examples forgotten k times (counted over runs)"
    );
    assert_eq!(
        sections[6],
        "Across runs: unforgettable in every run and in any run"
    );
}

#[test]
fn unknown_query_and_parameter() {
    let log = hand_made_log();
    let err = query_fails(&log.db, &["no-such-query"]);
    assert!(err.contains("no-such-query"), "{err}");
    for name in canned_names() {
        assert!(err.contains(&name), "{name} missing from: {err}");
    }
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // A parameter the query does not take.
    let err = query_fails(&log.db, &["examples", "--param", "bogus=3"]);
    assert!(
        err.contains("examples") && err.contains("bogus") && err.contains("k"),
        "{err}"
    );
    let err = query_fails(&log.db, &["runs", "--param", "n=3"]);
    assert!(err.contains("'n'") && err.contains("none"), "{err}");
    // Not KEY=VALUE.
    let err = query_fails(&log.db, &["examples", "--param", "k"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    // Own SQL with a parameter nobody set.
    let err = query_fails(&log.db, &["--sql", "SELECT :nothing"]);
    assert!(err.contains("nothing"), "{err}");
}

/// The canned queries: every file in queries/, by file name.
fn canned_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn list_shows_every_query_with_its_summary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let out = trainlog().args(["query", "--list"]).output().unwrap();
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).unwrap();
    let names = canned_names();
    assert_eq!(names.len(), 12, "{names:?}");
    for name in &names {
        // The summary is the first header line after "-- NAME:".
        let text = std::fs::read_to_string(dir.join(format!("{name}.sql"))).unwrap();
        let first = text.lines().next().unwrap();
        let summary = first
            .strip_prefix("--")
            .unwrap()
            .trim()
            .strip_prefix(&format!("{name}:"))
            .unwrap_or_else(|| panic!("{name}.sql starts with `-- {name}:`"))
            .trim();
        assert!(
            list.lines()
                .any(|l| l.starts_with(&format!("{name} ")) && l.ends_with(summary)),
            "{name}: {summary} not listed in:\n{list}"
        );
        // Each parameter is listed with its default.
        for line in text.lines().take_while(|l| l.starts_with("--")) {
            if let Some(p) = line.strip_prefix("-- param ") {
                let pname = p.split('=').next().unwrap().trim();
                assert!(
                    list.contains(&format!("--param {pname}=")),
                    "{name}: param {pname} not listed"
                );
            }
        }
    }
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let log = hand_made_log();
    // A million rows: far more than a pipe buffer holds.
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
               SELECT i, i * 2 AS twice, 'row ' || i AS label FROM n";
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_trainlog"))
        .args(["query", "--sql", sql, "--format", "csv", "--db"])
        .arg(&log.db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
    } // the read end is closed here, like `| head -1`
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(first.trim_end(), "i,twice,label");
    assert!(status.success(), "exit {status:?}: {err}");
    assert!(err.is_empty(), "{err}");
}
