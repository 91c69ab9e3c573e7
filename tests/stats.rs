//! `trainlog::stats` and the SQL functions built on it, against values worked out by hand
//! (the arithmetic is in the comments; nothing here calls trainlog to get an expected value).

use rusqlite::types::Value;
use trainlog::stats::{
    auroc, average_ranks, binomial_pmf, kendall_w, mean_std, pearson, quantile_sorted, spearman,
};
use trainlog::store::Store;

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() < 1e-12,
        "got {got}, want {want} (off by {})",
        got - want
    );
}

fn close_opt(got: Option<f64>, want: f64) {
    match got {
        Some(g) => close(g, want),
        None => panic!("got None, want {want}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Average ranks

#[test]
fn average_ranks_without_ties() {
    // 30 is the largest → 4; 10 → 1; 20 → 2; 25 → 3.
    assert_eq!(
        average_ranks(&[30.0, 10.0, 20.0, 25.0]),
        vec![4.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(average_ranks(&[]), Vec::<f64>::new());
    assert_eq!(average_ranks(&[7.0]), vec![1.0]);
}

#[test]
fn average_ranks_with_ties() {
    // Sorted: 5 (rank 1), 10 (2), 20 20 20 (ranks 3, 4, 5 → mean 4), 30 (6).
    assert_eq!(
        average_ranks(&[10.0, 20.0, 20.0, 30.0, 20.0, 5.0]),
        vec![2.0, 4.0, 4.0, 6.0, 4.0, 1.0]
    );
    // Two pairs: 1 1 (ranks 1, 2 → 1.5), 2 2 (3, 4 → 3.5).
    assert_eq!(
        average_ranks(&[2.0, 1.0, 2.0, 1.0]),
        vec![3.5, 1.5, 3.5, 1.5]
    );
    // All equal: every rank is (1 + 2 + 3) / 3 = 2.
    assert_eq!(average_ranks(&[4.0, 4.0, 4.0]), vec![2.0, 2.0, 2.0]);
}

// ---------------------------------------------------------------------------------------------
// Spearman

#[test]
fn spearman_without_ties() {
    // x = 1..5, y = 2 1 4 3 5: ranks are the values; d = −1 1 −1 1 0, Σd² = 4,
    // rho = 1 − 6·4 / (5·(25 − 1)) = 1 − 24/120 = 0.8.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    close_opt(spearman(&x, &[2.0, 1.0, 4.0, 3.0, 5.0]), 0.8);
    // The same ranks from other numbers: only the order matters.
    close_opt(
        spearman(
            &[10.0, 20.0, 30.0, 40.0, 50.0],
            &[0.2, 0.1, 9.0, 3.0, 100.0],
        ),
        0.8,
    );
}

#[test]
fn spearman_with_ties() {
    // x = 1 2 3 4 5 → ranks 1 2 3 4 5; y = 5 6 7 8 7 → 5:1, 6:2, 7 7:(3+4)/2 = 3.5, 8:5,
    // so ranks 1 2 3.5 5 3.5. Both mean 3.
    // x − 3 = −2 −1 0 1 2; y − 3 = −2 −1 0.5 2 0.5.
    // Σ dx·dy = 4 + 1 + 0 + 2 + 1 = 8; Σ dx² = 10; Σ dy² = 4 + 1 + 0.25 + 4 + 0.25 = 9.5.
    // rho = 8 / √(10 · 9.5) = 8 / √95 = 0.8207826816681233.
    let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]);
    close_opt(rho, 8.0 / 95f64.sqrt());
    close_opt(rho, 0.820_782_681_668_123_3);
    // Symmetric.
    close_opt(
        spearman(&[5.0, 6.0, 7.0, 8.0, 7.0], &[1.0, 2.0, 3.0, 4.0, 5.0]),
        8.0 / 95f64.sqrt(),
    );
}

#[test]
fn spearman_perfect_and_undefined() {
    let x = [1.0, 2.0, 3.0, 4.0];
    // Monotone but not linear: y = x³ has the same ranks → +1.
    close_opt(spearman(&x, &[1.0, 8.0, 27.0, 64.0]), 1.0);
    // Reversed → −1.
    close_opt(spearman(&x, &[4.0, 3.0, 2.0, 1.0]), -1.0);
    // A constant variable has no rank variance: undefined.
    assert_eq!(spearman(&x, &[3.0, 3.0, 3.0, 3.0]), None);
    assert_eq!(spearman(&[2.0, 2.0], &[1.0, 5.0]), None);
    // Fewer than two points, or lengths that differ.
    assert_eq!(spearman(&[1.0], &[1.0]), None);
    assert_eq!(spearman(&[], &[]), None);
    assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0, 3.0]), None);
}

