//! Queries over the log: the canned questions in `queries/*.sql` (embedded at build time) and
//! the user's own SQL, run read-only, with named parameters, into Arrow record batches.
//!
//! A canned query file starts with a header of `--` comments:
//!
//! ```sql
//! -- NAME: one line saying what question it answers
//! -- more lines of explanation…
//! -- param NAME = DEFAULT: what it is          (a query-specific parameter, :NAME in the SQL)
//! -- footer COLUMN: label                      (a constant column shown under the table)
//! ```
//!
//! and may hold several statements, each after a `-- section: TITLE` line.

use crate::store::Store;
use arrow::array::{ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use fallible_iterator::FallibleIterator;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/queries.rs"));
}

/// The parameters every query may use; the CLI's common options set them.
pub const COMMON_PARAMS: &[(&str, &str)] = &[
    (
        "experiment",
        "--experiment: the experiment (default: the latest, or the one of --run)",
    ),
    (
        "run",
        "--run: one run (default: every completed run of the experiment)",
    ),
    (
        "model",
        "--model: the runs' model, lstm, linear, mlp or all (default: that of --run, else of the experiment's first run, so baselines added later stay out)",
    ),
    ("phase", "--phase: eval or step (default eval)"),
    ("split", "--split: train, test or all (default train)"),
];

/// A query-specific parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub default: Option<String>,
    pub help: String,
}

/// One canned query, parsed from its file.
#[derive(Debug, Clone)]
pub struct Canned {
    pub name: &'static str,
    pub summary: String,
    pub description: Vec<String>,
    pub params: Vec<ParamSpec>,
    /// (column, label) pairs shown under a table.
    pub footers: Vec<(String, String)>,
    pub sql: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no canned query named '{0}': `trainlog query --list` shows them ({1})")]
    Unknown(String, String),
    #[error("refused: trainlog query is read-only and this statement would write ({0}); copy the database if you want to change it")]
    Writes(String),
    #[error("parameter :{0} has no value: pass --param {0}=VALUE")]
    MissingParam(String),
    #[error("query {query} takes no parameter '{param}' (it takes: {accepted})")]
    UnknownParam {
        query: String,
        param: String,
        accepted: String,
    },
    #[error("the SQL is empty")]
    Empty,
    #[error("sql: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The result of one statement.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: Option<String>,
    pub batch: RecordBatch,
}

fn parse(name: &'static str, sql: &'static str) -> Canned {
    let mut c = Canned {
        name,
        summary: String::new(),
        description: Vec::new(),
        params: Vec::new(),
        footers: Vec::new(),
        sql,
    };
    for line in sql.lines() {
        let Some(text) = line.strip_prefix("--") else {
            break;
        };
        let text = text.trim();
        if let Some(p) = text.strip_prefix("param ") {
            let (decl, help) = p.split_once(':').unwrap_or((p, ""));
            let (pname, default) = match decl.split_once('=') {
                Some((n, d)) => (n.trim(), Some(d.trim().to_string())),
                None => (decl.trim(), None),
            };
            c.params.push(ParamSpec {
                name: pname.to_string(),
                default,
                help: help.trim().to_string(),
            });
        } else if let Some(f) = text.strip_prefix("footer ") {
            let (col, label) = f.split_once(':').unwrap_or((f, f));
            c.footers
                .push((col.trim().to_string(), label.trim().to_string()));
        } else if text.starts_with("section:") {
            break;
        } else if c.summary.is_empty() {
            let s = text.strip_prefix(&format!("{name}:")).unwrap_or(text);
            c.summary = s.trim().to_string();
        } else if !text.is_empty() || !c.description.is_empty() {
            c.description.push(text.to_string());
        }
    }
    while c.description.last().is_some_and(|l| l.is_empty()) {
        c.description.pop();
    }
    c
}

/// Every canned query, sorted by name.
pub fn canned() -> Vec<Canned> {
    embedded::CANNED.iter().map(|(n, s)| parse(n, s)).collect()
}

/// The report's own queries (`queries/report/*.sql`): not canned questions (`trainlog query`
/// does not list them) but the rows `trainlog report` draws that no canned query returns.
pub fn report_queries() -> Vec<Canned> {
    embedded::REPORT.iter().map(|(n, s)| parse(n, s)).collect()
}

