//! The log as a Hive-partitioned Parquet dataset:
//!
//! ```text
//! DIR/observations/experiment=<name>/run_id=<id>/part-00000.parquet   (part-00001… past 16 Mi rows)
//! DIR/runs.parquet              the runs table
//! DIR/examples.parquet          the dataset's examples, with the class name of their label
//! DIR/example_metrics.parquet   per-example metrics (when the runs have them)
//! ```
//!
//! The observation files hold the columns of the `dynamics` view ([`OBSERVATIONS_SCHEMA`])
//! except the partition columns `experiment` and `run_id`, which are in the path (Hive style:
//! readers add them back, e.g. DuckDB's `hive_partitioning = true`). Rows are in primary-key
//! order (phase, epoch, example_id) within a run; row groups of 1 Mi rows, zstd, dictionary
//! encoding for the low-cardinality columns, delta encoding for `example_id` and
//! byte-stream-split for the floats (`loss`, `p_true`, `margin`, the logits).
//!
//! Streaming: one prepared statement per run reads the observations in storage order into
//! record batches of 64 Ki rows, which a second thread encodes and writes as they come; at
//! most a few batches and one row group are in memory, whatever the size of the run.

use super::{examples_of_run, io_err, prepare_dir, resolve, AtomicFile, ExportError, Scope};
use crate::capture::{stored_values, LogitsFormat};
use crate::store::Store;
use arrow::array::{
    ArrayRef, Float32Array, Float64Array, Float64Builder, Int32Array, Int64Array, Int64Builder,
    Int8Array, ListArray, StringArray, StringBuilder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use rusqlite::types::ValueRef;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

/// The columns of the `dynamics` view that are in the Hive path, not in the files.
pub const PARTITION_COLUMNS: [&str; 2] = ["experiment", "run_id"];

/// The schema of the observation part files: the `dynamics` view's columns, in its order,
/// without the partition columns `experiment` (text) and `run_id` (Int64).
pub static OBSERVATIONS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("init_seed", DataType::Int64, false),
        Field::new("order_seed", DataType::Int64, false),
        Field::new("epoch", DataType::Int32, false),
        Field::new("example_id", DataType::Int64, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("label", DataType::Int32, false),
        Field::new("orig_label", DataType::Int32, false),
        Field::new("phase", DataType::Utf8, false),
        Field::new("position", DataType::Int32, true),
        Field::new("batch", DataType::Int32, true),
        Field::new("loss", DataType::Float64, false),
        Field::new("p_true", DataType::Float64, false),
        Field::new("margin", DataType::Float64, false),
        Field::new("pred", DataType::Int32, false),
        Field::new("correct", DataType::Int8, false),
        Field::new("logits", DataType::List(logit_field()), true),
    ]))
});

/// The element field of the `logits` list column.
pub fn logit_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float32, false))
}

/// How the export cuts and compresses its files.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// Rows per record batch handed from the SQLite reader to the encoder.
    pub batch_rows: usize,
    /// Rows per row group.
    pub row_group_rows: usize,
    /// A run's observations start a new part file past this many rows.
    pub file_rows: usize,
    /// zstd level (1 = fastest).
    pub zstd_level: i32,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            batch_rows: 64 * 1024,
            row_group_rows: 1024 * 1024,
            file_rows: 16 * 1024 * 1024,
            zstd_level: 1,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub experiment: String,
    pub runs: Vec<i64>,
    /// Observation rows.
    pub rows: u64,
    /// Every file written, with its size in bytes.
    pub files: Vec<(PathBuf, u64)>,
    /// Bytes of the observation part files.
    pub observation_bytes: u64,
    pub seconds: f64,
}

/// The entries of DIR an export writes (removed first with `force`).
pub const PARQUET_ENTRIES: [&str; 4] = [
    "observations",
    "runs.parquet",
    "examples.parquet",
    "example_metrics.parquet",
];

