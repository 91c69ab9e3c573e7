//! Native, seeded MNIST-1D generator (Greydanus 2020, "Scaling down deep learning").
//!
//! This follows the reference Python package's `get_templates` / `transform` / `make_dataset`
//! with its default arguments (see `shared/data/mnist1d/README.md`). Ten hand-drawn 12-point
//! templates, one per digit, are standardised and then, for every example:
//!
//! 1. **pad**: `1e-8` is added to the template and `p = 36 + ⌊25·u⌋` zeros are appended;
//! 2. **dilate**: the `12 + p` points are linearly resampled to 72 points;
//! 3. **scale**: the signal is multiplied by `1 + 0.4·(u − 0.5)`;
//! 4. **translate**: it is rotated right by `k ∈ {0 … 47}` (element `i` moves to `i + k mod 72`);
//! 5. **correlated noise**: the points that are exactly 0 (the padding) are replaced by
//!    `0.25·N(0,1)` noise smoothed with `gaussian_filter1d(σ = 2, mode = 'reflect',
//!    truncate = 4)`;
//! 6. **iid noise**: `0.02·N(0,1)` is added to every point;
//! 7. **shear**: `c·linspace(−0.5, 0.5, 72)` is subtracted, `c = 0.75·(u − 0.5)`;
//! 8. **subsample**: the 72 points are linearly resampled to 40.
//!
//! Examples are made class by class (all of class 0, then class 1, …), then permuted, the whole
//! array is standardised with its global mean and population standard deviation, and the first
//! 80% become the train split.
//!
//! # Random draws
//!
//! Everything comes from one `ChaCha8Rng::seed_from_u64(seed)`, consumed in this fixed order:
//!
//! * for each class `c = 0 … 9`, for each of its `n / 10` examples:
//!   1. one uniform `u` for the padding length,
//!   2. one uniform `u` for the scale,
//!   3. one uniform integer for the translation,
//!   4. 72 standard normals for the correlated noise (all 72 are drawn, whatever the mask),
//!   5. 72 standard normals for the iid noise,
//!   6. one uniform `u` for the shear;
//! * then a Fisher–Yates shuffle of the example order: for `i = len−1 down to 1`, one uniform
//!   integer `j ∈ {0 … i}`, swap `i` and `j`.
//!
//! Uniforms in `[0, 1)` are `(next_u64 >> 11) · 2⁻⁵³`; a uniform integer below `m` is the high
//! word of `next_u64 · m` (a 128-bit product), and normals are `rand_distr::StandardNormal`
//! (a Ziggurat sampler). All of these are integer or table arithmetic on the ChaCha stream, so
//! the dataset is the same on every run and platform. The arithmetic is done in `f64`; values are
//! converted to `f32` only at the end.
//!
//! The random draws differ from NumPy's, so the result matches the reference dataset in
//! distribution, not value for value.

use super::{Dataset, Example, Inputs, Split};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Length of every generated sequence.
pub const SEQ_LEN: usize = 40;
/// Number of classes (digits 0–9).
pub const N_CLASSES: usize = 10;

/// Points per template.
const TEMPLATE_LEN: usize = 12;
/// Padding length is drawn from `PAD_MIN ..= PAD_MAX`.
const PAD_MIN: usize = 36;
const PAD_MAX: usize = 60;
/// Length after dilation: the longest padded template.
const DILATED_LEN: usize = TEMPLATE_LEN + PAD_MAX;
const SCALE_COEFF: f64 = 0.4;
const MAX_TRANSLATION: usize = 48;
const CORR_NOISE_SCALE: f64 = 0.25;
const CORR_NOISE_SIGMA: f64 = 2.0;
/// scipy's default `truncate`: the kernel radius is `⌊4σ + 0.5⌋`.
const GAUSSIAN_TRUNCATE: f64 = 4.0;
const IID_NOISE_SCALE: f64 = 0.02;
const SHEAR_SCALE: f64 = 0.75;
/// Added to the template before padding, so that only padding is exactly 0.
const EPS: f64 = 1e-8;

