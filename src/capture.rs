//! The capture arithmetic: from one example's logits and label to the values METRICS.md
//! defines (`pred`, `correct`, `p_true`, `loss`, `margin`), in f64 from the f32 logits.

/// What is recorded for one example at one epoch and phase, besides its logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// argmax of the logits, lowest index on ties.
    pub pred: u32,
    /// −log softmax(z)_y, natural log.
    pub loss: f64,
    /// softmax(z)_y.
    pub p_true: f64,
    /// z_y − max_{k≠y} z_k on raw logits.
    pub margin: f64,
}

impl Observation {
    pub fn correct(&self, label: u32) -> bool {
        self.pred == label
    }
}

/// Computes the observation of one example. `logits` has one entry per class (at least two),
/// `label < logits.len()`.
pub fn observe(logits: &[f32], label: u32) -> Observation {
    let y = label as usize;
    debug_assert!(logits.len() >= 2 && y < logits.len());
    let mut pred = 0usize;
    let mut max = f64::NEG_INFINITY;
    let mut max_other = f64::NEG_INFINITY;
    for (k, &z) in logits.iter().enumerate() {
        let z = z as f64;
        if k == 0 || z > max {
            max = z;
            pred = k;
        }
        if k != y && z > max_other {
            max_other = z;
        }
    }
    // log-sum-exp with the maximum subtracted, so large logits do not overflow.
    let sum: f64 = logits.iter().map(|&z| (z as f64 - max).exp()).sum();
    let log_z = max + sum.ln();
    let zy = logits[y] as f64;
    let loss = log_z - zy;
    Observation {
        pred: pred as u32,
        loss,
        p_true: (-loss).exp(),
        margin: zy - max_other,
    }
}

/// Packs f32 logits as little-endian bytes (the stored BLOB format).
pub fn logits_to_blob(logits: &[f32], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(logits.len() * 4);
    for z in logits {
        out.extend_from_slice(&z.to_le_bytes());
    }
}

/// Reads little-endian f32 logits from a stored BLOB.
pub fn blob_to_logits(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
