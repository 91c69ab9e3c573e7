-- forgetting: how often examples are forgotten (correct, then wrong at the next epoch), and which are never forgotten.
-- forgetting_events counts e in 2..E with correct(e−1) = 1 and correct(e) = 0 (Toneva et al.
-- 2019); an example is unforgettable when it is correct at some epoch and never forgotten.
-- section: Forgetting events: examples forgotten k times (counted over runs)
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
m AS (
    SELECT m.* FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
                   AND e.example_id = m.example_id
    WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
)
SELECT
    forgetting_events,
    count(*) AS examples,
    count(*) * 1.0 / (SELECT count(*) FROM scope) AS per_run,
    count(*) * 1.0 / (SELECT count(*) FROM m) AS share
FROM m
GROUP BY forgetting_events
ORDER BY forgetting_events;
-- section: Unforgettable examples per run
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
)
SELECT
    r.run_id,
    r.init_seed,
    r.order_seed,
    sum(m.unforgettable) AS unforgettable,
    sum(m.first_correct_epoch IS NULL) AS never_correct,
    count(*) AS examples,
    avg(m.unforgettable) AS share
FROM example_metrics m
JOIN scope USING (run_id)
JOIN runs r USING (run_id)
JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
               AND e.example_id = m.example_id
WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
GROUP BY r.run_id
ORDER BY r.run_id;
-- section: Across runs: unforgettable in every run and in any run
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
per AS (
    SELECT m.example_id, sum(m.unforgettable) AS u, count(*) AS n
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
                   AND e.example_id = m.example_id
    WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
    GROUP BY m.example_id
)
SELECT
    (SELECT count(*) FROM scope) AS runs,
    count(*) AS examples,
    sum(u = n) AS unforgettable_in_every_run,
    sum(u > 0) AS unforgettable_in_any_run
FROM per;
