//! Why are some classes learned first? A prediction from linear dynamics (Saxe, McClelland &
//! Ganguli 2014), set beside the order the recorded runs actually learned the classes in.
//!
//! **The correlation matrix.** The train examples' inputs are flattened (numeric: `time ·
//! features` values; text: one-hot per position, `time · vocab` values, as the `linear`
//! baseline sees them) and standardised per feature over the train examples (mean 0,
//! population standard deviation 1; a constant feature becomes 0). With one-hot labels Y (n ×
//! C) and these inputs X (n × d), the input–output correlation matrix is Σ_yx = Yᵀ X / n
//! (C × d): row c is the share of class c times its mean standardised input. Its SVD is
//! Σ_yx = Σ_α s_α u_α v_αᵀ (libtorch's SVD). Because X is centred the rows sum to zero,
//! so one mode (u ∝ 1) has s ≈ 0; modes with s_α ≤ 1e-9 · s_max are dropped.
//!
//! **The dynamics.** In a two-layer linear network trained by gradient flow from a small
//! initialisation on white inputs, mode α's strength follows Saxe et al.'s sigmoid
//!
//!   a_α(t) = s_α / (1 + (s_α / a0 − 1) · e^(−2 s_α t))
//!
//! (time t in units of the time constant τ; a0 the initial strength of every mode), from a0 to
//! s_α, reaching half of s_α at t = ln(s_α/a0 − 1) / (2 s_α) — about (1/s) ln(s/a0): strong modes
//! are learned first. Class c's row of the network's map is Σ_α a_α(t) u_cα v_αᵀ; its progress
//! is its projection on the final row, divided by the final row's squared norm:
//!
//!   y_c(t) = Σ_α s_α u_cα² a_α(t) / Σ_α s_α² u_cα²    (0 at a0 → 0, 1 at t → ∞)
//!
//! **The predicted learning time** of class c is the t at which y_c(t) = ½ (by bisection). For
//! a class that loads on one mode only it is that mode's half-time. The inputs are only
//! standardised, not whitened: the prediction treats them as white.
//!
//! **The observed order** is the canned query `classes-learned-first` (mean rank of the class
//! by mean learned_epoch, eval phase, train split, over the completed runs of the experiment's
//! main model), run through [`crate::query`]; the two orders are compared by Spearman's rho
//! ([`crate::stats::spearman`]) between the predicted times and the observed mean ranks.

use crate::dataset::{self, Dataset, DatasetError, Inputs, Split};
use crate::query::{self, QueryError};
use crate::run::RunConfig;
use crate::stats;
use crate::store::{Store, StoreError};
use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use rusqlite::OptionalExtension;
use tch::{Device, Kind, Tensor};

/// Modes whose singular value is at most this fraction of the largest are dropped.
pub const RANK_TOLERANCE: f64 = 1e-9;

/// Σ_yx = Yᵀ X / n over the train examples: `classes × features`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub classes: usize,
    pub features: usize,
    /// Train examples.
    pub n: usize,
    pub matrix: Vec<f64>,
}

