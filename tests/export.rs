//! `trainlog export`: the Parquet dataset read back with the parquet crate (and DuckDB, when it
//! is installed) holds exactly the rows and values of the `dynamics` view; the cartography
//! files hold the eval-phase logits; bad input gets one clear line.

use crate::common::*;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int32Type, Int64Type, Int8Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use rusqlite::types::ValueRef;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::tempdir;

pub const PLANTED: &str = "planted:n=120,classes=3,len=8";

/// Records `seeds` of the small planted dataset (3 epochs) into db, plus `extra`.
pub fn record_small(db: &Path, seeds: &str, extra: &[&str]) {
    let mut args = vec!["--dataset", PLANTED, "--epochs", "3", "--seeds", seeds];
    args.extend_from_slice(extra);
    record(db, &args);
}

/// Runs `trainlog export` with args, expecting success; returns stdout.
pub fn export(args: &[&str]) -> String {
    let out = trainlog().arg("export").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trainlog export {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One value of a row, compared exactly (floats by their bits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum V {
    Null,
    Int(i64),
    Real(u64),
    Text(String),
    Logits(Vec<u32>),
}

pub const DYNAMICS: [&str; 18] = [
    "run_id",
    "experiment",
    "init_seed",
    "order_seed",
    "epoch",
    "example_id",
    "split",
    "label",
    "orig_label",
    "phase",
    "position",
    "batch",
    "loss",
    "p_true",
    "margin",
    "pred",
    "correct",
    "logits",
];

/// Every row of the dynamics view (selected by `filter`), in the export's order: run, phase,
/// epoch, example.
pub fn dynamics_rows(db: &Path, filter: &str) -> Vec<Vec<V>> {
    let c = open(db);
    let names: Vec<String> = c
        .prepare("SELECT * FROM dynamics LIMIT 0")
        .unwrap()
        .column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, DYNAMICS, "the dynamics view's columns");
    let sql = format!("SELECT * FROM dynamics {filter} ORDER BY run_id, phase, epoch, example_id");
    let mut st = c.prepare(&sql).unwrap();
    let mut rows = st.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let row = (0..DYNAMICS.len())
            .map(|i| match r.get_ref(i).unwrap() {
                ValueRef::Null => V::Null,
                ValueRef::Integer(v) => V::Int(v),
                ValueRef::Real(f) => V::Real(f.to_bits()),
                ValueRef::Text(t) => V::Text(String::from_utf8(t.to_vec()).unwrap()),
                ValueRef::Blob(b) => {
                    V::Logits(decode_logits(b).iter().map(|z| z.to_bits()).collect())
                }
            })
            .collect();
        out.push(row);
    }
    out
}

/// The part files of an export, in run order then part order.
pub fn part_files(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<(String, i64, PathBuf)> = Vec::new();
    for exp in std::fs::read_dir(dir.join("observations")).unwrap() {
        let exp = exp.unwrap().path();
        let e = exp.file_name().unwrap().to_string_lossy().into_owned();
        for run in std::fs::read_dir(&exp).unwrap() {
            let run = run.unwrap().path();
            let r = run.file_name().unwrap().to_string_lossy().into_owned();
            let id: i64 = r.strip_prefix("run_id=").unwrap().parse().unwrap();
            runs.push((e.clone(), id, run));
        }
    }
    runs.sort_by_key(|r| r.1);
    let mut files = Vec::new();
    for (_, _, d) in runs {
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        parts.sort();
        for p in &parts {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                (name.starts_with("part-") || name.starts_with("epochs-"))
                    && name.ends_with(".parquet"),
                "unexpected file {}",
                p.display()
            );
        }
        files.extend(parts);
    }
    files
}

