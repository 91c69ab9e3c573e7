//! The user's own dataset: a CSV file (`.csv`, `.tsv` tab-separated, any other extension read as
//! comma-separated) or a Parquet file (`.parquet`, `.pq`).
//!
//! Layout:
//! - `label` (required): integers or class names. If every label is an integer the classes are
//!   the distinct integers in numeric order, named by their decimal strings; otherwise the
//!   distinct strings in lexicographic order.
//! - `id` (optional): kept as the example's `source_id` (default: the 0-based row index).
//! - `split` (optional): `train` or `test` (any case). Without it, a seeded 80/20 split.
//! - `text` (optional): character-level tokens, vocabulary from the train split, unknown
//!   characters mapped to [`UNK`], left-padded with [`PAD`].
//! - every other column is a numeric sequence column, one value per time step in file order
//!   (only when there is no `text` column). Values are used as given, not standardised.
//!
//! Every error is one line that says what is wrong and how to fix it.

use super::{Dataset, DatasetError, Example, Inputs, Split, PAD, UNK};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Share of the rows that go to the train split when the file has no `split` column.
const TRAIN_FRACTION: f64 = 0.8;

/// The rule a non-number in a sequence column breaks, said in every such error.
const SEQ_RULE: &str =
    "every column other than label, id, split and text is a sequence column and must hold a \
     number in every row";