/// The report query `name` (a programming error if missing: the names are fixed in the code).
pub fn report_query(name: &str) -> Result<Canned, QueryError> {
    report_queries()
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            QueryError::Unknown(
                format!("report/{name}"),
                report_queries()
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

/// The canned query `name`.
pub fn find(name: &str) -> Result<Canned, QueryError> {
    canned()
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            QueryError::Unknown(
                name.to_string(),
                canned()
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

/// The model whose runs a query reads by default: that of `run` when given, else that of the
/// experiment's first run (its main model: baselines recorded into the experiment afterwards,
/// `record --model linear`, stay out of its seed statistics). `None` when the experiment has
/// no runs.
pub fn default_model(
    store: &Store,
    experiment: &str,
    run: Option<i64>,
) -> Result<Option<String>, QueryError> {
    use rusqlite::OptionalExtension;
    let model = match run {
        Some(r) => store
            .conn()
            .query_row("SELECT model FROM runs WHERE run_id = ?1", [r], |row| {
                row.get(0)
            })
            .optional()?,
        None => store
            .conn()
            .query_row(
                "SELECT model FROM runs WHERE experiment = ?1 ORDER BY run_id LIMIT 1",
                [experiment],
                |row| row.get(0),
            )
            .optional()?,
    };
    Ok(model)
}

/// The values of the [`COMMON_PARAMS`]: `model` None picks [`default_model`], `Some("all")`
/// every model; `split` None means every split.
pub fn common_params(
    store: &Store,
    experiment: &str,
    run: Option<i64>,
    model: Option<&str>,
    phase: &str,
    split: Option<&str>,
) -> Result<BTreeMap<String, Value>, QueryError> {
    let model = match model {
        Some("all") => None,
        Some(m) => Some(m.to_string()),
        None => default_model(store, experiment, run)?,
    };
    let text = |v: Option<String>| v.map_or(Value::Null, Value::Text);
    Ok(BTreeMap::from([
        (
            "experiment".to_string(),
            Value::Text(experiment.to_string()),
        ),
        ("run".to_string(), run.map_or(Value::Null, Value::Integer)),
        ("model".to_string(), text(model)),
        ("phase".to_string(), Value::Text(phase.to_string())),
        ("split".to_string(), text(split.map(str::to_string))),
    ]))
}

/// A parameter value as given on the command line: an integer, a real, or text.
pub fn param_value(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        Value::Integer(i)
    } else if let Ok(f) = s.parse::<f64>() {
        Value::Real(f)
    } else {
        Value::Text(s.to_string())
    }
}

/// Splits SQL on `-- section: TITLE` lines.
fn sections(sql: &str) -> Vec<(Option<String>, String)> {
    let mut out = vec![(None, String::new())];
    for line in sql.lines() {
        if let Some(t) = line.trim().strip_prefix("-- section:") {
            out.push((Some(t.trim().to_string()), String::new()));
        } else {
            let last = out.last_mut().expect("one section");
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out
}

/// Denies every action that would change a database (the connection is read-only as well;
/// this also refuses ATTACH, DETACH and writing PRAGMAs, which read-only mode lets through).
fn guard(conn: &rusqlite::Connection) -> Arc<Mutex<Option<String>>> {
    let denied = Arc::new(Mutex::new(None));
    let d = denied.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        let refuse = match ctx.action {
            AuthAction::Select
            | AuthAction::Read { .. }
            | AuthAction::Function { .. }
            | AuthAction::Recursive => None,
            AuthAction::Pragma {
                pragma_name,
                pragma_value,
            } => pragma_value.map(|v| format!("PRAGMA {pragma_name} = {v}")),
            AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => None,
            AuthAction::Insert { table_name } => Some(format!("INSERT into {table_name}")),
            AuthAction::Update { table_name, .. } => Some(format!("UPDATE of {table_name}")),
            AuthAction::Delete { table_name } => Some(format!("DELETE from {table_name}")),
            AuthAction::Attach { filename } => Some(format!("ATTACH '{filename}'")),
            AuthAction::Detach { database_name } => Some(format!("DETACH {database_name}")),
            other => {
                let kind = format!("{other:?}");
                let word = kind.split([' ', '{', '(']).next().unwrap_or("a change");
                Some(word.to_uppercase())
            }
        };
        match refuse {
            None => Authorization::Allow,
            Some(what) => {
                *d.lock().expect("not poisoned") = Some(what);
                Authorization::Deny
            }
        }
    }));
    denied
}

/// Runs `sql` (one or more statements) read-only with named parameters. `params` holds the
/// values by name without the colon; parameters a statement does not use are ignored.
pub fn run(
    store: &Store,
    sql: &str,
    params: &BTreeMap<String, Value>,
) -> Result<Vec<Section>, QueryError> {
    let conn = store.conn();
    let denied = guard(conn);
    let result = run_guarded(conn, sql, params, &denied);
    conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    result
}

fn run_guarded(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &BTreeMap<String, Value>,
    denied: &Arc<Mutex<Option<String>>>,
) -> Result<Vec<Section>, QueryError> {
    let mut out = Vec::new();
    for (title, text) in sections(sql) {
        let mut batch = rusqlite::Batch::new(conn, &text);
        loop {
            let next = batch.next();
            if let Some(what) = denied.lock().expect("not poisoned").take() {
                return Err(QueryError::Writes(what));
            }
            let Some(mut stmt) = next? else { break };
            if !stmt.readonly() {
                return Err(QueryError::Writes(
                    stmt.expanded_sql()
                        .unwrap_or_default()
                        .chars()
                        .take(60)
                        .collect(),
                ));
            }
            for i in 1..=stmt.parameter_count() {
                let name = stmt
                    .parameter_name(i)
                    .map(|n| n.trim_start_matches([':', '@', '$']).to_string())
                    .unwrap_or_default();
                let v = params
                    .get(&name)
                    .ok_or_else(|| QueryError::MissingParam(name.clone()))?;
                stmt.raw_bind_parameter(i, v)?;
            }
            out.push(Section {
                title: title.clone(),
                batch: collect(&mut stmt)?,
            });
        }
    }
    if out.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(out)
}

/// Reads a statement's rows into one record batch; each column's type is the widest of its
/// values (integer < real < text; blobs stay binary).
fn collect(stmt: &mut rusqlite::Statement<'_>) -> Result<RecordBatch, QueryError> {
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let n = names.len();
    let mut cols: Vec<Vec<Value>> = vec![Vec::new(); n];
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        for (i, col) in cols.iter_mut().enumerate() {
            col.push(r.get::<_, Value>(i)?);
        }
    }
    let mut fields = Vec::with_capacity(n);
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(n);
    for (name, col) in names.iter().zip(cols) {
        let has = |f: fn(&Value) -> bool| col.iter().any(f);
        let (dt, arr): (DataType, ArrayRef) = if has(|v| matches!(v, Value::Text(_))) {
            let mut b = StringBuilder::new();
            for v in &col {
                match v {
                    Value::Null => b.append_null(),
                    Value::Integer(i) => b.append_value(i.to_string()),
                    Value::Real(f) => b.append_value(f.to_string()),
                    Value::Text(s) => b.append_value(s),
                    Value::Blob(x) => b.append_value(format!("{x:?}")),
                }
            }
            (DataType::Utf8, Arc::new(b.finish()))
        } else if has(|v| matches!(v, Value::Blob(_))) {
            let mut b = BinaryBuilder::new();
            for v in &col {
                match v {
                    Value::Blob(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            (DataType::Binary, Arc::new(b.finish()))
        } else if has(|v| matches!(v, Value::Real(_))) {
            let mut b = Float64Builder::new();
            for v in &col {
                match v {
                    Value::Integer(i) => b.append_value(*i as f64),
                    Value::Real(f) => b.append_value(*f),
                    _ => b.append_null(),
                }
            }
            (DataType::Float64, Arc::new(b.finish()))
        } else {
            let mut b = Int64Builder::new();
            for v in &col {
                match v {
                    Value::Integer(i) => b.append_value(*i),
                    _ => b.append_null(),
                }
            }
            (DataType::Int64, Arc::new(b.finish()))
        };
        fields.push(Field::new(name, dt, true));
        arrays.push(arr);
    }
    let schema = Arc::new(Schema::new(fields));
    if arrays.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    Ok(RecordBatch::try_new(schema, arrays)?)
}
