//! One recorded run, start to finish: register it (or pick an interrupted one up from its
//! last checkpoint), train with the recorder on its writer thread, compute its per-example
//! metrics, and mark it completed only when all of that succeeded (diverged, interrupted or
//! failed otherwise, with the reason).

use crate::capture::LogitsFormat;
use crate::checkpoint::{self, CheckpointError};
use crate::dataset::Dataset;
use crate::export::parquet::{write_epochs, ParquetOptions};
use crate::metrics::{compute_run, MetricsError};
use crate::model::ModelConfig;
use crate::recorder::{OnCommit, RecordError, RecordStats, RecorderThread, RunTarget};
use crate::store::{lock, NewRun, RunStatus, SharedStore, Store, StoreError};
use crate::trainer::{self, Control, EpochSummary, Event, Seeds, Sink, TrainConfig, TrainError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;
use tch::Device;

/// Everything that defines a run, stored with it as JSON (`runs.config`) so that `record
/// --resume` can rebuild it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The dataset spec (`mnist1d:n=…`, `planted:…`, a file path).
    pub dataset: String,
    pub label_noise: f64,
    pub noise_seed: u64,
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub init_seed: u64,
    pub order_seed: u64,
    /// libtorch intra-op threads (results on CPU can depend on it).
    pub threads: usize,
    pub device: String,
    /// False: no logits (`--logits none`; logs before `--logits` had only this).
    pub store_logits: bool,
    /// How the logits are stored when `store_logits`.
    #[serde(default)]
    pub logits: LogitsFormat,
    /// A checkpoint (and a commit) every this many epochs.
    #[serde(default = "one")]
    pub checkpoint_every: usize,
    /// Also write the observations as Parquet into this folder while training.
    #[serde(default)]
    pub parquet: Option<std::path::PathBuf>,
    /// The name of the shard the run is the one run of (`record --shard-dir`).
    #[serde(default)]
    pub shard: Option<String>,
}

fn one() -> usize {
    1
}

impl RunConfig {
    /// How the run stores its logits.
    pub fn logits_format(&self) -> LogitsFormat {
        if self.store_logits {
            self.logits
        } else {
            LogitsFormat::None
        }
    }
}

/// Whether a run is new or picks up an interrupted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new run, for this planned run (see `planned_runs`) if any.
    New { plan: Option<i64> },
    /// Continue run N from its last committed epoch.
    Resume(i64),
}

/// What a run is.
pub struct RunSpec<'a> {
    pub experiment: &'a str,
    pub data: &'a Dataset,
    pub model: &'a ModelConfig,
    pub train: &'a TrainConfig,
    pub seeds: Seeds,
    pub device: Device,
    pub logits: LogitsFormat,
    /// The full configuration, stored with the run.
    pub config_json: String,
    /// The database, beside which the checkpoints go; `None`: no checkpoints (and no resume).
    pub checkpoint_db: Option<&'a Path>,
    pub checkpoint_every: usize,
    /// Also write each committed epoch range as a Parquet file into this folder.
    pub parquet: Option<&'a Path>,
    /// The run's shard: its Parquet files go under `shard=NAME/` instead of `run_id=N/`.
    pub shard: Option<&'a str>,
    /// Polled during training: true stops the run, which is marked interrupted.
    pub stop: &'a dyn Fn() -> bool,
}

/// How a run ended well.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: i64,
    /// The epoch a resumed run continued after.
    pub resumed_after: Option<u32>,
    pub last: EpochSummary,
    pub recorded: RecordStats,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("writing the log: {0}")]
    Record(#[from] RecordError),
    #[error("computing the metrics: {0}")]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("run {run} cannot be resumed: {why}")]
    Resume { run: i64, why: String },
}

impl RunError {
    /// The status a run that ended with this error gets.
    pub fn status(&self) -> RunStatus {
        match self {
            RunError::Train(TrainError::Diverged { .. }) => RunStatus::Diverged,
            RunError::Train(TrainError::Interrupted { .. }) => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        }
    }
}

/// Calls `on_epoch` with every epoch's summary on its way to the writer (progress bars).
struct Observed<'a, S> {
    inner: S,
    on_epoch: &'a mut dyn FnMut(&EpochSummary),
}

impl<S: Sink> Sink for Observed<'_, S> {
    fn emit(&mut self, event: Event) -> Result<(), TrainError> {
        if let Event::EpochEnd(s) = &event {
            (self.on_epoch)(s);
        }
        self.inner.emit(event)
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// A run registered in the log (new, or reopened to be continued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begun {
    pub run_id: i64,
    /// The last epoch in the log of a reopened run.
    pub committed: Option<u32>,
}

/// Registers a new run (as the start of its planned run), or reopens an interrupted one; the
/// error comes with the run's id when there is one.
pub fn begin_run(
    store: &Mutex<Store>,
    spec: &RunSpec<'_>,
    start: Start,
) -> Result<Begun, (Option<i64>, RunError)> {
    let store = lock(store);
    match start {
        Start::New { plan } => store
            .create_planned_run(
                &NewRun {
                    experiment: spec.experiment,
                    init_seed: spec.seeds.init,
                    order_seed: spec.seeds.order,
                    model: spec.model.kind.as_str(),
                    config_json: &spec.config_json,
                    epochs: spec.train.epochs,
                    capture: &format!("{:?}", spec.train.capture).to_lowercase(),
                    device: &format!("{:?}", spec.device).to_lowercase(),
                    logits: spec.logits.as_str(),
                },
                plan,
            )
            .map(|run_id| Begun {
                run_id,
                committed: None,
            })
            .map_err(|e| (None, e.into())),
        Start::Resume(id) => store
            .reopen_run(id)
            .map(|committed| Begun {
                run_id: id,
                committed,
            })
            .map_err(|e| (Some(id), e.into())),
    }
}

