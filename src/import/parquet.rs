//! Parquet sources: one `.parquet` file, or every `*.parquet` file under a folder (recursively,
//! skipping names that start with `.` or `_`), such as a trainlog export or its
//! `observations/` folder.
//!
//! The minimal schema, one row per example, epoch (and phase) of each run:
//!
//! | column | type | |
//! |---|---|---|
//! | `run` | integer | which run (a trainlog export's `run_id` is accepted too) |
//! | `epoch` | integer | 0 = untrained; 1..E must all be there |
//! | `example_id` | integer | the example |
//! | `label` | integer | the label trained on, 0..C−1 |
//! | `logits` | list of float | C logits |
//! | `phase` | string, optional | `eval` (default) or `step` |
//! | `split` | string, optional | `train` (default) or `test` |
//! | `position`, `batch` | integer, optional | step phase: place in the epoch's order, minibatch |
//! | `init_seed`, `order_seed` | integer, optional | default: the run number |
//! | `orig_label` | integer, optional | the label before label noise (default `label`) |
//!
//! A trainlog export's other columns (`experiment`, `loss`, `p_true`, `margin`, `pred`,
//! `correct`) are accepted and ignored: the values are recomputed from the logits. Any other
//! column is an error. A column missing from the files is taken from a Hive partition in the
//! path (`…/run_id=3/part-00000.parquet`) when there is one. Given a trainlog export's folder
//! (with `observations/`), the class names and source ids come from its `examples.parquet`,
//! and the runs keep the start and finish times of its `runs.parquet`.

use super::{
    invalid, io_err, parse_phase, parse_split, ExKey, ExampleExtras, ImportError, Location, Row,
    Source,
};
use crate::export::parquet::hive_unescape;
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float32Type, Int64Type, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Integer columns the import reads.
const INT_COLUMNS: [&str; 10] = [
    "run",
    "run_id",
    "epoch",
    "example_id",
    "label",
    "orig_label",
    "position",
    "batch",
    "init_seed",
    "order_seed",
];
/// Text columns the import reads.
const TEXT_COLUMNS: [&str; 2] = ["phase", "split"];
/// A trainlog export's columns the import ignores (recomputed from the logits).
const IGNORED_COLUMNS: [&str; 6] = ["experiment", "loss", "p_true", "margin", "pred", "correct"];

const ACCEPTED: &str = "run, epoch, example_id, label, logits; optional phase, split, position, batch, init_seed, order_seed, orig_label";

/// Where a column's values come from, in one file.
#[derive(Debug, Clone)]
enum Src {
    Absent,
    Column(usize),
    Int(i64),
    Text(String),
}

