//! Import: dynamics recorded by another training loop, from Parquet ([`parquet`]: trainlog's
//! own export, or a minimal schema a PyTorch loop writes with pyarrow) or from
//! dataset-cartography JSONL files ([`cartography`]).
//!
//! From each row's logits and label the import computes `loss`, `p_true`, `margin`, `pred` and
//! `correct` with [`crate::capture::observe`], exactly as `record` does. Everything is
//! validated while the rows are written inside one transaction, which is rolled back at the
//! first problem (one line saying what and where): ragged logits, non-finite logits, labels
//! out of range, an example with two labels or splits, duplicate rows (same run, phase,
//! epoch, example), unknown or missing columns, and incomplete runs (an example missing at
//! some epoch, or a gap in the epochs). Then the dataset (examples with labels and splits,
//! classes "0".."C−1" or the names of a trainlog export), the experiment, the runs (status
//! completed, model `imported`, a config JSON naming the source) and the per-epoch accuracies
//! are written, the transaction commits, and the per-example metrics of each run are computed
//! with [`crate::metrics::compute_run`] (in its own transaction, as `record` does; if that
//! fails, everything the import wrote is deleted again).
//!
//! Epochs are taken as given: epoch 0 means the untrained model (left out of the per-example
//! metrics), and the epochs 1..E of every run and phase must all be there.
//!
//! Example ids: integer ids from 0 up (dense enough: below 4n + 1024 for n examples) are kept;
//! other ids (strings, huge or negative numbers, such as cartography guids) are numbered
//! 0..n−1 in ascending order of the original id, which is kept as the example's `source_id`.

pub mod cartography;
pub mod parquet;

use crate::capture::{logits_to_blob, observe};
use crate::store::{NewRun, RunStatus, Store, StoreError};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error("{0}: found no .parquet files and no dynamics_epoch_*.jsonl files to import")]
    Nothing(PathBuf),
    /// A problem with the input, at a place (a file, a row, a run).
    #[error("{at}: {msg}")]
    Invalid { at: String, msg: String },
    #[error(
        "experiment '{0}' already exists with another dataset: choose another --experiment name"
    )]
    ExperimentDataset(String),
    #[error("computing the metrics of the imported runs (nothing was imported): {0}")]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("reading parquet: {0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn invalid(at: impl fmt::Display, msg: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        at: at.to_string(),
        msg: msg.into(),
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An example's id in the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for ExKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExKey::Int(i) => write!(f, "{i}"),
            ExKey::Str(s) => write!(f, "{s}"),
        }
    }
}

/// Where a row is, for messages: a file and a 1-based row (or line) number.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    pub file: &'a Path,
    /// "row" or "line".
    pub unit: &'static str,
    pub index: u64,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {} {}", self.file.display(), self.unit, self.index)
    }
}

/// The phase of an observation.
pub fn parse_phase(s: &str) -> Option<i64> {
    match s {
        "eval" => Some(0),
        "step" => Some(1),
        _ => None,
    }
}

/// Whether a split name means the test split.
pub fn parse_split(s: &str) -> Option<bool> {
    match s {
        "train" => Some(false),
        "test" => Some(true),
        _ => None,
    }
}

/// One row of the source, with its defaults not yet applied.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub run: i64,
    /// 0 eval, 1 step.
    pub phase: i64,
    pub epoch: i64,
    pub example: ExKey,
    pub label: i64,
    pub orig_label: Option<i64>,
    /// true = test (default train).
    pub test: Option<bool>,
    pub position: Option<i64>,
    pub batch: Option<i64>,
    pub init_seed: Option<i64>,
    pub order_seed: Option<i64>,
    pub logits: &'a [f32],
}

/// What a trainlog export tells beyond the observations: class names, source ids, and when
/// each run (by its source run id) started and finished.
#[derive(Debug, Clone, Default)]
pub struct ExampleExtras {
    pub class_names: BTreeMap<i64, String>,
    pub source_ids: HashMap<i64, String>,
    pub run_times: HashMap<i64, (String, Option<String>)>,
}

