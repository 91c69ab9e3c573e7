//! The command-line interface: one file per subcommand.

mod explain;
mod export;
mod import;
mod merge;
mod metrics;
mod plot;
mod query;
mod record;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Record every training example's dynamics across epochs and seeds, and ask SQL what a
/// network learns first.
#[derive(Debug, Parser)]
#[command(name = "trainlog", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Record(record::Args),
    Query(query::Args),
    Metrics(metrics::Args),
    Export(export::Args),
    Import(import::Args),
    Merge(merge::Args),
    Report(report::Args),
    Plot(plot::Args),
    Explain(explain::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Record(a) => record::run(a),
        Command::Query(a) => query::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Export(a) => export::run(a),
        Command::Import(a) => import::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Report(a) => report::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Explain(a) => explain::run(a),
    }
}