/// Reads an export's observation files as dynamics rows (partition columns from the path).
pub fn exported_rows(dir: &Path) -> Vec<Vec<V>> {
    let mut out = Vec::new();
    for file in part_files(dir) {
        let run_dir = file.parent().unwrap();
        let run_id: i64 = run_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .strip_prefix("run_id=")
            .unwrap()
            .parse()
            .unwrap();
        let experiment = run_dir
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .strip_prefix("experiment=")
            .unwrap()
            .to_string();
        let b =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap()).unwrap();
        // zstd throughout.
        for rg in b.metadata().row_groups() {
            for c in rg.columns() {
                assert!(
                    matches!(c.compression(), Compression::ZSTD(_)),
                    "{} is {:?}",
                    c.column_path(),
                    c.compression()
                );
            }
        }
        let schema = b.schema().clone();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            DYNAMICS[2..],
            "the file's columns: dynamics' without the partitions"
        );
        match schema.field_with_name("logits").unwrap().data_type() {
            DataType::List(item) => assert_eq!(item.data_type(), &DataType::Float32),
            t => panic!("logits is {t}, not list<float32>"),
        }
        for batch in b.build().unwrap() {
            let batch = batch.unwrap();
            for r in 0..batch.num_rows() {
                let mut row = vec![V::Int(run_id), V::Text(experiment.clone())];
                for col in batch.columns() {
                    if col.is_null(r) {
                        row.push(V::Null);
                        continue;
                    }
                    row.push(match col.data_type() {
                        DataType::Int64 => V::Int(col.as_primitive::<Int64Type>().value(r)),
                        DataType::Int32 => V::Int(col.as_primitive::<Int32Type>().value(r) as i64),
                        DataType::Int8 => V::Int(col.as_primitive::<Int8Type>().value(r) as i64),
                        DataType::Float64 => {
                            V::Real(col.as_primitive::<Float64Type>().value(r).to_bits())
                        }
                        DataType::Utf8 => V::Text(col.as_string::<i32>().value(r).to_string()),
                        DataType::List(_) => {
                            let z = col.as_list::<i32>().value(r);
                            V::Logits(
                                z.as_primitive::<Float32Type>()
                                    .values()
                                    .iter()
                                    .map(|v| v.to_bits())
                                    .collect(),
                            )
                        }
                        t => panic!("unexpected type {t}"),
                    });
                }
                out.push(row);
            }
        }
    }
    out
}

/// Rows of a small table file (runs, examples, example_metrics) and its column names.
fn table_rows(path: &Path) -> (Vec<String>, usize) {
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let names = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let n = b.metadata().file_metadata().num_rows() as usize;
    (names, n)
}

#[test]
fn export_holds_exactly_the_dynamics_view() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..2", &[]);
    let out_dir = dir.path().join("out");
    let out = export(&[
        "--db",
        db.to_str().unwrap(),
        "--parquet",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.contains("exported experiment"), "{out}");

    let want = dynamics_rows(&db, "");
    // 2 runs × (4 eval epochs × 120 examples + 3 step epochs × the train examples).
    let c = open(&db);
    let n_train = count(&c, "SELECT count(*) FROM examples WHERE split = 'train'");
    assert_eq!(want.len() as i64, 2 * (4 * 120 + 3 * n_train));
    let got = exported_rows(&out_dir);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "row {i} differs");
    }
    // Step rows carry positions; eval rows do not.
    assert!(got
        .iter()
        .any(|r| r[9] == V::Text("step".into()) && r[10] != V::Null));
    assert!(got
        .iter()
        .any(|r| r[9] == V::Text("eval".into()) && r[10] == V::Null));

    // The small tables, complete.
    let (names, n) = table_rows(&out_dir.join("runs.parquet"));
    assert_eq!(n, 2);
    assert!(names.iter().any(|c| c == "init_seed") && names.iter().any(|c| c == "config"));
    let (names, n) = table_rows(&out_dir.join("examples.parquet"));
    assert_eq!(n, 120);
    assert!(names.iter().any(|c| c == "class_name"));
    let (names, n) = table_rows(&out_dir.join("example_metrics.parquet"));
    assert_eq!(
        n as i64,
        count(&c, "SELECT count(*) FROM example_metrics"),
        "{names:?}"
    );
    assert!(n > 0);
}