/// Loads a CSV or Parquet dataset. `split_seed` seeds the 80/20 train/test split used when the
/// file has no `split` column.
pub fn load(path: &Path, split_seed: u64) -> Result<Dataset, DatasetError> {
    if !path.exists() {
        return Err(DatasetError::MissingFile(path.to_path_buf()));
    }
    if path.is_dir() {
        return Err(bad(
            path,
            "is a directory: give the path of a .csv or .parquet file",
        ));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let raw = match ext.as_str() {
        "parquet" | "pq" => read_parquet(path)?,
        "tsv" => read_csv(path, b'\t')?,
        _ => read_csv(path, b',')?,
    };
    build(path, raw, split_seed)
}

fn bad(path: &Path, reason: impl Into<String>) -> DatasetError {
    // The message becomes one CLI line: no line breaks, whatever the file held.
    let reason: String = reason
        .into()
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    DatasetError::BadFile {
        path: path.to_path_buf(),
        reason,
    }
}

fn io_err(path: &Path, source: std::io::Error) -> DatasetError {
    DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A user value quoted for a message: escaped and cut short.
fn show(v: &str) -> String {
    const MAX: usize = 40;
    let escaped: String = v.escape_debug().collect();
    if escaped.chars().count() > MAX {
        let cut: String = escaped.chars().take(MAX).collect();
        format!("'{cut}…'")
    } else {
        format!("'{escaped}'")
    }
}

/// A list of names for a message, cut short.
fn list(names: &[String]) -> String {
    const MAX: usize = 12;
    let mut s = names
        .iter()
        .take(MAX)
        .map(|n| n.escape_debug().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX {
        s.push_str(&format!(", … ({} more)", names.len() - MAX));
    }
    s
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Label,
    Id,
    Split,
    Text,
    Seq,
    /// A pandas index column (`__index_level_0__`) that pyarrow adds; not data.
    Ignored,
}

/// Assigns a role to every column and checks that the header makes a dataset.
fn roles(path: &Path, names: &[String]) -> Result<Vec<Role>, DatasetError> {
    let mut seen = BTreeSet::new();
    for (c, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(bad(
                path,
                format!(
                    "column {} of the header has no name: name every column (an unnamed first \
                     column is often a pandas index: write the file with index=False)",
                    c + 1
                ),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(bad(
                path,
                format!(
                    "column {} appears twice in the header: give every column a unique name",
                    show(name)
                ),
            ));
        }
    }
    let roles: Vec<Role> = names
        .iter()
        .map(|n| match n.as_str() {
            "label" => Role::Label,
            "id" => Role::Id,
            "split" => Role::Split,
            "text" => Role::Text,
            n if n.starts_with("__index_level_") && n.ends_with("__") => Role::Ignored,
            _ => Role::Seq,
        })
        .collect();
    if !roles.contains(&Role::Label) {
        let mut hint = String::new();
        if let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case("label")) {
            hint = format!(
                " (column names are case-sensitive: rename {} to `label`)",
                show(n)
            );
        } else if names.len() == 1 && (names[0].contains(';') || names[0].contains('\t')) {
            hint = " (the header looks separated by ';' or tabs: use commas, or a .tsv \
                     extension for tabs)"
                .into();
        }
        return Err(bad(
            path,
            format!(
                "has no `label` column (columns found: {}): add a `label` column holding each \
                 row's class, an integer or a class name{hint}",
                list(names)
            ),
        ));
    }
    let seq: Vec<String> = names
        .iter()
        .zip(&roles)
        .filter(|(_, r)| **r == Role::Seq)
        .map(|(n, _)| n.clone())
        .collect();
    if roles.contains(&Role::Text) && !seq.is_empty() {
        return Err(bad(
            path,
            format!(
                "has a `text` column and also other columns ({}) that would be read as numeric \
                 sequences: a file holds either text or numeric sequences, so drop those columns",
                list(&seq)
            ),
        ));
    }
    if !roles.contains(&Role::Text) && seq.is_empty() {
        return Err(bad(
            path,
            "has no input columns: add a `text` column, or numeric sequence columns (every \
             column other than label, id, split and text, one per time step)",
        ));
    }
    Ok(roles)
}

/// A file's rows, read but not yet interpreted (labels and splits are still text).
struct Raw {
    n_rows: usize,
    labels: Vec<Option<String>>,
    ids: Option<Vec<Option<String>>>,
    splits: Option<Vec<Option<String>>>,
    texts: Option<Vec<Option<String>>>,
    seq_len: usize,
    /// Row-major, `seq_len` values per row.
    values: Vec<f32>,
    /// For CSV, the line each data row starts on (for messages).
    lines: Option<Vec<u64>>,
}

impl Raw {
    fn new(roles: &[Role], lines: bool) -> Raw {
        let has = |r| roles.contains(&r);
        Raw {
            n_rows: 0,
            labels: Vec::new(),
            ids: has(Role::Id).then(Vec::new),
            splits: has(Role::Split).then(Vec::new),
            texts: has(Role::Text).then(Vec::new),
            seq_len: roles.iter().filter(|r| **r == Role::Seq).count(),
            values: Vec::new(),
            lines: lines.then(Vec::new),
        }
    }

    /// Where row `i` (0-based) is, for messages: `row 3` or `row 3 (line 4)`.
    fn at(&self, i: usize) -> String {
        row_at(i, self.lines.as_ref().map(|l| l[i]))
    }
}

fn row_at(i: usize, line: Option<u64>) -> String {
    match line {
        Some(line) => format!("row {} (line {line})", i + 1),
        None => format!("row {}", i + 1),
    }
}

/// The error for a sequence cell that holds no usable number.
fn not_a_number(path: &Path, at: &str, column: &str, value: Option<&str>) -> DatasetError {
    match value {
        None => bad(
            path,
            format!("{at}, column {column}: the value is missing (null): {SEQ_RULE}"),
        ),
        Some("") => bad(path, format!("{at}, column {column} is empty: {SEQ_RULE}")),
        Some(v) => match v.trim().parse::<f64>() {
            // NaN, an infinity, or too large for the 32-bit floats the model uses.
            Ok(_) => bad(
                path,
                format!(
                    "{at}, column {column}: {} is not a finite 32-bit number (sequence values \
                     must be finite and within ±3.4e38: fix or remove the row)",
                    show(v)
                ),
            ),
            Err(_) => bad(
                path,
                format!(
                    "{at}, column {column}: {} is not a number ({SEQ_RULE})",
                    show(v)
                ),
            ),
        },
    }
}

/// A sequence value, if it is a finite number that fits an f32.
fn finite(v: f64) -> Option<f32> {
    let x = v as f32;
    x.is_finite().then_some(x)
}

fn parse_number(s: &str) -> Option<f32> {
    s.trim().parse::<f64>().ok().and_then(finite)
}

fn read_csv(path: &Path, delimiter: u8) -> Result<Raw, DatasetError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(BufReader::new(file));
    let header = reader.headers().map_err(|e| csv_err(path, e))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(empty(path));
    }
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    let roles = roles(path, &names)?;
    let mut raw = Raw::new(&roles, true);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_err(path, e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != names.len() {
            return Err(bad(
                path,
                format!(
                    "line {line} has {} fields but the header has {}: every row needs one value \
                     per column (look for a missing or extra comma, and quote values that \
                     contain commas)",
                    record.len(),
                    names.len()
                ),
            ));
        }
        let row = raw.n_rows;
        for ((role, name), v) in roles.iter().zip(&names).zip(record.iter()) {
            let cell = Some(v.to_string());
            match role {
                Role::Label => raw.labels.push(cell),
                Role::Id => raw.ids.as_mut().expect("id column").push(cell),
                Role::Split => raw.splits.as_mut().expect("split column").push(cell),
                Role::Text => raw.texts.as_mut().expect("text column").push(cell),
                Role::Seq => match parse_number(v) {
                    Some(x) => raw.values.push(x),
                    None => {
                        return Err(not_a_number(path, &row_at(row, Some(line)), name, Some(v)))
                    }
                },
                Role::Ignored => {}
            }
        }
        raw.lines.as_mut().expect("lines").push(line);
        raw.n_rows += 1;
    }
    if raw.n_rows == 0 {
        return Err(empty(path));
    }
    Ok(raw)
}

fn empty(path: &Path) -> DatasetError {
    bad(
        path,
        "is empty: expected a header with a `label` column and at least one row",
    )
}

fn csv_err(path: &Path, e: csv::Error) -> DatasetError {
    let line = e.position().map_or(0, |p| p.line());
    let msg = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => io_err(path, source),
        csv::ErrorKind::Utf8 { .. } => bad(
            path,
            format!("line {line} is not valid UTF-8: save the file as UTF-8"),
        ),
        _ => bad(
            path,
            format!("cannot read it as CSV ({msg}): check the file's format"),
        ),
    }
}

