-- seed-agreement: do runs from different seeds learn the examples in the same order?
-- Spearman's rho (average ranks for ties) between two runs' learned_epoch over the examples
-- (E+1 for never learned), for every pair of runs, and the mean over pairs (Hacohen et al.
-- 2020). Then the true-positive agreement at the given epoch: for each example the number of
-- runs that classify it correctly, as a histogram against the binomial histogram with the
-- same mean accuracy; more examples than expected at 0 and at all runs means the runs share
-- an order (excess_at_extremes = observed − expected share at those two ends).
-- param epoch = 1: the epoch of the true-positive agreement histogram
-- footer mean_rho: mean Spearman's rho over pairs of runs
-- footer excess_at_extremes: excess share of examples at 0 and at all runs (observed − binomial)
-- section: Spearman's rho of learned_epoch between runs
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
le AS MATERIALIZED (
    SELECT m.run_id, m.example_id, coalesce(m.learned_epoch, m.epochs + 1) AS le
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
                   AND e.example_id = m.example_id
    WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
),
pairs AS MATERIALIZED (
    SELECT a.run_id AS run_a, b.run_id AS run_b, spearman(a.le, b.le) AS rho, count(*) AS examples
    FROM le a JOIN le b ON b.example_id = a.example_id AND a.run_id < b.run_id
    GROUP BY a.run_id, b.run_id
)
SELECT run_a, run_b, examples, rho, (SELECT avg(rho) FROM pairs) AS mean_rho
FROM pairs
ORDER BY run_a, run_b;
-- section: True-positive agreement at the epoch
WITH RECURSIVE scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
nr AS (SELECT count(*) AS r FROM scope),
per AS MATERIALIZED (
    SELECT o.example_id, sum(o.pred = e.label) AS k
    FROM observations o
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
                   AND e.example_id = o.example_id
    WHERE o.phase = (SELECT phase FROM phases WHERE name = :phase) AND o.epoch = :epoch
      AND (:split IS NULL OR e.split = :split)
    GROUP BY o.example_id
),
acc AS (SELECT avg(k * 1.0 / (SELECT r FROM nr)) AS p, count(*) AS n FROM per),
ks(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k < (SELECT r FROM nr)),
hist AS (
    SELECT ks.k,
           count(per.example_id) AS examples,
           count(per.example_id) * 1.0 / (SELECT n FROM acc) AS observed,
           binom_pmf((SELECT r FROM nr), ks.k, (SELECT p FROM acc)) AS expected
    FROM ks LEFT JOIN per ON per.k = ks.k
    WHERE (SELECT n FROM acc) > 0
    GROUP BY ks.k
)
SELECT
    k AS runs_correct,
    examples,
    observed,
    expected,
    expected * (SELECT n FROM acc) AS expected_examples,
    (SELECT sum(observed - expected) FROM hist WHERE k = 0 OR k = (SELECT r FROM nr)) AS excess_at_extremes
FROM hist
ORDER BY k;
