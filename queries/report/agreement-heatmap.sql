-- agreement-heatmap: at each epoch, what fraction of the runs gets each train example right, sorted by when the runs learn it?
-- The train examples ranked by mean learned_epoch over the experiment's completed runs (eval
-- phase; E+1 for never learned; ties by example_id); with more than :rows examples, every k-th in
-- that order is kept (k = ⌈n / :rows⌉). For each kept example and each epoch 1..E, the share of
-- runs (that reached the epoch) with correct = 1 (the prediction is the label, as the dynamics
-- view defines correct). examples = n, stride = k. Takes :experiment and :rows. (The loops run
-- over (run, epoch), then the kept examples in id order, so the observation lookups walk the
-- primary key forward.)
WITH scope AS (
    SELECT run_id FROM runs WHERE experiment = :experiment AND status = 'completed'
),
ranked AS (
    SELECT m.example_id, e.label, avg(coalesce(m.learned_epoch, m.epochs + 1)) AS learned_epoch,
           row_number() OVER (ORDER BY avg(coalesce(m.learned_epoch, m.epochs + 1)), m.example_id) - 1 AS rn
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
                   AND e.example_id = m.example_id
    WHERE m.phase = 'eval' AND e.split = 'train'
    GROUP BY m.example_id
),
step AS (SELECT count(*) AS n, max(1, (count(*) + :rows - 1) / :rows) AS k FROM ranked),
picked AS MATERIALIZED (
    SELECT example_id, label, learned_epoch, rn / (SELECT k FROM step) AS row
    FROM ranked WHERE rn % (SELECT k FROM step) = 0
    ORDER BY example_id
),
ep AS (
    SELECT s.run_id, x.epoch FROM scope s JOIN epochs x ON x.run_id = s.run_id WHERE x.epoch >= 1
)
SELECT
    p.row,
    p.example_id,
    p.label,
    p.learned_epoch,
    ep.epoch,
    avg(o.pred = p.label) AS correct,
    count(*) AS runs,
    (SELECT n FROM step) AS examples,
    (SELECT k FROM step) AS stride
FROM ep
CROSS JOIN picked p
CROSS JOIN observations o
WHERE o.run_id = ep.run_id AND o.phase = 0 AND o.epoch = ep.epoch AND o.example_id = p.example_id
GROUP BY p.row, ep.epoch
ORDER BY p.row, ep.epoch;
