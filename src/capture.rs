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

/// How a run stores its logits (`record --logits`): as little-endian f32 (4 bytes a class), as
/// IEEE half floats (2 bytes a class), or not at all.
///
/// With f32 logits the log does not store `loss` and `margin`: they are recomputed from the
/// logits on read ([`stored_values`]), with the same arithmetic and so the same bits. With f16
/// or no logits they are stored, computed from the model's f32 logits, so that they stay exact.
/// `p_true` is never stored: it is `exp(−loss)` (as [`observe`] computes it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LogitsFormat {
    #[default]
    F32,
    F16,
    None,
}

impl LogitsFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogitsFormat::F32 => "f32",
            LogitsFormat::F16 => "f16",
            LogitsFormat::None => "none",
        }
    }

    /// The format a `runs.logits` value names (old logs: f32).
    pub fn parse(s: &str) -> LogitsFormat {
        match s {
            "f16" => LogitsFormat::F16,
            "none" => LogitsFormat::None,
            _ => LogitsFormat::F32,
        }
    }

    /// Whether `loss` and `margin` are stored (they cannot be recomputed exactly).
    pub fn stores_values(self) -> bool {
        self != LogitsFormat::F32
    }

    /// Appends the stored bytes of `logits` to `out` (nothing for `None`).
    pub fn encode(self, logits: &[f32], out: &mut Vec<u8>) {
        match self {
            LogitsFormat::F32 => {
                for z in logits {
                    out.extend_from_slice(&z.to_le_bytes());
                }
            }
            LogitsFormat::F16 => {
                for z in logits {
                    out.extend_from_slice(&half::f16::from_f32(*z).to_le_bytes());
                }
            }
            LogitsFormat::None => {}
        }
    }

    /// Stored bytes per logit.
    pub fn width(self) -> usize {
        match self {
            LogitsFormat::F32 => 4,
            LogitsFormat::F16 => 2,
            LogitsFormat::None => 0,
        }
    }

    /// The logits of a stored BLOB of this format, as f32.
    pub fn decode(self, blob: &[u8]) -> Vec<f32> {
        match self {
            LogitsFormat::F16 => blob
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            _ => blob_to_logits(blob),
        }
    }
}

/// `(loss, p_true, margin)` of a stored observation: the stored `loss` and `margin` when there
/// are (f16 or no logits), else recomputed from the f32 logits BLOB. `None` if neither is there.
pub fn stored_values(
    loss: Option<f64>,
    margin: Option<f64>,
    f32_logits: Option<&[u8]>,
    label: u32,
) -> Option<(f64, f64, f64)> {
    match (loss, margin, f32_logits) {
        (Some(l), Some(m), _) => Some((l, (-l).exp(), m)),
        (_, _, Some(b)) => {
            let z = blob_to_logits(b);
            if z.len() < 2 || label as usize >= z.len() {
                return None;
            }
            let o = observe(&z, label);
            Some((o.loss, o.p_true, o.margin))
        }
        _ => None,
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
