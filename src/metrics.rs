//! Per-example metrics of a run (METRICS.md), computed from its observations in one pass in
//! storage order and written to `example_metrics`.
//!
//! Definitions, for one example over epochs 1..E of one phase:
//! - `first_correct_epoch`: smallest e with correct = 1 (NULL if never);
//! - `learned_epoch`: smallest e with correct = 1 at every epoch from e to E (NULL if not
//!   correct at E);
//! - `forgetting_events`: number of e in 2..E with correct(e−1) = 1 and correct(e) = 0;
//! - `unforgettable`: first_correct_epoch is not NULL and forgetting_events = 0;
//! - `confidence`, `variability`: mean and population standard deviation of p_true;
//! - `correctness`: share of epochs correct; `aum`: mean margin;
//! - `region`: `ambiguous` if variability ≥ the 2/3 quantile of variability over the run's
//!   examples of the same split (type-7 linear interpolation, numpy's default), otherwise
//!   `easy` if confidence ≥ 0.5, else `hard`.

use crate::capture::stored_values;
use crate::stats::quantile_sorted;
use crate::store::{Store, StoreError};
use rusqlite::params;

/// The metrics of one example.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleMetrics {
    pub first_correct_epoch: Option<u32>,
    pub learned_epoch: Option<u32>,
    pub forgetting_events: u32,
    pub unforgettable: bool,
    pub confidence: f64,
    pub variability: f64,
    pub correctness: f64,
    pub aum: f64,
}

/// A data-map region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Easy,
    Ambiguous,
    Hard,
}

impl Region {
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Easy => "easy",
            Region::Ambiguous => "ambiguous",
            Region::Hard => "hard",
        }
    }
}

/// Running state of one example while its epochs stream past in ascending order.
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    epochs: u32,
    last_epoch: u32,
    first_correct: Option<u32>,
    last_incorrect: Option<u32>,
    prev_correct: bool,
    forgetting: u32,
    n_correct: u32,
    // Welford's running mean and sum of squared deviations of p_true.
    mean_p: f64,
    m2_p: f64,
    sum_margin: f64,
}

impl Accumulator {
    /// Adds epoch `epoch` (epochs must come in ascending order, from 1).
    pub fn push(&mut self, epoch: u32, correct: bool, p_true: f64, margin: f64) {
        if correct {
            self.first_correct.get_or_insert(epoch);
            self.n_correct += 1;
        } else {
            self.last_incorrect = Some(epoch);
            if self.epochs > 0 && self.prev_correct {
                self.forgetting += 1;
            }
        }
        self.prev_correct = correct;
        self.epochs += 1;
        self.last_epoch = epoch;
        let d = p_true - self.mean_p;
        self.mean_p += d / self.epochs as f64;
        self.m2_p += d * (p_true - self.mean_p);
        self.sum_margin += margin;
    }

    /// The number of epochs seen.
    pub fn epochs(&self) -> u32 {
        self.epochs
    }

    pub fn finish(&self) -> ExampleMetrics {
        let e = self.epochs as f64;
        let learned = if self.prev_correct {
            Some(self.last_incorrect.map_or(1, |l| l + 1))
        } else {
            None
        };
        ExampleMetrics {
            first_correct_epoch: self.first_correct,
            learned_epoch: learned,
            forgetting_events: self.forgetting,
            unforgettable: self.first_correct.is_some() && self.forgetting == 0,
            confidence: self.mean_p,
            variability: (self.m2_p / e).max(0.0).sqrt(),
            correctness: self.n_correct as f64 / e,
            aum: self.sum_margin / e,
        }
    }
}

/// Metrics of one example from its per-epoch series (epochs 1..E in order).
pub fn example_metrics(correct: &[bool], p_true: &[f64], margin: &[f64]) -> ExampleMetrics {
    let mut acc = Accumulator::default();
    for (i, ((&c, &p), &m)) in correct.iter().zip(p_true).zip(margin).enumerate() {
        acc.push(i as u32 + 1, c, p, m);
    }
    acc.finish()
}