#[test]
fn export_of_one_run_in_several_part_files() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..2", &[]);
    let out_dir = dir.path().join("out");
    export(&[
        "--db",
        db.to_str().unwrap(),
        "--parquet",
        out_dir.to_str().unwrap(),
        "--run",
        "2",
        "--file-rows",
        "100",
    ]);
    let files = part_files(&out_dir);
    assert!(files.len() > 2, "{files:?}");
    // Every part file but the last holds exactly --file-rows rows.
    let sizes: Vec<usize> = files.iter().map(|f| table_rows(f).1).collect();
    let (last, full) = sizes.split_last().unwrap();
    assert!(full.iter().all(|&n| n == 100) && *last <= 100, "{sizes:?}");
    assert!(files
        .iter()
        .all(|f| f.parent().unwrap().ends_with("run_id=2")));
    assert_eq!(
        exported_rows(&out_dir),
        dynamics_rows(&db, "WHERE run_id = 2")
    );
    let (_, n) = table_rows(&out_dir.join("runs.parquet"));
    assert_eq!(n, 1);
}

#[test]
fn export_without_logits_has_null_logits() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..1", &["--no-logits", "--capture", "eval"]);
    let out_dir = dir.path().join("out");
    export(&[
        "--db",
        db.to_str().unwrap(),
        "--parquet",
        out_dir.to_str().unwrap(),
    ]);
    let got = exported_rows(&out_dir);
    assert_eq!(got, dynamics_rows(&db, ""));
    assert!(got.iter().all(|r| r[17] == V::Null));
}

/// Per run and phase: run_id, experiment, phase, rows, correct, sum of positions, sum of
/// losses, sum of z_0 + z_2, logits.
type Group = (i64, String, String, i64, i64, Option<i64>, f64, f64, usize);

/// A python3 with duckdb, or the duckdb CLI, if either is installed.
pub enum DuckDb {
    Python,
    Cli,
}

pub fn duckdb() -> Option<DuckDb> {
    let python = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if python {
        return Some(DuckDb::Python);
    }
    let cli = Command::new("duckdb")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    cli.then_some(DuckDb::Cli)
}

