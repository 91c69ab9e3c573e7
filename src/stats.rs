//! The statistics trainlog's answers use, in one place: average ranks, Spearman's rho,
//! Kendall's W, AUROC, quantiles and the binomial distribution. They are registered as SQL
//! functions (see [`crate::store::functions`]) so the canned queries use these and nothing
//! else.

/// 1-based ranks of `xs`, ties given the average of the ranks they span.
pub fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share the mean of ranks i+1..=j+1.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson's correlation; None when fewer than two points or a variable is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 2 || y.len() != n {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// Spearman's rho: Pearson's correlation of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's W (coefficient of concordance) of `m` raters ranking the same `n` items:
/// `scores[r][i]` is rater r's score of item i, ranked within the rater (ties averaged).
/// W = 12 S / (m² (n³ − n) − m Σ T), S = Σ_i (R_i − R̄)², R_i the rank sum of item i,
/// T = Σ (t³ − t) over the tie groups of each rater. None with fewer than two items or
/// raters, or when every rater ties every item.
pub fn kendall_w(scores: &[Vec<f64>]) -> Option<f64> {
    let m = scores.len();
    if m < 2 {
        return None;
    }
    let n = scores[0].len();
    if n < 2 || scores.iter().any(|s| s.len() != n) {
        return None;
    }
    let mut sums = vec![0.0; n];
    let mut ties = 0.0;
    for s in scores {
        let r = average_ranks(s);
        for (acc, v) in sums.iter_mut().zip(&r) {
            *acc += v;
        }
        let mut sorted = s.clone();
        sorted.sort_by(f64::total_cmp);
        let mut i = 0;
        while i < n {
            let mut j = i;
            while j + 1 < n && sorted[j + 1] == sorted[i] {
                j += 1;
            }
            let t = (j - i + 1) as f64;
            ties += t * t * t - t;
            i = j + 1;
        }
    }
    let mean = sums.iter().sum::<f64>() / n as f64;
    let s: f64 = sums.iter().map(|r| (r - mean) * (r - mean)).sum();
    let (m, nf) = (m as f64, n as f64);
    let denom = m * m * (nf * nf * nf - nf) - m * ties;
    if denom <= 0.0 {
        return None;
    }
    Some(12.0 * s / denom)
}

/// Area under the ROC curve of `scores` for finding the positives: the probability that a
/// random positive scores higher than a random negative, ties counting one half
/// (Mann–Whitney U / (n₊ n₋)). None without both positives and negatives.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let r = average_ranks(scores);
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    let rank_sum: f64 = r
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// The q-quantile of sorted values by linear interpolation between order statistics
/// (Hyndman & Fan type 7, numpy's default): position h = (n − 1) q.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// P(X = k) for X ~ Binomial(n, p).
pub fn binomial_pmf(n: u64, k: u64, p: f64) -> f64 {
    if k > n {
        return 0.0;
    }
    let ln_choose = ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k);
    if p == 0.0 {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    if p == 1.0 {
        return if k == n { 1.0 } else { 0.0 };
    }
    (ln_choose + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
}

fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

/// Population mean and standard deviation (divide by n), two-pass.
pub fn mean_std(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}