/// The regions of a group of examples (one run, one split).
pub fn regions(confidence: &[f64], variability: &[f64]) -> Vec<Region> {
    let mut sorted = variability.to_vec();
    sorted.sort_by(f64::total_cmp);
    let Some(threshold) = quantile_sorted(&sorted, 2.0 / 3.0) else {
        return Vec::new();
    };
    confidence
        .iter()
        .zip(variability)
        .map(|(&c, &v)| {
            if v >= threshold {
                Region::Ambiguous
            } else if c >= 0.5 {
                Region::Easy
            } else {
                Region::Hard
            }
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(
        "run {run}: an observation of example {example} has neither loss and margin nor f32 logits"
    )]
    NoValues { run: i64, example: i64 },
    #[error("run {run}: example {example} has {got} {phase} observations in epochs 1..{epochs}, expected {epochs}: the run is incomplete")]
    Incomplete {
        run: i64,
        phase: &'static str,
        example: i64,
        got: u32,
        epochs: u32,
    },
}

/// Computes (or recomputes) the per-example metrics of a run, for each phase it recorded,
/// in one transaction. Returns the number of rows written.
pub fn compute_run(store: &Store, run_id: i64) -> Result<usize, MetricsError> {
    let conn = store.conn();
    let tx = conn.unchecked_transaction()?;
    tx.execute("DELETE FROM example_metrics WHERE run_id = ?1", [run_id])?;
    tx.execute("DELETE FROM class_accuracy WHERE run_id = ?1", [run_id])?;
    let mut written = 0;
    for (phase, name) in [(0i64, "eval"), (1, "step")] {
        // Examples of the run's dataset: labels and splits by example id.
        let mut st = tx.prepare_cached(
            "SELECT e.example_id, e.label, e.split FROM examples e
             JOIN experiments x ON x.dataset_id = e.dataset_id
             JOIN runs r ON r.experiment = x.experiment
             WHERE r.run_id = ?1 ORDER BY e.example_id",
        )?;
        let examples: Vec<(i64, i64, String)> = st
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let n = examples.last().map_or(0, |e| e.0 as usize + 1);
        let mut label = vec![-1i64; n];
        let mut is_test = vec![false; n];
        for (id, l, split) in &examples {
            label[*id as usize] = *l;
            is_test[*id as usize] = split == "test";
        }
        let n_classes = examples.iter().map(|e| e.1 + 1).max().unwrap_or(0) as usize;
        // class_counts[epoch][split][class] = (examples, correct)
        let mut class_counts: Vec<Vec<Vec<(i64, i64)>>> = Vec::new();
        let mut acc: Vec<Option<Accumulator>> = vec![None; n];
        let mut st = tx.prepare_cached(
            "SELECT epoch, example_id, pred, loss, margin, logits FROM observations
             WHERE run_id = ?1 AND phase = ?2 ORDER BY epoch, example_id",
        )?;
        let mut rows = st.query(params![run_id, phase])?;
        let mut last_epoch = 0u32;
        while let Some(r) = rows.next()? {
            let epoch: u32 = r.get(0)?;
            let ex = r.get::<_, i64>(1)? as usize;
            let pred: i64 = r.get(2)?;
            let correct = pred == label[ex];
            while class_counts.len() <= epoch as usize {
                class_counts.push(vec![vec![(0, 0); n_classes]; 2]);
            }
            let cell = &mut class_counts[epoch as usize][is_test[ex] as usize][label[ex] as usize];
            cell.0 += 1;
            cell.1 += correct as i64;
            if epoch == 0 {
                continue;
            }
            // Stored loss and margin, or (f32 logits) recomputed from the logits.
            let blob = match r.get_ref(5)? {
                rusqlite::types::ValueRef::Blob(b) => Some(b),
                _ => None,
            };
            let (_, p_true, margin) = stored_values(r.get(3)?, r.get(4)?, blob, label[ex] as u32)
                .ok_or(MetricsError::NoValues {
                run: run_id,
                example: ex as i64,
            })?;
            let a = acc[ex].get_or_insert_with(Accumulator::default);
            a.push(epoch, correct, p_true, margin);
            last_epoch = epoch;
        }
        let mut ins = tx.prepare_cached(
            "INSERT INTO class_accuracy (run_id, phase, epoch, split, class, examples, correct)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (epoch, by_split) in class_counts.iter().enumerate() {
            for (s, by_class) in by_split.iter().enumerate() {
                for (class, &(n, c)) in by_class.iter().enumerate() {
                    if n > 0 {
                        let split = if s == 1 { "test" } else { "train" };
                        ins.execute(params![
                            run_id,
                            name,
                            epoch as i64,
                            split,
                            class as i64,
                            n,
                            c
                        ])?;
                    }
                }
            }
        }
        if last_epoch == 0 {
            continue;
        }
        // Every observed example must have every epoch 1..E.
        let mut done: Vec<(i64, &str, ExampleMetrics)> = Vec::new();
        for (id, _, split) in &examples {
            if let Some(a) = &acc[*id as usize] {
                if a.epochs() != last_epoch {
                    return Err(MetricsError::Incomplete {
                        run: run_id,
                        phase: name,
                        example: *id,
                        got: a.epochs(),
                        epochs: last_epoch,
                    });
                }
                done.push((*id, split.as_str(), a.finish()));
            }
        }
        let mut region = vec![Region::Hard; done.len()];
        for split in ["train", "test"] {
            let idx: Vec<usize> = (0..done.len()).filter(|&i| done[i].1 == split).collect();
            let conf: Vec<f64> = idx.iter().map(|&i| done[i].2.confidence).collect();
            let var: Vec<f64> = idx.iter().map(|&i| done[i].2.variability).collect();
            for (k, r) in regions(&conf, &var).into_iter().enumerate() {
                region[idx[k]] = r;
            }
        }
        let mut ins = tx.prepare_cached(
            "INSERT INTO example_metrics (run_id, phase, example_id, epochs, first_correct_epoch,
                 learned_epoch, forgetting_events, unforgettable, confidence, variability,
                 correctness, region, aum)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for ((id, _, m), r) in done.iter().zip(&region) {
            ins.execute(params![
                run_id,
                name,
                id,
                last_epoch,
                m.first_correct_epoch,
                m.learned_epoch,
                m.forgetting_events,
                m.unforgettable,
                m.confidence,
                m.variability,
                m.correctness,
                r.as_str(),
                m.aum
            ])?;
            written += 1;
        }
    }
    tx.commit()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_by_hand() {
        // correct: 0 1 1 0 1 1 → first 2, learned 5, one forgetting event (epoch 4).
        let c = [false, true, true, false, true, true];
        let p = [0.1, 0.6, 0.7, 0.4, 0.8, 0.9];
        let m = [-1.0, 0.5, 1.0, -0.5, 2.0, 3.0];
        let x = example_metrics(&c, &p, &m);
        assert_eq!(x.first_correct_epoch, Some(2));
        assert_eq!(x.learned_epoch, Some(5));
        assert_eq!(x.forgetting_events, 1);
        assert!(!x.unforgettable);
        assert!((x.confidence - 3.5 / 6.0).abs() < 1e-12);
        assert!((x.correctness - 4.0 / 6.0).abs() < 1e-12);
        assert!((x.aum - 5.0 / 6.0).abs() < 1e-12);
        // Population variance of p: mean 0.58333…, Σ(p−mean)² = 0.48833…, /6.
        let mean = 3.5 / 6.0;
        let var: f64 = p.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 6.0;
        assert!((x.variability - var.sqrt()).abs() < 1e-12);
        // Never correct; correct only at the end; always correct.
        let never = example_metrics(&[false; 3], &[0.1; 3], &[-1.0; 3]);
        assert_eq!(
            (never.first_correct_epoch, never.learned_epoch),
            (None, None)
        );
        assert!(!never.unforgettable);
        let late = example_metrics(&[false, false, true], &[0.1; 3], &[0.0; 3]);
        assert_eq!(
            (late.first_correct_epoch, late.learned_epoch),
            (Some(3), Some(3))
        );
        let always = example_metrics(&[true; 3], &[0.9; 3], &[1.0; 3]);
        assert_eq!(always.learned_epoch, Some(1));
        assert!(always.unforgettable);
        // Forgotten at the end: learned_epoch NULL, one event.
        let lost = example_metrics(&[true, true, false], &[0.9; 3], &[1.0; 3]);
        assert_eq!((lost.learned_epoch, lost.forgetting_events), (None, 1));
    }

    #[test]
    fn regions_by_hand() {
        // variability 0.1 … 0.6: type-7 2/3 quantile at h = 5·2/3 = 3.333 → 0.4 + 0.333·0.1.
        let v = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let c = [0.9, 0.2, 0.5, 0.9, 0.1, 0.9];
        let r = regions(&c, &v);
        use Region::*;
        assert_eq!(r, vec![Easy, Hard, Easy, Easy, Ambiguous, Ambiguous]);
    }
}
