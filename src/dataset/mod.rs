//! Datasets: the built-in MNIST-1D and planted generators and the user's own CSV/Parquet files,
//! all turned into one in-memory [`Dataset`] that the trainer consumes.
//!
//! A dataset is named by a spec string: `mnist1d`, `mnist1d:n=100000,seed=3`,
//! `planted:classes=4,n=800`, or a path to a `.csv`/`.parquet` file (optionally followed by
//! `:split_seed=N`, used when the file has no `split` column).

pub mod file;
pub mod mnist1d;
pub mod planted;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which part of the data an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// The inputs of every example, in example order.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// Real-valued sequences: `values[i * seq_len * features ..]` is example i, time-major.
    Numeric {
        seq_len: usize,
        features: usize,
        values: Vec<f32>,
    },
    /// Character tokens, left-padded with [`PAD`] to `max_len` so that the last time step is
    /// every example's last character. `vocab[t]` is the character of token t (PAD and UNK
    /// first).
    Tokens {
        max_len: usize,
        vocab: Vec<String>,
        tokens: Vec<i64>,
    },
}

/// Token 0 pads text sequences on the left.
pub const PAD: i64 = 0;
/// Token 1 stands for a character not seen in the train split.
pub const UNK: i64 = 1;

/// One example's bookkeeping (its inputs live in [`Inputs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The id the source gave it (the file's `id` column, or its index).
    pub source_id: String,
    pub split: Split,
    /// The label trained on (after label noise).
    pub label: u32,
    /// The label before label noise.
    pub orig_label: u32,
    /// Number of real (unpadded) time steps.
    pub length: u32,
}

/// A dataset ready for training: examples, their inputs and the class names.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The spec it was made from (`mnist1d:n=5000,seed=42`, a file path…), normalised.
    pub spec: String,
    pub class_names: Vec<String>,
    pub examples: Vec<Example>,
    pub inputs: Inputs,
    /// Fraction of train labels flipped by [`Dataset::with_label_noise`], 0 if none.
    pub label_noise: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("unknown dataset '{0}': use mnist1d, planted, or the path of a .csv or .parquet file")]
    UnknownDataset(String),
    #[error("dataset file '{0}' does not exist: check the path")]
    MissingFile(PathBuf),
    #[error("bad dataset option '{option}' for {dataset}: {reason}")]
    BadOption {
        dataset: String,
        option: String,
        reason: String,
    },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--label-noise must be in [0, 1), got {0}")]
    BadNoise(f64),
}

impl Dataset {
    pub fn n_classes(&self) -> usize {
        self.class_names.len()
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Indices of the examples of one split, in example order.
    pub fn indices(&self, split: Split) -> Vec<usize> {
        (0..self.examples.len())
            .filter(|&i| self.examples[i].split == split)
            .collect()
    }

    /// Number of input features per time step (the embedding handles tokens).
    pub fn seq_len(&self) -> usize {
        match &self.inputs {
            Inputs::Numeric { seq_len, .. } => *seq_len,
            Inputs::Tokens { max_len, .. } => *max_len,
        }
    }

    /// Flips a fraction `fraction` of the train labels to another class, chosen uniformly,
    /// with its own seed. The original label stays in `orig_label`.
    pub fn with_label_noise(mut self, fraction: f64, seed: u64) -> Result<Self, DatasetError> {
        if !(0.0..1.0).contains(&fraction) || fraction.is_nan() {
            return Err(DatasetError::BadNoise(fraction));
        }
        if fraction == 0.0 {
            return Ok(self);
        }
        let c = self.n_classes() as u32;
        let mut train = self.indices(Split::Train);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_6973_6521);
        train.shuffle(&mut rng);
        let k = (fraction * train.len() as f64).round() as usize;
        for &i in &train[..k] {
            let ex = &mut self.examples[i];
            let shift = rand::Rng::random_range(&mut rng, 1..c);
            ex.label = (ex.orig_label + shift) % c;
        }
        self.label_noise = fraction;
        self.spec = format!("{}+noise={fraction},noise_seed={seed}", self.spec);
        Ok(self)
    }

