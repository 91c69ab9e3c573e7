-- classes-learned-first: which classes does the network learn first, and is that order the same across seeds?
-- One row per class, sorted by mean rank. Per run, the class accuracy curve (mean correct over
-- the class's examples at each epoch 1..E) gives epoch_to_50 and epoch_to_90 (first epoch at
-- or above 0.5 / 0.9; runs that never get there are left out of the mean and counted in
-- runs_to_50 / runs_to_90); learned_epoch is the mean learned_epoch of the class's examples
-- (E+1 for never learned); classes are ranked per run by it (ties share the average rank).
-- Standard deviations are over runs (sample, n − 1). Kendall's W measures how much the runs
-- agree on the class ranking: 1 = the same order in every run, 0 = no agreement.
-- footer kendall_w: Kendall's W of the class order across runs (1 = identical)
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
curve AS (
    SELECT run_id, epoch, class, sum(correct) * 1.0 / sum(examples) AS acc
    FROM class_accuracy JOIN scope USING (run_id)
    WHERE phase = :phase AND epoch >= 1 AND (:split IS NULL OR split = :split)
    GROUP BY run_id, epoch, class
),
reach AS (
    SELECT run_id, class,
           min(CASE WHEN acc >= 0.5 THEN epoch END) AS e50,
           min(CASE WHEN acc >= 0.9 THEN epoch END) AS e90
    FROM curve GROUP BY run_id, class
),
learned AS (
    SELECT m.run_id, e.label AS class, avg(coalesce(m.learned_epoch, m.epochs + 1)) AS mean_learned
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = m.example_id
    WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
    GROUP BY m.run_id, e.label
),
ranked AS (
    SELECT run_id, class, mean_learned,
           rank() OVER (PARTITION BY run_id ORDER BY mean_learned)
             + (count(*) OVER (PARTITION BY run_id, mean_learned) - 1) / 2.0 AS rnk
    FROM learned
)
SELECT
    k.class,
    c.name,
    count(*) AS runs,
    avg(r.e50) AS epoch_to_50,
    stdev_samp(r.e50) AS epoch_to_50_sd,
    count(r.e50) AS runs_to_50,
    avg(r.e90) AS epoch_to_90,
    stdev_samp(r.e90) AS epoch_to_90_sd,
    count(r.e90) AS runs_to_90,
    avg(k.mean_learned) AS learned_epoch,
    avg(k.rnk) AS mean_rank,
    stdev_samp(k.rnk) AS rank_sd,
    (SELECT kendall_w(run_id, class, mean_learned) FROM learned) AS kendall_w
FROM ranked k
JOIN reach r ON r.run_id = k.run_id AND r.class = k.class
JOIN classes c ON c.dataset_id = (SELECT dataset_id FROM ds) AND c.class = k.class
GROUP BY k.class
ORDER BY mean_rank, k.class;
