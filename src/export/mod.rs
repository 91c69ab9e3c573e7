//! Export: the log as a Hive-partitioned Parquet dataset ([`parquet`]) for DuckDB, pandas,
//! Polars or Spark, and one run as dataset-cartography JSONL files ([`cartography`]) for the
//! data-map scripts of Swayamdipta et al. (2020).
//!
//! Both stream from SQLite in primary-key order and write each file under a temporary name in
//! its final folder, renamed when the file is complete ([`AtomicFile`]): a crash leaves only
//! complete files (and hidden `.*.tmp` files, which readers skip).

pub mod cartography;
pub mod parquet;

use crate::store::{Store, StoreError};
use rusqlite::OptionalExtension;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} exists and is not empty: pass --force to replace what an export writes there, or choose another folder")]
    NotEmpty(PathBuf),
    #[error("{0} exists and is not a folder")]
    NotADir(PathBuf),
    #[error("no run {0} in the log")]
    NoRun(i64),
    #[error("no experiment '{0}' in the log (trainlog query runs --experiment … lists runs)")]
    NoExperiment(String),
    #[error("experiment '{0}' has no runs")]
    NoRuns(String),
    #[error(
        "run {run} has no logits (recorded with --no-logits): the cartography files need them"
    )]
    NoLogits { run: i64 },
    #[error("run {run} has no eval-phase observations of train examples in epochs 1..E (recorded with --capture step?): the cartography files need them")]
    NoEval { run: i64 },
    #[error("run {run}, epoch {epoch}, example {example}: a logit is not finite, which JSON cannot hold")]
    NonFinite { run: i64, epoch: i64, example: i64 },
    #[error(
        "observation of run {run} refers to example {example}, which its dataset does not have"
    )]
    UnknownExample { run: i64, example: i64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing parquet: {0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the parquet writer thread stopped unexpectedly")]
    WriterThread,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Which runs to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The most recently created experiment.
    Latest,
    Experiment(String),
    Run(i64),
}

/// The experiment and runs (ascending) a scope selects.
pub fn resolve(store: &Store, scope: &Scope) -> Result<(String, Vec<i64>), ExportError> {
    let conn = store.conn();
    match scope {
        Scope::Run(r) => {
            let exp: Option<String> = conn
                .query_row(
                    "SELECT experiment FROM runs WHERE run_id = ?1",
                    [r],
                    |row| row.get(0),
                )
                .optional()?;
            let exp = exp.ok_or(ExportError::NoRun(*r))?;
            Ok((exp, vec![*r]))
        }
        Scope::Experiment(_) | Scope::Latest => {
            let exp = match scope {
                Scope::Experiment(e) => e.clone(),
                _ => store.latest_experiment()?,
            };
            let known: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM experiments WHERE experiment = ?1",
                    [&exp],
                    |r| r.get(0),
                )
                .optional()?;
            if known.is_none() {
                return Err(ExportError::NoExperiment(exp));
            }
            let runs: Vec<i64> = conn
                .prepare("SELECT run_id FROM runs WHERE experiment = ?1 ORDER BY run_id")?
                .query_map([&exp], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            if runs.is_empty() {
                return Err(ExportError::NoRuns(exp));
            }
            Ok((exp, runs))
        }
    }
}

/// One example of a run's dataset, as the export needs it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExampleInfo {
    pub known: bool,
    pub test: bool,
    pub label: i32,
    pub orig_label: i32,
}

/// The examples of a run's dataset, indexed by example id.
pub(crate) fn examples_of_run(store: &Store, run: i64) -> Result<Vec<ExampleInfo>, ExportError> {
    let mut st = store.conn().prepare(
        "SELECT e.example_id, e.split, e.label, e.orig_label FROM examples e
         JOIN experiments x ON x.dataset_id = e.dataset_id
         JOIN runs r ON r.experiment = x.experiment
         WHERE r.run_id = ?1 ORDER BY e.example_id",
    )?;
    let mut rows = st.query([run])?;
    let mut out: Vec<ExampleInfo> = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let split: String = r.get(1)?;
        let idx =
            usize::try_from(id).map_err(|_| ExportError::UnknownExample { run, example: id })?;
        if out.len() <= idx {
            out.resize(idx + 1, ExampleInfo::default());
        }
        out[idx] = ExampleInfo {
            known: true,
            test: split == "test",
            label: r.get(2)?,
            orig_label: r.get(3)?,
        };
    }
    Ok(out)
}

/// Makes `dir` ready for an export that writes `entries` (file or folder names) into it: creates
/// it if missing; refuses a non-empty one unless `force`, which removes those entries only.
pub(crate) fn prepare_dir(dir: &Path, entries: &[&str], force: bool) -> Result<(), ExportError> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(ExportError::NotADir(dir.to_path_buf()));
        }
        let non_empty = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .next()
            .is_some();
        if non_empty {
            if !force {
                return Err(ExportError::NotEmpty(dir.to_path_buf()));
            }
            for e in entries {
                let p = dir.join(e);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).map_err(io_err(&p))?;
                } else if p.exists() {
                    std::fs::remove_file(&p).map_err(io_err(&p))?;
                }
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))
}

/// A file written under a hidden temporary name (`.NAME.tmp`) in its final folder and renamed
/// to NAME by [`AtomicFile::commit`]; dropped uncommitted, the temporary file is removed.
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl AtomicFile {
    /// Creates the temporary file; returns it with a buffered writer on it.
    pub fn create(path: &Path) -> Result<(AtomicFile, BufWriter<File>), ExportError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp"));
        let f = File::create(&tmp).map_err(io_err(&tmp))?;
        Ok((
            AtomicFile {
                tmp,
                path: path.to_path_buf(),
                done: false,
            },
            BufWriter::with_capacity(1 << 20, f),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the complete file into place (after its writer was flushed and closed).
    pub fn commit(mut self) -> Result<PathBuf, ExportError> {
        std::fs::rename(&self.tmp, &self.path).map_err(io_err(&self.path))?;
        self.done = true;
        Ok(self.path.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