#[test]
fn pearson_by_hand() {
    // x = 1 2 3, y = 1 2 4: means 2 and 7/3; dx = −1 0 1, dy = −4/3 −1/3 5/3.
    // Σ dx·dy = 4/3 + 5/3 = 3; Σ dx² = 2; Σ dy² = (16 + 1 + 25)/9 = 42/9.
    // r = 3 / √(2 · 42/9) = 3 / √(84/9) = 9 / √84.
    close_opt(
        pearson(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]),
        9.0 / 84f64.sqrt(),
    );
    assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
}

// ---------------------------------------------------------------------------------------------
// Kendall's W

#[test]
fn kendall_w_textbook_no_ties() {
    // 3 raters (m), 4 items (n). Scores ranked within each rater:
    //   A: 10 20 30 40 → ranks 1 2 3 4
    //   B: 2.5 1.0 3.0 9.0 → ranks 2 1 3 4
    //   C: 0.1 0.3 0.2 0.4 → ranks 1 3 2 4
    // Rank sums R = 4 6 8 12; mean R̄ = m(n+1)/2 = 3·5/2 = 7.5.
    // S = (−3.5)² + (−1.5)² + 0.5² + 4.5² = 12.25 + 2.25 + 0.25 + 20.25 = 35.
    // W = 12 S / (m² (n³ − n)) = 420 / (9 · 60) = 420/540 = 7/9.
    let scores = vec![
        vec![10.0, 20.0, 30.0, 40.0],
        vec![2.5, 1.0, 3.0, 9.0],
        vec![0.1, 0.3, 0.2, 0.4],
    ];
    close_opt(kendall_w(&scores), 7.0 / 9.0);
}

#[test]
fn kendall_w_perfect_and_none() {
    // Every rater has the same order → R = m·(1, 2, 3), S = m²·2, W = 12·2m²/(m²·24) = 1.
    let same = vec![
        vec![1.0, 2.0, 3.0],
        vec![10.0, 20.0, 30.0],
        vec![0.5, 0.6, 0.7],
    ];
    close_opt(kendall_w(&same), 1.0);
    // Two raters in opposite orders: R = 4 4 4, S = 0 → W = 0.
    close_opt(kendall_w(&[vec![1.0, 2.0, 3.0], vec![3.0, 2.0, 1.0]]), 0.0);
    // One rater, one item, or every rater tying every item: undefined.
    assert_eq!(kendall_w(&[vec![1.0, 2.0, 3.0]]), None);
    assert_eq!(kendall_w(&[vec![1.0], vec![2.0]]), None);
    // m = 2, n = 2, all tied: T = 2·(2³ − 2) = 12; denominator 4·6 − 2·12 = 0.
    assert_eq!(kendall_w(&[vec![5.0, 5.0], vec![1.0, 1.0]]), None);
}

#[test]
fn kendall_w_with_ties() {
    // 3 raters, 3 items; C ties items 2 and 3.
    //   A: ranks 1 2 3; B: ranks 1 2 3; C: scores 1 2 2 → ranks 1 2.5 2.5.
    // R = 3, 6.5, 8.5 (sum 18 = m·n(n+1)/2); R̄ = 6; S = 9 + 0.25 + 6.25 = 15.5.
    // Tie correction: C has one group of t = 2 → T = 2³ − 2 = 6 (A and B: none).
    // W = 12 S / (m²(n³ − n) − m ΣT) = 186 / (9·24 − 3·6) = 186/198 = 31/33.
    let scores = vec![
        vec![1.0, 2.0, 3.0],
        vec![4.0, 5.0, 6.0],
        vec![1.0, 2.0, 2.0],
    ];
    close_opt(kendall_w(&scores), 31.0 / 33.0);
    // Without the correction it would be 186/216 = 0.8611…; make sure it is not.
    assert!((kendall_w(&scores).unwrap() - 186.0 / 216.0).abs() > 0.05);
}

// ---------------------------------------------------------------------------------------------
// AUROC

#[test]
fn auroc_counts_pairs() {
    // Positives 0.9 0.6 0.3; negatives 0.6 0.2. Pairs (pos, neg):
    //   0.9>0.6: 1   0.9>0.2: 1
    //   0.6=0.6: ½   0.6>0.2: 1
    //   0.3<0.6: 0   0.3>0.2: 1
    // Sum 4.5 over 3·2 = 6 pairs → 0.75.
    let s = [0.9, 0.6, 0.6, 0.3, 0.2];
    let p = [true, true, false, true, false];
    close_opt(auroc(&s, &p), 0.75);
    // Perfect separation → 1, reversed → 0, all tied → ½.
    close_opt(auroc(&[3.0, 2.0, 1.0], &[true, false, false]), 1.0);
    close_opt(auroc(&[3.0, 2.0, 1.0], &[false, false, true]), 0.0);
    close_opt(auroc(&[1.0, 1.0, 1.0], &[true, false, true]), 0.5);
}

