//! The training loop. It trains one model on one dataset with one pair of seeds and emits what
//! it sees as [`Event`]s: the logits of every batch of the eval and step phases, and a summary
//! at the end of every epoch. It knows nothing of how they are stored.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::dataset::{Dataset, Inputs, Split};
use crate::model::{Classifier, DropoutRng, InputSpec, ModelConfig, ModelKind};
use crate::optim::Optimizer;
use crate::seeds::epoch_seed;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn;
use tch::{Device, Kind, Tensor};

/// Which phases are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Capture {
    Both,
    Eval,
    Step,
    None,
}

impl Capture {
    pub fn eval(self) -> bool {
        matches!(self, Capture::Both | Capture::Eval)
    }
    pub fn step(self) -> bool {
        matches!(self, Capture::Both | Capture::Step)
    }
}

/// How the learning rate changes over the epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The same learning rate throughout.
    Constant,
    /// Cosine decay from --lr in epoch 1 towards 0: lr · (1 + cos(π (e − 1) / E)) / 2.
    Cosine,
}

impl Schedule {
    /// The learning rate of epoch `epoch` (1-based) of `epochs`.
    pub fn lr(self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Cosine => {
                let t = (epoch - 1) as f64 / epochs as f64;
                base * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Sgd,
}

/// Everything about training but the architecture and the seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub schedule: Schedule,
    /// SGD momentum (ignored by Adam).
    pub momentum: f64,
    pub weight_decay: f64,
    /// Clip the gradient's global L2 norm to this value; `None` disables clipping.
    pub clip_grad: Option<f64>,
    pub capture: Capture,
}

/// The two seeds of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// Weight initialisation and dropout.
    pub init: u64,
    /// The order in which the training examples are presented.
    pub order: u64,
}

/// The phase an observation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The model in evaluation mode scores every example after an epoch (and at epoch 0).
    Eval = 0,
    /// The training forward pass itself, as each minibatch is presented.
    Step = 1,
}

/// The logits of one batch.
#[derive(Debug, Clone)]
pub struct BatchRecord {
    pub phase: Phase,
    pub epoch: u32,
    /// Index of the batch within the epoch (step phase; the eval batch index otherwise).
    pub batch: u32,
    /// Position of the batch's first example in the epoch's order (step phase).
    pub first_position: u32,
    /// Dataset indices of the batch's examples, in batch order.
    pub examples: Vec<u32>,
    /// `examples.len() × n_classes` logits, row-major.
    pub logits: Vec<f32>,
}

/// What one epoch came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochSummary {
    pub epoch: u32,
    /// Mean loss and accuracy of the training forward passes (None at epoch 0).
    pub train_loss: Option<f64>,
    pub train_acc: Option<f64>,
    /// Accuracy of the eval pass on the train split (when the eval phase is captured).
    pub eval_train_acc: Option<f64>,
    /// Eval-mode loss and accuracy on the test split (None if there is no test split).
    pub test_loss: Option<f64>,
    pub test_acc: Option<f64>,
    /// Seconds this epoch took, training and evaluation included.
    pub wall_s: f64,
}

/// What the trainer emits.
#[derive(Debug)]
pub enum Event {
    Batch(BatchRecord),
    EpochEnd(EpochSummary),
    /// Everything emitted so far can become visible: the state after `epoch` is saved (when
    /// checkpointing), so what follows can be reproduced. `obsolete` lists checkpoint files
    /// that are no longer needed once this is committed.
    Commit {
        epoch: u32,
        obsolete: Vec<PathBuf>,
    },
}

/// How a training is steered from outside: checkpoints, a resume point, a stop request.
pub struct Control<'a> {
    /// Save checkpoints into this folder after epoch 0, every `checkpoint_every` epochs and
    /// after the last; `None`: no checkpoints (every epoch is committed on its own).
    pub checkpoint_dir: Option<&'a Path>,
    pub checkpoint_every: usize,
    /// Continue from this checkpoint instead of starting afresh.
    pub resume: Option<Checkpoint>,
    /// Polled before every training batch: true stops training with
    /// [`TrainError::Interrupted`].
    pub stop: &'a dyn Fn() -> bool,
}

impl Control<'_> {
    /// Plain training: no checkpoints, no resume, never stopped.
    pub fn none() -> Control<'static> {
        Control {
            checkpoint_dir: None,
            checkpoint_every: 1,
            resume: None,
            stop: &|| false,
        }
    }
}

