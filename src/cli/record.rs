//! `trainlog record`: train an LSTM classifier (or a shallow baseline) over several seeds and
//! record every example's dynamics into the log.

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tch::Device;
use trainlog::dataset::{self, Dataset};
use trainlog::model::ModelKind;
use trainlog::run::{record_run, RunConfig, RunError, RunSpec, Start};
use trainlog::seeds::parse_seeds;
use trainlog::store::{Store, WriteLock};
use trainlog::trainer::{self, Capture, OptimizerKind, Schedule, Seeds, TrainConfig, TrainError};

/// Which seed the seed list varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Vary {
    /// Each seed sets both the initialisation and the data order.
    Both,
    /// Each seed sets the initialisation; the data order is fixed by --order-seed.
    Init,
    /// Each seed sets the data order; the initialisation is fixed by --init-seed.
    Order,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DeviceArg {
    /// CUDA if libtorch has it and a GPU is present, else CPU.
    Auto,
    Cpu,
    Cuda,
}

/// Train an LSTM classifier (or a shallow baseline, --model) for each seed and record every
/// example's logits, loss and correctness at every epoch, with its place in the data order.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The dataset: mnist1d[:n=5000,seed=42], planted[:n=1000,classes=4,len=24,seed=0], or a
    /// .csv/.parquet file (a `label` column and numeric sequence columns or a `text` column;
    /// optional `id` and `split`; FILE:split_seed=N without a split column)
    #[arg(long, default_value = "mnist1d")]
    dataset: String,
    /// Flip this fraction of the train labels (seeded by --noise-seed); the flipped examples
    /// are recorded
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    label_noise: f64,
    #[arg(long, default_value_t = 0, value_name = "N")]
    noise_seed: u64,
    /// Seeds, one run each: a half-open range (0..3 = 0, 1, 2) or a list (4,7)
    #[arg(long, default_value = "0..3")]
    seeds: String,
    /// Which seed the list varies; the other is fixed by --init-seed or --order-seed
    #[arg(long, value_enum, default_value_t = Vary::Both)]
    vary: Vary,
    /// The fixed initialisation seed with --vary order
    #[arg(long, value_name = "N")]
    init_seed: Option<u64>,
    /// The fixed data-order seed with --vary init
    #[arg(long, value_name = "N")]
    order_seed: Option<u64>,
    /// Name of the experiment the runs form (default: the dataset and the time); an existing
    /// experiment on the same dataset gets more runs
    #[arg(long)]
    experiment: Option<String>,
    /// The log: a SQLite file
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,

    /// The network: the LSTM, or a shallow baseline on the flattened sequence (linear =
    /// multinomial logistic regression, mlp = one hidden ReLU layer of --hidden units; text
    /// is one-hot encoded per position); record baselines into the LSTM runs' --experiment
    #[arg(long, value_enum, default_value_t = ModelKind::Lstm)]
    model: ModelKind,
    /// LSTM hidden size (the MLP's hidden layer with --model mlp)
    #[arg(long, default_value_t = 128)]
    hidden: usize,
    /// LSTM layers
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Dropout between LSTM layers and before the head (training only)
    #[arg(long, default_value_t = 0.0)]
    dropout: f64,
    /// A bidirectional LSTM
    #[arg(long)]
    bidirectional: bool,
    /// Embedding size for text datasets
    #[arg(long, default_value_t = 32)]
    embed_dim: usize,

    #[arg(long, value_enum, default_value_t = OptimizerKind::Adam)]
    optimizer: OptimizerKind,
    /// Learning rate
    #[arg(long, default_value_t = 3e-3)]
    lr: f64,
    /// Learning-rate schedule over the epochs
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    schedule: Schedule,
    /// SGD momentum
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Clip the gradient's global L2 norm to this value (0: no clipping)
    #[arg(long, default_value_t = 1.0)]
    clip_grad: f64,
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Batch size of the eval passes (does not change results)
    #[arg(long, default_value_t = 250)]
    eval_batch_size: usize,
    #[arg(long, default_value_t = 60)]
    epochs: usize,

    /// What to record: the eval phase (every example after every epoch), the step phase (the
    /// training forward passes, with positions), both, or none
    #[arg(long, value_enum, default_value_t = Capture::Both)]
    capture: Capture,
    /// Do not store raw logits (only loss, p_true, margin and pred)
    #[arg(long)]
    no_logits: bool,
    /// libtorch intra-op threads (default: all cores)
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    device: DeviceArg,
    /// No progress bars
    #[arg(long, short)]
    quiet: bool,
    /// Save a checkpoint (weights and optimizer state, beside the database in
    /// DB.checkpoints/) and commit the recorded epochs every N epochs; the first and last
    /// epochs always are
    #[arg(long, default_value_t = 1, value_name = "N")]
    checkpoint_every: usize,
    /// Continue the unfinished runs of the latest experiment in --db (or of --experiment, or
    /// only --run N) from their last checkpoint, with the settings they were started with
    #[arg(long, conflicts_with_all = ["dataset", "seeds", "vary", "init_seed", "order_seed", "label_noise", "epochs", "parquet", "model"])]
    resume: bool,
    /// Also write the observations as a Hive-partitioned Parquet dataset into DIR while
    /// training (DIR/observations/experiment=…/run_id=…/epochs-F-L.parquet, one file per
    /// committed epoch range, each complete before it appears)
    #[arg(long, value_name = "DIR")]
    parquet: Option<PathBuf>,
    /// With --resume: only this run
    #[arg(long, requires = "resume", value_name = "N")]
    run: Option<i64>,
}

