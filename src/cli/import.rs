//! `trainlog import`: dynamics recorded by another training loop, from Parquet or from
//! dataset-cartography JSONL files.

use std::path::PathBuf;
use std::process::ExitCode;
use trainlog::import::{import_path, ImportOptions};
use trainlog::store::Store;

const AFTER_HELP: &str = "\
Parquet: one row per run, epoch and example (and phase). Required columns: run (int), epoch
(int; 0 = untrained, 1..E must all be there), example_id (int), label (int, 0..C-1), logits
(list<float>, C values). Optional: phase ('eval' default, or 'step'), split ('train' default,
or 'test'), position, batch, init_seed, order_seed, orig_label. Any other column is an error
(a trainlog export's experiment, loss, p_true, margin, pred and correct are ignored). From a
PyTorch loop, after each epoch's evaluation pass:

  rows.append({'run': 0, 'epoch': epoch, 'example_id': i, 'label': y, 'logits': z.tolist()})
  ...
  import pyarrow as pa, pyarrow.parquet as pq
  pq.write_table(pa.Table.from_pylist(rows), 'dynamics.parquet')

Cartography: a folder of dynamics_epoch_N.jsonl files (or one holding training_dynamics/),
lines {\"guid\": id, \"logits_epoch_N\": [...], \"gold\": label}; files 0..E-1 become epochs 1..E.

loss, p_true, margin, pred and correct are computed from the logits as `record` does; runs
must be complete (every example at every epoch). Nothing is imported if anything is wrong.";

/// Import dynamics recorded by another training loop (Parquet, or dataset-cartography JSONL
/// files) as completed runs of a new experiment, so that every query answers on them.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// A .parquet file, a folder of them (searched recursively; a trainlog export's folder or
    /// its observations/), or a folder of dynamics_epoch_*.jsonl files
    path: PathBuf,
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// The experiment to create (default: import-NAME-TIME); an existing one on the same
    /// data gets the runs added
    #[arg(long)]
    experiment: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let existed = args.db.exists();
    let result = (|| -> anyhow::Result<_> {
        let store = Store::open(&args.db)?;
        let opts = ImportOptions {
            experiment: args.experiment.clone(),
        };
        Ok(import_path(&store, &args.path, &opts)?)
    })();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            // A database this command created for nothing is removed again.
            if !existed {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = args.db.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            return Err(e);
        }
    };
    let runs: Vec<String> = report
        .runs
        .iter()
        .map(|r| {
            format!(
                "run {} (source run {}, {} epochs)",
                r.run_id, r.source_run, r.epochs
            )
        })
        .collect();
    println!(
        "imported {} observations ({}) into experiment {}: {}",
        report.rows,
        report.format,
        report.experiment,
        runs.join(", ")
    );
    println!(
        "dataset: {} examples, {} classes{}",
        report.examples,
        report.classes,
        if report.renumbered {
            "; example ids renumbered 0..n-1 in the order of the source ids (kept as source_id)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
