//! `trainlog plot`: one figure of the report as an SVG file.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use trainlog::report::{self, Figure, Source};
use trainlog::store::Store;

const AFTER_HELP: &str = "\
Figures:
  class-curves       per-class train accuracy over epochs, mean over runs ± sd
  data-map           confidence against variability, one dot per train example of one run
  heatmap            one run's correctness, examples (in learned order) × epochs
  agreement-heatmap  share of runs correct, examples (in mean learned order) × epochs
  forgetting         histogram of forgetting events per example
  seed-agreement     runs × runs Spearman's rho of learned epoch
  order-effect       position in epoch 1 against learned epoch, one run

The one-run figures show --run (default: the experiment's first completed run).";

/// Draw one figure of `trainlog report` as a standalone SVG file.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The figure: class-curves, data-map, heatmap, agreement-heatmap, forgetting,
    /// seed-agreement or order-effect
    name: String,
    /// The SVG file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// The experiment (default: the latest, or the one of --run)
    #[arg(long)]
    experiment: Option<String>,
    /// The run of the one-run figures (default: the experiment's first completed run)
    #[arg(long)]
    run: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let figure: Figure = args.name.parse()?;
    let store = Store::open_read_only(&args.db)?;
    let source = Source::resolve(&store, args.experiment.as_deref(), args.run)?;
    let svg = report::plot(&store, &source, figure)?;
    std::fs::write(&args.out, &svg)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let what = if figure.one_run() {
        format!("run {}", source.run)
    } else {
        format!("experiment {}", source.experiment)
    };
    println!("wrote {} ({figure}, {what})", args.out.display());
    Ok(ExitCode::SUCCESS)
}
