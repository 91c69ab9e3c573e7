//! `trainlog metrics`: (re)compute the per-example metrics of completed runs.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use trainlog::metrics::compute_run;
use trainlog::store::Store;

/// Recompute the per-example metrics (first_correct_epoch, learned_epoch, forgetting events,
/// data-map values, AUM) of completed runs. `record` does this when a run completes.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// Only the runs of this experiment (default: every completed run)
    #[arg(long)]
    experiment: Option<String>,
    /// Only this run
    #[arg(long)]
    run: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.db.is_file() {
        anyhow::bail!("database {} does not exist", args.db.display());
    }
    let store = Store::open(&args.db)?;
    let runs: Vec<i64> = store
        .conn()
        .prepare(
            "SELECT run_id FROM runs WHERE status = 'completed'
             AND (?1 IS NULL OR experiment = ?1) AND (?2 IS NULL OR run_id = ?2) ORDER BY run_id",
        )?
        .query_map(rusqlite::params![args.experiment, args.run], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if runs.is_empty() {
        anyhow::bail!("no completed run matches: check --experiment and --run");
    }
    for r in runs {
        let n = compute_run(&store, r).with_context(|| format!("run {r}"))?;
        println!("run {r}: {n} example metrics");
    }
    Ok(ExitCode::SUCCESS)
}