/// Where events go. Returning an error stops training.
pub trait Sink {
    fn emit(&mut self, event: Event) -> Result<(), TrainError>;
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("diverged: the loss became {loss} at epoch {epoch}, batch {batch} (the run is marked diverged); try a lower --lr, e.g. a tenth")]
    Diverged { epoch: u32, batch: u32, loss: f64 },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("the recorder stopped: {0}")]
    Sink(String),
    #[error("bad training setting: {0}")]
    Config(String),
    #[error("libtorch panicked: {0}")]
    Panic(String),
    #[error("interrupted during epoch {epoch}")]
    Interrupted { epoch: u32 },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

const ORDER_SALT: u64 = 0x006f_7264_6572;
const DROPOUT_SALT: u64 = 0x6472_6f70;

/// Held while a run seeds libtorch's global generator and initialises its weights from it.
static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The dataset's inputs and labels as tensors on the training device.
struct DeviceData {
    xs: Tensor,
    ys: Tensor,
    is_test: Tensor,
}

impl DeviceData {
    fn new(data: &Dataset, device: Device) -> Self {
        let n = data.len() as i64;
        let xs = match &data.inputs {
            Inputs::Numeric {
                seq_len,
                features,
                values,
            } => Tensor::from_slice(values).view([n, *seq_len as i64, *features as i64]),
            Inputs::Tokens {
                max_len, tokens, ..
            } => Tensor::from_slice(tokens).view([n, *max_len as i64]),
        };
        let ys: Vec<i64> = data.examples.iter().map(|e| e.label as i64).collect();
        let is_test: Vec<bool> = data
            .examples
            .iter()
            .map(|e| e.split == Split::Test)
            .collect();
        DeviceData {
            xs: xs.to_device(device),
            ys: Tensor::from_slice(&ys).to_device(device),
            is_test: Tensor::from_slice(&is_test).to_device(device),
        }
    }
}

/// The model configuration a dataset implies, given the architecture settings.
pub fn model_config(
    data: &Dataset,
    kind: ModelKind,
    hidden: usize,
    layers: usize,
    dropout: f64,
    bidirectional: bool,
    embed_dim: usize,
) -> ModelConfig {
    let input = match &data.inputs {
        Inputs::Numeric { features, .. } => InputSpec::Numeric {
            features: *features,
        },
        Inputs::Tokens { vocab, .. } => InputSpec::Tokens {
            vocab: vocab.len(),
            embed_dim,
        },
    };
    ModelConfig {
        kind,
        input,
        seq_len: data.seq_len(),
        hidden,
        layers,
        dropout,
        bidirectional,
        n_classes: data.n_classes(),
    }
}

