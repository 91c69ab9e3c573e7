//! Dataset-cartography sources (Swayamdipta et al. 2020): a folder of
//! `dynamics_epoch_<n>.jsonl` files (or one holding `training_dynamics/` with them), one JSON
//! object per line with the example's id (`guid`, or `id`), its gold label (`gold`) and its
//! logits at that epoch (`logits_epoch_<n>`, or `logits`). Other keys are ignored.
//!
//! Epochs: files numbered 0..E−1 (their `log_training_dynamics` writes these) become
//! trainlog's epochs 1..E; files numbered 1..E keep their numbers. Every line is one train
//! example in the eval phase of one run.

use super::{invalid, io_err, ExKey, ImportError, Location, Row, Source};
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// What [`CartographySource::each`] calls with every line: (file number, location, object).
type LineFn<'a> =
    dyn FnMut(i64, Location<'_>, &serde_json::Map<String, Value>) -> Result<(), ImportError> + 'a;

/// The epoch files of one cartography log.
pub struct CartographySource {
    dir: PathBuf,
    /// (file number, path), ascending.
    files: Vec<(i64, PathBuf)>,
    /// Added to a file number to give trainlog's epoch.
    offset: i64,
}

fn epoch_files(dir: &Path) -> Result<Vec<(i64, PathBuf)>, ImportError> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let p = e.map_err(io_err(dir))?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(rest) = name.strip_prefix("dynamics_epoch_") else {
            continue;
        };
        let Some(num) = rest
            .strip_suffix(".jsonl")
            .or_else(|| rest.strip_suffix(".json"))
        else {
            continue;
        };
        if let Ok(n) = num.parse::<i64>() {
            out.push((n, p));
        }
    }
    out.sort();
    Ok(out)
}

impl CartographySource {
    /// The cartography log at `path`, if it is one.
    pub fn detect(path: &Path) -> Result<Option<CartographySource>, ImportError> {
        if !path.is_dir() {
            return Ok(None);
        }
        let mut dir = path.to_path_buf();
        let mut files = epoch_files(&dir)?;
        if files.is_empty() {
            dir = path.join("training_dynamics");
            files = epoch_files(&dir)?;
        }
        if files.is_empty() {
            return Ok(None);
        }
        let first = files[0].0;
        if first != 0 && first != 1 {
            return Err(invalid(
                dir.display(),
                format!("the epoch files start at dynamics_epoch_{first}: they must start at dynamics_epoch_0 (or 1)"),
            ));
        }
        for (k, (n, p)) in files.iter().enumerate() {
            let want = first + k as i64;
            if *n != want {
                let what = if *n == want - 1 {
                    format!("{} duplicates epoch {n}", p.display())
                } else {
                    format!("dynamics_epoch_{want}.jsonl is missing")
                };
                return Err(invalid(
                    dir.display(),
                    format!("{what}: the epoch files must be numbered without gaps"),
                ));
            }
        }
        Ok(Some(CartographySource {
            dir,
            files,
            offset: 1 - first,
        }))
    }

    /// Reads every line of every file as (file number, location, object).
    fn each(&self, f: &mut LineFn<'_>) -> Result<(), ImportError> {
        let mut line = String::new();
        for (n, path) in &self.files {
            let file = std::fs::File::open(path).map_err(io_err(path))?;
            let mut r = std::io::BufReader::new(file);
            let mut index = 0u64;
            loop {
                line.clear();
                if r.read_line(&mut line).map_err(io_err(path))? == 0 {
                    break;
                }
                index += 1;
                let at = Location {
                    file: path,
                    unit: "line",
                    index,
                };
                let text = line.trim();
                if text.is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(text).map_err(|e| {
                    if text.contains("NaN") || text.contains("Infinity") {
                        invalid(
                            at,
                            "a logit is not finite (NaN or Infinity): logits must be finite",
                        )
                    } else {
                        invalid(at, format!("not valid JSON: {e}"))
                    }
                })?;
                let Value::Object(obj) = v else {
                    return Err(invalid(at, "expected one JSON object per line"));
                };
                f(*n, at, &obj)?;
            }
        }
        Ok(())
    }
}

fn key(at: Location<'_>, obj: &serde_json::Map<String, Value>) -> Result<ExKey, ImportError> {
    let v = obj
        .get("guid")
        .or_else(|| obj.get("id"))
        .ok_or_else(|| invalid(at, "no 'guid' (or 'id') key"))?;
    match v {
        Value::Number(n) if n.as_i64().is_some() => Ok(ExKey::Int(n.as_i64().expect("i64"))),
        Value::String(s) => Ok(ExKey::Str(s.clone())),
        other => Err(invalid(
            at,
            format!("guid {other} is neither an integer nor a string"),
        )),
    }
}

impl Source for CartographySource {
    fn format(&self) -> &'static str {
        "cartography"
    }

    fn stem(&self) -> String {
        let d = if self.dir.ends_with("training_dynamics") {
            self.dir.parent().unwrap_or(&self.dir)
        } else {
            &self.dir
        };
        d.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cartography".into())
    }

    fn files(&self) -> usize {
        self.files.len()
    }

    fn scan_examples(
        &mut self,
        f: &mut dyn FnMut(ExKey, Location<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        self.each(&mut |_, at, obj| f(key(at, obj)?, at))
    }

    fn rows(
        &mut self,
        f: &mut dyn FnMut(&Row<'_>, Location<'_>) -> Result<(), ImportError>,
    ) -> Result<(), ImportError> {
        let offset = self.offset;
        let mut logits: Vec<f32> = Vec::new();
        self.each(&mut |n, at, obj| {
            let example = key(at, obj)?;
            let gold = match obj.get("gold") {
                Some(Value::Number(g)) if g.as_i64().is_some() => g.as_i64().expect("i64"),
                Some(other) => {
                    return Err(invalid(at, format!("gold {other} is not an integer label")))
                }
                None => return Err(invalid(at, "no 'gold' key (the label)")),
            };
            let name = format!("logits_epoch_{n}");
            let z = obj
                .get(&name)
                .or_else(|| obj.get("logits"))
                .ok_or_else(|| invalid(at, format!("no '{name}' key (the logits)")))?;
            let Value::Array(z) = z else {
                return Err(invalid(at, format!("'{name}' is not a list of numbers")));
            };
            logits.clear();
            for v in z {
                let x = v
                    .as_f64()
                    .ok_or_else(|| invalid(at, format!("'{name}' holds {v}, not a number")))?;
                logits.push(x as f32);
            }
            let row = Row {
                run: 0,
                phase: 0,
                epoch: n + offset,
                example,
                label: gold,
                orig_label: None,
                test: None,
                position: None,
                batch: None,
                init_seed: None,
                order_seed: None,
                logits: &logits,
            };
            f(&row, at)
        })
    }
}