#[test]
fn auroc_needs_both_classes() {
    assert_eq!(auroc(&[1.0, 2.0], &[true, true]), None);
    assert_eq!(auroc(&[1.0, 2.0], &[false, false]), None);
    assert_eq!(auroc(&[], &[]), None);
}

// ---------------------------------------------------------------------------------------------
// Quantiles, binomial, mean/std

#[test]
fn quantile_type_7_like_numpy() {
    // numpy.quantile(a, q) (method "linear"): h = (n − 1) q, x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]).
    let a = [1.0, 2.0, 4.0, 8.0];
    // q = 0.25: h = 0.75 → 1 + 0.75·(2 − 1) = 1.75.
    close_opt(quantile_sorted(&a, 0.25), 1.75);
    // q = 0.5: h = 1.5 → 2 + 0.5·(4 − 2) = 3.
    close_opt(quantile_sorted(&a, 0.5), 3.0);
    // q = 0.9: h = 2.7 → 4 + 0.7·(8 − 4) = 6.8.
    close_opt(quantile_sorted(&a, 0.9), 6.8);
    // The ends are the extremes.
    close_opt(quantile_sorted(&a, 0.0), 1.0);
    close_opt(quantile_sorted(&a, 1.0), 8.0);
    // The data-map threshold: 6 values, q = 2/3, h = 5·2/3 = 3.333…
    // → 0.4 + (1/3)·(0.5 − 0.4) = 0.4333…
    let v = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    let got = quantile_sorted(&v, 2.0 / 3.0).unwrap();
    assert!((got - (0.4 + 0.1 / 3.0)).abs() < 1e-12, "{got}");
    // One value is every quantile; none is None.
    close_opt(quantile_sorted(&[7.0], 0.3), 7.0);
    assert_eq!(quantile_sorted(&[], 0.5), None);
}

#[test]
fn binomial_pmf_by_hand() {
    // n = 3, p = ½: C(3,k)/8 = 1/8 3/8 3/8 1/8.
    for (k, want) in [(0, 0.125), (1, 0.375), (2, 0.375), (3, 0.125)] {
        close(binomial_pmf(3, k, 0.5), want);
    }
    // n = 4, p = ¼, k = 2: C(4,2) p² (1−p)² = 6 · (1/16) · (9/16) = 54/256 = 0.2109375.
    close(binomial_pmf(4, 2, 0.25), 54.0 / 256.0);
    // n = 3, p = 1/3: 8/27 12/27 6/27 1/27.
    for (k, want) in [(0, 8.0), (1, 12.0), (2, 6.0), (3, 1.0)] {
        close(binomial_pmf(3, k, 1.0 / 3.0), want / 27.0);
    }
    // k > n; the degenerate p = 0 and p = 1.
    assert_eq!(binomial_pmf(3, 4, 0.5), 0.0);
    assert_eq!(binomial_pmf(5, 0, 0.0), 1.0);
    assert_eq!(binomial_pmf(5, 1, 0.0), 0.0);
    assert_eq!(binomial_pmf(5, 5, 1.0), 1.0);
    assert_eq!(binomial_pmf(5, 4, 1.0), 0.0);
    // Sums to one.
    let total: f64 = (0..=10).map(|k| binomial_pmf(10, k, 0.3)).sum();
    close(total, 1.0);
}

#[test]
fn mean_std_population() {
    // 2 4 4 4 5 5 7 9: mean 40/8 = 5; squared deviations 9 1 1 1 0 0 4 16 = 32; /8 = 4; std 2.
    let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
    close(m, 5.0);
    close(s, 2.0);
    assert_eq!(mean_std(&[3.5]), Some((3.5, 0.0)));
    assert_eq!(mean_std(&[]), None);
}

// ---------------------------------------------------------------------------------------------
// The same numbers through the SQL functions