/// Writer properties for the observation files.
pub fn observation_properties(opts: &ParquetOptions) -> Result<WriterProperties, ExportError> {
    let schema = OBSERVATIONS_SCHEMA.clone();
    let col = |name: &str| schema.index_of(name).expect("a column of the schema") as i32;
    let mut b = base_properties(opts)?
        .set_max_row_group_size(opts.row_group_rows)
        .set_sorting_columns(Some(
            ["phase", "epoch", "example_id"]
                .iter()
                .map(|c| SortingColumn {
                    column_idx: col(c),
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
        ));
    // Sorted ids: deltas of 1 within an epoch, next to nothing.
    for c in ["example_id", "position"] {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(c), false)
            .set_column_encoding(ColumnPath::from(c), Encoding::DELTA_BINARY_PACKED);
    }
    // Floats: the sign/exponent bytes compress, the mantissa bytes hardly.
    let logits = ColumnPath::new(vec!["logits".into(), "list".into(), "item".into()]);
    for c in [
        ColumnPath::from("loss"),
        ColumnPath::from("p_true"),
        ColumnPath::from("margin"),
        logits,
    ] {
        b = b
            .set_column_dictionary_enabled(c.clone(), false)
            .set_column_encoding(c, Encoding::BYTE_STREAM_SPLIT);
    }
    Ok(b.build())
}

fn base_properties(
    opts: &ParquetOptions,
) -> Result<parquet::file::properties::WriterPropertiesBuilder, ExportError> {
    Ok(WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(opts.zstd_level)?))
        .set_created_by(format!("trainlog {}", crate::VERSION))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "trainlog.version".to_string(),
            crate::VERSION.to_string(),
        )])))
}

/// Percent-encodes a Hive partition value (anything but letters, digits and `-_.+@,`).
pub fn hive_escape(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.+@,".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Decodes a percent-encoded Hive partition value.
pub fn hive_unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The folder of a run's part files under `DIR/observations`.
pub fn run_dir(observations: &Path, experiment: &str, run: i64) -> PathBuf {
    observations
        .join(format!("experiment={}", hive_escape(experiment)))
        .join(format!("run_id={run}"))
}

/// Column buffers of one record batch of observations.
struct Batch {
    init_seed: i64,
    order_seed: i64,
    epoch: Vec<i32>,
    example_id: Vec<i64>,
    test: Vec<bool>,
    label: Vec<i32>,
    orig_label: Vec<i32>,
    step: Vec<bool>,
    position: Vec<i32>,
    position_valid: Vec<bool>,
    batch: Vec<i32>,
    batch_valid: Vec<bool>,
    loss: Vec<f64>,
    p_true: Vec<f64>,
    margin: Vec<f64>,
    pred: Vec<i32>,
    correct: Vec<i8>,
    logit_offsets: Vec<i32>,
    logit_values: Vec<f32>,
    logit_valid: Vec<bool>,
}

impl Batch {
    fn new(cap: usize, init_seed: i64, order_seed: i64) -> Batch {
        let mut logit_offsets = Vec::with_capacity(cap + 1);
        logit_offsets.push(0);
        Batch {
            init_seed,
            order_seed,
            epoch: Vec::with_capacity(cap),
            example_id: Vec::with_capacity(cap),
            test: Vec::with_capacity(cap),
            label: Vec::with_capacity(cap),
            orig_label: Vec::with_capacity(cap),
            step: Vec::with_capacity(cap),
            position: Vec::with_capacity(cap),
            position_valid: Vec::with_capacity(cap),
            batch: Vec::with_capacity(cap),
            batch_valid: Vec::with_capacity(cap),
            loss: Vec::with_capacity(cap),
            p_true: Vec::with_capacity(cap),
            margin: Vec::with_capacity(cap),
            pred: Vec::with_capacity(cap),
            correct: Vec::with_capacity(cap),
            logit_offsets,
            logit_values: Vec::with_capacity(cap * 10),
            logit_valid: Vec::with_capacity(cap),
        }
    }

    fn len(&self) -> usize {
        self.epoch.len()
    }

    fn finish(self) -> Result<RecordBatch, ExportError> {
        let n = self.len();
        let nulls = |v: Vec<bool>| {
            let nb = NullBuffer::from(v);
            (nb.null_count() > 0).then_some(nb)
        };
        let text = |flags: &[bool], yes: &str, no: &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(flags.iter().map(|&f| {
                if f {
                    yes
                } else {
                    no
                }
            })))
        };
        let logits = ListArray::try_new(
            logit_field(),
            OffsetBuffer::new(self.logit_offsets.into()),
            Arc::new(Float32Array::from(self.logit_values)),
            nulls(self.logit_valid),
        )?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![self.init_seed; n])),
            Arc::new(Int64Array::from(vec![self.order_seed; n])),
            Arc::new(Int32Array::from(self.epoch)),
            Arc::new(Int64Array::from(self.example_id)),
            text(&self.test, "test", "train"),
            Arc::new(Int32Array::from(self.label)),
            Arc::new(Int32Array::from(self.orig_label)),
            text(&self.step, "step", "eval"),
            Arc::new(Int32Array::new(
                self.position.into(),
                nulls(self.position_valid),
            )),
            Arc::new(Int32Array::new(self.batch.into(), nulls(self.batch_valid))),
            Arc::new(Float64Array::from(self.loss)),
            Arc::new(Float64Array::from(self.p_true)),
            Arc::new(Float64Array::from(self.margin)),
            Arc::new(Int32Array::from(self.pred)),
            Arc::new(Int8Array::from(self.correct)),
            Arc::new(logits),
        ];
        Ok(RecordBatch::try_new(OBSERVATIONS_SCHEMA.clone(), columns)?)
    }
}

