//! Checkpoints: after an epoch, everything a run needs to continue bit for bit — the model's
//! weights and the optimizer's state (moments and step count) — in one file per epoch,
//! `DIR/epoch-NNNNN.ot`, written under a temporary name, synced and renamed, so that a crash
//! leaves either the whole file or none.
//!
//! The random number generators need no saving: each epoch's data order and dropout draws are
//! seeded from (seed, epoch) alone (see [`crate::seeds`]), so a run resumed after epoch e
//! draws exactly what the uninterrupted run drew from epoch e + 1 on.

use std::fs::File;
use std::path::{Path, PathBuf};
use tch::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {path}: {source}")]
    Torch {
        path: PathBuf,
        source: tch::TchError,
    },
    #[error("checkpoint {0} is damaged or from another model: {1}")]
    Invalid(PathBuf, String),
}

/// The saved state of a run after one epoch.
pub struct Checkpoint {
    pub epoch: u32,
    /// Model variables by var-store name.
    pub model: Vec<(String, Tensor)>,
    /// The optimizer's state, as [`crate::optim::Optimizer::state`] gives it.
    pub optim: Vec<(String, Tensor)>,
}

/// Where a run's checkpoints go: `DB.checkpoints/run-N/`, beside the database.
pub fn run_dir(db: &Path, run_id: i64) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".checkpoints");
    db.with_file_name(name).join(format!("run-{run_id}"))
}

/// The file of epoch `epoch` in a run's checkpoint folder.
pub fn path(dir: &Path, epoch: u32) -> PathBuf {
    dir.join(format!("epoch-{epoch:05}.ot"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the checkpoint of `epoch` durably; returns its path.
pub fn save(
    dir: &Path,
    epoch: u32,
    model: &[(String, Tensor)],
    optim: &[(String, Tensor)],
) -> Result<PathBuf, CheckpointError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dest = path(dir, epoch);
    let tmp = dir.join(format!(".epoch-{epoch:05}.ot.tmp"));
    let mut named: Vec<(String, &Tensor)> = Vec::with_capacity(model.len() + optim.len() + 1);
    let epoch_t = Tensor::from_slice(&[epoch as i64]);
    named.push(("epoch".into(), &epoch_t));
    named.extend(model.iter().map(|(n, t)| (format!("model.{n}"), t)));
    named.extend(optim.iter().map(|(n, t)| (format!("optim.{n}"), t)));
    Tensor::save_multi(&named, &tmp).map_err(|source| CheckpointError::Torch {
        path: tmp.clone(),
        source,
    })?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(dest)
}

/// Reads the checkpoint at `path`.
pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let named = Tensor::load_multi(path).map_err(|source| CheckpointError::Torch {
        path: path.to_path_buf(),
        source,
    })?;
    let mut epoch = None;
    let (mut model, mut optim) = (Vec::new(), Vec::new());
    for (name, t) in named {
        if name == "epoch" {
            epoch = i64::try_from(&t).ok();
        } else if let Some(n) = name.strip_prefix("model.") {
            model.push((n.to_string(), t));
        } else if let Some(n) = name.strip_prefix("optim.") {
            optim.push((n.to_string(), t));
        } else {
            return Err(CheckpointError::Invalid(
                path.to_path_buf(),
                format!("unexpected entry '{name}'"),
            ));
        }
    }
    let epoch = epoch
        .and_then(|e| u32::try_from(e).ok())
        .ok_or_else(|| CheckpointError::Invalid(path.to_path_buf(), "no epoch".into()))?;
    Ok(Checkpoint {
        epoch,
        model,
        optim,
    })
}

/// The checkpoint files in a run's folder, oldest epoch first.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("epoch-") && n.ends_with(".ot"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Removes half-written temporary files a crash left in a run's checkpoint folder.
pub fn clean_temporaries(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".epoch-") && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
