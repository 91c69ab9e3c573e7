//! Merge: shards (logs of one or more runs each, recorded anywhere, e.g. by `record
//! --shard-dir` on many machines) combined into one log, with everything recorded and
//! computed for their runs (observations, epochs, per-example metrics, class curves), so that
//! every query answers over all of them.
//!
//! Everything is checked before anything is written: each shard is a trainlog log of this
//! schema version whose runs are all completed; an experiment that appears in several shards
//! (or is already in the output) is on the same dataset everywhere; no run is there twice
//! (same experiment, seeds and configuration). Runs get new ids in the output, in the order
//! of the shards given and of their runs. A new output is built under a temporary name and
//! renamed when complete; into an existing log each shard is copied in its own transaction.

use crate::store::{Store, StoreError};
use rusqlite::OptionalExtension;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

const SHARD_RUNS: &str = include_str!("../queries/merge/shard-runs.sql");
const COPY_DATASET: &str = include_str!("../queries/merge/dataset.sql");
const COPY_RUN: &str = include_str!("../queries/merge/run.sql");

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{shard}: {source}")]
    Shard {
        shard: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("{0} has no runs: nothing to merge from it")]
    Empty(PathBuf),
    #[error("{shard}: run {run} is {status}: finish it first (trainlog record --resume --db {shard}) or leave the shard out")]
    Unfinished {
        shard: PathBuf,
        run: i64,
        status: String,
    },
    #[error("experiment '{experiment}' is on another dataset in {shard} than in {other}: shards of one experiment must record the same dataset")]
    Dataset {
        experiment: String,
        shard: PathBuf,
        other: String,
    },
    #[error("{shard}: run {run} (experiment '{experiment}', init {init}, order {order}) is already in {other}: was the shard given twice?")]
    Duplicate {
        shard: PathBuf,
        run: i64,
        experiment: String,
        init: i64,
        order: i64,
        other: String,
    },
    #[error("{0} is given as a shard and as the output: choose another --db")]
    SameFile(PathBuf),
    #[error("cannot replace {path} with the merged log: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReport {
    pub shards: usize,
    /// (experiment, new run ids) in the output.
    pub runs: Vec<(String, Vec<i64>)>,
    pub observations: u64,
}

/// One run of a shard, as the merge checks it.
#[derive(Debug, Clone)]
struct ShardRun {
    run_id: i64,
    experiment: String,
    status: String,
    init_seed: i64,
    order_seed: i64,
    config: String,
    fingerprint: String,
    dataset_id: i64,
}

