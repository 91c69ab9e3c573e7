//! `trainlog merge`: combine shards (logs recorded apart, e.g. with `record --shard-dir` on
//! many machines) into one log.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use trainlog::merge::merge;
use trainlog::store::WriteLock;

/// Combine shards into one log with all their runs, observations and metrics (run ids are
/// renumbered; an experiment in several shards becomes one). Every shard is checked first:
/// completed runs only, one dataset per experiment, no run twice.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shards: trainlog logs (SQLite files), e.g. DIR/*.db of record --shard-dir DIR
    #[arg(required = true, value_name = "SHARD")]
    shards: Vec<PathBuf>,
    /// The merged log: created, or added to if it exists
    #[arg(long)]
    db: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _lock = WriteLock::acquire(&args.db)?;
    let report = merge(&args.shards, &args.db)
        .with_context(|| format!("merging into {}", args.db.display()))?;
    for (experiment, runs) in &report.runs {
        println!(
            "experiment {experiment}: runs {}",
            runs.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "merged {} shards ({} observations) into {}",
        report.shards,
        report.observations,
        args.db.display()
    );
    Ok(ExitCode::SUCCESS)
}