/// The modes of Σ_yx, strongest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Modes {
    pub singular_values: Vec<f64>,
    /// `u[c][α]`: how much class c loads on mode α (the left singular vectors, as columns).
    pub u: Vec<Vec<f64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("the dataset has no train examples")]
    NoTrain,
    #[error("--a0 must be a positive number, got {0}")]
    BadA0(f64),
    #[error("experiment {experiment} has no completed {model} run: record one first (trainlog record --experiment {experiment})")]
    NoRuns { experiment: String, model: String },
    #[error("run {run}'s stored configuration names no dataset trainlog can rebuild ({why}); explain needs the inputs, which imported runs do not carry")]
    NoDataset { run: i64, why: String },
    #[error("the dataset {spec} is not the one experiment {experiment} was recorded on (the file changed?): restore it")]
    Fingerprint { spec: String, experiment: String },
    #[error("classes-learned-first gave no column {0}")]
    Column(&'static str),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The nonzero entries of each example's flattened input, as (feature, value) pairs.
fn flattened(data: &Dataset, i: usize) -> Vec<(usize, f64)> {
    match &data.inputs {
        Inputs::Numeric {
            seq_len,
            features,
            values,
        } => {
            let d = seq_len * features;
            values[i * d..(i + 1) * d]
                .iter()
                .enumerate()
                .map(|(j, &v)| (j, v as f64))
                .collect()
        }
        Inputs::Tokens {
            max_len,
            vocab,
            tokens,
        } => tokens[i * max_len..(i + 1) * max_len]
            .iter()
            .enumerate()
            .map(|(t, &tok)| (t * vocab.len() + tok as usize, 1.0))
            .collect(),
    }
}

/// Number of flattened features.
pub fn flat_features(data: &Dataset) -> usize {
    match &data.inputs {
        Inputs::Numeric {
            seq_len, features, ..
        } => seq_len * features,
        Inputs::Tokens { max_len, vocab, .. } => max_len * vocab.len(),
    }
}

/// Σ_yx of the standardised, flattened train inputs and one-hot labels (see the module
/// documentation). Row c, feature j: (n_c / n) · (mean of x_j over class c − μ_j) / σ_j.
pub fn correlation(data: &Dataset) -> Result<Correlation, ExplainError> {
    let train = data.indices(Split::Train);
    if train.is_empty() {
        return Err(ExplainError::NoTrain);
    }
    let (c, d, n) = (data.n_classes(), flat_features(data), train.len());
    // Per-class sums, overall sums and sums of squares of every feature (sparse for one-hot).
    let mut class_sum = vec![0f64; c * d];
    let mut class_n = vec![0usize; c];
    let mut sum = vec![0f64; d];
    let mut sq = vec![0f64; d];
    for &i in &train {
        let y = data.examples[i].label as usize;
        class_n[y] += 1;
        for (j, v) in flattened(data, i) {
            class_sum[y * d + j] += v;
            sum[j] += v;
            sq[j] += v * v;
        }
    }
    let nf = n as f64;
    let mut matrix = vec![0f64; c * d];
    for j in 0..d {
        let mean = sum[j] / nf;
        let var = (sq[j] / nf - mean * mean).max(0.0);
        let sd = var.sqrt();
        if sd <= 1e-12 * (1.0 + mean.abs()) {
            continue; // a constant feature standardises to 0
        }
        for k in 0..c {
            // Σ_{i∈k} (x_ij − μ_j)/σ_j / n
            matrix[k * d + j] = (class_sum[k * d + j] - class_n[k] as f64 * mean) / (sd * nf);
        }
    }
    Ok(Correlation {
        classes: c,
        features: d,
        n,
        matrix,
    })
}

/// The SVD of Σ_yx (libtorch's `svd`, in double precision on the CPU), without the modes
/// below [`RANK_TOLERANCE`].
pub fn modes(corr: &Correlation) -> Result<Modes, ExplainError> {
    let a = Tensor::from_slice(&corr.matrix)
        .to_kind(Kind::Double)
        .to_device(Device::Cpu)
        .view([corr.classes as i64, corr.features as i64]);
    // `Tensor::svd` is libtorch's torch.svd, a thin wrapper of torch.linalg.svd: tch's
    // `linalg_svd` always passes a `driver`, which CPU tensors refuse.
    let (u, s, _v) = a.f_svd(true, true)?;
    let s = Vec::<f64>::try_from(&s)?;
    let r = s.len();
    let u = Vec::<f64>::try_from(u.contiguous().view([-1]))?;
    let s_max = s.first().copied().unwrap_or(0.0);
    let keep: Vec<usize> = (0..r)
        .filter(|&a| s_max > 0.0 && s[a] > RANK_TOLERANCE * s_max)
        .collect();
    Ok(Modes {
        singular_values: keep.iter().map(|&a| s[a]).collect(),
        u: (0..corr.classes)
            .map(|k| keep.iter().map(|&a| u[k * r + a]).collect())
            .collect(),
    })
}

/// Saxe et al.'s mode strength a(t) = s / (1 + (s/a0 − 1) e^(−2 s t)).
pub fn mode_strength(s: f64, a0: f64, t: f64) -> f64 {
    s / (1.0 + (s / a0 - 1.0) * (-2.0 * s * t).exp())
}

/// The time at which a mode reaches half its final strength, ln(s/a0 − 1) / (2 s); None when
/// it starts there already (s ≤ 2 a0).
pub fn mode_half_time(s: f64, a0: f64) -> Option<f64> {
    (s > 2.0 * a0).then(|| (s / a0 - 1.0).ln() / (2.0 * s))
}

/// Class c's progress y_c(t) ∈ (0, 1); None when the class loads on no mode.
pub fn class_progress(modes: &Modes, c: usize, a0: f64, t: f64) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for (a, &s) in modes.singular_values.iter().enumerate() {
        let w = modes.u[c][a] * modes.u[c][a];
        num += s * w * mode_strength(s, a0, t);
        den += s * s * w;
    }
    (den > 0.0).then(|| num / den)
}

