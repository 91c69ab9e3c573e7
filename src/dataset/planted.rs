//! The `planted` dataset: sequences whose classes carry graded, known signal strength, so the
//! true order in which classes can be learned is known (class 0 strongest, learned first).
//!
//! Each class k has a template t_k: a cosine of its own frequency, scaled so that its squared
//! norm equals the sequence length (entries of size about 1.4); the templates are orthogonal.
//! An example of class k is
//!
//!   x = Σ_j a_j t_j + ε,   a_j ~ N(0, 1) for j ≠ k,   a_k = s_k + N(0, 1),   ε ~ N(0, 0.5²)
//!
//! with strengths s_k = 3 (C − k) / C, so every class is mixed with random amounts of all the
//! others and only its own extra amount s_k identifies it: a large s_k is easy, a small one
//! hard. Train/test split 80/20, examples shuffled.

use super::{Dataset, DatasetError, Example, Inputs, Split};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

#[derive(Debug, Clone, PartialEq)]
pub struct PlantedConfig {
    pub n: usize,
    pub classes: usize,
    pub len: usize,
    pub seed: u64,
}

impl Default for PlantedConfig {
    fn default() -> Self {
        PlantedConfig {
            n: 1000,
            classes: 4,
            len: 24,
            seed: 0,
        }
    }
}

/// The strength of class k's signal among C classes.
pub fn strength(k: usize, classes: usize) -> f64 {
    3.0 * (classes - k) as f64 / classes as f64
}

/// The orthogonal class templates, `classes × len`.
pub fn templates(classes: usize, len: usize) -> Vec<Vec<f64>> {
    (0..classes)
        .map(|k| {
            // Frequencies 1, 2, … cycles per sequence; with len > 2·classes they are distinct
            // and below the Nyquist limit, so the cosines are orthogonal with norm² len/2.
            let f = (k + 1) as f64;
            (0..len)
                .map(|t| {
                    std::f64::consts::SQRT_2
                        * (2.0 * std::f64::consts::PI * f * t as f64 / len as f64).cos()
                })
                .collect()
        })
        .collect()
}

pub fn generate(cfg: &PlantedConfig) -> Result<Dataset, DatasetError> {
    let bad = |option: String, reason: &str| DatasetError::BadOption {
        dataset: "planted".into(),
        option,
        reason: reason.into(),
    };
    if cfg.classes < 2 {
        return Err(bad(
            format!("classes={}", cfg.classes),
            "at least 2 classes",
        ));
    }
    if cfg.len <= 2 * cfg.classes {
        return Err(bad(
            format!("len={}", cfg.len),
            "len must exceed twice the number of classes",
        ));
    }
    if cfg.n < 5 * cfg.classes {
        return Err(bad(
            format!("n={}", cfg.n),
            "n must be at least 5 examples per class",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let unit = Normal::new(0.0, 1.0).expect("valid normal");
    let t = templates(cfg.classes, cfg.len);
    let mut labels: Vec<u32> = (0..cfg.n).map(|i| (i % cfg.classes) as u32).collect();
    labels.shuffle(&mut rng);
    let mut values = Vec::with_capacity(cfg.n * cfg.len);
    for &y in &labels {
        let coef: Vec<f64> = (0..cfg.classes)
            .map(|j| {
                let a = unit.sample(&mut rng);
                if j == y as usize {
                    a + strength(j, cfg.classes)
                } else {
                    a
                }
            })
            .collect();
        for s in 0..cfg.len {
            let signal: f64 = coef.iter().zip(&t).map(|(a, tj)| a * tj[s]).sum();
            values.push((signal + 0.5 * unit.sample(&mut rng)) as f32);
        }
    }
    let n_train = (cfg.n as f64 * 0.8).round() as usize;
    let examples = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| Example {
            source_id: i.to_string(),
            split: if i < n_train {
                Split::Train
            } else {
                Split::Test
            },
            label: y,
            orig_label: y,
            length: cfg.len as u32,
        })
        .collect();
    Ok(Dataset {
        spec: format!(
            "planted:n={},classes={},len={},seed={}",
            cfg.n, cfg.classes, cfg.len, cfg.seed
        ),
        class_names: (0..cfg.classes).map(|k| format!("c{k}")).collect(),
        examples,
        inputs: Inputs::Numeric {
            seq_len: cfg.len,
            features: 1,
            values,
        },
        label_noise: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_orthogonal() {
        let t = templates(4, 24);
        for a in 0..4 {
            for b in 0..4 {
                let dot: f64 = t[a].iter().zip(&t[b]).map(|(x, y)| x * y).sum();
                let want = if a == b { 24.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9, "{a}·{b} = {dot}");
            }
        }
    }

    #[test]
    fn strengths_are_graded() {
        assert!(strength(0, 4) > strength(1, 4));
        assert!(strength(2, 4) > strength(3, 4));
        assert!(strength(3, 4) > 0.0);
    }
}