impl Args {
    fn seed_pairs(&self) -> anyhow::Result<Vec<Seeds>> {
        let seeds = parse_seeds(&self.seeds).map_err(|e| anyhow::anyhow!("--seeds {e}"))?;
        match self.vary {
            Vary::Both if self.init_seed.is_some() || self.order_seed.is_some() => bail!(
                "--init-seed and --order-seed fix one seed while the list varies the other: add --vary order or --vary init"
            ),
            Vary::Init if self.init_seed.is_some() => {
                bail!("--vary init takes the init seeds from --seeds: drop --init-seed")
            }
            Vary::Order if self.order_seed.is_some() => {
                bail!("--vary order takes the order seeds from --seeds: drop --order-seed")
            }
            _ => {}
        }
        Ok(seeds
            .into_iter()
            .map(|s| match self.vary {
                Vary::Both => Seeds { init: s, order: s },
                Vary::Init => Seeds {
                    init: s,
                    order: self.order_seed.unwrap_or(0),
                },
                Vary::Order => Seeds {
                    init: self.init_seed.unwrap_or(0),
                    order: s,
                },
            })
            .collect())
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.epochs == 0 {
            bail!("--epochs 0: train for at least 1 epoch");
        }
        if self.batch_size == 0 || self.eval_batch_size == 0 {
            bail!("--batch-size and --eval-batch-size must be at least 1");
        }
        if self.hidden == 0 || self.layers == 0 || self.embed_dim == 0 {
            bail!("--hidden, --layers and --embed-dim must be at least 1");
        }
        if self.model != ModelKind::Lstm && (self.layers != 1 || self.bidirectional) {
            bail!(
                "--layers and --bidirectional are LSTM settings: drop them with --model {}",
                self.model.as_str()
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            bail!("--dropout must be in [0, 1)");
        }
        if !(self.lr > 0.0 && self.lr <= f32::MAX as f64) {
            bail!("--lr must be a positive number (at most 3.4e38)");
        }
        if self.clip_grad < 0.0 || self.weight_decay < 0.0 {
            bail!("--clip-grad and --weight-decay cannot be negative");
        }
        if self.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if self.checkpoint_every == 0 {
            bail!("--checkpoint-every must be at least 1");
        }
        Ok(())
    }

    fn device(&self) -> anyhow::Result<Device> {
        Ok(match self.device {
            DeviceArg::Auto => Device::cuda_if_available(),
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => {
                if !tch::Cuda::is_available() {
                    bail!("--device cuda: no CUDA device or a CPU-only libtorch; use --device cpu, or point LIBTORCH at a CUDA build");
                }
                Device::Cuda(0)
            }
        })
    }
}

fn default_experiment(store: &Store, data: &str) -> anyhow::Result<String> {
    let short: String = data
        .rsplit('/')
        .next()
        .unwrap_or(data)
        .split([':', '.'])
        .next()
        .unwrap_or("data")
        .to_string();
    let base = format!("{short}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    let exists = |name: &str| -> anyhow::Result<bool> {
        Ok(store.conn().query_row(
            "SELECT count(*) FROM experiments WHERE experiment = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )? > 0)
    };
    let mut name = base.clone();
    let mut k = 2;
    while exists(&name)? {
        name = format!("{base}-{k}");
        k += 1;
    }
    Ok(name)
}

/// SIGINT and SIGTERM: the first asks the training to stop (the open epoch is rolled back, the
/// run marked interrupted); a second one ends the process at once.
struct Signals {
    got: Arc<AtomicUsize>,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let got = Arc::new(AtomicUsize::new(0));
        let once = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, once.clone())
                .context("installing the signal handlers")?;
            signal_hook::flag::register(sig, once.clone())?;
            signal_hook::flag::register_usize(sig, got.clone(), sig as usize)?;
        }
        Ok(Signals { got })
    }