fn int(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        _ => None,
    }
}

fn real(v: ValueRef<'_>) -> f64 {
    match v {
        ValueRef::Real(f) => f,
        ValueRef::Integer(i) => i as f64,
        _ => f64::NAN,
    }
}

/// What the encoder thread is told.
enum Msg {
    /// The next batches belong to a new run: its part files go into this folder.
    Run(PathBuf),
    Batch(RecordBatch),
}

/// The encoder thread: writes batches into part files, rolling over past `file_rows`.
fn encode(
    rx: Receiver<Msg>,
    props: WriterProperties,
    file_rows: usize,
) -> Result<Vec<(PathBuf, u64)>, ExportError> {
    struct Open {
        file: AtomicFile,
        writer: ArrowWriter<BufWriter<File>>,
        rows: usize,
    }
    fn close(open: Open, files: &mut Vec<(PathBuf, u64)>) -> Result<(), ExportError> {
        // into_inner writes the footer and hands back the file's writer.
        let mut inner = open.writer.into_inner()?;
        std::io::Write::flush(&mut inner).map_err(io_err(open.file.path()))?;
        drop(inner);
        let path = open.file.commit()?;
        let len = std::fs::metadata(&path).map_err(io_err(&path))?.len();
        files.push((path, len));
        Ok(())
    }
    let mut files = Vec::new();
    let mut dir: Option<PathBuf> = None;
    let mut part = 0usize;
    let mut open: Option<Open> = None;
    for msg in rx {
        match msg {
            Msg::Run(d) => {
                if let Some(o) = open.take() {
                    close(o, &mut files)?;
                }
                std::fs::create_dir_all(&d).map_err(io_err(&d))?;
                dir = Some(d);
                part = 0;
            }
            Msg::Batch(batch) => {
                // A batch may straddle the end of a part file: its rows are split so that
                // every part file but a run's last holds exactly `file_rows` rows.
                let mut offset = 0;
                while offset < batch.num_rows() {
                    if open.as_ref().is_some_and(|o| o.rows >= file_rows) {
                        close(open.take().expect("open"), &mut files)?;
                    }
                    if open.is_none() {
                        let d = dir.as_ref().expect("a run folder before its batches");
                        let (file, out) =
                            AtomicFile::create(&d.join(format!("part-{part:05}.parquet")))?;
                        part += 1;
                        let writer = ArrowWriter::try_new(
                            out,
                            OBSERVATIONS_SCHEMA.clone(),
                            Some(props.clone()),
                        )?;
                        open = Some(Open {
                            file,
                            writer,
                            rows: 0,
                        });
                    }
                    let o = open.as_mut().expect("open");
                    let n = (file_rows - o.rows).min(batch.num_rows() - offset);
                    if offset == 0 && n == batch.num_rows() {
                        o.writer.write(&batch)?;
                    } else {
                        o.writer.write(&batch.slice(offset, n))?;
                    }
                    o.rows += n;
                    offset += n;
                }
            }
        }
    }
    if let Some(o) = open.take() {
        close(o, &mut files)?;
    }
    Ok(files)
}

