-- order-vs-ease: are the examples learned first the ones that came first in the data, or the ones every seed finds easy?
-- Order effect per run: Spearman's rho between an example's position in epoch 1 (step phase)
-- and its first_correct_epoch in the step phase, and its learned_epoch in the eval phase
-- (E+1 for never). Seed agreement: mean Spearman's rho of learned_epoch (eval phase) over all
-- pairs of runs. Near-zero order effects beside a high seed agreement mean the learning order
-- is a property of the examples, not of the data order. Verdict thresholds: agreement ≥ 0.5
-- shared, ≥ 0.2 partly shared; |order effect| < 0.1 not explained, < 0.3 weakly explained.
-- All over the train examples (only they have a position); --split does not apply.
-- footer verdict: verdict
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
per_run AS MATERIALIZED (
    SELECT o.run_id,
           spearman(o.position, coalesce(f.first_correct_epoch, f.epochs + 1)) AS order_vs_first_correct,
           spearman(o.position, coalesce(l.learned_epoch, l.epochs + 1)) AS order_vs_learned
    FROM observations o
    JOIN scope USING (run_id)
    LEFT JOIN example_metrics f
           ON f.run_id = o.run_id AND f.phase = 'step' AND f.example_id = o.example_id
    LEFT JOIN example_metrics l
           ON l.run_id = o.run_id AND l.phase = 'eval' AND l.example_id = o.example_id
    WHERE o.phase = 1 AND o.epoch = 1
    GROUP BY o.run_id
),
lrn AS MATERIALIZED (
    SELECT m.run_id, m.example_id, coalesce(m.learned_epoch, m.epochs + 1) AS v
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = m.example_id
    WHERE m.phase = 'eval' AND e.split = 'train'
),
pairs AS MATERIALIZED (
    SELECT spearman(a.v, b.v) AS rho
    FROM lrn a JOIN lrn b ON b.example_id = a.example_id AND a.run_id < b.run_id
    GROUP BY a.run_id, b.run_id
),
agree AS MATERIALIZED (SELECT avg(rho) AS rho FROM pairs),
verdict AS MATERIALIZED (
    SELECT CASE
        WHEN (SELECT rho FROM agree) IS NULL THEN 'seed agreement needs at least two completed runs'
        WHEN (SELECT avg(order_vs_learned) FROM per_run) IS NULL THEN 'the order effect needs the step phase (record --capture both)'
        ELSE printf('learning order is %s across seeds (rho = %.2f) and %s by data order (rho = %.2f)',
            CASE WHEN (SELECT rho FROM agree) >= 0.5 THEN 'shared'
                 WHEN (SELECT rho FROM agree) >= 0.2 THEN 'partly shared'
                 ELSE 'not shared' END,
            (SELECT rho FROM agree),
            CASE WHEN abs((SELECT avg(order_vs_learned) FROM per_run)) < 0.1 THEN 'not explained'
                 WHEN abs((SELECT avg(order_vs_learned) FROM per_run)) < 0.3 THEN 'weakly explained'
                 ELSE 'explained' END,
            (SELECT avg(order_vs_learned) FROM per_run))
    END AS text
)
SELECT * FROM (
    SELECT CAST(r.run_id AS TEXT) AS run, r.init_seed, r.order_seed,
           p.order_vs_first_correct, p.order_vs_learned,
           (SELECT rho FROM agree) AS seed_agreement,
           (SELECT text FROM verdict) AS verdict
    FROM per_run p JOIN runs r USING (run_id)
    UNION ALL
    SELECT 'mean', NULL, NULL, avg(order_vs_first_correct), avg(order_vs_learned),
           (SELECT rho FROM agree), (SELECT text FROM verdict)
    FROM per_run
)
ORDER BY run = 'mean', CAST(run AS INTEGER);