    fn received(&self) -> Option<i32> {
        match self.got.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }

    fn name(sig: i32) -> &'static str {
        match sig {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }
}

/// One run to record: its settings and whether it is new or resumed.
struct Item {
    config: RunConfig,
    start: Start,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let signals = Signals::install()?;
    if args.resume {
        return resume(&args, &signals);
    }
    // Everything that can be checked is checked before the log is touched.
    args.validate()?;
    let pairs = args.seed_pairs()?;
    let device = args.device()?;
    let data = dataset::load(&args.dataset)?.with_label_noise(args.label_noise, args.noise_seed)?;
    let model = trainer::model_config(
        &data,
        args.model,
        args.hidden,
        args.layers,
        args.dropout,
        args.bidirectional,
        args.embed_dim,
    );
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        eval_batch_size: args.eval_batch_size,
        optimizer: args.optimizer,
        lr: args.lr,
        schedule: args.schedule,
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        clip_grad: (args.clip_grad > 0.0).then_some(args.clip_grad),
        capture: args.capture,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    if let Some(dir) = &args.parquet {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--parquet {}: cannot create the folder", dir.display()))?;
    }
    let _lock = WriteLock::acquire(&args.db)?;
    let mut store = Store::open(&args.db)
        .with_context(|| format!("cannot open the log {}", args.db.display()))?;
    let unwritable = || format!("cannot write the log {}", args.db.display());
    let dataset_id = store.ensure_dataset(&data).with_context(unwritable)?;
    let experiment = match &args.experiment {
        Some(e) => e.clone(),
        None => default_experiment(&store, &data.spec)?,
    };
    let device_name = format!("{device:?}").to_lowercase();
    let configs: Vec<RunConfig> = pairs
        .iter()
        .map(|seeds| RunConfig {
            dataset: data.spec.clone(),
            label_noise: data.label_noise,
            noise_seed: args.noise_seed,
            model: model.clone(),
            train: cfg.clone(),
            init_seed: seeds.init,
            order_seed: seeds.order,
            threads,
            device: device_name.clone(),
            store_logits: !args.no_logits,
            checkpoint_every: args.checkpoint_every,
            parquet: args.parquet.clone(),
        })
        .collect();
    let planned: Vec<(u64, u64, String)> = configs
        .iter()
        .map(|c| Ok((c.init_seed, c.order_seed, serde_json::to_string(c)?)))
        .collect::<anyhow::Result<_>>()?;
    let plans = store
        .plan_runs(&experiment, dataset_id, &planned)
        .with_context(unwritable)?;
    let items = configs
        .into_iter()
        .zip(plans)
        .map(|(config, plan)| Item {
            config,
            start: Start::New { plan: Some(plan) },
        })
        .collect();
    execute(&mut store, &args, &experiment, items, Some(data), &signals)
}