fn shard_runs(conn: &rusqlite::Connection, schema: &str) -> Result<Vec<ShardRun>, rusqlite::Error> {
    let sql = SHARD_RUNS
        .replace("FROM runs", &format!("FROM {schema}.runs"))
        .replace("JOIN experiments", &format!("JOIN {schema}.experiments"))
        .replace("JOIN datasets", &format!("JOIN {schema}.datasets"));
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map([], |r| {
        Ok(ShardRun {
            run_id: r.get(0)?,
            experiment: r.get(1)?,
            status: r.get(2)?,
            init_seed: r.get(3)?,
            order_seed: r.get(4)?,
            config: r.get(5)?,
            fingerprint: r.get(6)?,
            dataset_id: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Runs the statements of a `.sql` file, each with the named parameters it uses.
fn run_script(
    conn: &rusqlite::Connection,
    script: &str,
    params: &[(&str, i64)],
) -> Result<u64, rusqlite::Error> {
    let mut changed = 0;
    for sql in script.split(";\n").map(str::trim) {
        let body: String = sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        if body.trim().is_empty() {
            continue;
        }
        let mut st = conn.prepare(&body)?;
        for (name, value) in params {
            if let Some(i) = st.parameter_index(name)? {
                st.raw_bind_parameter(i, value)?;
            }
        }
        changed += st.raw_execute()? as u64;
    }
    Ok(changed)
}

/// Merges `shards` into the log at `out` (created if missing).
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<MergeReport, MergeError> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let out_canon = canon(out);
    // Check everything first: each shard alone, then all of them against each other and the
    // output.
    let mut plan: Vec<(PathBuf, Vec<ShardRun>)> = Vec::new();
    for shard in shards {
        if canon(shard) == out_canon {
            return Err(MergeError::SameFile(shard.clone()));
        }
        let store = Store::open_read_only(shard).map_err(|source| MergeError::Shard {
            shard: shard.clone(),
            source,
        })?;
        let runs = shard_runs(store.conn(), "main")?;
        if runs.is_empty() {
            return Err(MergeError::Empty(shard.clone()));
        }
        if let Some(r) = runs.iter().find(|r| r.status != "completed") {
            return Err(MergeError::Unfinished {
                shard: shard.clone(),
                run: r.run_id,
                status: r.status.clone(),
            });
        }
        plan.push((shard.clone(), runs));
    }
    let existing = out.exists();
    let mut datasets: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut seen: BTreeMap<(String, i64, i64, String), String> = BTreeMap::new();
    if existing {
        let store = Store::open_read_only(out).map_err(|source| MergeError::Shard {
            shard: out.to_path_buf(),
            source,
        })?;
        for r in shard_runs(store.conn(), "main")? {
            let at = out.display().to_string();
            datasets
                .entry(r.experiment.clone())
                .or_insert((r.fingerprint.clone(), at.clone()));
            seen.insert((r.experiment, r.init_seed, r.order_seed, r.config), at);
        }
        // Experiments without runs yet still fix their dataset.
        let mut st = store.conn().prepare(
            "SELECT x.experiment, d.fingerprint FROM experiments x JOIN datasets d USING (dataset_id)",
        )?;
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (e, f) = row?;
            datasets.entry(e).or_insert((f, out.display().to_string()));
        }
    }
    for (shard, runs) in &plan {
        for r in runs {
            let (fp, other) = datasets
                .entry(r.experiment.clone())
                .or_insert((r.fingerprint.clone(), shard.display().to_string()));
            if *fp != r.fingerprint {
                return Err(MergeError::Dataset {
                    experiment: r.experiment.clone(),
                    shard: shard.clone(),
                    other: other.clone(),
                });
            }
            let key = (
                r.experiment.clone(),
                r.init_seed,
                r.order_seed,
                r.config.clone(),
            );
            if let Some(other) = seen.get(&key) {
                return Err(MergeError::Duplicate {
                    shard: shard.clone(),
                    run: r.run_id,
                    experiment: r.experiment.clone(),
                    init: r.init_seed,
                    order: r.order_seed,
                    other: other.clone(),
                });
            }
            seen.insert(key, shard.display().to_string());
        }
    }

    // Write: a new output under a temporary name, renamed when complete.
    let target = if existing {
        out.to_path_buf()
    } else {
        let mut name = out.as_os_str().to_owned();
        name.push(".merging");
        let tmp = PathBuf::from(name);
        remove_log_files(&tmp);
        tmp
    };
    let written = copy_all(&plan, &target);
    if written.is_err() && !existing {
        remove_log_files(&target);
    }
    let (observations, by_experiment) = written?;
    if !existing {
        std::fs::rename(&target, out).map_err(|source| MergeError::Io {
            path: out.to_path_buf(),
            source,
        })?;
    }
    Ok(MergeReport {
        shards: plan.len(),
        runs: by_experiment.into_iter().collect(),
        observations,
    })
}

/// Removes a SQLite file and its WAL and shared-memory files, if there.
fn remove_log_files(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Copies every shard's runs into `target`, one transaction a shard.
#[allow(clippy::type_complexity)]
fn copy_all(
    plan: &[(PathBuf, Vec<ShardRun>)],
    target: &Path,
) -> Result<(u64, BTreeMap<String, Vec<i64>>), MergeError> {
    let store = Store::open(target)?;
    let conn = store.conn();
    let mut total = 0u64;
    let mut by_experiment: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (shard, runs) in plan {
        conn.execute(
            "ATTACH DATABASE ?1 AS shard",
            [shard.to_string_lossy().as_ref()],
        )?;
        let copied = (|| -> Result<u64, MergeError> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let mut observations = 0;
            let mut done_datasets = HashSet::new();
            for r in runs {
                if done_datasets.insert(r.dataset_id) {
                    let have: Option<i64> = conn
                        .query_row(
                            "SELECT dataset_id FROM main.datasets WHERE fingerprint = ?1",
                            [&r.fingerprint],
                            |row| row.get(0),
                        )
                        .optional()?;
                    if have.is_none() {
                        run_script(conn, COPY_DATASET, &[(":old", r.dataset_id)])?;
                    }
                }
                conn.execute(
                    "INSERT OR IGNORE INTO main.experiments (experiment, dataset_id, created_at)
                     SELECT x.experiment, d.dataset_id, x.created_at FROM shard.experiments x
                     JOIN main.datasets d ON d.fingerprint = ?2
                     WHERE x.experiment = ?1",
                    rusqlite::params![r.experiment, r.fingerprint],
                )?;
                let new: i64 = conn.query_row(
                    "SELECT coalesce(max(run_id), 0) + 1 FROM main.runs",
                    [],
                    |row| row.get(0),
                )?;
                run_script(conn, COPY_RUN, &[(":old", r.run_id), (":new", new)])?;
                observations += conn.query_row(
                    "SELECT count(*) FROM main.observations WHERE run_id = ?1",
                    [new],
                    |row| row.get::<_, i64>(0),
                )? as u64;
                by_experiment
                    .entry(r.experiment.clone())
                    .or_default()
                    .push(new);
            }
            conn.execute_batch("COMMIT")?;
            Ok(observations)
        })();
        let copied = match copied {
            Ok(n) => n,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                let _ = conn.execute_batch("DETACH DATABASE shard");
                return Err(e);
            }
        };
        conn.execute_batch("DETACH DATABASE shard")?;
        total += copied;
    }
    Ok((total, by_experiment))
}