/// Exports the scope's runs into `dir` (see the module documentation). `dir` must be missing
/// or empty unless `force`.
pub fn export_parquet(
    store: &Store,
    scope: &Scope,
    dir: &Path,
    force: bool,
    opts: &ParquetOptions,
) -> Result<ExportReport, ExportError> {
    let start = Instant::now();
    let (experiment, runs) = resolve(store, scope)?;
    prepare_dir(dir, &PARQUET_ENTRIES, force)?;
    let observations = dir.join("observations");
    std::fs::create_dir_all(&observations).map_err(io_err(&observations))?;

    let props = observation_properties(opts)?;
    let (tx, rx) = sync_channel::<Msg>(2);
    let file_rows = opts.file_rows.max(1);
    let (rows, mut files) = std::thread::scope(|s| -> Result<_, ExportError> {
        let encoder = s.spawn(move || encode(rx, props, file_rows));
        let read = (|| -> Result<u64, ExportError> {
            let mut rows = 0u64;
            for &run in &runs {
                let d = run_dir(&observations, &experiment, run);
                if tx.send(Msg::Run(d)).is_err() {
                    return Ok(rows);
                }
                match read_run(store, run, opts.batch_rows, &mut |b| {
                    tx.send(Msg::Batch(b)).is_ok()
                })? {
                    Some(n) => rows += n,
                    None => return Ok(rows),
                }
            }
            Ok(rows)
        })();
        drop(tx);
        let written = encoder.join().map_err(|_| ExportError::WriterThread)?;
        // The encoder's error explains a reader that stopped because the channel closed.
        let files = written?;
        Ok((read?, files))
    })?;

    let observation_bytes = files.iter().map(|f| f.1).sum();
    let ids = serde_json::to_string(&runs).expect("run ids as JSON");
    let small = base_properties(opts)?.build();
    files.push(write_table(
        store,
        "SELECT run_id, experiment, init_seed, order_seed, status, model, config, epochs, capture,
                trainlog_version, libtorch_version, device, started_at, finished_at, message
         FROM runs WHERE run_id IN (SELECT value FROM json_each(?1)) ORDER BY run_id",
        &ids,
        &[
            ("run_id", Kind::Int, false),
            ("experiment", Kind::Text, false),
            ("init_seed", Kind::Int, false),
            ("order_seed", Kind::Int, false),
            ("status", Kind::Text, false),
            ("model", Kind::Text, false),
            ("config", Kind::Text, false),
            ("epochs", Kind::Int, false),
            ("capture", Kind::Text, false),
            ("trainlog_version", Kind::Text, false),
            ("libtorch_version", Kind::Text, false),
            ("device", Kind::Text, false),
            ("started_at", Kind::Text, false),
            ("finished_at", Kind::Text, true),
            ("message", Kind::Text, true),
        ],
        &dir.join("runs.parquet"),
        &small,
    )?);
    files.push(write_table(
        store,
        "SELECT e.example_id, e.source_id, e.split, e.label, e.orig_label, e.flipped, e.length,
                c.name AS class_name
         FROM examples e
         JOIN classes c ON c.dataset_id = e.dataset_id AND c.class = e.label
         WHERE e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = ?1)
         ORDER BY e.example_id",
        &experiment,
        &[
            ("example_id", Kind::Int, false),
            ("source_id", Kind::Text, false),
            ("split", Kind::Text, false),
            ("label", Kind::Int, false),
            ("orig_label", Kind::Int, false),
            ("flipped", Kind::Int, false),
            ("length", Kind::Int, false),
            ("class_name", Kind::Text, false),
        ],
        &dir.join("examples.parquet"),
        &small,
    )?);
    let metrics: i64 = store.conn().query_row(
        "SELECT count(*) FROM example_metrics WHERE run_id IN (SELECT value FROM json_each(?1))",
        [&ids],
        |r| r.get(0),
    )?;
    if metrics > 0 {
        files.push(write_table(
            store,
            "SELECT run_id, phase, example_id, epochs, first_correct_epoch, learned_epoch,
                    forgetting_events, unforgettable, confidence, variability, correctness,
                    region, aum
             FROM example_metrics WHERE run_id IN (SELECT value FROM json_each(?1))
             ORDER BY run_id, phase, example_id",
            &ids,
            &[
                ("run_id", Kind::Int, false),
                ("phase", Kind::Text, false),
                ("example_id", Kind::Int, false),
                ("epochs", Kind::Int, false),
                ("first_correct_epoch", Kind::Int, true),
                ("learned_epoch", Kind::Int, true),
                ("forgetting_events", Kind::Int, false),
                ("unforgettable", Kind::Int, false),
                ("confidence", Kind::Real, false),
                ("variability", Kind::Real, false),
                ("correctness", Kind::Real, false),
                ("region", Kind::Text, false),
                ("aum", Kind::Real, false),
            ],
            &dir.join("example_metrics.parquet"),
            &small,
        )?);
    }
    Ok(ExportReport {
        experiment,
        runs,
        rows,
        files,
        observation_bytes,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Reads one run's observations in primary-key order, handing batches to `emit` (which
/// returns false to stop). Returns the number of rows, or None if stopped.
fn read_run(
    store: &Store,
    run: i64,
    batch_rows: usize,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<Option<u64>, ExportError> {
    read_epochs(store, run, (0, i64::MAX), batch_rows, emit)
}

/// [`read_run`] for the epochs `epochs.0..=epochs.1` only.
fn read_epochs(
    store: &Store,
    run: i64,
    epochs: (i64, i64),
    batch_rows: usize,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<Option<u64>, ExportError> {
    let conn = store.conn();
    let (init_seed, order_seed, format): (i64, i64, String) = conn.query_row(
        "SELECT init_seed, order_seed, logits FROM runs WHERE run_id = ?1",
        [run],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let format = LogitsFormat::parse(&format);
    let examples = examples_of_run(store, run)?;
    let batch_rows = batch_rows.max(1);
    let mut st = conn.prepare(
        "SELECT phase, epoch, example_id, position, batch, pred, loss, margin, logits
         FROM observations WHERE run_id = ?1 AND epoch BETWEEN ?2 AND ?3
         ORDER BY phase, epoch, example_id",
    )?;
    let mut rows = st.query(rusqlite::params![run, epochs.0, epochs.1])?;
    let mut b = Batch::new(batch_rows, init_seed, order_seed);
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let example = int(r.get_ref(2)?).unwrap_or(-1);
        let info = usize::try_from(example)
            .ok()
            .and_then(|i| examples.get(i))
            .filter(|e| e.known)
            .ok_or(ExportError::UnknownExample { run, example })?;
        let pred = int(r.get_ref(5)?).unwrap_or(-1) as i32;
        b.step.push(int(r.get_ref(0)?) == Some(1));
        b.epoch.push(int(r.get_ref(1)?).unwrap_or(-1) as i32);
        b.example_id.push(example);
        b.test.push(info.test);
        b.label.push(info.label);
        b.orig_label.push(info.orig_label);
        let position = int(r.get_ref(3)?);
        b.position.push(position.unwrap_or(0) as i32);
        b.position_valid.push(position.is_some());
        let batch = int(r.get_ref(4)?);
        b.batch.push(batch.unwrap_or(0) as i32);
        b.batch_valid.push(batch.is_some());
        b.pred.push(pred);
        b.correct.push((pred == info.label) as i8);
        let blob = match r.get_ref(8)? {
            ValueRef::Blob(bytes) => Some(bytes),
            _ => None,
        };
        // Stored loss and margin (f16 or no logits), else recomputed from the f32 logits.
        let stored = |v: ValueRef<'_>| match v {
            ValueRef::Null => None,
            v => Some(real(v)),
        };
        let (loss, p_true, margin) = stored_values(
            stored(r.get_ref(6)?),
            stored(r.get_ref(7)?),
            blob.filter(|_| format == LogitsFormat::F32),
            info.label as u32,
        )
        .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        b.loss.push(loss);
        b.p_true.push(p_true);
        b.margin.push(margin);
        match blob {
            Some(bytes) => {
                b.logit_values.extend(format.decode(bytes));
                b.logit_valid.push(true);
            }
            None => b.logit_valid.push(false),
        }
        b.logit_offsets.push(b.logit_values.len() as i32);
        if b.len() == batch_rows {
            n += batch_rows as u64;
            let full = std::mem::replace(&mut b, Batch::new(batch_rows, init_seed, order_seed));
            if !emit(full.finish()?) {
                return Ok(None);
            }
        }
    }
    if b.len() > 0 {
        n += b.len() as u64;
        if !emit(b.finish()?) {
            return Ok(None);
        }
    }
    Ok(Some(n))
}

/// Writes epochs `first..=last` of a run, as this connection sees them (the recorder's open
/// transaction included), into one file
/// `dir/observations/experiment=…/LEAF/epochs-FFFFF-LLLLL.parquet`, LEAF being `run_id=N`
/// (see [`run_dir`]) or, for the run of a shard, `shard=NAME`; written under a temporary name and renamed when
/// complete. `record --parquet` calls this just before each commit. Returns the file and its
/// size.
#[allow(clippy::too_many_arguments)]
pub fn write_epochs(
    store: &Store,
    experiment: &str,
    run: i64,
    leaf: &str,
    first: u32,
    last: u32,
    dir: &Path,
    opts: &ParquetOptions,
) -> Result<(PathBuf, u64), ExportError> {
    let d = run_dir(&dir.join("observations"), experiment, run).with_file_name(leaf);
    std::fs::create_dir_all(&d).map_err(io_err(&d))?;
    let (file, out) = AtomicFile::create(&d.join(format!("epochs-{first:05}-{last:05}.parquet")))?;
    let mut writer = ArrowWriter::try_new(
        out,
        OBSERVATIONS_SCHEMA.clone(),
        Some(observation_properties(opts)?),
    )?;
    let mut failed = None;
    read_epochs(
        store,
        run,
        (first as i64, last as i64),
        opts.batch_rows,
        &mut |b| match writer.write(&b) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    )?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let mut inner = writer.into_inner()?;
    std::io::Write::flush(&mut inner).map_err(io_err(file.path()))?;
    inner.get_ref().sync_all().map_err(io_err(file.path()))?;
    drop(inner);
    let path = file.commit()?;
    let len = std::fs::metadata(&path).map_err(io_err(&path))?.len();
    Ok((path, len))
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Real,
    Text,
}

enum Col {
    Int(Int64Builder),
    Real(Float64Builder),
    Text(StringBuilder),
}

/// Streams the rows of `sql` (one text parameter) into a Parquet file, in batches.
fn write_table(
    store: &Store,
    sql: &str,
    param: &str,
    columns: &[(&str, Kind, bool)],
    path: &Path,
    props: &WriterProperties,
) -> Result<(PathBuf, u64), ExportError> {
    const BATCH: usize = 64 * 1024;
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|&(name, kind, nullable)| {
                let t = match kind {
                    Kind::Int => DataType::Int64,
                    Kind::Real => DataType::Float64,
                    Kind::Text => DataType::Utf8,
                };
                Field::new(name, t, nullable)
            })
            .collect::<Vec<_>>(),
    ));
    let new_cols = || -> Vec<Col> {
        columns
            .iter()
            .map(|c| match c.1 {
                Kind::Int => Col::Int(Int64Builder::with_capacity(BATCH)),
                Kind::Real => Col::Real(Float64Builder::with_capacity(BATCH)),
                Kind::Text => Col::Text(StringBuilder::new()),
            })
            .collect()
    };
    let finish = |cols: &mut Vec<Col>| -> Result<RecordBatch, ExportError> {
        let arrays: Vec<ArrayRef> = cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Int(b) => Arc::new(b.finish()),
                    Col::Real(b) => Arc::new(b.finish()),
                    Col::Text(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    };
    let (file, out) = AtomicFile::create(path)?;
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(props.clone()))?;
    let mut st = store.conn().prepare(sql)?;
    let mut rows = st.query([param])?;
    let mut cols = new_cols();
    let mut n = 0usize;
    while let Some(r) = rows.next()? {
        for (i, c) in cols.iter_mut().enumerate() {
            match c {
                Col::Int(b) => b.append_option(r.get::<_, Option<i64>>(i)?),
                Col::Real(b) => b.append_option(r.get::<_, Option<f64>>(i)?),
                Col::Text(b) => b.append_option(r.get::<_, Option<String>>(i)?),
            }
        }
        n += 1;
        if n == BATCH {
            writer.write(&finish(&mut cols)?)?;
            n = 0;
        }
    }
    if n > 0 {
        writer.write(&finish(&mut cols)?)?;
    }
    let mut inner = writer.into_inner()?;
    std::io::Write::flush(&mut inner).map_err(io_err(path))?;
    drop(inner);
    let path = file.commit()?;
    let len = std::fs::metadata(&path).map_err(io_err(&path))?.len();
    Ok((path, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_values_round_trip() {
        for v in ["mnist1d-20261203-200042", "a b/c=d%e", "ünï"] {
            assert_eq!(hive_unescape(&hive_escape(v)), v);
        }
        assert_eq!(hive_escape("a/b"), "a%2Fb");
    }
}