fn sql_f64(store: &Store, sql: &str) -> Option<f64> {
    match store
        .conn()
        .query_row(sql, [], |r| r.get::<_, Value>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    {
        Value::Null => None,
        Value::Real(v) => Some(v),
        Value::Integer(v) => Some(v as f64),
        other => panic!("{sql}: unexpected {other:?}"),
    }
}

#[test]
fn sql_spearman_matches_and_skips_nulls() {
    let s = Store::open_in_memory().unwrap();
    let want = 8.0 / 95f64.sqrt();
    close_opt(
        sql_f64(
            &s,
            "SELECT spearman(column1, column2) FROM (VALUES (1,5),(2,6),(3,7),(4,8),(5,7))",
        ),
        want,
    );
    // A row with a NULL on either side is left out: same answer.
    close_opt(
        sql_f64(
            &s,
            "SELECT spearman(column1, column2) FROM
             (VALUES (1,5),(2,6),(NULL,1),(3,7),(4,8),(6,NULL),(5,7))",
        ),
        want,
    );
    // Reals and integers mix.
    close_opt(
        sql_f64(
            &s,
            "SELECT spearman(column1, column2) FROM (VALUES (1.0,2),(2.0,1),(3.0,4),(4.0,3),(5.0,5))",
        ),
        0.8,
    );
    // Constant, one row, no row: NULL.
    assert_eq!(
        sql_f64(
            &s,
            "SELECT spearman(column1, column2) FROM (VALUES (1,3),(2,3),(3,3))"
        ),
        None
    );
    assert_eq!(
        sql_f64(&s, "SELECT spearman(column1, column2) FROM (VALUES (1,3))"),
        None
    );
    assert_eq!(
        sql_f64(
            &s,
            "SELECT spearman(column1, column2) FROM (VALUES (1,3)) WHERE column1 > 5"
        ),
        None
    );
    // Grouped: one answer per group (+1 and −1).
    let rows: Vec<(i64, f64)> = s
        .conn()
        .prepare(
            "SELECT column1, spearman(column2, column3) FROM
             (VALUES (1,1,1),(1,2,2),(1,3,3),(2,1,3),(2,2,2),(2,3,1)) GROUP BY column1 ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2);
    close(rows[0].1, 1.0);
    close(rows[1].1, -1.0);
    // Text is refused with a message.
    let err = s
        .conn()
        .query_row(
            "SELECT spearman(column1, column2) FROM (VALUES ('a', 1), ('b', 2))",
            [],
            |r| r.get::<_, Value>(0),
        )
        .unwrap_err();
    assert!(err.to_string().contains("numbers"), "{err}");
}

#[test]
fn sql_kendall_w_matches() {
    let s = Store::open_in_memory().unwrap();
    // The textbook example above, as (rater, item, score) rows: 7/9.
    let textbook = "(1,1,10),(1,2,20),(1,3,30),(1,4,40),
                    (2,1,2.5),(2,2,1.0),(2,3,3.0),(2,4,9.0),
                    (3,1,0.1),(3,2,0.3),(3,3,0.2),(3,4,0.4)";
    close_opt(
        sql_f64(
            &s,
            &format!("SELECT kendall_w(column1, column2, column3) FROM (VALUES {textbook})"),
        ),
        7.0 / 9.0,
    );
    // An item only some raters scored (item 5 by rater 1; item 4's score NULL for rater 3)
    // is left out: with items 1-3 only, ranks A 1 2 3, B 2 1 3, C 1 3 2 → R = 4 6 8,
    // R̄ = 6, S = 4 + 0 + 4 = 8, W = 12·8 / (9·(27 − 3)) = 96/216 = 4/9.
    close_opt(
        sql_f64(
            &s,
            "SELECT kendall_w(column1, column2, column3) FROM (VALUES
             (1,1,10),(1,2,20),(1,3,30),(1,4,40),(1,5,50),
             (2,1,2.5),(2,2,1.0),(2,3,3.0),(2,4,9.0),
             (3,1,0.1),(3,2,0.3),(3,3,0.2),(3,4,NULL))",
        ),
        4.0 / 9.0,
    );
    // Ties: 31/33 as worked out above.
    close_opt(
        sql_f64(
            &s,
            "SELECT kendall_w(column1, column2, column3) FROM (VALUES
             (1,1,1),(1,2,2),(1,3,3),(2,1,4),(2,2,5),(2,3,6),(3,1,1),(3,2,2),(3,3,2))",
        ),
        31.0 / 33.0,
    );
    // One rater: NULL. No rows: NULL.
    assert_eq!(
        sql_f64(
            &s,
            "SELECT kendall_w(column1, column2, column3) FROM (VALUES (1,1,1),(1,2,2))"
        ),
        None
    );
    assert_eq!(
        sql_f64(
            &s,
            "SELECT kendall_w(column1, column2, column3) FROM (VALUES (1,1,1)) WHERE column1 = 9"
        ),
        None
    );
}