/// Records one run into `store`: a new one, or an interrupted one continued from its last
/// committed epoch and that epoch's checkpoint. The run's id is returned with the error too,
/// when there is one.
pub fn record_run(
    store: &SharedStore,
    spec: &RunSpec<'_>,
    start: Start,
    on_start: &mut dyn FnMut(i64),
    on_epoch: &mut dyn FnMut(&EpochSummary),
) -> (Option<i64>, Result<RunReport, RunError>) {
    match begin_run(store, spec, start) {
        Ok(begun) => {
            on_start(begun.run_id);
            (
                Some(begun.run_id),
                continue_run(store, spec, begun, on_epoch),
            )
        }
        Err((id, e)) => (id, Err(e)),
    }
}

/// Trains and records a begun run, computes its metrics, and marks it completed only when all
/// of that succeeded (diverged, interrupted or failed otherwise, with the reason).
pub fn continue_run(
    store: &SharedStore,
    spec: &RunSpec<'_>,
    begun: Begun,
    on_epoch: &mut dyn FnMut(&EpochSummary),
) -> Result<RunReport, RunError> {
    let Begun { run_id, committed } = begun;
    let result = train_and_record(store, spec, run_id, committed, on_epoch);
    let marked = {
        let store = lock(store);
        match &result {
            Ok(_) => store.finish_run(run_id, RunStatus::Completed, None),
            Err(e) => store.finish_run(run_id, e.status(), Some(&e.to_string())),
        }
    };
    match (result, marked) {
        (Ok(_), Err(e)) => Err(e.into()),
        (r, _) => r,
    }
}

/// The checkpoint a resumed run continues from (none for a new or a fully recorded run).
fn resume_point(
    spec: &RunSpec<'_>,
    run_id: i64,
    committed: Option<u32>,
    ck_dir: Option<&Path>,
) -> Result<Option<checkpoint::Checkpoint>, RunError> {
    let why = |why: String| RunError::Resume { run: run_id, why };
    match (committed, ck_dir) {
        (Some(e), _) if e as usize >= spec.train.epochs => Ok(None),
        (Some(e), Some(dir)) => {
            checkpoint::clean_temporaries(dir);
            let path = checkpoint::path(dir, e);
            if !path.is_file() {
                return Err(why(format!(
                    "epoch {e} is in the log but its checkpoint {} is missing",
                    path.display()
                )));
            }
            let ck = checkpoint::load(&path)?;
            if ck.epoch != e {
                return Err(why(format!(
                    "{} holds epoch {}, not {e}",
                    path.display(),
                    ck.epoch
                )));
            }
            Ok(Some(ck))
        }
        (Some(_), None) => Err(why("it was recorded without checkpoints".into())),
        (None, _) => Ok(None),
    }
}

fn train_and_record(
    store: &SharedStore,
    spec: &RunSpec<'_>,
    run_id: i64,
    committed: Option<u32>,
    on_epoch: &mut dyn FnMut(&EpochSummary),
) -> Result<RunReport, RunError> {
    let ck_dir = spec.checkpoint_db.map(|db| checkpoint::run_dir(db, run_id));
    let resume = resume_point(spec, run_id, committed, ck_dir.as_deref())?;
    let finished = committed.is_some_and(|e| e as usize >= spec.train.epochs);
    let (recorded, last) = if finished {
        // Every epoch is in: only the metrics and the status were missing.
        let r = lock(store).epoch_summary(run_id, spec.train.epochs as u32)?;
        let last = EpochSummary {
            epoch: r.epoch as u32,
            train_loss: r.train_loss,
            train_acc: r.train_acc,
            eval_train_acc: r.eval_train_acc,
            test_loss: r.test_loss,
            test_acc: r.test_acc,
            wall_s: r.wall_s,
        };
        (RecordStats::default(), last)
    } else {
        let writer = RecorderThread::spawn(
            store.clone(),
            RunTarget {
                run_id,
                labels: spec.data.examples.iter().map(|e| e.label).collect(),
                n_classes: spec.data.n_classes(),
                logits: spec.logits,
            },
            16,
            spec.parquet.map(|dir| -> OnCommit {
                let (dir, experiment) = (dir.to_path_buf(), spec.experiment.to_string());
                let leaf = spec
                    .shard
                    .map_or(format!("run_id={run_id}"), |s| format!("shard={s}"));
                let opts = ParquetOptions::default();
                Box::new(move |store: &Store, first, last| {
                    write_epochs(store, &experiment, run_id, &leaf, first, last, &dir, &opts)
                        .map(drop)
                        .map_err(|e| format!("writing Parquet into {}: {e}", dir.display()))
                })
            }),
        );
        let mut sink = Observed {
            inner: writer.sink(),
            on_epoch: &mut *on_epoch,
        };
        let control = Control {
            checkpoint_dir: ck_dir.as_deref(),
            checkpoint_every: spec.checkpoint_every,
            resume,
            stop: spec.stop,
        };
        // A panic inside libtorch must not leave the run marked running.
        let trained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            trainer::train(
                spec.data,
                spec.model,
                spec.train,
                spec.seeds,
                spec.device,
                &mut sink,
                control,
            )
        }))
        .unwrap_or_else(|p| Err(TrainError::Panic(panic_message(p))));
        drop(sink);
        // A writer failure explains a trainer that stopped because the channel closed.
        let recorded = writer.finish()?;
        (recorded, trained?)
    };
    compute_run(&lock(store), run_id)?;
    Ok(RunReport {
        run_id,
        resumed_after: committed,
        last,
        recorded,
    })
}
