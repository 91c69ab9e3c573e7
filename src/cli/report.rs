//! `trainlog report`: one self-contained HTML page of an experiment's figures.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trainlog::report::{self, Source};
use trainlog::store::Store;

/// Write one HTML file (inline SVG and CSS, no network access needed) that answers "what is
/// learned first?" for an experiment: a summary, per-class accuracy curves, the data map,
/// examples × epochs heatmaps, forgetting events, seed agreement and the order effect.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The HTML file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// The experiment (default: the latest, or the one of --run)
    #[arg(long)]
    experiment: Option<String>,
    /// The run the one-run figures show (data map, heatmap, order effect; default: the first
    /// completed run)
    #[arg(long)]
    run: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let t = Instant::now();
    let store = Store::open_read_only(&args.db)?;
    let source = Source::resolve(&store, args.experiment.as_deref(), args.run)?;
    let html = report::report(&store, &source)?;
    std::fs::write(&args.out, &html)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} (experiment {}, {} runs, {:.1} MB, {:.2} s)",
        args.out.display(),
        source.experiment,
        source.runs.len(),
        html.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
