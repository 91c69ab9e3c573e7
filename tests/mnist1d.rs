//! The native MNIST-1D generator against the reference dataset
//! (`shared/data/mnist1d/mnist1d_5000_seed42.csv`, made by the Python `mnist1d` package).
//!
//! The random draws differ from NumPy's, so the comparison is in distribution: shape and
//! splits, determinism, per-class statistics, and a simple classifier that must find the same
//! task in both.

use std::path::{Path, PathBuf};
use trainlog::dataset::{mnist1d, Dataset, Inputs, Split};

const LEN: usize = 40;
const CLASSES: usize = 10;

/// One dataset as plain rows: labels, inputs (row-major, 40 per example) and the train flags.
struct Rows {
    labels: Vec<usize>,
    x: Vec<f64>,
    train: Vec<bool>,
}

impl Rows {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * LEN..(i + 1) * LEN]
    }

    fn split(&self, train: bool) -> Rows {
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| self.train[i] == train)
            .collect();
        Rows {
            labels: keep.iter().map(|&i| self.labels[i]).collect(),
            x: keep.iter().flat_map(|&i| self.row(i).to_vec()).collect(),
            train: vec![train; keep.len()],
        }
    }
}

fn reference_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist1d/mnist1d_5000_seed42.csv")
}

/// Reads the reference CSV: `id, split, label, x0 … x39`.
fn reference() -> Rows {
    let path = reference_path();
    let mut rdr = csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(&headers[1], "split");
    assert_eq!(&headers[2], "label");
    assert_eq!(&headers[3], "x0");
    assert_eq!(headers.len(), 3 + LEN);
    let mut rows = Rows {
        labels: vec![],
        x: vec![],
        train: vec![],
    };
    for rec in rdr.records() {
        let rec = rec.unwrap();
        rows.train.push(match &rec[1] {
            "train" => true,
            "test" => false,
            s => panic!("bad split {s}"),
        });
        rows.labels.push(rec[2].parse().unwrap());
        for v in rec.iter().skip(3) {
            rows.x.push(v.parse().unwrap());
        }
    }
    rows
}

fn native_values(d: &Dataset) -> &[f32] {
    match &d.inputs {
        Inputs::Numeric {
            seq_len,
            features,
            values,
        } => {
            assert_eq!((*seq_len, *features), (LEN, 1));
            values
        }
        Inputs::Tokens { .. } => panic!("mnist1d must have numeric inputs"),
    }
}

fn native(n: usize, seed: u64) -> Rows {
    let d = mnist1d::generate(n, seed);
    Rows {
        labels: d.examples.iter().map(|e| e.label as usize).collect(),
        x: native_values(&d).iter().map(|&v| v as f64).collect(),
        train: d.examples.iter().map(|e| e.split == Split::Train).collect(),
    }
}

fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (s, n) = v
        .into_iter()
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

fn std(v: &[f64]) -> f64 {
    let m = mean(v.iter().copied());
    mean(v.iter().map(|x| (x - m) * (x - m))).sqrt()
}

#[test]
fn mnist1d_shape_splits_and_balance() {
    let d = mnist1d::generate(5000, 42);
    assert_eq!(d.spec, "mnist1d:n=5000,seed=42");
    assert_eq!(d.len(), 5000);
    assert_eq!(d.label_noise, 0.0);
    assert_eq!(
        d.class_names,
        (0..10).map(|c| c.to_string()).collect::<Vec<_>>()
    );
    // 4000 train, then 1000 test.
    for (i, e) in d.examples.iter().enumerate() {
        let want = if i < 4000 { Split::Train } else { Split::Test };
        assert_eq!(e.split, want, "example {i}");
        assert_eq!(e.source_id, i.to_string());
        assert_eq!(e.label, e.orig_label);
        assert_eq!(e.length, LEN as u32);
    }
    let mut per_class = [0usize; CLASSES];
    for e in &d.examples {
        per_class[e.label as usize] += 1;
    }
    assert_eq!(per_class, [500; CLASSES]);
    // Shuffled: the train split holds every class, not the first eight.
    let mut train_classes = [0usize; CLASSES];
    for e in d.examples.iter().filter(|e| e.split == Split::Train) {
        train_classes[e.label as usize] += 1;
    }
    assert!(
        train_classes.iter().all(|&c| (330..=470).contains(&c)),
        "{train_classes:?}"
    );

    let values = native_values(&d);
    assert_eq!(values.len(), 5000 * LEN);
    assert!(values.iter().all(|v| v.is_finite()));
    let x: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    assert!(mean(x.iter().copied()).abs() < 1e-5);
    assert!((std(&x) - 1.0).abs() < 1e-5);

    // A size that is not a multiple of 10 rounds down per class.
    let small = mnist1d::generate(57, 1);
    assert_eq!(small.len(), 50);
    assert_eq!(small.indices(Split::Train).len(), 40);
    assert_eq!(native_values(&small).len(), 50 * LEN);
}