fn read_parquet(path: &Path) -> Result<Raw, DatasetError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        bad(
            path,
            format!(
                "cannot read it as Parquet ({e}): check that it is a valid Parquet file (a CSV \
                 file needs another extension, such as .csv)"
            ),
        )
    };
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(&e))?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    if names.is_empty() {
        return Err(empty(path));
    }
    let roles = roles(path, &names)?;
    // Check every column's type before reading any rows.
    for ((role, name), field) in roles.iter().zip(&names).zip(schema.fields()) {
        let dt = field.data_type();
        let ok = match role {
            Role::Label => {
                !matches!(
                    dt,
                    DataType::Float16
                        | DataType::Float32
                        | DataType::Float64
                        | DataType::Decimal32(..)
                        | DataType::Decimal64(..)
                        | DataType::Decimal128(..)
                        | DataType::Decimal256(..)
                ) && arrow::compute::can_cast_types(dt, &DataType::Utf8)
            }
            Role::Id | Role::Split | Role::Text => {
                arrow::compute::can_cast_types(dt, &DataType::Utf8)
            }
            Role::Seq => dt.is_numeric() || is_string(dt),
            Role::Ignored => true,
        };
        if !ok {
            let want = match role {
                Role::Label => "labels must be integers or class names (strings)",
                Role::Seq => SEQ_RULE,
                _ => "it must hold strings",
            };
            return Err(bad(
                path,
                format!("column {name} has type {dt}: {want}; convert the column"),
            ));
        }
    }
    let reader = builder.build().map_err(|e| unreadable(&e))?;
    let mut raw = Raw::new(&roles, false);
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&e))?;
        let first = raw.n_rows;
        let n = batch.num_rows();
        // Sequence columns of this batch: numbers, or strings to parse.
        let mut seq: Vec<(&str, SeqCol)> = Vec::new();
        for (c, (role, name)) in roles.iter().zip(&names).enumerate() {
            let col = batch.column(c);
            match role {
                Role::Label => raw.labels.extend(strings(path, col)?),
                Role::Id => raw.ids.as_mut().expect("id").extend(strings(path, col)?),
                Role::Split => raw
                    .splits
                    .as_mut()
                    .expect("split")
                    .extend(strings(path, col)?),
                Role::Text => raw
                    .texts
                    .as_mut()
                    .expect("text")
                    .extend(strings(path, col)?),
                Role::Seq => {
                    let col = if is_string(col.data_type()) {
                        SeqCol::Str(strings(path, col)?)
                    } else {
                        let f = arrow::compute::cast(col, &DataType::Float64).map_err(|e| {
                            bad(
                                path,
                                format!("cannot convert column {name} to numbers ({e})"),
                            )
                        })?;
                        SeqCol::Num(f.as_primitive::<Float64Type>().iter().collect())
                    };
                    seq.push((name, col));
                }
                Role::Ignored => {}
            }
        }
        for r in 0..n {
            for (name, col) in &seq {
                let x = match col {
                    SeqCol::Num(v) => v[r].and_then(finite),
                    SeqCol::Str(v) => v[r].as_deref().and_then(parse_number),
                };
                match x {
                    Some(x) => raw.values.push(x),
                    None => {
                        let shown = match col {
                            SeqCol::Num(v) => v[r].map(|x| x.to_string()),
                            SeqCol::Str(v) => v[r].clone(),
                        };
                        return Err(not_a_number(
                            path,
                            &row_at(first + r, None),
                            name,
                            shown.as_deref(),
                        ));
                    }
                }
            }
        }
        raw.n_rows += n;
    }
    if raw.n_rows == 0 {
        return Err(empty(path));
    }
    Ok(raw)
}