/// Runs one DuckDB query; returns its rows as CSV lines (no header).
pub fn duckdb_csv(db: &DuckDb, sql: &str) -> Vec<String> {
    let out = match db {
        DuckDb::Python => Command::new("python3")
            .args([
                "-c",
                "import duckdb, sys\nfor row in duckdb.sql(sys.argv[1]).fetchall():\n    print(','.join(str(v) for v in row))",
                sql,
            ])
            .output()
            .unwrap(),
        DuckDb::Cli => Command::new("duckdb")
            .args(["-csv", "-noheader", "-c", sql])
            .output()
            .unwrap(),
    };
    assert!(
        out.status.success(),
        "duckdb failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn duckdb_reads_the_export_with_hive_partitioning() {
    let Some(duck) = duckdb() else {
        println!("skipped: neither python3's duckdb package nor the duckdb CLI is installed");
        return;
    };
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..2", &[]);
    let out_dir = dir.path().join("out");
    export(&[
        "--db",
        db.to_str().unwrap(),
        "--parquet",
        out_dir.to_str().unwrap(),
    ]);
    let files = format!("{}/observations/**/*.parquet", out_dir.display());
    let src = format!("read_parquet('{files}', hive_partitioning = true)");

    // Per run and phase: rows, correct, the sum of positions, the loss and the logits.
    let per_group = "SELECT run_id, experiment, phase, count(*), sum(correct), sum(position), \
                     round(sum(loss), 6), round(sum(logits[1] + logits[3]), 4), sum(len(logits)) \
                     FROM {src} GROUP BY ALL ORDER BY run_id, phase";
    let got = duckdb_csv(&duck, &per_group.replace("{src}", &src));
    let c = open(&db);
    let mut st = c
        .prepare(
            "SELECT run_id, experiment, phase, count(*), sum(correct), sum(position), sum(loss),
                    group_concat(hex(logits), ',')
             FROM dynamics GROUP BY run_id, experiment, phase ORDER BY run_id, phase",
        )
        .unwrap();
    let want: Vec<Group> = st
        .query_map([], |r| {
            let hex: String = r.get(7)?;
            let (mut s, mut n) = (0f64, 0usize);
            for h in hex.split(',') {
                let bytes: Vec<u8> = (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect();
                let z = decode_logits(&bytes);
                // DuckDB lists are 1-based: logits[1] + logits[3] is z_0 + z_2, in float32.
                s += (z[0] + z[2]) as f64;
                n += z.len();
            }
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                s,
                n,
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{got:?}");
    assert_eq!(want.len(), 4);
    for (line, w) in got.iter().zip(&want) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0].parse::<i64>().unwrap(), w.0, "{line}");
        assert_eq!(f[1], w.1, "{line}");
        assert_eq!(f[2], w.2, "{line}");
        assert_eq!(f[3].parse::<i64>().unwrap(), w.3, "{line}");
        assert_eq!(f[4].parse::<i64>().unwrap(), w.4, "{line}");
        match w.5 {
            Some(p) => assert_eq!(f[5].parse::<i64>().unwrap(), p, "{line}"),
            None => assert!(f[5] == "None" || f[5].is_empty(), "{line}"),
        }
        assert!(
            (f[6].parse::<f64>().unwrap() - w.6).abs() < 1e-5,
            "{line} vs {w:?}"
        );
        assert!(
            (f[7].parse::<f64>().unwrap() - w.7).abs() < 1e-2,
            "{line} vs {w:?}"
        );
        assert_eq!(f[8].parse::<usize>().unwrap(), w.8, "{line}");
    }

    // The partition columns are typed: run_id an integer, usable in a join with runs.parquet.
    let joined = duckdb_csv(
        &duck,
        &format!(
            "SELECT typeof(o.run_id), count(*), min(r.init_seed), max(r.init_seed) FROM {src} o \
             JOIN read_parquet('{}/runs.parquet') r USING (run_id) GROUP BY 1",
            out_dir.display()
        ),
    );
    assert_eq!(
        joined,
        vec![format!(
            "BIGINT,{},0,1",
            count(&c, "SELECT count(*) FROM dynamics")
        )]
    );
}

#[test]
fn cartography_export_holds_the_eval_logits_of_the_train_split() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..2", &[]);
    let out_dir = dir.path().join("carto");
    let out = export(&[
        "--db",
        db.to_str().unwrap(),
        "--cartography",
        out_dir.to_str().unwrap(),
        "--run",
        "2",
    ]);
    assert!(out.contains("run 2: 3 epoch files"), "{out}");
    let c = open(&db);
    let td = out_dir.join("training_dynamics");
    let mut names: Vec<String> = std::fs::read_dir(&td)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "dynamics_epoch_0.jsonl",
            "dynamics_epoch_1.jsonl",
            "dynamics_epoch_2.jsonl"
        ]
    );
    for e in 1..=3 {
        let text =
            std::fs::read_to_string(td.join(format!("dynamics_epoch_{}.jsonl", e - 1))).unwrap();
        let mut st = c
            .prepare(
                "SELECT example_id, label, logits FROM dynamics WHERE run_id = 2 AND phase = 'eval'
                 AND split = 'train' AND epoch = ?1 ORDER BY example_id",
            )
            .unwrap();
        let want: Vec<(i64, i64, Vec<u8>)> = st
            .query_map([e], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), want.len());
        for (line, (id, label, blob)) in lines.iter().zip(&want) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["guid"].as_i64(), Some(*id), "{line}");
            assert_eq!(v["gold"].as_i64(), Some(*label), "{line}");
            let z: Vec<f32> = v[format!("logits_epoch_{}", e - 1)]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(z, decode_logits(blob), "{line}");
        }
    }
}

/// Runs `trainlog export` expecting failure; returns its one stderr line.
fn export_fails(args: &[&str]) -> String {
    let mut a = vec!["export"];
    a.extend_from_slice(args);
    let err = fails(&a);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("trainlog: "), "{err}");
    lines[0].to_string()
}