    /// A content hash: two datasets with the same examples, labels and inputs share one
    /// stored copy.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for name in &self.class_names {
            h.update(name.as_bytes());
            h.update([0]);
        }
        for ex in &self.examples {
            h.update(ex.source_id.as_bytes());
            h.update([0, ex.split as u8]);
            h.update(ex.label.to_le_bytes());
            h.update(ex.orig_label.to_le_bytes());
            h.update(ex.length.to_le_bytes());
        }
        match &self.inputs {
            Inputs::Numeric { values, .. } => {
                for v in values {
                    h.update(v.to_le_bytes());
                }
            }
            Inputs::Tokens { vocab, tokens, .. } => {
                for v in vocab {
                    h.update(v.as_bytes());
                    h.update([0]);
                }
                for t in tokens {
                    h.update(t.to_le_bytes());
                }
            }
        }
        format!("{:x}", h.finalize())
    }
}

/// Key-value options after the colon of a spec: `n=100,seed=3`.
#[derive(Debug, Default)]
pub struct SpecOptions {
    dataset: String,
    values: BTreeMap<String, String>,
}

impl SpecOptions {
    fn parse(dataset: &str, s: &str) -> Result<Self, DatasetError> {
        let mut values = BTreeMap::new();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| DatasetError::BadOption {
                    dataset: dataset.to_string(),
                    option: part.to_string(),
                    reason: "expected key=value".into(),
                })?;
            values.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(SpecOptions {
            dataset: dataset.to_string(),
            values,
        })
    }

    /// Takes an integer option, or `default`.
    pub fn usize(&mut self, key: &str, default: usize) -> Result<usize, DatasetError> {
        match self.values.remove(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| DatasetError::BadOption {
                dataset: self.dataset.clone(),
                option: format!("{key}={v}"),
                reason: "expected a non-negative integer".into(),
            }),
        }
    }

    /// Fails on any option not taken.
    pub fn finish(self, allowed: &str) -> Result<(), DatasetError> {
        match self.values.into_iter().next() {
            None => Ok(()),
            Some((k, v)) => Err(DatasetError::BadOption {
                reason: format!("unknown option; {} takes {allowed}", self.dataset),
                dataset: self.dataset,
                option: format!("{k}={v}"),
            }),
        }
    }
}

/// Builds the dataset a spec names.
pub fn load(spec: &str) -> Result<Dataset, DatasetError> {
    let spec = spec.trim();
    let as_path = PathBuf::from(spec);
    if as_path.is_file() {
        return file::load(&as_path, 0);
    }
    let (name, opts) = spec.split_once(':').unwrap_or((spec, ""));
    match name {
        "mnist1d" => {
            let mut o = SpecOptions::parse(name, opts)?;
            let n = o.usize("n", 5000)?;
            let seed = o.usize("seed", 42)? as u64;
            o.finish("n and seed")?;
            if n < 20 {
                return Err(DatasetError::BadOption {
                    dataset: name.into(),
                    option: format!("n={n}"),
                    reason: "n must be at least 20 (2 examples per class)".into(),
                });
            }
            Ok(mnist1d::generate(n, seed))
        }
        "planted" => {
            let mut o = SpecOptions::parse(name, opts)?;
            let cfg = planted::PlantedConfig {
                n: o.usize("n", planted::PlantedConfig::default().n)?,
                classes: o.usize("classes", planted::PlantedConfig::default().classes)?,
                len: o.usize("len", planted::PlantedConfig::default().len)?,
                seed: o.usize("seed", 0)? as u64,
            };
            o.finish("n, classes, len and seed")?;
            planted::generate(&cfg)
        }
        _ => {
            // A file path with options: data.csv:split_seed=3
            if let Some((path, o)) = spec.rsplit_once(':') {
                let p = PathBuf::from(path);
                if p.is_file() {
                    let mut o = SpecOptions::parse(path, o)?;
                    let seed = o.usize("split_seed", 0)? as u64;
                    o.finish("split_seed")?;
                    return file::load(&p, seed);
                }
            }
            let looks_like_file = spec.contains('/')
                || spec.contains('.')
                || spec.ends_with(".csv")
                || spec.ends_with(".parquet");
            if looks_like_file {
                Err(DatasetError::MissingFile(as_path))
            } else {
                Err(DatasetError::UnknownDataset(spec.to_string()))
            }
        }
    }
}