/// The ten hand-drawn templates, before standardisation.
const RAW_TEMPLATES: [[f64; TEMPLATE_LEN]; N_CLASSES] = [
    [5.0, 6.0, 6.5, 6.75, 7.0, 7.0, 7.0, 7.0, 6.75, 6.5, 6.0, 5.0],
    [5.0, 3.0, 3.0, 3.4, 3.8, 4.2, 4.6, 5.0, 5.4, 5.8, 5.0, 5.0],
    [5.0, 6.0, 6.5, 6.5, 6.0, 5.25, 4.75, 4.0, 3.5, 3.5, 4.0, 5.0],
    [5.0, 6.0, 6.5, 6.5, 6.0, 5.0, 5.0, 6.0, 6.5, 6.5, 6.0, 5.0],
    [5.0, 4.4, 3.8, 3.2, 2.6, 2.6, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
    [5.0, 3.0, 3.0, 3.0, 3.0, 5.0, 6.0, 6.5, 6.5, 6.0, 4.5, 5.0],
    [5.0, 4.0, 3.5, 3.25, 3.0, 3.0, 3.0, 3.0, 3.25, 3.5, 4.0, 5.0],
    [5.0, 7.0, 7.0, 6.6, 6.2, 5.8, 5.4, 5.0, 4.6, 4.2, 5.0, 5.0],
    [5.0, 4.0, 3.5, 3.5, 4.0, 5.0, 5.0, 4.0, 3.5, 3.5, 4.0, 5.0],
    [5.0, 4.0, 3.5, 3.5, 4.0, 5.0, 5.0, 5.0, 5.0, 4.7, 4.3, 5.0],
];

/// Generates `10 · ⌊n / 10⌋` MNIST-1D examples (`⌊n / 10⌋` per class) from `seed`.
pub fn generate(n: usize, seed: u64) -> Dataset {
    let per_class = n / N_CLASSES;
    let len = per_class * N_CLASSES;
    let templates = templates();
    let kernel = gaussian_kernel(CORR_NOISE_SIGMA, GAUSSIAN_TRUNCATE);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    // Class-major generation, as in the reference `make_dataset`.
    let mut raw = vec![0.0f64; len * SEQ_LEN];
    let mut rows = raw.chunks_exact_mut(SEQ_LEN);
    for template in &templates {
        for _ in 0..per_class {
            let row = rows.next().expect("one row per example");
            transform(template, &kernel, &mut rng, row);
        }
    }

    // `np.random.permutation`: example i of the dataset is generated example order[i].
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        let j = below(&mut rng, i as u64 + 1) as usize;
        order.swap(i, j);
    }

    // Global standardisation (population std), in f64.
    let count = raw.len().max(1) as f64;
    let mean = raw.iter().sum::<f64>() / count;
    let var = raw.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
    let std = var.sqrt();
    let inv_std = if std > 0.0 { 1.0 / std } else { 1.0 };

    let mut values = Vec::with_capacity(len * SEQ_LEN);
    for &src in &order {
        let row = &raw[src * SEQ_LEN..(src + 1) * SEQ_LEN];
        values.extend(row.iter().map(|&v| ((v - mean) * inv_std) as f32));
    }

    // floor(0.8 · len), in exact integer arithmetic.
    let n_train = len * 4 / 5;
    let examples = order
        .iter()
        .enumerate()
        .map(|(i, &src)| {
            let class = (src / per_class) as u32;
            Example {
                source_id: i.to_string(),
                split: if i < n_train {
                    Split::Train
                } else {
                    Split::Test
                },
                label: class,
                orig_label: class,
                length: SEQ_LEN as u32,
            }
        })
        .collect();

    Dataset {
        spec: format!("mnist1d:n={n},seed={seed}"),
        class_names: (0..N_CLASSES).map(|c| c.to_string()).collect(),
        examples,
        inputs: Inputs::Numeric {
            seq_len: SEQ_LEN,
            features: 1,
            values,
        },
        label_noise: 0.0,
    }
}