/// Predicted learning time of every class: the t with y_c(t) = ½ (0 if it starts above ½;
/// None for a class that loads on no mode).
pub fn class_times(modes: &Modes, a0: f64) -> Result<Vec<Option<f64>>, ExplainError> {
    if !(a0 > 0.0 && a0.is_finite()) {
        return Err(ExplainError::BadA0(a0));
    }
    let s_max = modes.singular_values.first().copied().unwrap_or(0.0);
    Ok((0..modes.u.len())
        .map(|c| {
            let y = |t: f64| class_progress(modes, c, a0, t);
            if y(0.0)? >= 0.5 {
                return Some(0.0);
            }
            let mut hi = 1.0 / s_max;
            while y(hi)? < 0.5 {
                hi *= 2.0;
            }
            let mut lo = 0.0;
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if y(mid)? < 0.5 {
                    lo = mid;
                } else {
                    hi = mid;
                }
                if hi - lo <= 1e-14 * hi {
                    break;
                }
            }
            Some(0.5 * (lo + hi))
        })
        .collect())
}

/// One class: its predicted and observed place in the learning order.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassOrder {
    pub class: usize,
    pub name: String,
    /// The predicted learning time (units of τ), None if the class loads on no mode.
    pub predicted_time: Option<f64>,
    /// Average rank (1 = first) of the predicted time among the classes.
    pub predicted_rank: Option<f64>,
    /// `classes-learned-first`'s mean rank over runs, and its average rank among the classes.
    pub observed_mean_rank: Option<f64>,
    pub observed_rank: Option<f64>,
    /// `classes-learned-first`'s mean learned_epoch (E+1 for never).
    pub learned_epoch: Option<f64>,
}

/// What `trainlog explain` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub experiment: String,
    /// The model whose order was observed (None: every model).
    pub model: Option<String>,
    pub dataset: String,
    pub a0: f64,
    pub correlation: Correlation,
    pub modes: Modes,
    /// In class order.
    pub classes: Vec<ClassOrder>,
    /// Spearman's rho between predicted times and observed mean ranks (classes with both).
    pub rho: Option<f64>,
}

/// Average ranks (1 = smallest) of the present values; None stays None.
fn ranks_of(xs: &[Option<f64>]) -> Vec<Option<f64>> {
    let present: Vec<f64> = xs.iter().flatten().copied().collect();
    let mut r = stats::average_ranks(&present).into_iter();
    xs.iter().map(|x| x.and_then(|_| r.next())).collect()
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &'static str) -> Result<&'a T, ExplainError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or(ExplainError::Column(name))
}

/// A numeric column of a query result as f64 (integers or reals; text or NULL gives None).
fn numbers(b: &RecordBatch, name: &'static str) -> Result<Vec<Option<f64>>, ExplainError> {
    let c = b.column_by_name(name).ok_or(ExplainError::Column(name))?;
    if let Some(f) = c.as_any().downcast_ref::<Float64Array>() {
        return Ok(f.iter().collect());
    }
    if let Some(i) = c.as_any().downcast_ref::<Int64Array>() {
        return Ok(i.iter().map(|v| v.map(|v| v as f64)).collect());
    }
    if c.null_count() == c.len() {
        return Ok(vec![None; c.len()]);
    }
    column::<StringArray>(b, name)
        .map(|s| s.iter().map(|v| v.and_then(|v| v.parse().ok())).collect())
}

