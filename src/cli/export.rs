//! `trainlog export`: the log as a Parquet dataset, or one run as dataset-cartography files.

use anyhow::bail;
use std::path::PathBuf;
use std::process::ExitCode;
use trainlog::export::cartography::export_cartography;
use trainlog::export::parquet::{export_parquet, ParquetOptions};
use trainlog::export::Scope;
use trainlog::store::Store;

const AFTER_HELP: &str = "\
Parquet layout (--parquet DIR):
  DIR/observations/experiment=NAME/run_id=N/part-00000.parquet   the dynamics view's columns;
      experiment and run_id are in the path (Hive partitions), not in the files
  DIR/runs.parquet, DIR/examples.parquet (with class_name), DIR/example_metrics.parquet

Reading it:
  duckdb: SELECT epoch, avg(correct) FROM read_parquet('DIR/observations/**/*.parquet',
          hive_partitioning = true) WHERE phase = 'eval' GROUP BY epoch ORDER BY epoch;
  pandas: pd.read_parquet('DIR/observations')      (pyarrow adds experiment and run_id)

Cartography (--cartography DIR): DIR/training_dynamics/dynamics_epoch_0.jsonl … one file per
epoch (trainlog's epochs 1..E become 0..E-1), one line per train example of one run's eval
phase: {\"guid\": example_id, \"logits_epoch_0\": [...], \"gold\": label}.";

/// Export the log: a Hive-partitioned Parquet dataset for DuckDB, pandas, Polars or Spark
/// (--parquet DIR), or one run's logits as dataset-cartography JSONL files (--cartography DIR).
#[derive(Debug, clap::Args)]
#[command(
    group = clap::ArgGroup::new("format").args(["parquet", "cartography"]).required(true),
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Write a Parquet dataset into DIR (created; must be empty unless --force)
    #[arg(long, value_name = "DIR")]
    parquet: Option<PathBuf>,
    /// Write one run's eval-phase train-split logits as DIR/training_dynamics/dynamics_epoch_*.jsonl,
    /// the files the data-map scripts of github.com/allenai/cartography read
    #[arg(long, value_name = "DIR")]
    cartography: Option<PathBuf>,
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// The experiment (default: the latest)
    #[arg(long, conflicts_with = "run")]
    experiment: Option<String>,
    /// One run (--cartography without it: the experiment's first run)
    #[arg(long)]
    run: Option<i64>,
    /// Export into a non-empty DIR, replacing what an earlier export wrote there
    #[arg(long)]
    force: bool,
    /// Observation rows per part file before a run's next part file starts
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "N")]
    file_rows: usize,
    /// zstd compression level of the Parquet files (1 fastest … 22 smallest)
    #[arg(long, default_value_t = 1, value_name = "N")]
    zstd_level: i32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&args.db)?;
    let scope = match (&args.experiment, args.run) {
        (_, Some(r)) => Scope::Run(r),
        (Some(e), None) => Scope::Experiment(e.clone()),
        (None, None) => Scope::Latest,
    };
    if let Some(dir) = &args.parquet {
        if args.file_rows == 0 {
            bail!("--file-rows must be at least 1");
        }
        let opts = ParquetOptions {
            file_rows: args.file_rows,
            zstd_level: args.zstd_level,
            ..ParquetOptions::default()
        };
        let r = export_parquet(&store, &scope, dir, args.force, &opts)?;
        let total: u64 = r.files.iter().map(|f| f.1).sum();
        let runs: Vec<String> = r.runs.iter().map(|r| r.to_string()).collect();
        println!(
            "exported experiment {} (runs {}): {} observations in {} files, {:.1} MB ({:.1} bytes per observation), {:.2} s ({:.0} rows/s)",
            r.experiment,
            runs.join(", "),
            r.rows,
            r.files.len(),
            total as f64 / 1e6,
            if r.rows > 0 { r.observation_bytes as f64 / r.rows as f64 } else { 0.0 },
            r.seconds,
            r.rows as f64 / r.seconds.max(1e-9)
        );
        println!("dataset: {}", dir.display());
    } else if let Some(dir) = &args.cartography {
        let r = export_cartography(&store, &scope, dir, args.force)?;
        println!(
            "run {}: {} epoch files (trainlog epochs 1..{} as dynamics_epoch_0..{}) of {} train examples in {}",
            r.run,
            r.epochs,
            r.epochs,
            r.epochs - 1,
            r.examples,
            r.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
