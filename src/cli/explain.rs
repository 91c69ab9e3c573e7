//! `trainlog explain`: the class learning order that linear dynamics predict from the
//! experiment's data (Saxe et al. 2014), beside the order its runs learned the classes in.

use anyhow::Context;
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use trainlog::explain::{self, mode_half_time};
use trainlog::query::Section;
use trainlog::store::Store;

use super::query::Format;

/// Predict which classes are learned first from linear dynamics, beside the observed order.
///
/// The modes of the data's input–output correlation matrix (standardised, flattened train
/// inputs against one-hot labels) are learned in sigmoidal steps at t ≈ (1/s)·ln(s/a0) (Saxe
/// et al. 2014); a class's predicted time is when its output reaches half its final value.
/// The observed order is `trainlog query classes-learned-first`; Spearman's rho compares them.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// The experiment (default: the latest)
    #[arg(long)]
    experiment: Option<String>,
    /// Whose order is observed: lstm, linear, mlp or all (default: the model of the
    /// experiment's first run)
    #[arg(long)]
    model: Option<String>,
    /// The initial strength of every mode (small: the network starts near zero)
    #[arg(long, default_value_t = 1e-3)]
    a0: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> anyhow::Result<RecordBatch> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let arrays = cols.into_iter().map(|(_, a)| a).collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

fn floats(v: impl IntoIterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<Float64Array>())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = Store::open_read_only(&args.db)?;
    let experiment = match &args.experiment {
        Some(e) => e.clone(),
        None => store.latest_experiment()?,
    };
    let ex = explain::explain(&store, &experiment, args.model.as_deref(), args.a0)
        .with_context(|| format!("explaining experiment {experiment}"))?;

    let s = &ex.modes.singular_values;
    let top_class: Vec<Option<i64>> = (0..s.len())
        .map(|a| {
            (0..ex.classes.len())
                .max_by(|&x, &y| ex.modes.u[x][a].abs().total_cmp(&ex.modes.u[y][a].abs()))
                .map(|c| c as i64)
        })
        .collect();
    let modes = batch(vec![
        (
            "mode",
            Arc::new(Int64Array::from_iter_values(1..=s.len() as i64)) as ArrayRef,
        ),
        ("singular_value", floats(s.iter().map(|&v| Some(v)))),
        (
            "half_time",
            floats(s.iter().map(|&v| mode_half_time(v, ex.a0))),
        ),
        ("top_class", Arc::new(Int64Array::from(top_class))),
    ])?;
    let c = &ex.classes;
    let rho = ex.rho.map_or("n/a".to_string(), |r| format!("{r:.4}"));
    let note = format!(
        "dataset {}; observed: classes-learned-first over {}; a0 = {}",
        ex.dataset,
        ex.model
            .as_deref()
            .map_or("the runs of every model".to_string(), |m| format!(
                "the {m} runs"
            )),
        ex.a0
    );
    let n = c.len();
    let classes = batch(vec![
        (
            "class",
            Arc::new(Int64Array::from_iter_values(
                c.iter().map(|r| r.class as i64),
            )) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                c.iter().map(|r| r.name.clone()),
            )),
        ),
        ("predicted_time", floats(c.iter().map(|r| r.predicted_time))),
        ("predicted_rank", floats(c.iter().map(|r| r.predicted_rank))),
        ("observed_rank", floats(c.iter().map(|r| r.observed_rank))),
        ("mean_rank", floats(c.iter().map(|r| r.observed_mean_rank))),
        ("learned_epoch", floats(c.iter().map(|r| r.learned_epoch))),
        (
            "rho",
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(rho, n))),
        ),
        (
            "note",
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(note, n))),
        ),
    ])?;
    let sections = [
        Section {
            title: Some(format!(
                "Modes of the input-output correlation matrix ({} classes x {} features, {} train examples)",
                ex.correlation.classes, ex.correlation.features, ex.correlation.n
            )),
            batch: modes,
        },
        Section {
            title: Some(
                "Classes: predicted (linear dynamics) and observed learning order".to_string(),
            ),
            batch: classes,
        },
    ];
    let footers = [
        (
            "rho".to_string(),
            "Spearman's rho between predicted and observed class order".to_string(),
        ),
        ("note".to_string(), "note".to_string()),
    ];
    let mut out = std::io::stdout().lock();
    super::query::write(&mut out, &sections, &footers, args.format)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