/// Trains one run, emitting every captured batch and every epoch's summary to `sink`.
/// Returns the last epoch's summary.
pub fn train(
    data: &Dataset,
    model: &ModelConfig,
    cfg: &TrainConfig,
    seeds: Seeds,
    device: Device,
    sink: &mut dyn Sink,
    control: Control<'_>,
) -> Result<EpochSummary, TrainError> {
    if cfg.epochs == 0 {
        return Err(TrainError::Config(
            "--epochs must be at least 1".to_string(),
        ));
    }
    if cfg.batch_size == 0 || cfg.eval_batch_size == 0 {
        return Err(TrainError::Config("batch sizes must be at least 1".into()));
    }
    let train_idx: Vec<i64> = data
        .indices(Split::Train)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    if train_idx.is_empty() {
        return Err(TrainError::Config(
            "the dataset has no train examples".into(),
        ));
    }
    let dd = DeviceData::new(data, device);

    // The initialisation draws from libtorch's global generator: one run at a time seeds and
    // draws it (`record --jobs` runs several at once; nothing else in training draws from it).
    let (vs, net) = {
        let _only = INIT.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(seeds.init as i64);
        let vs = nn::VarStore::new(device);
        let net = Classifier::new(&vs.root(), model);
        (vs, net)
    };
    let mut opt = Optimizer::new(&vs, cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay);
    let mut saved: Vec<PathBuf> = control
        .checkpoint_dir
        .map(checkpoint::list)
        .unwrap_or_default();
    // After `epoch`: save a checkpoint when one is due, then let the recorder commit.
    let mut commit = |epoch: u32,
                      net_vs: &nn::VarStore,
                      opt: &Optimizer,
                      sink: &mut dyn Sink|
     -> Result<(), TrainError> {
        let due = epoch == 0
            || epoch as usize == cfg.epochs
            || (epoch as usize).is_multiple_of(control.checkpoint_every.max(1));
        match control.checkpoint_dir {
            Some(dir) if due => {
                let p = checkpoint::save(dir, epoch, &named_vars(net_vs), &opt.state())?;
                let obsolete = std::mem::take(&mut saved)
                    .into_iter()
                    .filter(|q| *q != p)
                    .collect();
                saved.push(p);
                sink.emit(Event::Commit { epoch, obsolete })
            }
            Some(_) => Ok(()),
            None => sink.emit(Event::Commit {
                epoch,
                obsolete: Vec::new(),
            }),
        }
    };

    let first_epoch = match control.resume {
        Some(ck) => {
            restore(&vs, &mut opt, &ck)?;
            ck.epoch + 1
        }
        None => {
            let start = Instant::now();
            let mut zero = evaluate(&net, &dd, data, cfg, 0, sink)?;
            zero.wall_s = start.elapsed().as_secs_f64();
            sink.emit(Event::EpochEnd(zero))?;
            commit(0, &vs, &opt, sink)?;
            1
        }
    };
    if first_epoch as usize > cfg.epochs {
        return Err(TrainError::Config(format!(
            "nothing to train: the checkpoint is of epoch {} of {}",
            first_epoch - 1,
            cfg.epochs
        )));
    }

    let mut last = None;
    for epoch in first_epoch..=cfg.epochs as u32 {
        let start = Instant::now();
        let mut order = train_idx.clone();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(epoch_seed(
            seeds.order,
            epoch as u64,
            ORDER_SALT,
        )));
        let mut masks =
            DropoutRng::seed_from_u64(epoch_seed(seeds.init, epoch as u64, DROPOUT_SALT));
        opt.set_lr(cfg.schedule.lr(cfg.lr, epoch as usize, cfg.epochs));

        let (mut loss_sum, mut correct_sum) = (0f64, 0f64);
        for (b, chunk) in order.chunks(cfg.batch_size).enumerate() {
            if (control.stop)() {
                return Err(TrainError::Interrupted { epoch });
            }
            let idx = Tensor::from_slice(chunk).to_device(device);
            let xs = dd.xs.index_select(0, &idx);
            let ys = dd.ys.index_select(0, &idx);
            let logits = net.forward_t(&xs, Some(&mut masks));
            let loss = logits.cross_entropy_for_logits(&ys);
            let loss_v = f64::try_from(&loss)?;
            if !loss_v.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    batch: b as u32,
                    loss: loss_v,
                });
            }
            opt.zero_grad();
            loss.backward();
            if let Some(max) = cfg.clip_grad {
                opt.clip_grad_norm(max);
            }
            opt.step();

            let n = chunk.len() as f64;
            loss_sum += loss_v * n;
            correct_sum += f64::try_from(logits.argmax(-1, false).eq_tensor(&ys).sum(Kind::Float))?;
            if cfg.capture.step() {
                let host = Vec::<f32>::try_from(
                    logits
                        .detach()
                        .to_kind(Kind::Float)
                        .to_device(Device::Cpu)
                        .flatten(0, -1),
                )?;
                sink.emit(Event::Batch(BatchRecord {
                    phase: Phase::Step,
                    epoch,
                    batch: b as u32,
                    first_position: (b * cfg.batch_size) as u32,
                    examples: chunk.iter().map(|&i| i as u32).collect(),
                    logits: host,
                }))?;
            }
        }
        let mut summary = evaluate(&net, &dd, data, cfg, epoch, sink)?;
        summary.train_loss = Some(loss_sum / order.len() as f64);
        summary.train_acc = Some(correct_sum / order.len() as f64);
        summary.wall_s = start.elapsed().as_secs_f64();
        sink.emit(Event::EpochEnd(summary.clone()))?;
        commit(epoch, &vs, &opt, sink)?;
        last = Some(summary);
    }
    Ok(last.expect("at least one epoch was trained"))
}

