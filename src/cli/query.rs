//! `trainlog query`: canned questions and the user's own SQL over the log, read-only.

use anyhow::{bail, Context};
use arrow::array::{Array, ArrayRef, BinaryArray, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use rusqlite::types::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use trainlog::query::{self, Canned, Section, COMMON_PARAMS};
use trainlog::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading
    Table,
    /// Comma-separated with a header
    Csv,
    /// One JSON array of objects (an object of arrays when a query has several sections)
    Json,
    /// One JSON object per line
    Ndjson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PhaseArg {
    Eval,
    Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SplitArg {
    Train,
    Test,
    All,
}

/// Ask the log a question: a canned query from queries/*.sql or your own SQL.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("what").args(["name", "sql", "file", "list"]).required(true))]
pub struct Args {
    /// The canned query to run (see --list)
    name: Option<String>,
    /// Run this SQL instead (the schema is in the README; views dynamics and runs)
    #[arg(long)]
    sql: Option<String>,
    /// Run the SQL in this file
    #[arg(long)]
    file: Option<PathBuf>,
    /// List the canned queries with their parameters
    #[arg(long)]
    list: bool,
    /// A parameter of the query, KEY=VALUE (repeatable); bound to :KEY in the SQL
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    params: Vec<String>,
    #[arg(long, default_value = "trainlog.db")]
    db: PathBuf,
    /// The experiment (default: the latest, or the one of --run)
    #[arg(long)]
    experiment: Option<String>,
    /// One run instead of the whole experiment
    #[arg(long)]
    run: Option<i64>,
    /// Only the runs of this model: lstm, linear, mlp (or imported), or all (default: the
    /// model of --run, else that of the experiment's first run)
    #[arg(long)]
    model: Option<String>,
    /// Which phase the per-example metrics come from
    #[arg(long, value_enum, default_value_t = PhaseArg::Eval)]
    phase: PhaseArg,
    /// Which examples
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    split: SplitArg,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn list() -> String {
    let mut s = String::new();
    for c in query::canned() {
        s.push_str(&format!("{:<24} {}\n", c.name, c.summary));
        for p in &c.params {
            let d = p
                .default
                .as_deref()
                .map(|d| format!(" (default {d})"))
                .unwrap_or_default();
            s.push_str(&format!(
                "{:<24}   --param {}=…{d}: {}\n",
                "", p.name, p.help
            ));
        }
    }
    s.push_str("\nEvery query also takes:\n");
    for (_, help) in COMMON_PARAMS {
        s.push_str(&format!("  {help}\n"));
    }
    s
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.list {
        out.write_all(list().as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let canned: Option<Canned> = match &args.name {
        Some(n) => Some(query::find(n)?),
        None => None,
    };
    let sql: String = match (&canned, &args.sql, &args.file) {
        (Some(c), _, _) => c.sql.to_string(),
        (None, Some(s), _) => s.clone(),
        (None, None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the SQL file {}", f.display()))?,
        _ => bail!("give a canned query name, --sql or --file (or --list)"),
    };
    let store = Store::open_read_only(&args.db)?;

    let mut params: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(c) = &canned {
        for p in &c.params {
            if let Some(d) = &p.default {
                params.insert(p.name.clone(), query::param_value(d));
            }
        }
    }
    for kv in &args.params {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--param {kv}: expected KEY=VALUE");
        };
        let k = k.trim().trim_start_matches(':').to_string();
        if let Some(c) = &canned {
            if !c.params.iter().any(|p| p.name == k) {
                let accepted: Vec<&str> = c.params.iter().map(|p| p.name.as_str()).collect();
                return Err(query::QueryError::UnknownParam {
                    query: c.name.to_string(),
                    param: k,
                    accepted: if accepted.is_empty() {
                        "none".into()
                    } else {
                        accepted.join(", ")
                    },
                }
                .into());
            }
        }
        params.insert(k, query::param_value(v.trim()));
    }
    let experiment = match (&args.experiment, args.run) {
        (Some(e), _) => e.clone(),
        (None, Some(r)) => store
            .conn()
            .query_row(
                "SELECT experiment FROM runs WHERE run_id = ?1",
                [r],
                |row| row.get(0),
            )
            .map_err(|_| anyhow::anyhow!("no run {r} in {}", args.db.display()))?,
        (None, None) => store.latest_experiment()?,
    };
    let phase = match args.phase {
        PhaseArg::Eval => "eval",
        PhaseArg::Step => "step",
    };
    let split = match args.split {
        SplitArg::Train => Some("train"),
        SplitArg::Test => Some("test"),
        SplitArg::All => None,
    };
    params.extend(query::common_params(
        &store,
        &experiment,
        args.run,
        args.model.as_deref(),
        phase,
        split,
    )?);

    let sections = query::run(&store, &sql, &params)?;
    let footers = canned
        .as_ref()
        .map(|c| c.footers.clone())
        .unwrap_or_default();
    write(&mut out, &sections, &footers, args.format)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Logits BLOBs shown as lists of numbers; anything else as it is.
fn printable(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.data_type() == &DataType::Binary {
            let b = c.as_any().downcast_ref::<BinaryArray>().expect("binary");
            let s: StringArray = b
                .iter()
                .map(|v| {
                    v.map(|bytes| {
                        let z = trainlog::capture::blob_to_logits(bytes);
                        let parts: Vec<String> = z.iter().map(|v| v.to_string()).collect();
                        format!("[{}]", parts.join(", "))
                    })
                })
                .collect();
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            cols.push(Arc::new(s));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

/// For reading: reals with 4 decimals, and footer columns taken out of the table.
fn for_table(
    batch: &RecordBatch,
    footers: &[(String, String)],
) -> anyhow::Result<(RecordBatch, Vec<String>)> {
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut notes = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        let shown: ArrayRef = if f.data_type() == &DataType::Float64 {
            let a = c.as_any().downcast_ref::<Float64Array>().expect("f64");
            Arc::new(
                a.iter()
                    .map(|v| v.map(|v| format!("{v:.4}")))
                    .collect::<StringArray>(),
            )
        } else {
            c.clone()
        };
        if let Some((_, label)) = footers.iter().find(|(col, _)| col == f.name()) {
            let s =
                arrow::util::display::ArrayFormatter::try_new(shown.as_ref(), &Default::default())?;
            let vals: std::collections::BTreeSet<String> =
                (0..shown.len()).map(|i| s.value(i).to_string()).collect();
            if vals.len() <= 1 {
                let v = vals.into_iter().next().unwrap_or_default();
                notes.push(format!(
                    "{label}: {}",
                    if v.is_empty() { "n/a" } else { &v }
                ));
                continue;
            }
        }
        fields.push(Field::new(f.name(), shown.data_type().clone(), true));
        cols.push(shown);
    }
    let schema = Arc::new(Schema::new(fields));
    let b = if cols.is_empty() {
        RecordBatch::new_empty(schema)
    } else {
        RecordBatch::try_new(schema, cols)?
    };
    Ok((b, notes))
}

pub(crate) fn write(
    out: &mut impl Write,
    sections: &[Section],
    footers: &[(String, String)],
    format: Format,
) -> anyhow::Result<()> {
    let many = sections.len() > 1;
    match format {
        Format::Table => {
            for (i, s) in sections.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                if let Some(t) = &s.title {
                    writeln!(out, "{t}")?;
                }
                let (b, notes) = for_table(&printable(&s.batch)?, footers)?;
                if b.num_rows() == 0 {
                    writeln!(out, "(no rows)")?;
                } else if b.num_columns() > 0 {
                    writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(&[b])?)?;
                }
                for n in notes {
                    writeln!(out, "{n}")?;
                }
            }
        }
        Format::Csv => {
            for (i, s) in sections.iter().enumerate() {
                if many {
                    if i > 0 {
                        writeln!(out)?;
                    }
                    writeln!(out, "# {}", s.title.as_deref().unwrap_or(""))?;
                }
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut *out);
                w.write(&printable(&s.batch)?)?;
            }
        }
        Format::Json => {
            let arrays: Vec<String> = sections
                .iter()
                .map(|s| -> anyhow::Result<String> {
                    let mut buf = Vec::new();
                    let mut w = arrow::json::ArrayWriter::new(&mut buf);
                    w.write(&printable(&s.batch)?)?;
                    w.finish()?;
                    let text = String::from_utf8(buf)?;
                    Ok(if text.is_empty() { "[]".into() } else { text })
                })
                .collect::<Result<_, _>>()?;
            if many {
                let body: Vec<String> = sections
                    .iter()
                    .zip(&arrays)
                    .map(|(s, a)| {
                        format!(
                            "{}: {a}",
                            serde_json::to_string(s.title.as_deref().unwrap_or(""))
                                .expect("string")
                        )
                    })
                    .collect();
                writeln!(out, "{{{}}}", body.join(", "))?;
            } else {
                writeln!(out, "{}", arrays[0])?;
            }
        }
        Format::Ndjson => {
            for s in sections {
                let mut b = printable(&s.batch)?;
                if many {
                    let title: StringArray =
                        std::iter::repeat_n(s.title.clone(), b.num_rows()).collect();
                    let mut fields: Vec<Field> = vec![Field::new("section", DataType::Utf8, true)];
                    fields.extend(b.schema().fields().iter().map(|f| f.as_ref().clone()));
                    let mut cols: Vec<ArrayRef> = vec![Arc::new(title)];
                    cols.extend(b.columns().iter().cloned());
                    b = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
                }
                let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
                w.write(&b)?;
                w.finish()?;
            }
        }
    }
    Ok(())
}
