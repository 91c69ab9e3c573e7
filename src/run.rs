//! One recorded run, start to finish: register it, train with the recorder on its writer
//! thread, compute its per-example metrics, and mark it completed only when all of that
//! succeeded (diverged or failed otherwise, with the reason).

use crate::dataset::Dataset;
use crate::metrics::{compute_run, MetricsError};
use crate::model::ModelConfig;
use crate::recorder::{RecordError, RecordStats, RecorderThread, RunTarget};
use crate::store::{NewRun, RunStatus, Store, StoreError};
use crate::trainer::{self, EpochSummary, Event, Seeds, Sink, TrainConfig, TrainError};
use tch::Device;

/// What a run is.
pub struct RunSpec<'a> {
    pub experiment: &'a str,
    pub data: &'a Dataset,
    pub model: &'a ModelConfig,
    pub train: &'a TrainConfig,
    pub seeds: Seeds,
    pub device: Device,
    pub store_logits: bool,
    /// The full configuration, stored with the run.
    pub config_json: String,
}

/// How a run ended well.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: i64,
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
}

impl RunError {
    /// The status a run that ended with this error gets.
    pub fn status(&self) -> RunStatus {
        match self {
            RunError::Train(TrainError::Diverged { .. }) => RunStatus::Diverged,
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

/// Records one run into `store` (which comes back whatever happens). The run's id is
/// returned with the error too, when it was created.
pub fn record_run(
    store: Store,
    spec: &RunSpec<'_>,
    on_start: &mut dyn FnMut(i64),
    on_epoch: &mut dyn FnMut(&EpochSummary),
) -> (Store, Option<i64>, Result<RunReport, RunError>) {
    let run_id = match store.create_run(&NewRun {
        experiment: spec.experiment,
        init_seed: spec.seeds.init,
        order_seed: spec.seeds.order,
        model: "lstm",
        config_json: &spec.config_json,
        epochs: spec.train.epochs,
        capture: &format!("{:?}", spec.train.capture).to_lowercase(),
        device: &format!("{:?}", spec.device).to_lowercase(),
    }) {
        Ok(id) => id,
        Err(e) => return (store, None, Err(e.into())),
    };
    on_start(run_id);
    let writer = RecorderThread::spawn(
        store,
        RunTarget {
            run_id,
            labels: spec.data.examples.iter().map(|e| e.label).collect(),
            n_classes: spec.data.n_classes(),
            store_logits: spec.store_logits,
        },
        16,
    );
    let mut sink = Observed {
        inner: writer.sink(),
        on_epoch,
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
        )
    }))
    .unwrap_or_else(|p| Err(TrainError::Panic(panic_message(p))));
    drop(sink);
    let (store, recorded) = writer.finish();

    let result = (|| -> Result<RunReport, RunError> {
        // A writer failure explains a trainer that stopped because the channel closed.
        let recorded = recorded?;
        let last = trained?;
        compute_run(&store, run_id)?;
        Ok(RunReport {
            run_id,
            last,
            recorded,
        })
    })();
    let marked = match &result {
        Ok(_) => store.finish_run(run_id, RunStatus::Completed, None),
        Err(e) => store.finish_run(run_id, e.status(), Some(&e.to_string())),
    };
    let result = match (result, marked) {
        (Ok(_), Err(e)) => Err(e.into()),
        (r, _) => r,
    };
    (store, Some(run_id), result)
}