/// How one file's columns map onto a row.
#[derive(Debug, Clone)]
struct Plan {
    run: Src,
    epoch: Src,
    example_id: Src,
    label: Src,
    orig_label: Src,
    position: Src,
    batch: Src,
    init_seed: Src,
    order_seed: Src,
    phase: Src,
    split: Src,
    logits: usize,
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

fn is_float_list(t: &DataType) -> bool {
    match t {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => f.data_type().is_floating(),
        _ => false,
    }
}

/// Hive partition values (`key=value` folders) in a file's path, for the columns the import
/// reads.
fn partitions(file: &Path) -> Result<HashMap<String, Src>, ImportError> {
    let mut out = HashMap::new();
    for comp in file.parent().into_iter().flat_map(|p| p.components()) {
        let comp = comp.as_os_str().to_string_lossy();
        let Some((k, v)) = comp.split_once('=') else {
            continue;
        };
        let v = hive_unescape(v);
        if INT_COLUMNS.contains(&k) {
            let i: i64 = v.parse().map_err(|_| {
                invalid(
                    file.display(),
                    format!("partition {k}={v} in the path is not an integer"),
                )
            })?;
            out.insert(k.to_string(), Src::Int(i));
        } else if TEXT_COLUMNS.contains(&k) {
            out.insert(k.to_string(), Src::Text(v));
        }
    }
    Ok(out)
}

fn plan(file: &Path, schema: &Schema) -> Result<Plan, ImportError> {
    let at = file.display();
    let mut cols: HashMap<&str, usize> = HashMap::new();
    for (i, f) in schema.fields().iter().enumerate() {
        let name = f.name().as_str();
        let t = f.data_type();
        if INT_COLUMNS.contains(&name) {
            if !t.is_integer() {
                return Err(invalid(
                    &at,
                    format!("column '{name}' has type {t}: expected integers"),
                ));
            }
        } else if TEXT_COLUMNS.contains(&name) {
            if !is_text(t) {
                return Err(invalid(
                    &at,
                    format!("column '{name}' has type {t}: expected strings"),
                ));
            }
        } else if name == "logits" {
            if !is_float_list(t) {
                return Err(invalid(
                    &at,
                    format!("column 'logits' has type {t}: expected a list of floats"),
                ));
            }
        } else if !IGNORED_COLUMNS.contains(&name) {
            return Err(invalid(
                &at,
                format!("unknown column '{name}' (the import reads {ACCEPTED})"),
            ));
        }
        cols.insert(name, i);
    }
    let parts = partitions(file)?;
    let src = |name: &str| -> Src {
        match cols.get(name) {
            Some(&i) => Src::Column(i),
            None => parts.get(name).cloned().unwrap_or(Src::Absent),
        }
    };
    if cols.contains_key("run") && cols.contains_key("run_id") {
        return Err(invalid(
            &at,
            "has both 'run' and 'run_id' columns: keep one",
        ));
    }
    let run = match (src("run"), src("run_id")) {
        (Src::Column(i), _) | (_, Src::Column(i)) => Src::Column(i),
        (Src::Absent, s) => s,
        (s, _) => s,
    };
    let required = |name: &str, s: Src| -> Result<Src, ImportError> {
        match s {
            Src::Absent => Err(invalid(
                &at,
                format!("missing required column '{name}' (the import reads {ACCEPTED})"),
            )),
            s => Ok(s),
        }
    };
    let logits = *cols.get("logits").ok_or_else(|| {
        invalid(
            &at,
            format!("missing required column 'logits' (the import reads {ACCEPTED})"),
        )
    })?;
    Ok(Plan {
        run: required("run", run)?,
        epoch: required("epoch", src("epoch"))?,
        example_id: required("example_id", src("example_id"))?,
        label: required("label", src("label"))?,
        orig_label: src("orig_label"),
        position: src("position"),
        batch: src("batch"),
        init_seed: src("init_seed"),
        order_seed: src("order_seed"),
        phase: src("phase"),
        split: src("split"),
        logits,
    })
}

/// A column of one batch, resolved.
enum IntCol {
    Absent,
    Const(i64),
    Values(Int64Array),
}

impl IntCol {
    fn new(src: &Src, batch: &[ArrayRef]) -> Result<IntCol, ImportError> {
        Ok(match src {
            Src::Absent => IntCol::Absent,
            Src::Int(v) => IntCol::Const(*v),
            Src::Text(_) => IntCol::Absent,
            Src::Column(i) => IntCol::Values(
                cast(&batch[*i], &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
        })
    }

    /// The value at row i: None if absent, Err(()) if null (or out of range).
    fn get(&self, i: usize) -> Result<Option<i64>, ()> {
        match self {
            IntCol::Absent => Ok(None),
            IntCol::Const(v) => Ok(Some(*v)),
            IntCol::Values(a) if a.is_null(i) => Err(()),
            IntCol::Values(a) => Ok(Some(a.value(i))),
        }
    }
}

enum TextCol {
    Absent,
    Const(String),
    Values(StringArray),
}

impl TextCol {
    fn new(src: &Src, batch: &[ArrayRef]) -> Result<TextCol, ImportError> {
        Ok(match src {
            Src::Absent | Src::Int(_) => TextCol::Absent,
            Src::Text(v) => TextCol::Const(v.clone()),
            Src::Column(i) => TextCol::Values(
                cast(&batch[*i], &DataType::Utf8)?
                    .as_string::<i32>()
                    .clone(),
            ),
        })
    }

    fn get(&self, i: usize) -> Result<Option<&str>, ()> {
        match self {
            TextCol::Absent => Ok(None),
            TextCol::Const(v) => Ok(Some(v)),
            TextCol::Values(a) if a.is_null(i) => Err(()),
            TextCol::Values(a) => Ok(Some(a.value(i))),
        }
    }
}

/// Parquet files to import.
pub struct ParquetSource {
    root: PathBuf,
    files: Vec<PathBuf>,
    /// A trainlog export's folder (with examples.parquet).
    export_root: Option<PathBuf>,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io_err(dir))?;
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if p.is_dir() {
            collect(&p, out)?;
        } else if name.ends_with(".parquet") {
            out.push(p);
        }
    }
    Ok(())
}

impl ParquetSource {
    pub fn open(path: &Path) -> Result<ParquetSource, ImportError> {
        let mut files = Vec::new();
        let mut export_root = None;
        if path.is_dir() {
            let obs = path.join("observations");
            if obs.is_dir() {
                collect(&obs, &mut files)?;
                export_root = Some(path.to_path_buf());
            } else {
                collect(path, &mut files)?;
            }
        } else {
            files.push(path.to_path_buf());
        }
        if files.is_empty() {
            return Err(ImportError::Nothing(path.to_path_buf()));
        }
        Ok(ParquetSource {
            root: path.to_path_buf(),
            files,
            export_root,
        })
    }

