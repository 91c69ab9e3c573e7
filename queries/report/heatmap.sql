-- heatmap: which train examples does one run get right at each epoch, sorted by when they are learned?
-- The run's train examples ranked by learned_epoch (eval phase; E+1 for never learned; ties by
-- example_id); with more than :rows examples, every k-th in that order is kept (k = ⌈n / :rows⌉),
-- so the rows are a sample, not an average. For each kept example and each epoch 1..E, correct
-- (0/1: the prediction is the label, as the dynamics view defines correct). examples = n,
-- stride = k. Takes :run and :rows. (The loops run over epochs, then the kept examples in id
-- order, so the observation lookups walk the primary key forward.)
WITH ranked AS (
    SELECT m.example_id, e.label, coalesce(m.learned_epoch, m.epochs + 1) AS learned_epoch,
           row_number() OVER (ORDER BY coalesce(m.learned_epoch, m.epochs + 1), m.example_id) - 1 AS rn
    FROM example_metrics m
    JOIN runs r USING (run_id)
    JOIN experiments x ON x.experiment = r.experiment
    JOIN examples e ON e.dataset_id = x.dataset_id AND e.example_id = m.example_id
    WHERE m.run_id = :run AND m.phase = 'eval' AND e.split = 'train'
),
step AS (SELECT count(*) AS n, max(1, (count(*) + :rows - 1) / :rows) AS k FROM ranked),
picked AS MATERIALIZED (
    SELECT example_id, label, learned_epoch, rn / (SELECT k FROM step) AS row
    FROM ranked WHERE rn % (SELECT k FROM step) = 0
    ORDER BY example_id
),
ep AS (SELECT epoch FROM epochs WHERE run_id = :run AND epoch >= 1)
SELECT
    p.row,
    p.example_id,
    p.label,
    p.learned_epoch,
    ep.epoch,
    (o.pred = p.label) AS correct,
    (SELECT n FROM step) AS examples,
    (SELECT k FROM step) AS stride
FROM ep
CROSS JOIN picked p
CROSS JOIN observations o
WHERE o.run_id = :run AND o.phase = 0 AND o.epoch = ep.epoch AND o.example_id = p.example_id
ORDER BY p.row, ep.epoch;