/// A source of rows: read twice, first for the example ids, then for everything.
pub trait Source {
    /// "parquet" or "cartography".
    fn format(&self) -> &'static str;
    /// The name the default experiment name is made of.
    fn stem(&self) -> String;
    /// The files read.
    fn files(&self) -> usize;
    /// Calls `f` with every row's example id.
    fn scan_examples(
        &mut self,
        f: &mut dyn FnMut(ExKey, Location<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError>;
    /// Calls `f` with every row.
    fn rows(
        &mut self,
        f: &mut dyn FnMut(&Row<'_>, Location<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError>;
    /// Class names and source ids, when the source has them.
    fn extras(&mut self) -> Result<Option<ExampleExtras>, ImportError> {
        Ok(None)
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The experiment to create (or add runs to, if it is on the same dataset).
    pub experiment: Option<String>,
}

/// One imported run.
#[derive(Debug, Clone)]
pub struct ImportedRun {
    pub run_id: i64,
    /// Its number in the source.
    pub source_run: i64,
    pub epochs: i64,
    pub rows: u64,
}

/// What an import wrote.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub format: &'static str,
    pub experiment: String,
    pub dataset_id: i64,
    pub examples: usize,
    pub classes: usize,
    pub runs: Vec<ImportedRun>,
    pub rows: u64,
    /// Example ids were renumbered (see the module documentation).
    pub renumbered: bool,
}

/// Imports PATH: a `.parquet` file, a folder of them (a trainlog export's folder or its
/// `observations/`, searched recursively), or a folder of `dynamics_epoch_*.jsonl` files (or
/// one holding `training_dynamics/`).
pub fn import_path(
    store: &Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    if !path.exists() {
        return Err(ImportError::Missing(path.to_path_buf()));
    }
    if let Some(mut src) = cartography::CartographySource::detect(path)? {
        return import(store, &mut src, path, opts);
    }
    let mut src = parquet::ParquetSource::open(path)?;
    import(store, &mut src, path, opts)
}

/// How source example ids become trainlog example ids.
enum IdMap {
    Identity,
    Renumbered(HashMap<ExKey, i64>),
}

struct PhaseState {
    /// Rows per epoch.
    epochs: BTreeMap<i64, u64>,
    /// Examples seen in this phase, by trainlog id.
    seen: Vec<bool>,
    n_seen: u64,
}

struct RunState {
    run_id: i64,
    init_seed: Option<i64>,
    order_seed: Option<i64>,
    phases: [Option<PhaseState>; 2],
    rows: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ExState {
    label: i64,
    orig_label: i64,
    test: bool,
}

const PHASES: [&str; 2] = ["eval", "step"];

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn default_experiment(store: &Store, stem: &str) -> Result<String, ImportError> {
    let base = format!(
        "import-{stem}-{}",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    );
    let mut name = base.clone();
    let mut k = 2;
    while store
        .conn()
        .query_row(
            "SELECT 1 FROM experiments WHERE experiment = ?1",
            [&name],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .is_some()
    {
        name = format!("{base}-{k}");
        k += 1;
    }
    Ok(name)
}

/// Imports from any source.
pub fn import(
    store: &Store,
    src: &mut dyn Source,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    // Pass 1: the example ids.
    let mut keys: std::collections::HashSet<ExKey> = std::collections::HashSet::new();
    src.scan_examples(&mut |k, _| {
        if !keys.contains(&k) {
            keys.insert(k);
        }
        Ok(())
    })?;
    if keys.is_empty() {
        return Err(invalid(path.display(), "no rows to import"));
    }
    let n = keys.len();
    let dense = keys.iter().all(|k| match k {
        ExKey::Int(i) => *i >= 0 && (*i as u128) < 4 * n as u128 + 1024,
        ExKey::Str(_) => false,
    });
    let (ids, by_id): (IdMap, Vec<ExKey>) = if dense {
        let max = keys
            .iter()
            .map(|k| match k {
                ExKey::Int(i) => *i,
                ExKey::Str(_) => 0,
            })
            .max()
            .unwrap_or(0);
        (
            IdMap::Identity,
            (0..=max).map(ExKey::Int).collect::<Vec<_>>(),
        )
    } else {
        let mut sorted: Vec<ExKey> = keys.into_iter().collect();
        sorted.sort();
        let map = sorted
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as i64))
            .collect();
        (IdMap::Renumbered(map), sorted)
    };
    let extras = src.extras()?;

    let experiment = match &opts.experiment {
        Some(e) => e.clone(),
        None => default_experiment(store, &src.stem())?,
    };
    let source_json = serde_json::json!({
        "imported_from": path.display().to_string(),
        "format": src.format(),
        "files": src.files(),
        "imported_at": now(),
    });

    store.begin()?;
    let result = (|| {
        // Runs reference the experiment, which is written once the dataset is known.
        store
            .conn()
            .execute_batch("PRAGMA defer_foreign_keys = ON")?;
        write_all(
            store,
            src,
            &ids,
            &by_id,
            extras.as_ref(),
            &experiment,
            &source_json,
        )
    })();
    let (report, created) = match result {
        Ok(r) => {
            store.commit()?;
            r
        }
        Err(e) => {
            store.rollback()?;
            return Err(e);
        }
    };
    // The metrics, as `record` computes them when a run completes.
    let metrics = (|| -> Result<(), ImportError> {
        for r in &report.runs {
            crate::metrics::compute_run(store, r.run_id)?;
            store.finish_run(r.run_id, RunStatus::Completed, None)?;
            // A trainlog export's runs keep the times they were trained at.
            if let Some((started, finished)) =
                extras.as_ref().and_then(|x| x.run_times.get(&r.source_run))
            {
                store.conn().execute(
                    "UPDATE runs SET started_at = ?2, finished_at = coalesce(?3, finished_at)
                     WHERE run_id = ?1",
                    params![r.run_id, started, finished],
                )?;
            }
        }
        Ok(())
    })();
    if let Err(e) = metrics {
        undo(store, &report, &created)?;
        return Err(e);
    }
    Ok(ImportReport {
        format: src.format(),
        ..report
    })
}

/// What an import created besides runs (to undo it).
struct Created {
    experiment: bool,
    dataset: bool,
}

/// Deletes everything an import wrote (when computing the metrics failed after the commit).
fn undo(store: &Store, report: &ImportReport, created: &Created) -> Result<(), ImportError> {
    store.begin()?;
    let r = (|| -> Result<(), ImportError> {
        let c = store.conn();
        for run in &report.runs {
            for table in [
                "example_metrics",
                "class_accuracy",
                "epochs",
                "observations",
                "runs",
            ] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE run_id = ?1"),
                    [run.run_id],
                )?;
            }
        }
        if created.experiment {
            c.execute(
                "DELETE FROM experiments WHERE experiment = ?1",
                [&report.experiment],
            )?;
        }
        if created.dataset {
            for table in ["examples", "classes", "datasets"] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE dataset_id = ?1"),
                    [report.dataset_id],
                )?;
            }
        }
        Ok(())
    })();
    match r {
        Ok(()) => store.commit()?,
        Err(e) => {
            store.rollback()?;
            return Err(e);
        }
    }
    Ok(())
}