    fn reader(file: &Path) -> Result<(ParquetRecordBatchReaderBuilder<File>, Plan), ImportError> {
        let f = File::open(file).map_err(io_err(file))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| invalid(file.display(), format!("not a readable parquet file: {e}")))?
            .with_batch_size(64 * 1024);
        let plan = plan(file, b.schema())?;
        Ok((b, plan))
    }
}

impl Source for ParquetSource {
    fn format(&self) -> &'static str {
        "parquet"
    }

    fn stem(&self) -> String {
        let p = match &self.export_root {
            Some(r) => r.as_path(),
            None if self.root.ends_with("observations") => self.root.parent().unwrap_or(&self.root),
            None => &self.root,
        };
        let name = if p.is_file() {
            p.file_stem()
        } else {
            p.file_name()
        };
        name.map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "parquet".into())
    }

    fn files(&self) -> usize {
        self.files.len()
    }

    fn scan_examples(
        &mut self,
        f: &mut dyn FnMut(ExKey, Location<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        for file in &self.files {
            let (b, plan) = Self::reader(file)?;
            let mut index = 0u64;
            match plan.example_id {
                Src::Column(i) => {
                    let mask = ProjectionMask::roots(b.parquet_schema(), [i]);
                    for batch in b.with_projection(mask).build()? {
                        let batch = batch?;
                        let ids = IntCol::new(&Src::Column(0), batch.columns())?;
                        for r in 0..batch.num_rows() {
                            index += 1;
                            let at = Location {
                                file,
                                unit: "row",
                                index,
                            };
                            match ids.get(r) {
                                Ok(Some(id)) => f(ExKey::Int(id), at)?,
                                _ => return Err(invalid(at, "example_id is null or out of range")),
                            }
                        }
                    }
                }
                Src::Int(id) => {
                    let rows = b.metadata().file_metadata().num_rows().max(0) as u64;
                    for r in 0..rows {
                        let at = Location {
                            file,
                            unit: "row",
                            index: r + 1,
                        };
                        f(ExKey::Int(id), at)?;
                    }
                }
                _ => unreachable!("example_id is required"),
            }
        }
        Ok(())
    }

    fn rows(
        &mut self,
        f: &mut dyn FnMut(&Row<'_>, Location<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let list_type = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
        for file in &self.files {
            let (b, plan) = Self::reader(file)?;
            let mut index = 0u64;
            for batch in b.build()? {
                let batch = batch?;
                let cols = batch.columns();
                let run = IntCol::new(&plan.run, cols)?;
                let epoch = IntCol::new(&plan.epoch, cols)?;
                let example = IntCol::new(&plan.example_id, cols)?;
                let label = IntCol::new(&plan.label, cols)?;
                let orig_label = IntCol::new(&plan.orig_label, cols)?;
                let position = IntCol::new(&plan.position, cols)?;
                let batch_no = IntCol::new(&plan.batch, cols)?;
                let init_seed = IntCol::new(&plan.init_seed, cols)?;
                let order_seed = IntCol::new(&plan.order_seed, cols)?;
                let phase = TextCol::new(&plan.phase, cols)?;
                let split = TextCol::new(&plan.split, cols)?;
                let logits_any = cast(&cols[plan.logits], &list_type)?;
                let logits: &ListArray = logits_any.as_list::<i32>();
                let values = logits.values().as_primitive::<Float32Type>();
                let offsets = logits.value_offsets();
                for r in 0..batch.num_rows() {
                    index += 1;
                    let at = Location {
                        file,
                        unit: "row",
                        index,
                    };
                    let null = |name: &str| invalid(at, format!("{name} is null or out of range"));
                    let int = |c: &IntCol, name: &str| c.get(r).map_err(|_| null(name));
                    let need = |c: &IntCol, name: &str| -> Result<i64, ImportError> {
                        Ok(int(c, name)?.expect("a required column"))
                    };
                    if logits.is_null(r) {
                        return Err(invalid(
                            at,
                            "logits are null: the import needs every row's logits (a log recorded with --no-logits cannot be imported)",
                        ));
                    }
                    let (lo, hi) = (offsets[r] as usize, offsets[r + 1] as usize);
                    if values
                        .nulls()
                        .is_some_and(|n| (lo..hi).any(|k| n.is_null(k)))
                    {
                        return Err(invalid(at, "a logit is null"));
                    }
                    let phase = match phase.get(r).map_err(|_| null("phase"))? {
                        None => 0,
                        Some(s) => parse_phase(s).ok_or_else(|| {
                            invalid(at, format!("phase '{s}' is neither 'eval' nor 'step'"))
                        })?,
                    };
                    let test = match split.get(r).map_err(|_| null("split"))? {
                        None => None,
                        Some(s) => Some(parse_split(s).ok_or_else(|| {
                            invalid(at, format!("split '{s}' is neither 'train' nor 'test'"))
                        })?),
                    };
                    let row = Row {
                        run: need(&run, "run")?,
                        phase,
                        epoch: need(&epoch, "epoch")?,
                        example: ExKey::Int(need(&example, "example_id")?),
                        label: need(&label, "label")?,
                        orig_label: int(&orig_label, "orig_label")?,
                        test,
                        position: int(&position, "position").unwrap_or(None),
                        batch: int(&batch_no, "batch").unwrap_or(None),
                        init_seed: int(&init_seed, "init_seed")?,
                        order_seed: int(&order_seed, "order_seed")?,
                        logits: &values.values()[lo..hi],
                    };
                    f(&row, at)?;
                }
            }
        }
        Ok(())
    }

    fn extras(&mut self) -> Result<Option<ExampleExtras>, ImportError> {
        let Some(root) = &self.export_root else {
            return Ok(None);
        };
        let mut x = ExampleExtras::default();
        read_examples(&root.join("examples.parquet"), &mut x)?;
        read_run_times(&root.join("runs.parquet"), &mut x)?;
        Ok(Some(x))
    }
}

/// Class names and source ids from a trainlog export's `examples.parquet`, if it has them.
fn read_examples(path: &Path, x: &mut ExampleExtras) -> Result<(), ImportError> {
    if !path.is_file() {
        return Ok(());
    }
    let f = File::open(path).map_err(io_err(path))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f)?;
    let schema = b.schema().clone();
    let idx = |n: &str| schema.index_of(n).ok();
    let (Some(id), Some(source), Some(label), Some(name)) = (
        idx("example_id"),
        idx("source_id"),
        idx("label"),
        idx("class_name"),
    ) else {
        return Ok(());
    };
    for batch in b.build()? {
        let batch = batch?;
        let ids = cast(batch.column(id), &DataType::Int64)?;
        let ids = ids.as_primitive::<Int64Type>();
        let labels = cast(batch.column(label), &DataType::Int64)?;
        let labels = labels.as_primitive::<Int64Type>();
        let sources = cast(batch.column(source), &DataType::Utf8)?;
        let sources = sources.as_string::<i32>();
        let names = cast(batch.column(name), &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        for r in 0..batch.num_rows() {
            if ids.is_null(r) {
                continue;
            }
            if !sources.is_null(r) {
                x.source_ids
                    .insert(ids.value(r), sources.value(r).to_string());
            }
            if !labels.is_null(r) && !names.is_null(r) {
                x.class_names
                    .insert(labels.value(r), names.value(r).to_string());
            }
        }
    }
    Ok(())
}

/// When each run of a trainlog export's `runs.parquet` started and finished, if it says.
fn read_run_times(path: &Path, x: &mut ExampleExtras) -> Result<(), ImportError> {
    if !path.is_file() {
        return Ok(());
    }
    let f = File::open(path).map_err(io_err(path))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f)?;
    let schema = b.schema().clone();
    let idx = |n: &str| schema.index_of(n).ok();
    let (Some(id), Some(started), Some(finished)) =
        (idx("run_id"), idx("started_at"), idx("finished_at"))
    else {
        return Ok(());
    };
    for batch in b.build()? {
        let batch = batch?;
        let ids = cast(batch.column(id), &DataType::Int64)?;
        let ids = ids.as_primitive::<Int64Type>();
        let started = cast(batch.column(started), &DataType::Utf8)?;
        let started = started.as_string::<i32>();
        let finished = cast(batch.column(finished), &DataType::Utf8)?;
        let finished = finished.as_string::<i32>();
        for r in 0..batch.num_rows() {
            if ids.is_null(r) || started.is_null(r) {
                continue;
            }
            let end = (!finished.is_null(r)).then(|| finished.value(r).to_string());
            x.run_times
                .insert(ids.value(r), (started.value(r).to_string(), end));
        }
    }
    Ok(())
}