#[test]
fn sql_auroc_binom_and_stdev_match() {
    let s = Store::open_in_memory().unwrap();
    // The pairs example: 0.75; NULL scores or labels are left out.
    close_opt(
        sql_f64(
            &s,
            "SELECT auroc(column1, column2) FROM
             (VALUES (0.9,1),(0.6,1),(0.6,0),(0.3,1),(0.2,0),(NULL,1),(0.95,NULL))",
        ),
        0.75,
    );
    // Only positives: NULL.
    assert_eq!(
        sql_f64(
            &s,
            "SELECT auroc(column1, column2) FROM (VALUES (0.9,1),(0.1,1))"
        ),
        None
    );
    // binom_pmf: 6 · (1/16) · (9/16) and 3/8.
    close_opt(sql_f64(&s, "SELECT binom_pmf(4, 2, 0.25)"), 54.0 / 256.0);
    close_opt(sql_f64(&s, "SELECT binom_pmf(3, 1, 0.5)"), 0.375);
    close_opt(sql_f64(&s, "SELECT binom_pmf(3, 4, 0.5)"), 0.0);
    assert!(s
        .conn()
        .query_row("SELECT binom_pmf(3, 1, 1.5)", [], |r| r.get::<_, f64>(0))
        .is_err());
    // stdev over 2 4 4 4 5 5 7 9: population 2 (see above), sample √(32/7).
    let vals = "(2),(4),(4),(4),(5),(5),(7),(9),(NULL)";
    close_opt(
        sql_f64(
            &s,
            &format!("SELECT stdev_pop(column1) FROM (VALUES {vals})"),
        ),
        2.0,
    );
    close_opt(
        sql_f64(
            &s,
            &format!("SELECT stdev_samp(column1) FROM (VALUES {vals})"),
        ),
        (32.0f64 / 7.0).sqrt(),
    );
    // One value: sample NULL, population 0. No value: both NULL.
    assert_eq!(
        sql_f64(&s, "SELECT stdev_samp(column1) FROM (VALUES (3))"),
        None
    );
    close_opt(
        sql_f64(&s, "SELECT stdev_pop(column1) FROM (VALUES (3))"),
        0.0,
    );
    assert_eq!(
        sql_f64(&s, "SELECT stdev_pop(column1) FROM (VALUES (NULL))"),
        None
    );
}

fn blob(z: &[f32]) -> Vec<u8> {
    z.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn sql_logit_functions_match() {
    let s = Store::open_in_memory().unwrap();
    let c = s.conn();
    let el2n = |z: &[f32], y: i64| -> Option<f64> {
        c.query_row("SELECT el2n(?1, ?2)", rusqlite::params![blob(z), y], |r| {
            r.get(0)
        })
        .unwrap()
    };
    // z = 0 0 0: softmax ⅓ ⅓ ⅓; with y = 0, ‖(−⅔, ⅓, ⅓)‖ = √(4/9 + 1/9 + 1/9) = √(2/3).
    close_opt(el2n(&[0.0, 0.0, 0.0], 0), (2.0f64 / 3.0).sqrt());
    // z = 2 0 0, A = e² + 2: softmax e²/A, 1/A, 1/A.
    // y = 0: (e²/A − 1)² + 2/A² = (2/A)² + 2/A² = 6/A² → √6 / A.
    // y = 1: (e²/A)² + (1/A − 1)² + (1/A)² = (e⁴ + (e² + 1)² + 1)/A².
    let e2 = 2f64.exp();
    let a = e2 + 2.0;
    close_opt(el2n(&[2.0, 0.0, 0.0], 0), 6f64.sqrt() / a);
    close_opt(
        el2n(&[2.0, 0.0, 0.0], 1),
        (e2 * e2 + (e2 + 1.0) * (e2 + 1.0) + 1.0).sqrt() / a,
    );
    // NULL logits: NULL; a label out of range: an error.
    let null: Option<f64> = c
        .query_row("SELECT el2n(NULL, 0)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(null, None);
    assert!(c
        .query_row("SELECT el2n(?1, 3)", [blob(&[1.0, 2.0, 3.0])], |r| {
            r.get::<_, f64>(0)
        })
        .is_err());
    // logit(z, k) and n_logits(z).
    let z = blob(&[0.5, -1.25, 3.0]);
    let k1: f64 = c
        .query_row("SELECT logit(?1, 1)", [&z], |r| r.get(0))
        .unwrap();
    assert_eq!(k1, -1.25);
    let n: i64 = c
        .query_row("SELECT n_logits(?1)", [&z], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    assert!(c
        .query_row("SELECT logit(?1, 3)", [&z], |r| r.get::<_, f64>(0))
        .is_err());
}
