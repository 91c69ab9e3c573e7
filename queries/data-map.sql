-- data-map: how many examples are easy, ambiguous or hard (dataset cartography), overall and per class.
-- Regions per run (METRICS.md): ambiguous if variability ≥ the 2/3 quantile of the run's
-- variabilities within the split, else easy if confidence ≥ 0.5, else hard. Counts are over
-- (run, example) pairs; shares are of the row's examples.
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
m AS (
    SELECT m.region, e.label FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = m.example_id
    WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
)
SELECT class, runs, examples, easy, ambiguous, hard, easy_share, ambiguous_share, hard_share
FROM (
    SELECT
        'all' AS class,
        (SELECT count(*) FROM scope) AS runs,
        count(*) AS examples,
        sum(region = 'easy') AS easy,
        sum(region = 'ambiguous') AS ambiguous,
        sum(region = 'hard') AS hard,
        avg(region = 'easy') AS easy_share,
        avg(region = 'ambiguous') AS ambiguous_share,
        avg(region = 'hard') AS hard_share,
        -1 AS sort_key
    FROM m
    UNION ALL
    SELECT
        c.name,
        (SELECT count(*) FROM scope),
        count(*),
        sum(region = 'easy'),
        sum(region = 'ambiguous'),
        sum(region = 'hard'),
        avg(region = 'easy'),
        avg(region = 'ambiguous'),
        avg(region = 'hard'),
        m.label
    FROM m JOIN classes c ON c.dataset_id = (SELECT dataset_id FROM ds) AND c.class = m.label
    GROUP BY m.label
)
ORDER BY sort_key;