/// Everything inside the import's transaction.
fn write_all(
    store: &Store,
    src: &mut dyn Source,
    ids: &IdMap,
    by_id: &[ExKey],
    extras: Option<&ExampleExtras>,
    experiment: &str,
    source_json: &serde_json::Value,
) -> Result<(ImportReport, Created), ImportError> {
    let conn = store.conn();
    let n_ids = by_id.len();
    let mut n_classes: Option<usize> = None;
    let mut examples: Vec<Option<ExState>> = vec![None; n_ids];
    let mut runs: BTreeMap<i64, RunState> = BTreeMap::new();
    let mut blob: Vec<u8> = Vec::with_capacity(64);
    let mut total = 0u64;
    let mut insert = conn.prepare(
        "INSERT INTO observations (run_id, phase, epoch, example_id, position, batch, pred, logits)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    src.rows(&mut |row, at| {
        let id = match ids {
            IdMap::Identity => match row.example {
                ExKey::Int(i) => i,
                ExKey::Str(_) => unreachable!("identity ids are integers"),
            },
            IdMap::Renumbered(m) => *m.get(&row.example).ok_or_else(|| {
                invalid(at, format!("example {} was not there at the first reading: did the files change?", row.example))
            })?,
        };
        let c = row.logits.len();
        if c < 2 {
            return Err(invalid(at, format!("{c} logits: every row needs one logit per class, at least 2")));
        }
        match n_classes {
            None => n_classes = Some(c),
            Some(k) if k != c => {
                return Err(invalid(at, format!("{c} logits where earlier rows have {k}: every row needs one logit per class (ragged logits)")))
            }
            Some(_) => {}
        }
        if let Some(k) = row.logits.iter().position(|z| !z.is_finite()) {
            return Err(invalid(at, format!("logit {k} is {} (logits must be finite)", row.logits[k])));
        }
        for (name, v) in [("label", Some(row.label)), ("orig_label", row.orig_label)] {
            if let Some(v) = v {
                if v < 0 || v as usize >= c {
                    return Err(invalid(at, format!("{name} {v} is out of range for {c} logits (labels are 0..{})", c - 1)));
                }
            }
        }
        if row.epoch < 0 {
            return Err(invalid(at, format!("epoch {} is negative", row.epoch)));
        }
        let state = ExState {
            label: row.label,
            orig_label: row.orig_label.unwrap_or(row.label),
            test: row.test.unwrap_or(false),
        };
        match &examples[id as usize] {
            None => examples[id as usize] = Some(state),
            Some(s) if *s != state => {
                let what = if s.label != state.label {
                    format!("label {} here and {} in an earlier row", state.label, s.label)
                } else if s.orig_label != state.orig_label {
                    format!("orig_label {} here and {} in an earlier row", state.orig_label, s.orig_label)
                } else {
                    let name = |t: bool| if t { "test" } else { "train" };
                    format!("split {} here and {} in an earlier row", name(state.test), name(s.test))
                };
                return Err(invalid(at, format!("example {} has {what}", row.example)));
            }
            Some(_) => {}
        }
        let run = match runs.get_mut(&row.run) {
            Some(r) => r,
            None => {
                let mut config = source_json.clone();
                config["source_run"] = serde_json::json!(row.run);
                let run_id = store.create_run(&NewRun {
                    experiment,
                    init_seed: row.init_seed.unwrap_or(row.run) as u64,
                    order_seed: row.order_seed.unwrap_or(row.run) as u64,
                    model: "imported",
                    config_json: &config.to_string(),
                    epochs: 0,
                    capture: "eval",
                    device: "unknown",
                    logits: "f32",
                })?;
                runs.entry(row.run).or_insert(RunState {
                    run_id,
                    init_seed: row.init_seed,
                    order_seed: row.order_seed,
                    phases: [None, None],
                    rows: 0,
                })
            }
        };
        for (name, have, got) in [
            ("init_seed", &mut run.init_seed, row.init_seed),
            ("order_seed", &mut run.order_seed, row.order_seed),
        ] {
            match (*have, got) {
                (Some(a), Some(b)) if a != b => {
                    return Err(invalid(at, format!("run {} has {name} {b} here and {a} in an earlier row", row.run)))
                }
                (None, Some(b)) if run.rows > 0 => {
                    return Err(invalid(at, format!("run {} has {name} {b} here and none in an earlier row", row.run)))
                }
                (Some(a), None) => {
                    return Err(invalid(at, format!("run {} has no {name} here and {a} in an earlier row", row.run)))
                }
                _ => *have = got,
            }
        }
        let phase = run.phases[row.phase as usize].get_or_insert_with(|| PhaseState {
            epochs: BTreeMap::new(),
            seen: vec![false; n_ids],
            n_seen: 0,
        });
        *phase.epochs.entry(row.epoch).or_insert(0) += 1;
        if !phase.seen[id as usize] {
            phase.seen[id as usize] = true;
            phase.n_seen += 1;
        }
        run.rows += 1;
        total += 1;

        let o = observe(row.logits, row.label as u32);
        logits_to_blob(row.logits, &mut blob);
        match insert.execute(params![
            run.run_id,
            row.phase,
            row.epoch,
            id,
            row.position,
            row.batch,
            o.pred as i64,
            &blob
        ]) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(invalid(at, format!(
                    "duplicate row: run {}, phase {}, epoch {}, example {} appears twice",
                    row.run, PHASES[row.phase as usize], row.epoch, row.example
                )))
            }
            Err(e) => Err(e.into()),
        }
    })?;
    drop(insert);
    let n_classes = n_classes.unwrap_or(2);

    // Complete runs only: every epoch 1..E of every phase, every example at every epoch.
    let mut imported = Vec::new();
    for (&src_run, run) in &runs {
        let at = format!("run {src_run}");
        let mut last: Option<(usize, i64)> = None;
        for (p, phase) in run.phases.iter().enumerate() {
            let Some(phase) = phase else { continue };
            let e_max = *phase.epochs.keys().next_back().expect("a phase has rows");
            if e_max < 1 {
                return Err(invalid(
                    &at,
                    format!(
                        "{} rows only at epoch 0 (the untrained model): a run needs epochs 1..E",
                        PHASES[p]
                    ),
                ));
            }
            for e in 1..=e_max {
                if !phase.epochs.contains_key(&e) {
                    return Err(invalid(&at, format!("no {} rows at epoch {e}: epochs must run 1..{e_max} without gaps for the run to be complete", PHASES[p])));
                }
            }
            for (&e, &count) in &phase.epochs {
                if count < phase.n_seen {
                    let missing: i64 = conn.query_row(
                        "SELECT example_id FROM observations WHERE run_id = ?1 AND phase = ?2
                         GROUP BY example_id HAVING sum(epoch = ?3) = 0 ORDER BY example_id LIMIT 1",
                        params![run.run_id, p as i64, e],
                        |r| r.get(0),
                    )?;
                    return Err(invalid(&at, format!(
                        "example {} has no {} row at epoch {e} ({count} of {} examples there): every example needs every epoch for the run to be complete",
                        by_id[missing as usize], PHASES[p], phase.n_seen
                    )));
                }
            }
            if let Some((q, e_other)) = last {
                if e_other != e_max {
                    return Err(invalid(&at, format!(
                        "{} epochs end at {e_other} but {} epochs at {e_max}: the run is incomplete",
                        PHASES[q], PHASES[p]
                    )));
                }
            }
            last = Some((p, e_max));
        }
        let epochs = last.map_or(0, |l| l.1);
        let capture = match (&run.phases[0], &run.phases[1]) {
            (Some(_), Some(_)) => "both",
            (None, Some(_)) => "step",
            _ => "eval",
        };
        conn.execute(
            "UPDATE runs SET epochs = ?2, capture = ?3, libtorch_version = 'n/a' WHERE run_id = ?1",
            params![run.run_id, epochs, capture],
        )?;
        imported.push(ImportedRun {
            run_id: run.run_id,
            source_run: src_run,
            epochs,
            rows: run.rows,
        });
    }

    // The dataset: the examples seen, their labels and splits; classes 0..C−1.
    let names: Vec<String> = (0..n_classes as i64)
        .map(|k| {
            extras
                .and_then(|x| x.class_names.get(&k).cloned())
                .unwrap_or_else(|| k.to_string())
        })
        .collect();
    let source_id = |id: usize| -> String {
        extras
            .and_then(|x| x.source_ids.get(&(id as i64)).cloned())
            .unwrap_or_else(|| by_id[id].to_string())
    };
    let mut h = Sha256::new();
    h.update(b"trainlog import\0");
    for name in &names {
        h.update(name.as_bytes());
        h.update([0]);
    }
    let (mut n_examples, mut n_train, mut n_flipped) = (0usize, 0usize, 0usize);
    for (id, s) in examples.iter().enumerate() {
        if let Some(s) = s {
            h.update((id as i64).to_le_bytes());
            h.update(source_id(id).as_bytes());
            h.update([0, s.test as u8]);
            h.update(s.label.to_le_bytes());
            h.update(s.orig_label.to_le_bytes());
            n_examples += 1;
            if !s.test {
                n_train += 1;
                n_flipped += (s.label != s.orig_label) as usize;
            }
        }
    }
    let fingerprint = format!("{:x}", h.finalize());
    let existing: Option<i64> = conn
        .query_row(
            "SELECT dataset_id FROM datasets WHERE fingerprint = ?1",
            [&fingerprint],
            |r| r.get(0),
        )
        .optional()?;
    let created_dataset = existing.is_none();
    let dataset_id = match existing {
        Some(id) => id,
        None => {
            conn.execute(
                "INSERT INTO datasets (spec, fingerprint, n_examples, n_classes, seq_len, input_kind, label_noise, created_at)
                 VALUES (?1, ?2, ?3, ?4, 0, 'numeric', ?5, ?6)",
                params![
                    format!("import:{}", source_json["imported_from"].as_str().unwrap_or("")),
                    fingerprint,
                    n_examples as i64,
                    n_classes as i64,
                    if n_train > 0 { n_flipped as f64 / n_train as f64 } else { 0.0 },
                    now()
                ],
            )?;
            let id = conn.last_insert_rowid();
            let mut c =
                conn.prepare("INSERT INTO classes (dataset_id, class, name) VALUES (?1, ?2, ?3)")?;
            for (k, name) in names.iter().enumerate() {
                c.execute(params![id, k as i64, name])?;
            }
            let mut e = conn.prepare(
                "INSERT INTO examples (dataset_id, example_id, source_id, split, label, orig_label, length)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
            )?;
            for (i, s) in examples.iter().enumerate() {
                if let Some(s) = s {
                    e.execute(params![
                        id,
                        i as i64,
                        source_id(i),
                        if s.test { "test" } else { "train" },
                        s.label,
                        s.orig_label
                    ])?;
                }
            }
            id
        }
    };
    let on: Option<i64> = conn
        .query_row(
            "SELECT dataset_id FROM experiments WHERE experiment = ?1",
            [experiment],
            |r| r.get(0),
        )
        .optional()?;
    let created_experiment = match on {
        Some(d) if d == dataset_id => false,
        Some(_) => return Err(ImportError::ExperimentDataset(experiment.to_string())),
        None => {
            conn.execute(
                "INSERT INTO experiments (experiment, dataset_id, created_at) VALUES (?1, ?2, ?3)",
                params![experiment, dataset_id, now()],
            )?;
            true
        }
    };
    // Per-epoch accuracies from the observations: train_* from the step phase, eval_train_acc
    // and test_* from the eval phase.
    for r in &imported {
        conn.execute(
            "INSERT INTO epochs (run_id, epoch, train_loss, train_acc, eval_train_acc, test_loss, test_acc, wall_s, committed_at)
             SELECT ?1, o.epoch,
                    avg(CASE WHEN o.phase = 1 THEN o.loss END),
                    avg(CASE WHEN o.phase = 1 THEN o.pred = e.label END),
                    avg(CASE WHEN o.phase = 0 AND e.split = 'train' THEN o.pred = e.label END),
                    avg(CASE WHEN o.phase = 0 AND e.split = 'test' THEN o.loss END),
                    avg(CASE WHEN o.phase = 0 AND e.split = 'test' THEN o.pred = e.label END),
                    0, ?3
             FROM observations o
             JOIN examples e ON e.dataset_id = ?2 AND e.example_id = o.example_id
             WHERE o.run_id = ?1
             GROUP BY o.epoch ORDER BY o.epoch",
            params![r.run_id, dataset_id, now()],
        )?;
    }
    Ok((
        ImportReport {
            format: "",
            experiment: experiment.to_string(),
            dataset_id,
            examples: n_examples,
            classes: n_classes,
            runs: imported,
            rows: total,
            renumbered: matches!(ids, IdMap::Renumbered(_)),
        },
        Created {
            experiment: created_experiment,
            dataset: created_dataset,
        },
    ))
}