/// The model's variables by name, for a checkpoint.
fn named_vars(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Loads a checkpoint's weights and optimizer state; every variable must be there, of the
/// same shape.
fn restore(vs: &nn::VarStore, opt: &mut Optimizer, ck: &Checkpoint) -> Result<(), TrainError> {
    let bad = |why: String| {
        TrainError::Config(format!(
            "the checkpoint of epoch {} does not fit this model: {why}",
            ck.epoch
        ))
    };
    let vars = vs.variables();
    if vars.len() != ck.model.len() {
        return Err(bad(format!(
            "{} variables, the model has {}",
            ck.model.len(),
            vars.len()
        )));
    }
    tch::no_grad(|| -> Result<(), TrainError> {
        for (name, saved) in &ck.model {
            let mut var = vars
                .get(name)
                .ok_or_else(|| bad(format!("no variable {name}")))?
                .shallow_clone();
            if var.size() != saved.size() {
                return Err(bad(format!(
                    "{name} has shape {:?}, not {:?}",
                    saved.size(),
                    var.size()
                )));
            }
            var.copy_(saved);
        }
        Ok(())
    })?;
    if !opt.load_state(&ck.optim) {
        return Err(bad("the optimizer state does not match".into()));
    }
    Ok(())
}

/// The eval phase: the model in evaluation mode scores every example (when the eval phase is
/// captured) or the test split only (to report test accuracy).
fn evaluate(
    net: &Classifier,
    dd: &DeviceData,
    data: &Dataset,
    cfg: &TrainConfig,
    epoch: u32,
    sink: &mut dyn Sink,
) -> Result<EpochSummary, TrainError> {
    let _guard = tch::no_grad_guard();
    let idx: Vec<i64> = if cfg.capture.eval() {
        (0..data.len() as i64).collect()
    } else {
        data.indices(Split::Test)
            .into_iter()
            .map(|i| i as i64)
            .collect()
    };
    // [loss, correct, count] for train and test.
    let mut acc = [[0f64; 3]; 2];
    for (b, chunk) in idx.chunks(cfg.eval_batch_size).enumerate() {
        let t = Tensor::from_slice(chunk).to_device(dd.xs.device());
        let xs = dd.xs.index_select(0, &t);
        let ys = dd.ys.index_select(0, &t);
        let is_test = dd.is_test.index_select(0, &t);
        let logits = net.forward_t(&xs, None);
        let losses = logits
            .log_softmax(-1, Kind::Float)
            .gather(1, &ys.unsqueeze(1), false)
            .squeeze_dim(1)
            .neg();
        let correct = logits.argmax(-1, false).eq_tensor(&ys).to_kind(Kind::Float);
        let test_f = is_test.to_kind(Kind::Float);
        let train_f = test_f.ones_like() - &test_f;
        let stats = Tensor::stack(
            &[
                (&losses * &train_f).sum(Kind::Float),
                (&correct * &train_f).sum(Kind::Float),
                train_f.sum(Kind::Float),
                (&losses * &test_f).sum(Kind::Float),
                (&correct * &test_f).sum(Kind::Float),
                test_f.sum(Kind::Float),
            ],
            0,
        );
        let s = Vec::<f64>::try_from(stats.to_kind(Kind::Double).to_device(Device::Cpu))?;
        for k in 0..3 {
            acc[0][k] += s[k];
            acc[1][k] += s[3 + k];
        }
        if cfg.capture.eval() {
            let host = Vec::<f32>::try_from(
                logits
                    .to_kind(Kind::Float)
                    .to_device(Device::Cpu)
                    .flatten(0, -1),
            )?;
            sink.emit(Event::Batch(BatchRecord {
                phase: Phase::Eval,
                epoch,
                batch: b as u32,
                first_position: (b * cfg.eval_batch_size) as u32,
                examples: chunk.iter().map(|&i| i as u32).collect(),
                logits: host,
            }))?;
        }
    }
    let ratio = |num: f64, den: f64| (den > 0.0).then(|| num / den);
    Ok(EpochSummary {
        epoch,
        train_loss: None,
        train_acc: None,
        eval_train_acc: if cfg.capture.eval() {
            ratio(acc[0][1], acc[0][2])
        } else {
            None
        },
        test_loss: ratio(acc[1][0], acc[1][2]),
        test_acc: ratio(acc[1][1], acc[1][2]),
        wall_s: 0.0,
    })
}