#[test]
fn mnist1d_is_deterministic_per_seed() {
    let a = mnist1d::generate(1000, 7);
    let b = mnist1d::generate(1000, 7);
    assert_eq!(a, b);
    let c = mnist1d::generate(1000, 8);
    assert_ne!(native_values(&a), native_values(&c));
    let labels = |d: &Dataset| d.examples.iter().map(|e| e.label).collect::<Vec<_>>();
    assert_ne!(labels(&a), labels(&c));
}

/// The standard deviation of a row after removing its least-squares line (the shear).
fn detrended_std(r: &[f64]) -> f64 {
    let t = |i: usize| i as f64 - (r.len() - 1) as f64 / 2.0;
    let m = mean(r.iter().copied());
    let slope = r
        .iter()
        .enumerate()
        .map(|(i, y)| t(i) * (y - m))
        .sum::<f64>()
        / (0..r.len()).map(|i| t(i) * t(i)).sum::<f64>();
    let residual: Vec<f64> = r
        .iter()
        .enumerate()
        .map(|(i, y)| y - m - slope * t(i))
        .collect();
    std(&residual)
}

/// Statistics of one class, named in [`STAT_NAMES`]; all but the last are averages over the
/// class's examples:
/// mean of x; per-example std; mean |x|; profile energy (the mean over positions of the squared
/// per-position class mean: high when examples line up, i.e. without translation); roughness
/// (mean |first difference|, mostly the correlated noise and the shear); curvature (mean
/// |second difference|, mostly the iid noise); amplitude spread (coefficient of variation across
/// examples of the detrended std, mostly the random scale).
fn class_stats(rows: &Rows, c: usize) -> [f64; 7] {
    let idx: Vec<usize> = (0..rows.len()).filter(|&i| rows.labels[i] == c).collect();
    let per_ex = |f: &dyn Fn(&[f64]) -> f64| mean(idx.iter().map(|&i| f(rows.row(i))));
    let mut profile = [0.0; LEN];
    for &i in &idx {
        for (p, v) in profile.iter_mut().zip(rows.row(i)) {
            *p += v / idx.len() as f64;
        }
    }
    let amplitudes: Vec<f64> = idx.iter().map(|&i| detrended_std(rows.row(i))).collect();
    [
        per_ex(&|r| mean(r.iter().copied())),
        per_ex(&std),
        per_ex(&|r| mean(r.iter().map(|v| v.abs()))),
        mean(profile.iter().map(|p| p * p)),
        per_ex(&|r| mean(r.windows(2).map(|w| (w[1] - w[0]).abs()))),
        per_ex(&|r| mean(r.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()))),
        std(&amplitudes) / mean(amplitudes.iter().copied()),
    ]
}

const STAT_NAMES: [&str; 7] = [
    "mean",
    "std",
    "mean|x|",
    "profile energy",
    "roughness",
    "curvature",
    "amplitude spread",
];

/// Largest allowed |native − reference| of each statistic, per class and pooled (averaged over
/// the ten classes). Measured with generate(5000, seed) for seeds 0..30 against the reference
/// file, the largest differences were, per class: mean 0.031, std 0.032, mean|x| 0.025, profile
/// energy 0.040, roughness 0.010, curvature 0.010, amplitude spread 0.014; pooled: std 0.0020,
/// mean|x| 0.0022, profile energy 0.0046, roughness 0.0018, curvature 0.0023, amplitude spread
/// 0.0028. The tolerances leave about 1.5× (per class) and 2× (pooled) that margin. (The pooled
/// mean is 0 by the global standardisation, so it is not checked.)
///
/// At seed 42 the largest differences are, per class: mean 0.019, std 0.016, mean|x| 0.013,
/// profile 0.014, roughness 0.008, curvature 0.008, amplitude spread 0.013; pooled: std 0.0006,
/// mean|x| 0.0003, profile 0.0009, roughness 0.0001, curvature 0.0007, amplitude spread 0.0008.
///
/// Breaking the generator on purpose fails this test, with (largest per-class, pooled)
/// differences: no shear → roughness 0.052 / +0.042; no correlated noise → roughness 0.115 /
/// −0.104; no random scale → amplitude spread 0.039 / −0.020; no translation → profile 0.79 /
/// +0.38; no iid noise → curvature 0.074 / −0.057; class 3 drawn from template 8 → mean 0.53;
/// one template value mistyped (template 0, 7 → 6) → curvature 0.079; templates not divided by
/// 6 → mean|x| 0.32 / −0.28; σ = 1 instead of 2 → curvature 0.40; noise added everywhere instead
/// of only on the zeros → amplitude spread 0.057 / +0.038; fixed padding → curvature 0.074;
/// shear scale 0.5 → roughness 0.028 / +0.022; no 1e-8 eps (template points equal to the first
/// become noise) → mean|x| 0.035 / +0.0074.
const PER_CLASS_TOL: [f64; 7] = [0.045, 0.045, 0.035, 0.06, 0.015, 0.015, 0.02];
const POOLED_TOL: [f64; 7] = [f64::INFINITY, 0.005, 0.005, 0.01, 0.005, 0.005, 0.006];

