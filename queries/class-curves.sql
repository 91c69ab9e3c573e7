-- class-curves: how fast is each class learned? Per class and epoch, the accuracy mean and standard deviation over runs.
-- Class accuracy = mean correct over the class's examples (of --split) at that epoch, in the
-- --phase observations (eval: epochs 0..E, 0 being the untrained model; step: 1..E);
-- accuracy_sd is the sample standard deviation over runs.
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
per AS (
    SELECT run_id, epoch, class, sum(correct) * 1.0 / sum(examples) AS acc
    FROM class_accuracy JOIN scope USING (run_id)
    WHERE phase = :phase AND (:split IS NULL OR split = :split)
    GROUP BY run_id, epoch, class
)
SELECT
    p.class,
    c.name,
    p.epoch,
    count(*) AS runs,
    avg(p.acc) AS accuracy,
    stdev_samp(p.acc) AS accuracy_sd
FROM per p
JOIN classes c ON c.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
              AND c.class = p.class
GROUP BY p.class, p.epoch
ORDER BY p.class, p.epoch;
