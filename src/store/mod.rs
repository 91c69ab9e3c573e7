//! The SQLite store: opening (pragmas, migrations, SQL functions) and every write trainlog
//! makes. Bulk writes run inside one transaction per epoch, begun and committed by the
//! recorder.

pub mod functions;
pub mod schema;

use crate::dataset::{Dataset, Inputs};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the folder of {0} does not exist: create it first or pass another --db")]
    MissingDir(PathBuf),
    #[error("database {0} does not exist: record a run first (trainlog record --db {0})")]
    MissingDb(PathBuf),
    #[error("{path} was written by a newer trainlog (schema version {found}, this one knows {known}): upgrade trainlog to read it")]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("{path} is not a trainlog database: {reason}")]
    NotTrainlog { path: PathBuf, reason: String },
    #[error(
        "experiment '{0}' already exists with another dataset: choose another --experiment name"
    )]
    ExperimentDataset(String),
    #[error("no experiment in {0}: record one first")]
    NoExperiment(PathBuf),
    #[error("another trainlog process is writing to {0}: wait for it to finish, or record into another --db")]
    Busy(PathBuf),
    #[error("cannot write beside {path} ({source}): choose a --db in a writable folder")]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} cannot be written (a read-only file, folder or file system): make it writable or choose another --db")]
    ReadOnly(PathBuf),
    #[error("no run {0} in the log")]
    NoRun(i64),
    #[error("run {0} is completed: there is nothing to resume")]
    RunCompleted(i64),
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The exclusive right to write a database, held for as long as this lives: an advisory lock
/// on `DB.lock` beside it, released by the system when the process ends, however it ends.
#[derive(Debug)]
pub struct WriteLock {
    _file: std::fs::File,
}

impl WriteLock {
    /// Takes the write lock of `db`, or fails at once if another process holds it.
    pub fn acquire(db: &Path) -> Result<WriteLock, StoreError> {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(StoreError::MissingDir(db.to_path_buf()));
            }
        }
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = db.with_file_name(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::NotWritable {
                path: db.to_path_buf(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(WriteLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy(db.to_path_buf())),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::NotWritable {
                path: db.to_path_buf(),
                source,
            }),
        }
    }
}

/// A run `record --resume` has to finish: planned but not started, or started and not
/// completed.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    pub plan_id: Option<i64>,
    pub run_id: Option<i64>,
    /// The run's configuration (JSON).
    pub config: String,
}

/// A run's final state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
    Diverged,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Diverged => "diverged",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// What is known of a run when it starts.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub experiment: &'a str,
    pub init_seed: u64,
    pub order_seed: u64,
    pub model: &'a str,
    pub config_json: &'a str,
    pub epochs: usize,
    pub capture: &'a str,
    pub device: &'a str,
    /// How its logits are stored: f32, f16 or none (`runs.logits`).
    pub logits: &'a str,
}

/// One observation row.
#[derive(Debug, Clone, Copy)]
pub struct ObservationRow<'a> {
    pub run_id: i64,
    pub phase: i64,
    pub epoch: i64,
    pub example_id: i64,
    pub position: Option<i64>,
    pub batch: Option<i64>,
    pub pred: i64,
    /// `None` when the logits are f32: recomputed from them on read.
    pub loss: Option<f64>,
    pub margin: Option<f64>,
    pub logits: Option<&'a [u8]>,
}

/// One epoch's summary row.
#[derive(Debug, Clone, Copy)]
pub struct EpochRow {
    pub run_id: i64,
    pub epoch: i64,
    pub train_loss: Option<f64>,
    pub train_acc: Option<f64>,
    pub eval_train_acc: Option<f64>,
    pub test_loss: Option<f64>,
    pub test_acc: Option<f64>,
    pub wall_s: f64,
}

/// One store shared by the threads of `record --jobs`: every write goes through its one
/// connection, one transaction at a time.
pub type SharedStore = std::sync::Arc<std::sync::Mutex<Store>>;

/// Locks a shared store (a thread that panicked holding it left no transaction open: every
/// write path rolls back on error, so the store is still usable).
pub fn lock(store: &std::sync::Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// Observation rows per INSERT statement (10 parameters a row).
pub const INSERT_CHUNK: usize = 64;

/// `INSERT INTO observations … VALUES (…), (…), …` for `rows` rows.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO observations (run_id, phase, epoch, example_id, position, batch, pred, loss, margin, logits) VALUES ",
    );
    for r in 0..rows {
        let p = r * 10;
        if r > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(?{},?{},?{},?{},?{},?{},?{},?{},?{},?{})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8,
            p + 9,
            p + 10
        ));
    }
    sql
}

