-- examples-learned-first: the n examples learned earliest, by mean learned_epoch over runs, and how many runs agree.
-- learned_epoch counts E+1 for a run in which the example is never learned. runs_in_top_n is
-- the number of runs in which the example is among that run's n earliest-learned examples
-- (rank by learned_epoch, ties sharing the better rank), out of `runs`.
-- param n = 10: how many examples
-- footer note: note
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
per AS (
    SELECT m.run_id, m.example_id, e.split, e.label,
           coalesce(m.learned_epoch, m.epochs + 1) AS le,
           rank() OVER (PARTITION BY m.run_id ORDER BY coalesce(m.learned_epoch, m.epochs + 1)) AS rk
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = m.example_id
    WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
)
SELECT
    p.example_id,
    p.split,
    p.label,
    c.name AS class_name,
    avg(p.le) AS learned_epoch,
    stdev_samp(p.le) AS learned_epoch_sd,
    min(p.le) AS earliest,
    max(p.le) AS latest,
    sum(p.rk <= :n) AS runs_in_top_n,
    count(*) AS runs,
    'never learned counts as E+1' AS note
FROM per p
JOIN classes c ON c.dataset_id = (SELECT dataset_id FROM ds) AND c.class = p.label
GROUP BY p.example_id
ORDER BY learned_epoch ASC, runs_in_top_n DESC, p.example_id
LIMIT :n;
