//! `trainlog import`: a round trip through the Parquet export gives the same answers; a
//! minimal log (as a PyTorch loop writes it) and a hand-written cartography log are imported
//! with the values worked out here; every kind of bad input is refused with one line and
//! leaves the database as it was.

use crate::common::*;
use crate::export::{dynamics_rows, export, record_small, V};
use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray};
use arrow::datatypes::Float32Type;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tempfile::tempdir;

/// The canned queries (`trainlog query --list`).
const CANNED: [&str; 11] = [
    "class-curves",
    "classes-learned-first",
    "data-map",
    "examples-learned-first",
    "examples-learned-last",
    "examples",
    "forgetting",
    "noisy-labels",
    "order-vs-ease",
    "runs",
    "seed-agreement",
];

/// Runs `trainlog import`, expecting success; returns stdout.
fn import(db: &Path, path: &Path, extra: &[&str]) -> String {
    let out = trainlog()
        .args([
            "import",
            "--db",
            db.to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trainlog import {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `trainlog query` output as CSV.
fn query(db: &Path, args: &[&str]) -> String {
    query_csv(db, args)
}

/// (new run id, source run id) pairs from import's report line ("run M (source run N, …").
fn run_map(out: &str) -> Vec<(i64, i64)> {
    let mut map = Vec::new();
    for (i, m) in out.match_indices(" (source run ") {
        let before = &out[..i];
        let new = &before[before.rfind(' ').unwrap() + 1..];
        let after = &out[i + m.len()..];
        let old = &after[..after.find(',').unwrap()];
        map.push((new.parse().unwrap(), old.parse().unwrap()));
    }
    map
}

#[test]
fn round_trip_through_parquet_gives_the_same_answers() {
    let dir = tempdir().unwrap();
    let a = dir.path().join("a.db");
    record_small(&a, "0..3", &[]);
    let out_dir = dir.path().join("out");
    export(&[
        "--db",
        a.to_str().unwrap(),
        "--parquet",
        out_dir.to_str().unwrap(),
    ]);

    // Into a fresh database: the run ids stay 1, 2, 3, so every answer is compared as is.
    let b = dir.path().join("b.db");
    let out = import(&b, &out_dir, &[]);
    assert_eq!(run_map(&out), [(1, 1), (2, 2), (3, 3)], "{out}");
    for q in CANNED {
        assert_eq!(query(&a, &[q]), query(&b, &[q]), "query {q}");
        assert_eq!(
            query(&a, &[q, "--phase", "step"]),
            query(&b, &[q, "--phase", "step"]),
            "query {q} --phase step"
        );
    }
    assert_eq!(
        query(&a, &["examples", "--split", "all"]),
        query(&b, &["examples", "--split", "all"])
    );
    // The observations themselves, but for the experiment's name.
    let exp_a = count_text(&a, "SELECT experiment FROM runs WHERE run_id = 1");
    let exp_b = count_text(&b, "SELECT experiment FROM runs WHERE run_id = 1");
    let rename = |rows: Vec<Vec<V>>| -> Vec<Vec<V>> {
        rows.into_iter()
            .map(|mut r| {
                assert_eq!(r[1], V::Text(exp_b.clone()));
                r[1] = V::Text(exp_a.clone());
                r
            })
            .collect()
    };
    assert_eq!(rename(dynamics_rows(&b, "")), dynamics_rows(&a, ""));
    // The class names and source ids came back too.
    for sql in [
        "SELECT group_concat(name, ',') FROM (SELECT name FROM classes ORDER BY class)",
        "SELECT group_concat(source_id || split || label, ',') FROM (SELECT * FROM examples ORDER BY example_id)",
    ] {
        assert_eq!(count_text(&a, sql), count_text(&b, sql), "{sql}");
    }

    // Into a database that already has runs: the imported runs are renumbered (2, 3, 4 here),
    // so per-run answers are compared run by run through the import's mapping, and the
    // observations with the run ids mapped back.
    let c = dir.path().join("c.db");
    record_small(&c, "7..8", &["--experiment", "other"]);
    let out = import(&c, &out_dir, &["--experiment", "again"]);
    let map = run_map(&out);
    assert_eq!(map, [(2, 1), (3, 2), (4, 3)], "{out}");
    for (new, old) in &map {
        let (new, old) = (new.to_string(), old.to_string());
        for q in [
            "examples",
            "data-map",
            "class-curves",
            "classes-learned-first",
        ] {
            assert_eq!(
                query(&a, &[q, "--run", &old]),
                query(&c, &[q, "--run", &new]),
                "query {q}: run {old} against its import, run {new}"
            );
        }
    }
    let back: Vec<Vec<V>> = dynamics_rows(&c, "WHERE experiment = 'again'")
        .into_iter()
        .map(|mut r| {
            let V::Int(id) = r[0] else { panic!("run_id") };
            let old = map.iter().find(|m| m.0 == id).unwrap().1;
            r[0] = V::Int(old);
            r[1] = V::Text(exp_a.clone());
            r
        })
        .collect();
    assert_eq!(back, dynamics_rows(&a, ""));
    // The other experiment is untouched and the shared dataset is not duplicated.
    assert_eq!(
        count(
            &open(&c),
            "SELECT count(*) FROM runs WHERE experiment = 'other'"
        ),
        1
    );
}

fn count_text(db: &Path, sql: &str) -> String {
    open(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// One row of the minimal schema.
#[derive(Debug, Clone)]
struct Obs {
    run: i64,
    epoch: i64,
    example_id: i64,
    label: i64,
    logits: Vec<f32>,
}

/// A complete minimal log: `runs` runs × epochs 0..=`epochs` × `n` examples, 3 classes.
fn minimal_log(runs: i64, epochs: i64, n: i64) -> Vec<Obs> {
    let mut rows = Vec::new();
    for run in 0..runs {
        for epoch in 0..=epochs {
            for example_id in 0..n {
                let label = example_id % 3;
                let logits = (0..3)
                    .map(|k| {
                        let noise = ((run * 31 + epoch * 17 + example_id * 7 + k * 13) % 23) as f32;
                        let lead = if k == label { epoch as f32 * 0.75 } else { 0.0 };
                        noise / 8.0 - 1.25 + lead
                    })
                    .collect();
                rows.push(Obs {
                    run,
                    epoch,
                    example_id,
                    label,
                    logits,
                });
            }
        }
    }
    rows
}

/// Writes rows in the minimal schema, without the column `drop`, with `extra` added.
fn write_minimal(path: &Path, rows: &[Obs], drop: &[&str], extra: Option<(&str, ArrayRef)>) {
    let ints = |f: &dyn Fn(&Obs) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let logits: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float32Type, _, _>(
        rows.iter()
            .map(|r| Some(r.logits.iter().map(|&z| Some(z)).collect::<Vec<_>>())),
    ));
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("run", ints(&|r| r.run)),
        ("epoch", ints(&|r| r.epoch)),
        ("example_id", ints(&|r| r.example_id)),
        ("label", ints(&|r| r.label)),
        ("logits", logits),
    ];
    cols.retain(|c| !drop.contains(&c.0));
    cols.extend(extra);
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let mut w =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn minimal_parquet_log_is_imported_with_values_computed_from_the_logits() {
    let dir = tempdir().unwrap();
    let file = dir.path().join("dynamics.parquet");
    let rows = minimal_log(2, 4, 12);
    write_minimal(&file, &rows, &[], None);
    let db = dir.path().join("t.db");
    let out = import(&db, &file, &["--experiment", "mine"]);
    assert!(
        out.contains("imported 120 observations (parquet) into experiment mine"),
        "{out}"
    );
    assert_eq!(run_map(&out), [(1, 0), (2, 1)], "{out}");

    let c = open(&db);
    // Every observation: loss, p_true, margin, pred and correct as worked out by hand.
    let mut st = c
        .prepare(
            "SELECT run_id, epoch, example_id, label, loss, p_true, margin, pred, correct, logits,
                    phase, split, init_seed, order_seed
             FROM dynamics ORDER BY run_id, epoch, example_id",
        )
        .unwrap();
    let got: Vec<_> = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, f64>(5)?,
                r.get::<_, f64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Vec<u8>>(9)?,
                (r.get::<_, String>(10)?, r.get::<_, String>(11)?),
                (r.get::<_, i64>(12)?, r.get::<_, i64>(13)?),
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got.len(), rows.len());
    for (g, want) in got.iter().zip(&rows) {
        let (pred, loss, p_true, margin) = metrics_by_hand(&want.logits, want.label as usize);
        assert_eq!(
            (g.0, g.1, g.2, g.3),
            (want.run + 1, want.epoch, want.example_id, want.label)
        );
        assert!((g.4 - loss).abs() < 1e-9, "{g:?} loss {loss}");
        assert!((g.5 - p_true).abs() < 1e-9, "{g:?} p_true {p_true}");
        assert!((g.6 - margin).abs() < 1e-9, "{g:?} margin {margin}");
        assert_eq!(g.7, pred as i64);
        assert_eq!(g.8, (pred as i64 == want.label) as i64);
        assert_eq!(decode_logits(&g.9), want.logits);
        // The defaults: eval phase, train split, seeds = the source run number.
        assert_eq!((g.10 .0.as_str(), g.10 .1.as_str()), ("eval", "train"));
        assert_eq!(g.11, (want.run, want.run));
    }
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM runs WHERE status = 'completed' AND epochs = 4"
        ),
        2
    );
    assert_eq!(count(&c, "SELECT count(*) FROM example_metrics"), 24);
    // Every canned query answers on the imported runs.
    for q in CANNED {
        query(&db, &[q]);
    }
}

#[test]
fn what_a_pytorch_loop_writes_with_pyarrow_is_imported() {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("skipped: python3 has no pyarrow");
        return;
    }
    let dir = tempdir().unwrap();
    let file = dir.path().join("dynamics.parquet");
    // The README's snippet, with made-up logits in place of a model's.
    let script = r#"
import sys, math
import pyarrow as pa, pyarrow.parquet as pq
rows = []
for epoch in range(0, 4):
    for i in range(10):
        y = i % 2
        z = [math.sin(i + epoch), math.cos(i * epoch)]
        rows.append({'run': 0, 'epoch': epoch, 'example_id': i, 'label': y, 'logits': z,
                     'split': 'test' if i >= 8 else 'train'})
pq.write_table(pa.Table.from_pylist(rows), sys.argv[1])
"#;
    let out = Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("t.db");
    let out = import(&db, &file, &[]);
    assert!(out.contains("imported 40 observations"), "{out}");
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM examples WHERE split = 'test'"),
        2
    );
    // z = [sin(i + e), cos(i e)] for example 3 at epoch 2, label 1: logits as float32.
    let (z0, z1) = ((5f64).sin() as f32, (6f64).cos() as f32);
    let (pred, loss, _, _) = metrics_by_hand(&[z0, z1], 1);
    let (p, l): (i64, f64) = c
        .query_row(
            "SELECT pred, loss FROM dynamics WHERE example_id = 3 AND epoch = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(p, pred as i64);
    assert!((l - loss).abs() < 1e-9);
}

/// One cartography epoch file's lines: (guid, gold, logits).
type Lines<'a> = &'a [(i64, i64, [f64; 3])];

fn write_cartography(dir: &Path, epochs: &[(usize, Lines<'_>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (e, lines) in epochs {
        let text: String = lines
            .iter()
            .map(|(guid, gold, z)| {
                format!(
                    "{{\"guid\": {guid}, \"logits_epoch_{e}\": [{}, {}, {}], \"gold\": {gold}}}\n",
                    z[0], z[1], z[2]
                )
            })
            .collect();
        std::fs::write(dir.join(format!("dynamics_epoch_{e}.jsonl")), text).unwrap();
    }
}

// Logits with a known softmax: with the others at 0, z_y = ln 2, ln 6, ln 18 give p_true 1/2,
// 3/4, 9/10; z = 0 everywhere gives 1/3; z_y = 0 and one other at ln 2 gives 1/4 (wrong);
// z_y = 0 and both others at ln 4.5 gives 1/10; one other at ln 3 gives 1/5.
const LN2: f64 = std::f64::consts::LN_2;
const LN6: f64 = 1.791759469228055;
const LN18: f64 = 2.8903717578961645;
const LN4_5: f64 = 1.5040773967762742;
const LN3: f64 = 1.0986122886681098;

/// Five examples (guids 5000001…5000005, gold 0, 1, 2, 0, 1), three epochs, in a shuffled
/// line order:
///   A 5000001: p_true 1/2, 3/4, 9/10 (right, right, right)
///   B 5000002: 1/4, 1/2, 1/4 (wrong, right, wrong)
///   C 5000003: 1/10, 1/10, 1/5 (wrong throughout)
///   D 5000004: 1/3, 9/10, 3/4 (right: all-zero logits tie, pred = 0 = gold)
///   E 5000005: 3/4, 3/4, 9/10 (right throughout)
fn cartography_fixture(dir: &Path) {
    let e0: Lines = &[
        (5000005, 1, [0.0, LN6, 0.0]),
        (5000001, 0, [LN2, 0.0, 0.0]),
        (5000003, 2, [LN4_5, LN4_5, 0.0]),
        (5000002, 1, [LN2, 0.0, 0.0]),
        (5000004, 0, [0.0, 0.0, 0.0]),
    ];
    let e1: Lines = &[
        (5000002, 1, [0.0, LN2, 0.0]),
        (5000004, 0, [LN18, 0.0, 0.0]),
        (5000001, 0, [LN6, 0.0, 0.0]),
        (5000005, 1, [0.0, LN6, 0.0]),
        (5000003, 2, [LN4_5, LN4_5, 0.0]),
    ];
    let e2: Lines = &[
        (5000001, 0, [LN18, 0.0, 0.0]),
        (5000002, 1, [0.0, 0.0, LN2]),
        (5000003, 2, [LN3, 0.0, 0.0]),
        (5000004, 0, [LN6, 0.0, 0.0]),
        (5000005, 1, [0.0, LN18, 0.0]),
    ];
    write_cartography(dir, &[(0, e0), (1, e1), (2, e2)]);
}

/// guid, confidence, variability, correctness, region, learned_epoch.
type Expected = (&'static str, f64, f64, f64, &'static str, Option<f64>);

#[test]
fn cartography_log_gives_the_data_map_worked_out_by_hand() {
    let dir = tempdir().unwrap();
    let carto = dir.path().join("my-model").join("training_dynamics");
    cartography_fixture(&carto);
    let db = dir.path().join("t.db");
    let out = import(&db, &dir.path().join("my-model"), &[]);
    assert!(
        out.contains("imported 15 observations (cartography)"),
        "{out}"
    );
    assert!(out.contains("1 (source run 0, 3 epochs)"), "{out}");
    assert!(out.contains("renumbered"), "{out}");

    // Worked out from the p_true above (population standard deviation, divide by 3):
    //   A: mean (.5 + .75 + .9)/3 = .716667; deviations −.216667, .033333, .183333 → sd .164992
    //   B: mean 1/3; deviations −1/12, 1/6, −1/12 → sd sqrt(1/72) = .117851
    //   C: mean .133333; deviations −1/30, −1/30, 1/15 → sd sqrt(1/450) = .047140
    //   D: mean (1/3 + .9 + .75)/3 = .661111; → sd .239727
    //   E: mean .8; deviations −.05, −.05, .1 → sd sqrt(.005) = .070711
    // The 2/3 quantile (type 7) of the sds sorted (.047140, .070711, .117851, .164992,
    // .239727): h = 4 · 2/3 = 2.667 → .117851 + .667 · (.164992 − .117851) = .149278. A and D
    // are at or above it: ambiguous; B (confidence 1/3) and C are hard; E (.8) is easy.
    let expected: [Expected; 5] = [
        ("5000001", 0.716667, 0.164992, 1.0, "ambiguous", Some(1.0)),
        ("5000002", 0.333333, 0.117851, 1.0 / 3.0, "hard", None),
        ("5000003", 0.133333, 0.047140, 0.0, "hard", None),
        ("5000004", 0.661111, 0.239727, 1.0, "ambiguous", Some(1.0)),
        ("5000005", 0.800000, 0.070711, 1.0, "easy", Some(1.0)),
    ];
    let csv = query(&db, &["examples", "--run", "1"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(|s| s.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 5, "{csv}");
    let c = open(&db);
    for (row, (guid, conf, var, corr, region, learned)) in rows.iter().zip(&expected) {
        // Renumbered 0..4 in the order of the guids, which stay as source ids.
        let id: i64 = row[col("example_id")].parse().unwrap();
        let source: String = c
            .query_row(
                "SELECT source_id FROM examples WHERE example_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(&source, guid);
        let f = |name: &str| row[col(name)].parse::<f64>().unwrap();
        assert!((f("confidence") - conf).abs() < 1e-6, "{guid}: {row:?}");
        assert!((f("variability") - var).abs() < 1e-6, "{guid}: {row:?}");
        assert!((f("correctness") - corr).abs() < 1e-9, "{guid}: {row:?}");
        assert_eq!(&row[col("region")], region, "{guid}");
        let l = &row[col("learned_epoch")];
        assert_eq!(l.parse::<f64>().ok(), *learned, "{guid}: learned_epoch {l}");
    }
    // B is forgotten once (right at epoch 2, wrong at 3).
    assert_eq!(
        count(
            &c,
            "SELECT forgetting_events FROM example_metrics WHERE example_id = 1"
        ),
        1
    );
    // The data map, overall: 1 easy, 2 ambiguous, 2 hard.
    let map = query(&db, &["data-map"]);
    let all = map.lines().find(|l| l.starts_with("all,")).unwrap();
    assert!(all.starts_with("all,1,5,1,2,2,"), "{map}");
}

#[test]
fn cartography_export_imports_back_to_the_same_data_map() {
    let dir = tempdir().unwrap();
    let a = dir.path().join("a.db");
    record_small(&a, "0..1", &[]);
    let carto = dir.path().join("carto");
    export(&[
        "--db",
        a.to_str().unwrap(),
        "--cartography",
        carto.to_str().unwrap(),
    ]);
    let b = dir.path().join("b.db");
    import(&b, &carto, &[]);
    // The eval phase of the train split is all the files hold.
    let pick = "SELECT group_concat(example_id || ':' || confidence || ':' || variability || ':'
                || correctness || ':' || region || ':' || coalesce(learned_epoch, '-'), ' ')
                FROM (SELECT m.* FROM example_metrics m WHERE phase = 'eval' ORDER BY example_id)";
    let want = count_text(
        &a,
        &pick.replace(
            "WHERE phase",
            "JOIN examples e ON e.example_id = m.example_id AND e.split = 'train' WHERE phase",
        ),
    );
    assert_eq!(count_text(&b, pick), want);
}

/// A snapshot of every table of a database, to see that nothing changed.
fn snapshot(db: &Path) -> Vec<String> {
    let c = open(db);
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let v: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{t}: {}", v.join("|")))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// Imports `input` expecting failure, into a new database (which must not be created) and
/// into one holding an earlier import (which must not change); returns the one-line message.
fn import_refused(input: &Path, expect: &str) -> String {
    let scratch = tempdir().unwrap();
    let run = |db: &Path| -> String {
        let err = fails(&[
            "import",
            "--db",
            db.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line, got: {err}");
        assert!(lines[0].starts_with("trainlog: "), "{err}");
        assert!(lines[0].contains(expect), "expected '{expect}' in: {err}");
        lines[0].to_string()
    };
    let fresh = scratch.path().join("fresh.db");
    let msg = run(&fresh);
    let left: Vec<PathBuf> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "a failed import left {left:?}");

    let db = scratch.path().join("has.db");
    let good = scratch.path().join("good.parquet");
    write_minimal(&good, &minimal_log(1, 2, 6), &[], None);
    import(&db, &good, &["--experiment", "earlier"]);
    let before = snapshot(&db);
    assert_eq!(run(&db), msg);
    assert_eq!(
        snapshot(&db),
        before,
        "a failed import changed the database"
    );
    msg
}

#[test]
fn ragged_logits_are_refused() {
    let dir = tempdir().unwrap();
    let f = dir.path().join("d.parquet");
    let mut rows = minimal_log(1, 3, 10);
    rows[17].logits.pop();
    write_minimal(&f, &rows, &[], None);
    let msg = import_refused(&f, "row 18: 2 logits where earlier rows have 3");
    assert!(msg.contains("ragged"), "{msg}");

    let carto = dir.path().join("carto");
    let e0: Lines = &[(1, 0, [0.5, 0.1, 0.2]), (2, 1, [0.5, 0.1, 0.2])];
    write_cartography(&carto, &[(0, e0), (1, e0)]);
    let p = carto.join("dynamics_epoch_1.jsonl");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("[0.5, 0.1, 0.2], \"gold\": 1", "[0.5, 0.1], \"gold\": 1");
    std::fs::write(&p, text).unwrap();
    import_refused(
        &carto,
        "dynamics_epoch_1.jsonl, line 2: 2 logits where earlier rows have 3",
    );
}

#[test]
fn labels_out_of_range_are_refused() {
    let dir = tempdir().unwrap();
    let f = dir.path().join("d.parquet");
    let mut rows = minimal_log(1, 3, 10);
    rows[5].label = 3;
    write_minimal(&f, &rows, &[], None);
    import_refused(
        &f,
        "row 6: label 3 is out of range for 3 logits (labels are 0..2)",
    );
    rows[5].label = -1;
    write_minimal(&f, &rows, &[], None);
    import_refused(&f, "label -1 is out of range");
}

#[test]
fn duplicate_rows_are_refused() {
    let dir = tempdir().unwrap();
    let f = dir.path().join("d.parquet");
    let mut rows = minimal_log(2, 2, 5);
    let again = rows[7].clone();
    rows.push(again);
    write_minimal(&f, &rows, &[], None);
    import_refused(
        &f,
        "duplicate row: run 0, phase eval, epoch 1, example 2 appears twice",
    );
}

#[test]
fn unknown_columns_are_refused() {
    let dir = tempdir().unwrap();
    let f = dir.path().join("d.parquet");
    let rows = minimal_log(1, 2, 5);
    let weight: ArrayRef = Arc::new(Float64Array::from(vec![1.0; rows.len()]));
    write_minimal(&f, &rows, &[], Some(("weight", weight)));
    import_refused(&f, "unknown column 'weight'");
    let phase: ArrayRef = Arc::new(StringArray::from(vec!["train"; rows.len()]));
    write_minimal(&f, &rows, &[], Some(("phase", phase)));
    import_refused(&f, "phase 'train' is neither 'eval' nor 'step'");
}

#[test]
fn missing_required_columns_are_refused() {
    let dir = tempdir().unwrap();
    let f = dir.path().join("d.parquet");
    let rows = minimal_log(1, 2, 5);
    for column in ["run", "epoch", "example_id", "label", "logits"] {
        write_minimal(&f, &rows, &[column], None);
        import_refused(&f, &format!("missing required column '{column}'"));
    }
}

#[test]
fn empty_and_missing_paths_are_refused() {
    let dir = tempdir().unwrap();
    let missing = dir.path().join("nope");
    import_refused(&missing, "does not exist");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    import_refused(
        &empty,
        "found no .parquet files and no dynamics_epoch_*.jsonl files",
    );
    let f = dir.path().join("zero.parquet");
    write_minimal(&f, &[], &[], None);
    import_refused(&f, "no rows to import");
    let junk = dir.path().join("junk.parquet");
    std::fs::write(&junk, "not parquet").unwrap();
    import_refused(&junk, "not a readable parquet file");
}

#[test]
fn missing_epochs_are_refused() {
    let dir = tempdir().unwrap();
    let f = dir.path().join("d.parquet");
    let rows: Vec<Obs> = minimal_log(1, 3, 6)
        .into_iter()
        .filter(|r| r.epoch != 2)
        .collect();
    write_minimal(&f, &rows, &[], None);
    import_refused(&f, "run 0: no eval rows at epoch 2");
    // One example missing at one epoch.
    let rows: Vec<Obs> = minimal_log(1, 3, 6)
        .into_iter()
        .filter(|r| !(r.epoch == 3 && r.example_id == 4))
        .collect();
    write_minimal(&f, &rows, &[], None);
    import_refused(&f, "run 0: example 4 has no eval row at epoch 3");

    // A cartography log without its middle epoch file.
    let carto = dir.path().join("carto");
    let e: Lines = &[(1, 0, [0.5, 0.1, 0.2]), (2, 1, [0.5, 0.1, 0.2])];
    write_cartography(&carto, &[(0, e), (2, e)]);
    import_refused(&carto, "dynamics_epoch_1.jsonl is missing");
}
