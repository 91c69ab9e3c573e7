//! One run as dataset-cartography files (Swayamdipta et al. 2020, github.com/allenai/cartography),
//! so that its data-map scripts run on a trainlog log:
//!
//! ```text
//! DIR/training_dynamics/dynamics_epoch_0.jsonl    trainlog epoch 1
//! …
//! DIR/training_dynamics/dynamics_epoch_{E-1}.jsonl trainlog epoch E
//! ```
//!
//! one line per train example, in example order: `{"guid": <example_id>, "logits_epoch_<e>":
//! [<logits>], "gold": <label>}`. Their `read_training_dynamics(DIR)` counts the files in
//! `training_dynamics/` and reads `dynamics_epoch_0.jsonl` … in order, so the folder holds
//! these files only. The values are the eval phase (the model in evaluation mode after each
//! epoch) of the train split; trainlog's epoch 0 (the untrained model) is left out, as data
//! maps average over epochs 1..E. Logits are written in the shortest form that reads back to
//! the same f32.

use super::{examples_of_run, io_err, prepare_dir, resolve, AtomicFile, ExportError, Scope};
use crate::capture::LogitsFormat;
use crate::store::Store;
use rusqlite::types::ValueRef;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a cartography export wrote.
#[derive(Debug, Clone)]
pub struct CartographyReport {
    pub run: i64,
    /// Epochs written (trainlog's 1..=epochs).
    pub epochs: i64,
    /// Train examples per file.
    pub examples: u64,
    pub dir: PathBuf,
}

/// Exports one run: `Scope::Run(n)`, or the first run of the (latest) experiment.
pub fn export_cartography(
    store: &Store,
    scope: &Scope,
    dir: &Path,
    force: bool,
) -> Result<CartographyReport, ExportError> {
    let (_, runs) = resolve(store, scope)?;
    let run = runs[0];
    let conn = store.conn();
    let (epochs, with_logits): (Option<i64>, i64) = conn.query_row(
        "SELECT max(epoch), count(logits) FROM observations
         WHERE run_id = ?1 AND phase = 0 AND epoch >= 1",
        [run],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some(epochs) = epochs else {
        return Err(ExportError::NoEval { run });
    };
    if with_logits == 0 {
        return Err(ExportError::NoLogits { run });
    }
    let examples = examples_of_run(store, run)?;
    let format = LogitsFormat::parse(&conn.query_row(
        "SELECT logits FROM runs WHERE run_id = ?1",
        [run],
        |r| r.get::<_, String>(0),
    )?);
    prepare_dir(dir, &["training_dynamics"], force)?;
    let td = dir.join("training_dynamics");
    std::fs::create_dir_all(&td).map_err(io_err(&td))?;

    let mut st = conn.prepare(
        "SELECT epoch, example_id, logits FROM observations
         WHERE run_id = ?1 AND phase = 0 AND epoch >= 1 ORDER BY epoch, example_id",
    )?;
    let mut rows = st.query([run])?;
    let mut current: Option<(i64, AtomicFile, std::io::BufWriter<std::fs::File>)> = None;
    let mut per_file = 0u64;
    let mut line = String::with_capacity(256);
    while let Some(r) = rows.next()? {
        let epoch: i64 = r.get(0)?;
        let example: i64 = r.get(1)?;
        let info = usize::try_from(example)
            .ok()
            .and_then(|i| examples.get(i))
            .filter(|e| e.known)
            .ok_or(ExportError::UnknownExample { run, example })?;
        if info.test {
            continue;
        }
        if current.as_ref().is_none_or(|c| c.0 != epoch) {
            if let Some((_, file, out)) = current.take() {
                finish_file(file, out)?;
            }
            per_file = 0;
            let path = td.join(format!("dynamics_epoch_{}.jsonl", epoch - 1));
            let (file, out) = AtomicFile::create(&path)?;
            current = Some((epoch, file, out));
        }
        let ValueRef::Blob(blob) = r.get_ref(2)? else {
            return Err(ExportError::NoLogits { run });
        };
        line.clear();
        line.push_str(&format!(
            "{{\"guid\": {example}, \"logits_epoch_{}\": [",
            epoch - 1
        ));
        for (k, z) in format.decode(blob).into_iter().enumerate() {
            if !z.is_finite() {
                return Err(ExportError::NonFinite {
                    run,
                    epoch,
                    example,
                });
            }
            if k > 0 {
                line.push_str(", ");
            }
            line.push_str(&format!("{z:?}"));
        }
        line.push_str(&format!("], \"gold\": {}}}\n", info.label));
        let (_, file, out) = current.as_mut().expect("an open file");
        out.write_all(line.as_bytes())
            .map_err(io_err(file.path()))?;
        per_file += 1;
    }
    if let Some((_, file, out)) = current.take() {
        finish_file(file, out)?;
    }
    Ok(CartographyReport {
        run,
        epochs,
        examples: per_file,
        dir: td,
    })
}

fn finish_file(
    file: AtomicFile,
    mut out: std::io::BufWriter<std::fs::File>,
) -> Result<(), ExportError> {
    out.flush().map_err(io_err(file.path()))?;
    drop(out);
    file.commit()?;
    Ok(())
}