/// The dataset of the experiment's runs of `model`, rebuilt from the first completed run's
/// stored configuration and checked against the stored fingerprint.
pub fn experiment_dataset(
    store: &Store,
    experiment: &str,
    model: Option<&str>,
) -> Result<Dataset, ExplainError> {
    let row: Option<(i64, String)> = store
        .conn()
        .query_row(
            "SELECT run_id, config FROM runs WHERE experiment = ?1 AND status = 'completed'
                 AND (?2 IS NULL OR model = ?2) ORDER BY run_id LIMIT 1",
            rusqlite::params![experiment, model],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (run, config) = row.ok_or_else(|| ExplainError::NoRuns {
        experiment: experiment.to_string(),
        model: model.unwrap_or("").to_string(),
    })?;
    let cfg: RunConfig = serde_json::from_str(&config).map_err(|e| ExplainError::NoDataset {
        run,
        why: e.to_string(),
    })?;
    let data = dataset::load(&cfg.dataset)?.with_label_noise(cfg.label_noise, cfg.noise_seed)?;
    if data.fingerprint() != store.experiment_fingerprint(experiment)? {
        return Err(ExplainError::Fingerprint {
            spec: cfg.dataset,
            experiment: experiment.to_string(),
        });
    }
    Ok(data)
}

/// The predicted class order (linear dynamics of the experiment's dataset) beside the observed
/// one (`classes-learned-first` over the runs of `model`: None picks the experiment's main
/// model, as `trainlog query` does; `Some("all")` every model).
pub fn explain(
    store: &Store,
    experiment: &str,
    model: Option<&str>,
    a0: f64,
) -> Result<Explanation, ExplainError> {
    if !(a0 > 0.0 && a0.is_finite()) {
        return Err(ExplainError::BadA0(a0));
    }
    let params = query::common_params(store, experiment, None, model, "eval", Some("train"))?;
    let model = match params.get("model") {
        Some(rusqlite::types::Value::Text(m)) => Some(m.clone()),
        _ => None,
    };
    let data = experiment_dataset(store, experiment, model.as_deref())?;
    let correlation = correlation(&data)?;
    let modes = modes(&correlation)?;
    let times = class_times(&modes, a0)?;

    let canned = query::find("classes-learned-first")?;
    let sections = query::run(store, canned.sql, &params)?;
    let mut observed = vec![(None, None); data.n_classes()];
    for s in &sections {
        let class = numbers(&s.batch, "class")?;
        let rank = numbers(&s.batch, "mean_rank")?;
        let learned = numbers(&s.batch, "learned_epoch")?;
        for ((c, r), l) in class.into_iter().zip(rank).zip(learned) {
            if let Some(c) = c.filter(|&c| c >= 0.0 && (c as usize) < observed.len()) {
                observed[c as usize] = (r, l);
            }
        }
    }
    let predicted_rank = ranks_of(&times);
    let observed_mean: Vec<Option<f64>> = observed.iter().map(|o| o.0).collect();
    let observed_rank = ranks_of(&observed_mean);
    let (x, y): (Vec<f64>, Vec<f64>) = times
        .iter()
        .zip(&observed_mean)
        .filter_map(|(t, o)| Some(((*t)?, (*o)?)))
        .unzip();
    let classes = (0..data.n_classes())
        .map(|c| ClassOrder {
            class: c,
            name: data.class_names[c].clone(),
            predicted_time: times[c],
            predicted_rank: predicted_rank[c],
            observed_mean_rank: observed[c].0,
            observed_rank: observed_rank[c],
            learned_epoch: observed[c].1,
        })
        .collect();
    Ok(Explanation {
        experiment: experiment.to_string(),
        model,
        dataset: data.spec.clone(),
        a0,
        correlation,
        modes,
        classes,
        rho: stats::spearman(&x, &y),
    })
}