#[test]
fn mnist1d_class_statistics_match_reference() {
    let reference = reference();
    assert_eq!(reference.len(), 5000);
    assert_eq!(reference.split(true).len(), 4000);
    assert!(reference.train[..4000].iter().all(|&t| t));
    let native = native(5000, 42);
    let r: Vec<[f64; 7]> = (0..CLASSES).map(|c| class_stats(&reference, c)).collect();
    let n: Vec<[f64; 7]> = (0..CLASSES).map(|c| class_stats(&native, c)).collect();
    let mut failures = vec![];
    for (s, name) in STAT_NAMES.iter().enumerate() {
        for c in 0..CLASSES {
            let d = n[c][s] - r[c][s];
            eprintln!(
                "class {c} {name:>16}: native {:8.4} reference {:8.4} diff {d:+.4}",
                n[c][s], r[c][s]
            );
            if d.abs() > PER_CLASS_TOL[s] {
                failures.push(format!(
                    "class {c} {name}: native {:.4} vs reference {:.4} (tolerance {})",
                    n[c][s], r[c][s], PER_CLASS_TOL[s]
                ));
            }
        }
        let pooled = (0..CLASSES).map(|c| n[c][s] - r[c][s]).sum::<f64>() / CLASSES as f64;
        eprintln!("pooled {name:>16}: diff {pooled:+.4}");
        if pooled.abs() > POOLED_TOL[s] {
            failures.push(format!(
                "pooled {name}: native − reference = {pooled:+.4} (tolerance {})",
                POOLED_TOL[s]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "native MNIST-1D differs from the reference:\n{}",
        failures.join("\n")
    );
}

/// Nearest class centroid and k-nearest-neighbour accuracy of `train` on `test`.
fn classify(train: &Rows, test: &Rows, k: usize) -> (f64, f64) {
    let mut centroids = vec![[0.0; LEN]; CLASSES];
    let mut counts = [0usize; CLASSES];
    for i in 0..train.len() {
        counts[train.labels[i]] += 1;
        for (c, v) in centroids[train.labels[i]].iter_mut().zip(train.row(i)) {
            *c += v;
        }
    }
    for (c, n) in centroids.iter_mut().zip(counts) {
        c.iter_mut().for_each(|v| *v /= n as f64);
    }
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let mut centroid_ok = 0;
    let mut knn_ok = 0;
    for i in 0..test.len() {
        let x = test.row(i);
        let best = (0..CLASSES)
            .min_by(|&a, &b| dist(x, &centroids[a]).total_cmp(&dist(x, &centroids[b])))
            .unwrap();
        centroid_ok += (best == test.labels[i]) as usize;

        let mut d: Vec<(f64, usize)> = (0..train.len())
            .map(|j| (dist(x, train.row(j)), train.labels[j]))
            .collect();
        d.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        let mut votes = [0usize; CLASSES];
        d[..k].iter().for_each(|&(_, l)| votes[l] += 1);
        let vote = (0..CLASSES)
            .max_by_key(|&c| (votes[c], CLASSES - c))
            .unwrap();
        knn_ok += (vote == test.labels[i]) as usize;
    }
    let n = test.len() as f64;
    (centroid_ok as f64 / n, knn_ok as f64 / n)
}

/// The same task: classifiers fit on the native train split score on the reference test split
/// about what the same classifiers fit on the reference train split score there.
///
/// Observed (nearest centroid, 5-NN): reference → reference 0.274, 0.600; native (seed 42) →
/// reference 0.306, 0.592; native → native 0.275, 0.585. Native seeds 0..10 → reference:
/// centroid 0.261–0.308, 5-NN 0.563–0.605. Hence a 0.05 tolerance. Broken generators fail it:
/// no translation gives 0.12 / 0.14, rotating left instead of right 0.19 / 0.38, class 3 drawn
/// from template 8 0.27 / 0.48, no correlated noise 0.29 / 0.78.
#[test]
fn mnist1d_native_train_solves_reference_test() {
    let reference = reference();
    let native = native(5000, 42);
    let ref_test = reference.split(false);
    assert_eq!(ref_test.len(), 1000);
    let (ref_centroid, ref_knn) = classify(&reference.split(true), &ref_test, 5);
    let (nat_centroid, nat_knn) = classify(&native.split(true), &ref_test, 5);
    eprintln!(
        "reference train -> reference test: centroid {ref_centroid:.3}, 5-NN {ref_knn:.3}; \
         native train -> reference test: centroid {nat_centroid:.3}, 5-NN {nat_knn:.3}"
    );
    // Far above chance (0.1) on both: the classes are told apart by their templates.
    assert!(ref_knn > 0.5 && nat_knn > 0.5, "{ref_knn} {nat_knn}");
    assert!(
        (nat_centroid - ref_centroid).abs() <= 0.05,
        "nearest centroid: native-trained {nat_centroid:.3} vs reference-trained {ref_centroid:.3}"
    );
    assert!(
        (nat_knn - ref_knn).abs() <= 0.05,
        "5-NN: native-trained {nat_knn:.3} vs reference-trained {ref_knn:.3}"
    );
}