/// The templates as the reference `get_templates` returns them: each standardised (population
/// std), shifted to start at 0, then divided by 6.
fn templates() -> [[f64; TEMPLATE_LEN]; N_CLASSES] {
    let mut out = RAW_TEMPLATES;
    for t in &mut out {
        let n = TEMPLATE_LEN as f64;
        let mean = t.iter().sum::<f64>() / n;
        let std = (t.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        for v in t.iter_mut() {
            *v = (*v - mean) / std;
        }
        let first = t[0];
        for v in t.iter_mut() {
            *v = (*v - first) / 6.0;
        }
    }
    out
}

/// Turns one template into one example (steps 1–8 of the module docs), writing the 40 final
/// points into `out`. Consumes exactly the draws listed in the module docs, in that order.
fn transform(
    template: &[f64; TEMPLATE_LEN],
    kernel: &[f64],
    rng: &mut ChaCha8Rng,
    out: &mut [f64],
) {
    // 1. pad: template + eps, then p zeros.
    let p = PAD_MIN + below(rng, (PAD_MAX - PAD_MIN + 1) as u64) as usize;
    let mut padded = [0.0f64; DILATED_LEN];
    for (dst, &v) in padded.iter_mut().zip(template) {
        *dst = v + EPS;
    }
    let padded = &padded[..TEMPLATE_LEN + p];

    // 2. dilate to 72 points.
    let mut x = [0.0f64; DILATED_LEN];
    interpolate(padded, &mut x);

    // 3. scale.
    let scale = 1.0 + SCALE_COEFF * (uniform(rng) - 0.5);
    for v in &mut x {
        *v *= scale;
    }

    // 4. translate: rotate right by k (k = 0 leaves x as it is).
    let k = below(rng, MAX_TRANSLATION as u64) as usize;
    x.rotate_right(k);

    // 5. correlated noise, where the signal is exactly 0. All 72 normals are drawn.
    let mut noise = [0.0f64; DILATED_LEN];
    for v in &mut noise {
        *v = CORR_NOISE_SCALE * rng.sample::<f64, _>(StandardNormal);
    }
    let mut smooth = [0.0f64; DILATED_LEN];
    gaussian_filter_reflect(&noise, kernel, &mut smooth);
    for (v, &s) in x.iter_mut().zip(&smooth) {
        if *v == 0.0 {
            *v = s;
        }
    }

    // 6. iid noise.
    for v in &mut x {
        *v += IID_NOISE_SCALE * rng.sample::<f64, _>(StandardNormal);
    }

    // 7. shear: subtract c · linspace(-0.5, 0.5, 72).
    let c = SHEAR_SCALE * (uniform(rng) - 0.5);
    let last = (DILATED_LEN - 1) as f64;
    for (i, v) in x.iter_mut().enumerate() {
        *v -= c * (-0.5 + i as f64 / last);
    }

    // 8. subsample to 40 points.
    interpolate(&x, out);
}

/// A uniform draw in `[0, 1)`: the top 53 bits of one `u64`.
fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `0 .. m` (m ≥ 1): the high word of the 128-bit product of one `u64`
/// and `m` (bias below `m / 2⁶⁴`, negligible here).
fn below(rng: &mut ChaCha8Rng, m: u64) -> u64 {
    ((rng.next_u64() as u128 * m as u128) >> 64) as u64
}

/// Linear interpolation of `src`, sampled on `linspace(0, 1, src.len())`, at the points of
/// `linspace(0, 1, dst.len())` (NumPy `interp` / scipy `interp1d(kind='linear')`).
///
/// The source position of output point `j` is `j · (m−1) / (n−1)`; it is split into an integer
/// index and a remainder exactly, so grid points that coincide (both endpoints included) copy
/// the source value exactly, and runs of zeros stay exactly zero.
fn interpolate(src: &[f64], dst: &mut [f64]) {
    let m = src.len();
    let n = dst.len();
    if n == 0 {
        return;
    }
    if m == 1 || n == 1 {
        // A single output point is linspace's start; a single input point is constant.
        dst.fill(src[0]);
        return;
    }
    let (m1, n1) = (m - 1, n - 1);
    for (j, d) in dst.iter_mut().enumerate() {
        let num = j * m1;
        let (i, rem) = (num / n1, num % n1);
        *d = if rem == 0 {
            src[i]
        } else {
            let frac = rem as f64 / n1 as f64;
            src[i] + frac * (src[i + 1] - src[i])
        };
    }
}

/// scipy's `_gaussian_kernel1d(sigma, 0, radius)`: `exp(−x² / 2σ²)` for `x ∈ −r … r`,
/// `r = ⌊truncate·σ + 0.5⌋`, normalised to sum 1.
fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let mut k: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / (sigma * sigma) * (x * x) as f64).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    for v in &mut k {
        *v /= sum;
    }
    k
}

