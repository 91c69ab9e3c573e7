//! `trainlog record`: train an LSTM classifier (or a shallow baseline) over several seeds and
//! record every example's dynamics into the log.

use anyhow::{bail, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tch::Device;
use trainlog::capture::LogitsFormat;
use trainlog::dataset::{self, Dataset};
use trainlog::model::ModelKind;
use trainlog::run::{begin_run, continue_run, RunConfig, RunError, RunReport, RunSpec, Start};
use trainlog::seeds::parse_seeds;
use trainlog::store::{lock, SharedStore, Store, WriteLock};
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
    /// How to store the raw logits: f32 (loss and margin are then computed from them when
    /// read), f16 (half the bytes; loss and margin stored exactly), or none (only loss, p_true,
    /// margin and pred)
    #[arg(long, value_enum, default_value_t = LogitsFormat::F32, value_name = "FORMAT")]
    logits: LogitsFormat,
    /// The same as --logits none
    #[arg(long, conflicts_with = "logits")]
    no_logits: bool,
    /// libtorch intra-op threads in all, shared among the --jobs (default: all cores)
    #[arg(long)]
    threads: Option<usize>,
    /// Record this many seeds at once, each with --threads / N intra-op threads, all writing
    /// the one --db (the rows are those of --jobs 1 with as many threads a run)
    #[arg(long, default_value_t = 1, value_name = "N")]
    jobs: usize,
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
    #[arg(long, conflicts_with_all = ["dataset", "seeds", "vary", "init_seed", "order_seed", "label_noise", "epochs", "parquet", "model", "logits", "no_logits"])]
    resume: bool,
    /// Also write the observations as a Hive-partitioned Parquet dataset into DIR while
    /// training (DIR/observations/experiment=…/run_id=…/epochs-F-L.parquet, one file per
    /// committed epoch range, each complete before it appears)
    #[arg(long, value_name = "DIR")]
    parquet: Option<PathBuf>,
    /// Write each run as its own log (a shard), DIR/EXPERIMENT-MODEL-iINIT-oORDER.db, instead
    /// of into --db, so that runs can be recorded on different machines; combine the shards
    /// with `trainlog merge`. Needs --experiment (the same on every machine). With --parquet,
    /// each shard's files go to PARQUET/observations/experiment=…/shard=NAME/
    #[arg(long, value_name = "DIR", conflicts_with_all = ["db", "resume"])]
    shard_dir: Option<PathBuf>,
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
        if self.jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        if self.shard_dir.is_some() && self.experiment.is_none() {
            bail!("--shard-dir needs --experiment NAME: give the shards of every machine the same name, so that `trainlog merge` makes them one experiment");
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

/// SIGINT and SIGTERM: the first asks the training to stop (the open epoch is dropped, the
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
    /// Which of the logs it is recorded into.
    log: usize,
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
    // Each job's share of the intra-op threads; it is part of the run's configuration, since
    // results on CPU can depend on it.
    let jobs = args.jobs.clamp(1, pairs.len().max(1));
    let threads = (args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        / jobs)
        .max(1);

    if let Some(dir) = &args.parquet {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--parquet {}: cannot create the folder", dir.display()))?;
    }
    let logits = if args.no_logits {
        LogitsFormat::None
    } else {
        args.logits
    };
    let device_name = format!("{device:?}").to_lowercase();
    let config = |seeds: &Seeds, shard: Option<String>| RunConfig {
        dataset: data.spec.clone(),
        label_noise: data.label_noise,
        noise_seed: args.noise_seed,
        model: model.clone(),
        train: cfg.clone(),
        init_seed: seeds.init,
        order_seed: seeds.order,
        threads,
        device: device_name.clone(),
        store_logits: logits != LogitsFormat::None,
        logits,
        checkpoint_every: args.checkpoint_every,
        parquet: args.parquet.clone(),
        shard,
    };
    let Some(dir) = &args.shard_dir else {
        let log = Log::open(&args.db)?;
        let mut store = lock(&log.store);
        let experiment = match &args.experiment {
            Some(e) => e.clone(),
            None => default_experiment(&store, &data.spec)?,
        };
        let configs: Vec<RunConfig> = pairs.iter().map(|s| config(s, None)).collect();
        let plans = plan(&mut store, &log.db, &experiment, &data, &configs)?;
        drop(store);
        let items = configs
            .into_iter()
            .zip(plans)
            .map(|(config, plan)| Item {
                config,
                start: Start::New { plan: Some(plan) },
                log: 0,
            })
            .collect();
        return execute(vec![log], &args, &experiment, items, Some(data), &signals);
    };
    // Shards: one log a run, DIR/EXPERIMENT-MODEL-iINIT-oORDER.db.
    let experiment = args
        .experiment
        .clone()
        .context("--shard-dir needs --experiment (checked above)")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--shard-dir {}: cannot create the folder", dir.display()))?;
    let mut logs = Vec::new();
    let mut items = Vec::new();
    let named: Vec<(String, PathBuf)> = pairs
        .iter()
        .map(|s| {
            let name = shard_name(&experiment, args.model, s);
            let path = dir.join(format!("{name}.db"));
            (name, path)
        })
        .collect();
    if let Some((_, path)) = named.iter().find(|(_, p)| p.exists()) {
        bail!(
            "shard {} exists: finish it with `trainlog record --resume --db {}`, or record into another --shard-dir",
            path.display(),
            path.display()
        );
    }
    for (k, (seeds, (name, path))) in pairs.iter().zip(named).enumerate() {
        let log = Log::open(&path)?;
        let c = config(seeds, Some(name));
        let plans = plan(
            &mut lock(&log.store),
            &path,
            &experiment,
            &data,
            std::slice::from_ref(&c),
        )?;
        logs.push(log);
        items.push(Item {
            config: c,
            start: Start::New {
                plan: plans.first().copied(),
            },
            log: k,
        });
    }
    execute(logs, &args, &experiment, items, Some(data), &signals)
}

/// A shard's name: its experiment, model and seeds (file-name safe).
fn shard_name(experiment: &str, model: ModelKind, seeds: &Seeds) -> String {
    let safe: String = experiment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{}-i{}-o{}", model.as_str(), seeds.init, seeds.order)
}

/// Creates the experiment in `store` if needed and plans its runs; returns the plans' ids.
fn plan(
    store: &mut Store,
    db: &Path,
    experiment: &str,
    data: &Dataset,
    configs: &[RunConfig],
) -> anyhow::Result<Vec<i64>> {
    let unwritable = || format!("cannot write the log {}", db.display());
    let dataset_id = store.ensure_dataset(data).with_context(unwritable)?;
    let planned: Vec<(u64, u64, String)> = configs
        .iter()
        .map(|c| Ok((c.init_seed, c.order_seed, serde_json::to_string(c)?)))
        .collect::<anyhow::Result<_>>()?;
    store
        .plan_runs(experiment, dataset_id, &planned)
        .with_context(unwritable)
}

/// A log being written: its path, its one connection and its write lock.
struct Log {
    db: PathBuf,
    store: SharedStore,
    _lock: WriteLock,
}

impl Log {
    fn open(db: &Path) -> anyhow::Result<Log> {
        let lock = WriteLock::acquire(db)?;
        let store =
            Store::open(db).with_context(|| format!("cannot open the log {}", db.display()))?;
        Ok(Log {
            db: db.to_path_buf(),
            store: Arc::new(Mutex::new(store)),
            _lock: lock,
        })
    }
}

/// `record --resume`: finishes the unfinished runs of an experiment.
fn resume(args: &Args, signals: &Signals) -> anyhow::Result<ExitCode> {
    if args.threads == Some(0) || args.jobs == 0 {
        bail!("--threads and --jobs must be at least 1");
    }
    if !args.db.is_file() {
        bail!(
            "{} does not exist: there is nothing to resume (record a run first)",
            args.db.display()
        );
    }
    let log = Log::open(&args.db)?;
    let store = lock(&log.store);
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
                log: 0,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    drop(store);
    execute(vec![log], args, &experiment, items, None, signals)
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

/// How one item ended.
struct Outcome {
    item: usize,
    log: usize,
    run_id: Option<i64>,
    seeds: Seeds,
    result: Result<RunReport, RunError>,
}

/// Records the items, `--jobs` at a time (each job on its own thread, with its share of the
/// intra-op threads; all of them writing through the one connection). After a failure or a
/// signal no new run starts; a failure lets the running ones finish, a signal interrupts them.
fn execute(
    logs: Vec<Log>,
    args: &Args,
    experiment: &str,
    items: Vec<Item>,
    data: Option<Dataset>,
    signals: &Signals,
) -> anyhow::Result<ExitCode> {
    // The runs of one experiment share one dataset (its fingerprint is checked on load).
    let mut datasets: Vec<Dataset> = data.into_iter().collect();
    let mut data_of = Vec::with_capacity(items.len());
    for item in &items {
        let cfg = &item.config;
        let found = datasets
            .iter()
            .position(|d| d.spec == cfg.dataset && d.label_noise == cfg.label_noise);
        data_of.push(match found {
            Some(k) => k,
            None => {
                datasets.push(load_for(cfg, &lock(&logs[item.log].store), experiment)?);
                datasets.len() - 1
            }
        });
    }
    let total = items.len();
    let jobs = args.jobs.clamp(1, total.max(1));
    let show = !args.quiet && std::io::stderr().is_terminal();
    let bars = MultiProgress::new();
    if !show {
        bars.set_draw_target(ProgressDrawTarget::hidden());
    }
    let say = |line: String| {
        if show {
            let _ = bars.println(line);
        } else {
            println!("{line}");
        }
    };
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
    let next = Mutex::new(0usize);
    let halt = AtomicBool::new(false);
    let outcomes = Mutex::new(Vec::<Outcome>::new());
    let stop = || signals.received().is_some();

    let work = || -> anyhow::Result<()> {
        loop {
            if halt.load(Ordering::SeqCst) || stop() {
                return Ok(());
            }
            // Runs are registered in the order of the items, whatever job takes them.
            let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
            if *n >= total {
                return Ok(());
            }
            let i = *n;
            *n += 1;
            let item = &items[i];
            let cfg = &item.config;
            let log = &logs[item.log];
            let threads = args.threads.map_or(cfg.threads, |t| (t / jobs).max(1));
            tch::set_num_threads(threads as i32);
            let device = if cfg.device == "cpu" {
                Device::Cpu
            } else {
                Device::cuda_if_available()
            };
            let seeds = Seeds {
                init: cfg.init_seed,
                order: cfg.order_seed,
            };
            let spec = RunSpec {
                experiment,
                data: &datasets[data_of[i]],
                model: &cfg.model,
                train: &cfg.train,
                seeds,
                device,
                logits: cfg.logits_format(),
                config_json: serde_json::to_string(cfg)?,
                checkpoint_db: Some(&log.db),
                checkpoint_every: cfg.checkpoint_every,
                parquet: cfg.parquet.as_deref(),
                shard: cfg.shard.as_deref(),
                stop: &stop,
            };
            let begun = begin_run(&log.store, &spec, item.start);
            drop(n);
            let bar = bars.add(ProgressBar::new(cfg.train.epochs as u64));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] epoch {pos}/{len} {msg} (eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            let (run_id, result) = match begun {
                Ok(b) => {
                    bar.set_prefix(format!(
                        "run {} ({}/{total}, init {}, order {})",
                        b.run_id,
                        i + 1,
                        seeds.init,
                        seeds.order
                    ));
                    let r = continue_run(&log.store, &spec, b, &mut |s| {
                        bar.set_position(s.epoch as u64);
                        bar.set_message(format!(
                            "loss {} train {} test {}",
                            s.train_loss.map_or("-".to_string(), |l| format!("{l:.4}")),
                            pct(s.eval_train_acc.or(s.train_acc)),
                            pct(s.test_acc)
                        ));
                    });
                    (Some(b.run_id), r)
                }
                Err((id, e)) => (id, Err(e)),
            };
            bar.finish_and_clear();
            bars.remove(&bar);
            match &result {
                Ok(report) => {
                    let resumed = report
                        .resumed_after
                        .map_or(String::new(), |e| format!(", resumed after epoch {e}"));
                    let at = if cfg.shard.is_some() {
                        format!(" in {}", log.db.display())
                    } else {
                        String::new()
                    };
                    say(format!(
                        "{}{at}: {} epochs{resumed}, train {}, test {}",
                        run_name(run_id, seeds),
                        cfg.train.epochs,
                        pct(report.last.eval_train_acc.or(report.last.train_acc)),
                        pct(report.last.test_acc)
                    ));
                }
                Err(_) => halt.store(true, Ordering::SeqCst),
            }
            outcomes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Outcome {
                    item: i,
                    log: item.log,
                    run_id,
                    seeds,
                    result,
                });
        }
    };
    let worked: Vec<anyhow::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|j| {
                std::thread::Builder::new()
                    .name(format!("trainlog-job-{j}"))
                    .spawn_scoped(s, work)
                    .expect("spawning a job thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a job thread panicked")))
            })
            .collect()
    });
    for w in worked {
        w?;
    }
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|o| o.item);
    let interrupted_runs: Vec<(&Log, Option<i64>)> = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o.result,
                Err(RunError::Train(TrainError::Interrupted { .. }))
            )
        })
        .map(|o| (&logs[o.log], o.run_id))
        .collect();
    if let Some(sig) = signals.received() {
        return Ok(interrupted(sig, &interrupted_runs, &logs));
    }
    let mut run_ids = Vec::new();
    for o in &outcomes {
        match &o.result {
            Ok(r) => run_ids.push((o.log, r.run_id)),
            Err(RunError::Train(TrainError::Interrupted { .. })) => {
                let sig = signals.received().unwrap_or(signal_hook::consts::SIGINT);
                return Ok(interrupted(sig, &interrupted_runs, &logs));
            }
            Err(_) => {}
        }
    }
    if let Some(o) = outcomes.into_iter().find(|o| o.result.is_err()) {
        if let Err(e) = o.result {
            return Err(anyhow::Error::new(e).context(run_name(o.run_id, o.seeds)));
        }
    }
    if args.shard_dir.is_some() {
        println!(
            "shards: {} (experiment {experiment}); merge them with: trainlog merge {} --db merged.db",
            logs.len(),
            logs.iter()
                .map(|l| l.db.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
    } else {
        println!(
            "log: {} (experiment {experiment}, runs {})",
            logs[0].db.display(),
            run_ids
                .iter()
                .map(|r| r.1.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_name(run_id: Option<i64>, seeds: Seeds) -> String {
    match run_id {
        Some(id) => format!("run {id} (init {}, order {})", seeds.init, seeds.order),
        None => format!("run (init {}, order {})", seeds.init, seeds.order),
    }
}

/// Says what a signal left and how to go on; the exit code is 128 + the signal.
fn interrupted(sig: i32, runs: &[(&Log, Option<i64>)], logs: &[Log]) -> ExitCode {
    let mut kept = String::new();
    let mut dbs: Vec<&Path> = Vec::new();
    for (log, run) in runs {
        if let Some(r) = run {
            if let Some(e) = lock(&log.store).last_epoch(*r).ok().flatten() {
                let of = if logs.len() > 1 {
                    format!(" of {}", log.db.display())
                } else {
                    String::new()
                };
                kept.push_str(&format!(
                    "run {r}{of} is marked interrupted with epochs 0..{e} in the log; "
                ));
            }
        }
        if !dbs.contains(&log.db.as_path()) {
            dbs.push(&log.db);
        }
    }
    if dbs.is_empty() {
        dbs.extend(logs.iter().map(|l| l.db.as_path()));
    }
    let commands: Vec<String> = dbs
        .iter()
        .map(|d| format!("trainlog record --resume --db {}", d.display()))
        .collect();
    eprintln!(
        "trainlog: interrupted by {}: {kept}resume with: {}",
        Signals::name(sig),
        commands.join(" and ")
    );
    ExitCode::from((128 + sig) as u8)
}