/// One batch of a Parquet sequence column.
enum SeqCol {
    Num(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
}

fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

/// A column as optional strings (null → None).
fn strings(path: &Path, col: &ArrayRef) -> Result<Vec<Option<String>>, DatasetError> {
    let s = arrow::compute::cast(col, &DataType::Utf8)
        .map_err(|e| bad(path, format!("cannot read a column as text ({e})")))?;
    Ok(s.as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// Turns the rows into a dataset: classes, splits and inputs.
fn build(path: &Path, raw: Raw, split_seed: u64) -> Result<Dataset, DatasetError> {
    let n = raw.n_rows;

    // Labels.
    let mut labels: Vec<&str> = Vec::with_capacity(n);
    for (i, l) in raw.labels.iter().enumerate() {
        match l.as_deref().map(str::trim) {
            Some(l) if !l.is_empty() => labels.push(l),
            _ => {
                return Err(bad(
                    path,
                    format!(
                        "{}: the label is missing: every row needs a label (an integer or a \
                         class name)",
                        raw.at(i)
                    ),
                ))
            }
        }
    }
    let ints: Option<Vec<i64>> = labels.iter().map(|l| l.parse().ok()).collect();
    let (class_names, label_of): (Vec<String>, Vec<u32>) = match ints {
        Some(ints) => {
            let classes: Vec<i64> = ints
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let idx = ints
                .iter()
                .map(|v| classes.binary_search(v).expect("class") as u32)
                .collect();
            (classes.iter().map(i64::to_string).collect(), idx)
        }
        None => {
            let classes: Vec<&str> = labels
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let idx = labels
                .iter()
                .map(|v| classes.binary_search(v).expect("class") as u32)
                .collect();
            (classes.iter().map(|s| s.to_string()).collect(), idx)
        }
    };
    // Texts and splits, checked row by row first so that a bad row is named.
    let texts: Option<Vec<Vec<char>>> = match &raw.texts {
        None => None,
        Some(texts) => {
            let mut out = Vec::with_capacity(n);
            for (i, t) in texts.iter().enumerate() {
                match t.as_deref() {
                    Some(t) if !t.is_empty() => out.push(t.chars().collect()),
                    _ => {
                        return Err(bad(
                            path,
                            format!(
                                "{}: the text is empty: every row needs at least one character \
                                 (remove the row or fill in its text)",
                                raw.at(i)
                            ),
                        ))
                    }
                }
            }
            Some(out)
        }
    };

    // Splits.
    let splits: Vec<Split> = match &raw.splits {
        Some(col) => {
            let mut out = Vec::with_capacity(n);
            for (i, s) in col.iter().enumerate() {
                let v = s.as_deref().map(str::trim);
                match v.map(str::to_ascii_lowercase).as_deref() {
                    Some("train") => out.push(Split::Train),
                    Some("test") => out.push(Split::Test),
                    _ => {
                        let shown = v.map_or("null (missing)".to_string(), show);
                        return Err(bad(
                            path,
                            format!(
                                "{}: split is {shown}: the split column must say train or test \
                                 in every row (or drop it for a seeded 80/20 split)",
                                raw.at(i)
                            ),
                        ));
                    }
                }
            }
            out
        }
        None => {
            let mut order: Vec<usize> = (0..n).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(split_seed);
            order.shuffle(&mut rng);
            let n_train = (TRAIN_FRACTION * n as f64).round() as usize;
            let mut out = vec![Split::Test; n];
            for &i in &order[..n_train] {
                out[i] = Split::Train;
            }
            out
        }
    };
    // Classes, checked after the row-level errors above.
    let mut counts = vec![0usize; class_names.len()];
    for &l in &label_of {
        counts[l as usize] += 1;
    }
    if let Some(c) = counts.iter().position(|&k| k == 1) {
        return Err(bad(
            path,
            format!(
                "class {} has only one example: every class needs at least two (remove it or add \
                 examples)",
                show(&class_names[c])
            ),
        ));
    }
    if class_names.len() < 2 {
        return Err(bad(
            path,
            format!(
                "every row has the label {}: a classifier needs at least two classes",
                show(&class_names[0])
            ),
        ));
    }
    if !splits.contains(&Split::Train) {
        return Err(bad(
            path,
            "has no train rows: mark some rows split=train (or drop the split column for a \
             seeded 80/20 split)",
        ));
    }
    let mut trained = vec![false; class_names.len()];
    for (&l, &s) in label_of.iter().zip(&splits) {
        if s == Split::Train {
            trained[l as usize] = true;
        }
    }
    if let Some(c) = trained.iter().position(|&t| !t) {
        let fix = if raw.splits.is_some() {
            "mark at least one of its rows split=train".to_string()
        } else {
            format!(
                "add examples of it, choose another split seed ({}:split_seed=N) or add a \
                 split column",
                path.display()
            )
        };
        return Err(bad(
            path,
            format!(
                "class {} has no train example{}: {fix}",
                show(&class_names[c]),
                if raw.splits.is_some() {
                    ""
                } else {
                    " after the seeded 80/20 split"
                }
            ),
        ));
    }

    // Inputs.
    let (inputs, lengths): (Inputs, Vec<u32>) = match texts {
        None => (
            Inputs::Numeric {
                seq_len: raw.seq_len,
                features: 1,
                values: raw.values,
            },
            vec![raw.seq_len as u32; n],
        ),
        Some(texts) => {
            let chars: BTreeSet<char> = texts
                .iter()
                .zip(&splits)
                .filter(|(_, s)| **s == Split::Train)
                .flat_map(|(t, _)| t.iter().copied())
                .collect();
            let token: HashMap<char, i64> = chars
                .iter()
                .enumerate()
                .map(|(k, &c)| (c, k as i64 + 2))
                .collect();
            let mut vocab = vec!["<pad>".to_string(), "<unk>".to_string()];
            vocab.extend(chars.iter().map(char::to_string));
            debug_assert_eq!((PAD, UNK), (0, 1));
            let max_len = texts.iter().map(Vec::len).max().unwrap_or(0);
            let mut tokens = Vec::with_capacity(n * max_len);
            for t in &texts {
                tokens.extend(std::iter::repeat_n(PAD, max_len - t.len()));
                tokens.extend(t.iter().map(|c| token.get(c).copied().unwrap_or(UNK)));
            }
            let lengths = texts.iter().map(|t| t.len() as u32).collect();
            (
                Inputs::Tokens {
                    max_len,
                    vocab,
                    tokens,
                },
                lengths,
            )
        }
    };

    let examples = (0..n)
        .map(|i| Example {
            source_id: match &raw.ids {
                Some(ids) => ids[i].as_deref().map(str::trim).unwrap_or("").to_string(),
                None => i.to_string(),
            },
            split: splits[i],
            label: label_of[i],
            orig_label: label_of[i],
            length: lengths[i],
        })
        .collect();

    Ok(Dataset {
        spec: path.display().to_string(),
        class_names,
        examples,
        inputs,
        label_noise: 0.0,
    })
}