/// Maps an out-of-range index into `0 .. n` the way scipy's `mode='reflect'` does
/// (half-sample symmetric: `d c b a | a b c d | d c b a`), for any distance.
fn reflect_index(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let r = i.rem_euclid(period);
    (if r < n { r } else { period - 1 - r }) as usize
}

/// `scipy.ndimage.gaussian_filter1d` (order 0) with a precomputed odd-length `kernel` and
/// `mode='reflect'`. The kernel is symmetric, so correlation and convolution agree.
fn gaussian_filter_reflect(src: &[f64], kernel: &[f64], dst: &mut [f64]) {
    let n = src.len();
    let radius = (kernel.len() / 2) as isize;
    for (i, d) in dst.iter_mut().enumerate() {
        let mut acc = 0.0;
        for (t, &w) in kernel.iter().enumerate() {
            let idx = i as isize + t as isize - radius;
            let idx = if (0..n as isize).contains(&idx) {
                idx as usize
            } else {
                reflect_index(idx, n)
            };
            acc += w * src[idx];
        }
        *d = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_keeps_endpoints_and_lines() {
        let src = [3.0, -1.0, 2.5, 7.0, 0.25];
        let mut dst = [0.0; 9];
        interpolate(&src, &mut dst);
        assert_eq!(dst[0], 3.0);
        assert_eq!(dst[8], 0.25);
        // 9 points over 5 land on every source point (every other output) and midpoints.
        assert_eq!(dst[2], -1.0);
        assert_eq!(dst[4], 2.5);
        assert_eq!(dst[1], 1.0);
        assert_eq!(dst[7], 3.625);

        // A line stays a line, and downsampling 72 -> 40 keeps both ends.
        let line: Vec<f64> = (0..72).map(|i| 2.0 * i as f64 / 71.0 - 1.0).collect();
        let mut out = [0.0; 40];
        interpolate(&line, &mut out);
        assert_eq!(out[0], -1.0);
        assert_eq!(out[39], 1.0);
        for (j, v) in out.iter().enumerate() {
            assert!((v - (2.0 * j as f64 / 39.0 - 1.0)).abs() < 1e-12);
        }

        // Zeros between zeros stay exactly zero.
        let padded = [1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut up = [1.0; 20];
        interpolate(&padded, &mut up);
        assert!(up[8..].iter().all(|&v| v == 0.0), "{up:?}");
        assert!(up[..6].iter().all(|&v| v != 0.0), "{up:?}");
    }

    #[test]
    fn gaussian_kernel_matches_scipy_shape() {
        let k = gaussian_kernel(2.0, 4.0);
        assert_eq!(k.len(), 17); // radius int(4 * 2 + 0.5) = 8
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Centre weight of scipy.ndimage._gaussian_kernel1d(2, 0, 8).
        assert!((k[8] - 0.199_474_647_864_745).abs() < 1e-12, "{}", k[8]);
        assert!((k[0] - 6.691_628_957_263_553e-5).abs() < 1e-15, "{}", k[0]);
        assert!((k[0] / k[8] - (-8.0f64).exp()).abs() < 1e-15);
    }

    #[test]
    fn gaussian_filter_constant_and_impulse() {
        let k = gaussian_kernel(2.0, 4.0);
        let constant = [1.75; 72];
        let mut out = [0.0; 72];
        gaussian_filter_reflect(&constant, &k, &mut out);
        assert!(out.iter().all(|v| (v - 1.75).abs() < 1e-12));

        let mut impulse = [0.0; 72];
        impulse[36] = 1.0;
        gaussian_filter_reflect(&impulse, &k, &mut out);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(out[36], k[8]);
        assert_eq!(out[30], k[2]);

        // Reflect at the border: index -1 reads element 0, so an impulse at 0 gets the centre
        // weight plus the weight at offset 1.
        let mut edge = [0.0; 72];
        edge[0] = 1.0;
        gaussian_filter_reflect(&edge, &k, &mut out);
        assert!((out[0] - (k[8] + k[7])).abs() < 1e-15);
        assert!((out[3] - (k[5] + k[4])).abs() < 1e-15);
    }

    #[test]
    fn reflect_is_half_sample_symmetric() {
        let idx: Vec<usize> = (-5..9).map(|i| reflect_index(i, 4)).collect();
        // d c b a | a b c d | d c b a, with a..d = 0..3, starting at -5.
        assert_eq!(idx, [3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]);
    }

    #[test]
    fn templates_are_standardised_and_start_at_zero() {
        for (t, raw) in templates().iter().zip(&RAW_TEMPLATES) {
            assert_eq!(t[0], 0.0);
            // Undo the shift and the /6: mean 0, population std 1.
            let first = {
                let n = TEMPLATE_LEN as f64;
                let mean = raw.iter().sum::<f64>() / n;
                let std = (raw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                (raw[0] - mean) / std
            };
            let z: Vec<f64> = t.iter().map(|v| v * 6.0 + first).collect();
            let mean = z.iter().sum::<f64>() / 12.0;
            let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 12.0;
            assert!(mean.abs() < 1e-12, "{mean}");
            assert!((var - 1.0).abs() < 1e-12, "{var}");
            // Every template ends where it starts (the last raw value is 5 too).
            assert!(t[11].abs() < 1e-12);
        }
    }

    #[test]
    fn padding_alone_is_exactly_zero_after_dilation_and_scale() {
        // The padded region (and only it) is exactly 0, so only it receives correlated noise.
        let t = templates()[3];
        let mut padded = [0.0; DILATED_LEN];
        for (d, v) in padded.iter_mut().zip(&t) {
            *d = v + EPS;
        }
        let p = PAD_MIN;
        let mut x = [0.0; DILATED_LEN];
        interpolate(&padded[..TEMPLATE_LEN + p], &mut x);
        let zeros = x.iter().filter(|&&v| v == 0.0).count();
        // Source zeros start at index 12 of 48 points; output j is inside them when
        // j·47/71 ≥ 12, i.e. j ≥ 19 (18.13 → 19), so 53 exact zeros.
        assert_eq!(zeros, 53);
    }

    #[test]
    fn small_dataset_is_well_formed() {
        let d = generate(25, 1);
        assert_eq!(d.len(), 20);
        assert_eq!(d.spec, "mnist1d:n=25,seed=1");
        assert_eq!(d.indices(Split::Train).len(), 16);
        let Inputs::Numeric { values, .. } = &d.inputs else {
            panic!("numeric")
        };
        assert_eq!(values.len(), 20 * SEQ_LEN);
        assert!(values.iter().all(|v| v.is_finite()));
        for c in 0..10 {
            assert_eq!(d.examples.iter().filter(|e| e.label == c).count(), 2);
        }
    }
}