/// `record --resume`: finishes the unfinished runs of an experiment.
fn resume(args: &Args, signals: &Signals) -> anyhow::Result<ExitCode> {
    if args.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    if !args.db.is_file() {
        bail!(
            "{} does not exist: there is nothing to resume (record a run first)",
            args.db.display()
        );
    }
    let _lock = WriteLock::acquire(&args.db)?;
    let mut store = Store::open(&args.db)
        .with_context(|| format!("cannot open the log {}", args.db.display()))?;
    let experiment = match (args.run, &args.experiment) {
        (Some(r), _) => {
            let (exp, status) = store.run_status(r)?;
            if status == "completed" {
                bail!("run {r} is completed: there is nothing to resume");
            }
            exp
        }
        (None, Some(e)) => e.clone(),
        (None, None) => store.latest_experiment()?,
    };
    let todo = store.unfinished(&experiment, args.run)?;
    if todo.is_empty() {
        println!("nothing to resume: every run of experiment {experiment} is completed");
        return Ok(ExitCode::SUCCESS);
    }
    let items = todo
        .into_iter()
        .map(|u| {
            let config: RunConfig = serde_json::from_str(&u.config).with_context(|| {
                format!(
                    "the stored configuration of run {} cannot be resumed by this trainlog",
                    u.run_id.map_or("(planned)".into(), |r| r.to_string())
                )
            })?;
            Ok(Item {
                config,
                start: match u.run_id {
                    Some(r) => Start::Resume(r),
                    None => Start::New { plan: u.plan_id },
                },
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    execute(&mut store, args, &experiment, items, None, signals)
}

/// The dataset a run was configured with, checked against the experiment's stored one.
fn load_for(config: &RunConfig, store: &Store, experiment: &str) -> anyhow::Result<Dataset> {
    let data =
        dataset::load(&config.dataset)?.with_label_noise(config.label_noise, config.noise_seed)?;
    if data.fingerprint() != store.experiment_fingerprint(experiment)? {
        bail!(
            "the dataset {} is not the one experiment {experiment} was recorded on (the file changed?): restore it to resume",
            config.dataset
        );
    }
    Ok(data)
}

/// Records the items one after the other; stops at the first failure or signal.
fn execute(
    store: &mut Store,
    args: &Args,
    experiment: &str,
    items: Vec<Item>,
    mut data: Option<Dataset>,
    signals: &Signals,
) -> anyhow::Result<ExitCode> {
    let show = !args.quiet && std::io::stderr().is_terminal();
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
    let total = items.len();
    let mut run_ids = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(sig) = signals.received() {
            return Ok(interrupted(sig, None, &args.db, store));
        }
        let cfg = &item.config;
        // The runs of one experiment share one dataset (its fingerprint is checked on load).
        let fits = data
            .as_ref()
            .is_some_and(|d| d.spec == cfg.dataset && d.label_noise == cfg.label_noise);
        if !fits {
            data = Some(load_for(cfg, store, experiment)?);
        }
        let data = data.as_ref().expect("loaded above");
        tch::set_num_threads(args.threads.unwrap_or(cfg.threads) as i32);
        let device = if cfg.device == "cpu" {
            Device::Cpu
        } else {
            Device::cuda_if_available()
        };
        let seeds = Seeds {
            init: cfg.init_seed,
            order: cfg.order_seed,
        };
        let stop = || signals.received().is_some();
        let spec = RunSpec {
            experiment,
            data,
            model: &cfg.model,
            train: &cfg.train,
            seeds,
            device,
            store_logits: cfg.store_logits,
            config_json: serde_json::to_string(cfg)?,
            checkpoint_db: Some(&args.db),
            checkpoint_every: cfg.checkpoint_every,
            parquet: cfg.parquet.as_deref(),
            stop: &stop,
        };
        let bar = if show {
            let b = ProgressBar::new(cfg.train.epochs as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] epoch {pos}/{len} {msg} (eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        let placeholder = Store::open_in_memory()?;
        let (back, run_id, result) = record_run(
            std::mem::replace(store, placeholder),
            &spec,
            item.start,
            &mut |id| {
                bar.set_prefix(format!(
                    "run {id} ({}/{total}, init {}, order {})",
                    i + 1,
                    seeds.init,
                    seeds.order
                ))
            },
            &mut |s| {
                bar.set_position(s.epoch as u64);
                bar.set_message(format!(
                    "loss {} train {} test {}",
                    s.train_loss.map_or("-".to_string(), |l| format!("{l:.4}")),
                    pct(s.eval_train_acc.or(s.train_acc)),
                    pct(s.test_acc)
                ));
            },
        );
        bar.finish_and_clear();
        *store = back;
        let run_name = match run_id {
            Some(id) => format!("run {id} (init {}, order {})", seeds.init, seeds.order),
            None => format!("run (init {}, order {})", seeds.init, seeds.order),
        };
        let report = match result {
            Ok(r) => r,
            Err(RunError::Train(TrainError::Interrupted { .. })) => {
                let sig = signals.received().unwrap_or(signal_hook::consts::SIGINT);
                return Ok(interrupted(sig, run_id, &args.db, store));
            }
            Err(e) => return Err(anyhow::Error::new(e).context(run_name)),
        };
        run_ids.push(report.run_id);
        let resumed = report
            .resumed_after
            .map_or(String::new(), |e| format!(", resumed after epoch {e}"));
        println!(
            "{run_name}: {} epochs{resumed}, train {}, test {}",
            cfg.train.epochs,
            pct(report.last.eval_train_acc.or(report.last.train_acc)),
            pct(report.last.test_acc)
        );
    }
    println!(
        "log: {} (experiment {experiment}, runs {})",
        args.db.display(),
        run_ids
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Says what a signal left and how to go on; the exit code is 128 + the signal.
fn interrupted(sig: i32, run: Option<i64>, db: &Path, store: &Store) -> ExitCode {
    let kept = run
        .and_then(|r| store.last_epoch(r).ok().flatten().map(|e| (r, e)))
        .map_or(String::new(), |(r, e)| {
            format!("run {r} is marked interrupted with epochs 0..{e} in the log; ")
        });
    eprintln!(
        "trainlog: interrupted by {}: {kept}resume with: trainlog record --resume --db {}",
        Signals::name(sig),
        db.display()
    );
    ExitCode::from((128 + sig) as u8)
}