#[test]
fn export_bad_input() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..1", &[]);
    let d = db.to_str().unwrap();

    // A non-empty folder: refused without --force, and left as it was.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let b = busy.to_str().unwrap();
    for format in ["--parquet", "--cartography"] {
        let msg = export_fails(&["--db", d, format, b]);
        assert!(
            msg.contains("not empty") && msg.contains("--force"),
            "{msg}"
        );
        let entries: Vec<_> = std::fs::read_dir(&busy).unwrap().collect();
        assert_eq!(entries.len(), 1, "{format} wrote into a non-empty folder");
    }
    // With --force, twice: the export replaces its own files and leaves others alone.
    for _ in 0..2 {
        export(&["--db", d, "--parquet", b, "--force"]);
    }
    assert_eq!(
        std::fs::read_to_string(busy.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(exported_rows(&busy), dynamics_rows(&db, ""));

    let fresh = dir.path().join("fresh");
    let f = fresh.to_str().unwrap();
    let msg = export_fails(&["--db", d, "--parquet", f, "--run", "7"]);
    assert!(msg.contains("no run 7"), "{msg}");
    let msg = export_fails(&["--db", d, "--parquet", f, "--experiment", "nope"]);
    assert!(msg.contains("no experiment 'nope'"), "{msg}");
    let msg = export_fails(&["--db", d, "--cartography", f, "--run", "7"]);
    assert!(msg.contains("no run 7"), "{msg}");
    assert!(!fresh.exists(), "a failed export created its folder");

    let msg = export_fails(&[
        "--db",
        d,
        "--parquet",
        busy.join("notes.txt").to_str().unwrap(),
    ]);
    assert!(msg.contains("not a folder"), "{msg}");
    let missing = dir.path().join("missing.db");
    let msg = export_fails(&["--db", missing.to_str().unwrap(), "--parquet", f]);
    assert!(msg.contains("missing.db"), "{msg}");
}

#[test]
fn cartography_export_needs_logits() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    record_small(&db, "0..1", &["--no-logits"]);
    let out = dir.path().join("carto");
    let msg = export_fails(&[
        "--db",
        db.to_str().unwrap(),
        "--cartography",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("no logits"), "{msg}");
}

/// `record --parquet DIR` writes each committed epoch range as it goes: with a checkpoint (and
/// a commit) every 2 epochs of 3, the files are epochs 0, 1-2 and 3, and together they hold
/// exactly the rows of `dynamics`.
#[test]
fn record_parquet_streams_every_committed_epoch_range() {
    let dir = tempdir().unwrap();
    let db = dir.path().join("t.db");
    let pq = dir.path().join("stream");
    record_small(
        &db,
        "0..2",
        &[
            "--parquet",
            pq.to_str().unwrap(),
            "--checkpoint-every",
            "2",
            "--experiment",
            "live",
        ],
    );
    let files = part_files(&pq);
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            let run = f.parent().unwrap().file_name().unwrap().to_string_lossy();
            format!("{run}/{}", f.file_name().unwrap().to_string_lossy())
        })
        .collect();
    assert_eq!(
        names,
        [
            "run_id=1/epochs-00000-00000.parquet",
            "run_id=1/epochs-00001-00002.parquet",
            "run_id=1/epochs-00003-00003.parquet",
            "run_id=2/epochs-00000-00000.parquet",
            "run_id=2/epochs-00001-00002.parquet",
            "run_id=2/epochs-00003-00003.parquet",
        ]
    );
    assert!(files.iter().all(|f| f
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .ends_with("experiment=live")));
    // No temporary file is left behind.
    for f in std::fs::read_dir(files[0].parent().unwrap()).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left behind: {name}");
    }
    let mut got = exported_rows(&pq);
    let mut want = dynamics_rows(&db, "");
    assert_eq!(want.len(), 2 * (4 * 120 + 3 * 96));
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the streamed files differ from dynamics");
}