/// An open trainlog database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    functions::register(conn)?;
    Ok(())
}

fn check_version(conn: &Connection, path: &Path) -> Result<usize, StoreError> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| StoreError::NotTrainlog {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let known = schema::latest_version();
    if found as usize > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: found as usize,
            known,
        });
    }
    Ok(found as usize)
}

impl Store {
    /// Opens (creating if needed) a database for writing and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(StoreError::MissingDir(path.to_path_buf()));
            }
        }
        let conn = Connection::open(path)?;
        let store = Self::init(conn, path)?;
        // Fail now, before anything is recorded, if the file cannot take a write (SQLite
        // falls back to read-only when it may not write the file).
        if store.conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(StoreError::ReadOnly(path.to_path_buf()));
        }
        Ok(store)
    }

    /// An in-memory database with the full schema (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, Path::new(":memory:"))
    }

    fn init(mut conn: Connection, path: &Path) -> Result<Store, StoreError> {
        configure(&conn)?;
        check_version(&conn, path)?;
        if path != Path::new(":memory:") {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::NotTrainlog {
                    path: path.to_path_buf(),
                    reason: format!("cannot switch to WAL journal (got {mode})"),
                });
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| match e {
                rusqlite_migration::Error::RusqliteError { err, .. } => StoreError::Sql(err),
                other => StoreError::NotTrainlog {
                    path: path.to_path_buf(),
                    reason: other.to_string(),
                },
            })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing database read-only (queries, export, report).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::MissingDb(path.to_path_buf()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn)?;
        let v = check_version(&conn, path)?;
        if v < schema::latest_version() {
            return Err(StoreError::NotTrainlog {
                path: path.to_path_buf(),
                reason: format!(
                    "schema version {v} is older than {}: upgrade it once with `trainlog metrics --db {}` (it also recomputes the metrics), then read it again",
                    schema::latest_version(),
                    path.display()
                ),
            });
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores a dataset's examples and classes once; returns its id (an existing one if the
    /// same content is already stored).
    pub fn ensure_dataset(&mut self, data: &Dataset) -> Result<i64, StoreError> {
        let fp = data.fingerprint();
        if let Some(id) = self
            .conn
            .query_row(
                "SELECT dataset_id FROM datasets WHERE fingerprint = ?1",
                [&fp],
                |r| r.get(0),
            )
            .optional()?
        {
            return Ok(id);
        }
        let tx = self.conn.transaction()?;
        let kind = match data.inputs {
            Inputs::Numeric { .. } => "numeric",
            Inputs::Tokens { .. } => "tokens",
        };
        tx.execute(
            "INSERT INTO datasets (spec, fingerprint, n_examples, n_classes, seq_len, input_kind, label_noise, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                data.spec,
                fp,
                data.len() as i64,
                data.n_classes() as i64,
                data.seq_len() as i64,
                kind,
                data.label_noise,
                now()
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut c =
                tx.prepare("INSERT INTO classes (dataset_id, class, name) VALUES (?1, ?2, ?3)")?;
            for (k, name) in data.class_names.iter().enumerate() {
                c.execute(params![id, k as i64, name])?;
            }
            let mut e = tx.prepare(
                "INSERT INTO examples (dataset_id, example_id, source_id, split, label, orig_label, length)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (i, ex) in data.examples.iter().enumerate() {
                e.execute(params![
                    id,
                    i as i64,
                    ex.source_id,
                    ex.split.as_str(),
                    ex.label,
                    ex.orig_label,
                    ex.length
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// Creates an experiment, or accepts an existing one on the same dataset (more runs).
    pub fn ensure_experiment(&self, name: &str, dataset_id: i64) -> Result<(), StoreError> {
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT dataset_id FROM experiments WHERE experiment = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(d) if d == dataset_id => Ok(()),
            Some(_) => Err(StoreError::ExperimentDataset(name.to_string())),
            None => {
                self.conn.execute(
                    "INSERT INTO experiments (experiment, dataset_id, created_at) VALUES (?1, ?2, ?3)",
                    params![name, dataset_id, now()],
                )?;
                Ok(())
            }
        }
    }

    /// The most recently created experiment.
    pub fn latest_experiment(&self) -> Result<String, StoreError> {
        self.conn
            .query_row(
                "SELECT experiment FROM experiments ORDER BY created_at DESC, rowid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NoExperiment(self.path.clone()))
    }

    /// Registers a run as running; returns its id.
    pub fn create_run(&self, run: &NewRun<'_>) -> Result<i64, StoreError> {
        self.create_planned_run(run, None)
    }

    /// Registers a run as running, and as the start of planned run `plan` (in the same
    /// transaction: its own, or the caller's when one is open, as `import`'s is); returns its
    /// id.
    pub fn create_planned_run(
        &self,
        run: &NewRun<'_>,
        plan: Option<i64>,
    ) -> Result<i64, StoreError> {
        let own = self.conn.is_autocommit();
        if own {
            self.conn.execute_batch("BEGIN")?;
        }
        let result = self.insert_run(run, plan);
        if own {
            match &result {
                Ok(_) => self.conn.execute_batch("COMMIT")?,
                Err(_) => self.conn.execute_batch("ROLLBACK")?,
            }
        }
        result
    }

    fn insert_run(&self, run: &NewRun<'_>, plan: Option<i64>) -> Result<i64, StoreError> {
        let tx = &self.conn;
        tx.execute(
            "INSERT INTO runs (experiment, init_seed, order_seed, status, model, config, epochs, capture,
                               trainlog_version, libtorch_version, device, started_at, logits)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                run.experiment,
                run.init_seed as i64,
                run.order_seed as i64,
                run.model,
                run.config_json,
                run.epochs as i64,
                run.capture,
                crate::VERSION,
                crate::LIBTORCH_VERSION,
                run.device,
                now(),
                run.logits
            ],
        )?;
        let id = tx.last_insert_rowid();
        if let Some(plan) = plan {
            tx.execute(
                "UPDATE planned_runs SET run_id = ?2 WHERE plan_id = ?1",
                params![plan, id],
            )?;
        }
        Ok(id)
    }

    /// Creates the experiment (or accepts an existing one on the same dataset) and plans its
    /// runs, in one transaction; returns the plans' ids. `runs`: (init seed, order seed,
    /// configuration JSON).
    pub fn plan_runs(
        &self,
        experiment: &str,
        dataset_id: i64,
        runs: &[(u64, u64, String)],
    ) -> Result<Vec<i64>, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        self.ensure_experiment(experiment, dataset_id)?;
        let mut ids = Vec::with_capacity(runs.len());
        {
            let mut st = tx.prepare(
                "INSERT INTO planned_runs (experiment, init_seed, order_seed, config) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (init, order, config) in runs {
                st.execute(params![experiment, *init as i64, *order as i64, config])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// The runs of `experiment` (or only run `run`) that `record --resume` has to finish, in
    /// the order they were planned.
    pub fn unfinished(
        &self,
        experiment: &str,
        run: Option<i64>,
    ) -> Result<Vec<Unfinished>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT * FROM (
             SELECT p.plan_id AS plan_id, r.run_id AS run_id, coalesce(r.config, p.config) AS config
             FROM planned_runs p LEFT JOIN runs r ON r.run_id = p.run_id
             WHERE p.experiment = ?1 AND (r.run_id IS NULL OR r.status IN ('running', 'interrupted', 'failed'))
               AND (?2 IS NULL OR r.run_id = ?2)
             UNION ALL
             SELECT NULL, r.run_id, r.config
             FROM runs r
             WHERE r.experiment = ?1 AND r.status IN ('running', 'interrupted', 'failed')
               AND r.model <> 'imported'
               AND NOT EXISTS (SELECT 1 FROM planned_runs p WHERE p.run_id = r.run_id)
               AND (?2 IS NULL OR r.run_id = ?2)
             ) ORDER BY plan_id IS NULL, plan_id, run_id",
        )?;
        let rows = st
            .query_map(params![experiment, run], |r| {
                Ok(Unfinished {
                    plan_id: r.get(0)?,
                    run_id: r.get(1)?,
                    config: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The experiment and status of a run.
    pub fn run_status(&self, run_id: i64) -> Result<(String, String), StoreError> {
        self.conn
            .query_row(
                "SELECT experiment, status FROM runs WHERE run_id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::NoRun(run_id))
    }

    /// The fingerprint of an experiment's dataset.
    pub fn experiment_fingerprint(&self, experiment: &str) -> Result<String, StoreError> {
        Ok(self.conn.query_row(
            "SELECT d.fingerprint FROM experiments x JOIN datasets d ON d.dataset_id = x.dataset_id
             WHERE x.experiment = ?1",
            [experiment],
            |r| r.get(0),
        )?)
    }

    /// Marks an unfinished run running again; returns its last committed epoch.
    pub fn reopen_run(&self, run_id: i64) -> Result<Option<u32>, StoreError> {
        let (_, status) = self.run_status(run_id)?;
        if status == "completed" {
            return Err(StoreError::RunCompleted(run_id));
        }
        self.conn.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, message = NULL WHERE run_id = ?1",
            [run_id],
        )?;
        self.last_epoch(run_id)
    }

    /// A run's last committed epoch (None: not even epoch 0).
    pub fn last_epoch(&self, run_id: i64) -> Result<Option<u32>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT max(epoch) FROM epochs WHERE run_id = ?1",
            [run_id],
            |r| r.get::<_, Option<u32>>(0),
        )?)
    }

    /// The summary of one committed epoch.
    pub fn epoch_summary(&self, run_id: i64, epoch: u32) -> Result<EpochRow, StoreError> {
        Ok(self.conn.query_row(
            "SELECT train_loss, train_acc, eval_train_acc, test_loss, test_acc, wall_s
             FROM epochs WHERE run_id = ?1 AND epoch = ?2",
            params![run_id, epoch],
            |r| {
                Ok(EpochRow {
                    run_id,
                    epoch: epoch as i64,
                    train_loss: r.get(0)?,
                    train_acc: r.get(1)?,
                    eval_train_acc: r.get(2)?,
                    test_loss: r.get(3)?,
                    test_acc: r.get(4)?,
                    wall_s: r.get(5)?,
                })
            },
        )?)
    }

    /// Sets a run's final status.
    pub fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, message = ?4 WHERE run_id = ?1",
            params![run_id, status.as_str(), now(), message],
        )?;
        Ok(())
    }

    /// Begins a write transaction (the recorder's epoch).
    pub fn begin(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    pub fn commit(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Rolls back an open transaction, if any.
    pub fn rollback(&self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    /// Inserts observation rows, [`INSERT_CHUNK`] rows a statement (one prepared statement
    /// for full chunks, one for the rest), binding each value in place; returns how many.
    pub fn insert_observations<'r>(
        &self,
        rows: impl Iterator<Item = ObservationRow<'r>>,
    ) -> Result<u64, StoreError> {
        static FULL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| insert_sql(INSERT_CHUNK));
        let mut chunk: Vec<ObservationRow<'r>> = Vec::with_capacity(INSERT_CHUNK);
        let mut n = 0;
        let mut full = self.conn.prepare_cached(&FULL)?;
        let mut flush = |chunk: &mut Vec<ObservationRow<'r>>| -> Result<(), StoreError> {
            if chunk.is_empty() {
                return Ok(());
            }
            let mut rest;
            let st = if chunk.len() == INSERT_CHUNK {
                &mut full
            } else {
                rest = self.conn.prepare_cached(&insert_sql(chunk.len()))?;
                &mut rest
            };
            let mut i = 1;
            for row in chunk.iter() {
                st.raw_bind_parameter(i, row.run_id)?;
                st.raw_bind_parameter(i + 1, row.phase)?;
                st.raw_bind_parameter(i + 2, row.epoch)?;
                st.raw_bind_parameter(i + 3, row.example_id)?;
                st.raw_bind_parameter(i + 4, row.position)?;
                st.raw_bind_parameter(i + 5, row.batch)?;
                st.raw_bind_parameter(i + 6, row.pred)?;
                st.raw_bind_parameter(i + 7, row.loss)?;
                st.raw_bind_parameter(i + 8, row.margin)?;
                st.raw_bind_parameter(i + 9, row.logits)?;
                i += 10;
            }
            st.raw_execute()?;
            n += chunk.len() as u64;
            chunk.clear();
            Ok(())
        };
        for row in rows {
            chunk.push(row);
            if chunk.len() == INSERT_CHUNK {
                flush(&mut chunk)?;
            }
        }
        flush(&mut chunk)?;
        Ok(n)
    }

    pub fn insert_epoch(&self, row: &EpochRow) -> Result<(), StoreError> {
        let mut st = self.conn.prepare_cached(
            "INSERT INTO epochs (run_id, epoch, train_loss, train_acc, eval_train_acc, test_loss, test_acc, wall_s, committed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        st.execute(params![
            row.run_id,
            row.epoch,
            row.train_loss,
            row.train_acc,
            row.eval_train_acc,
            row.test_loss,
            row.test_acc,
            row.wall_s,
            now()
        ])?;
        Ok(())
    }
}
