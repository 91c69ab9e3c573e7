-- examples: every train example of one run with its stored metrics, for the data map and the order-effect scatter.
-- One row per train example, from example_metrics (eval phase, METRICS.md): confidence,
-- variability, correctness, region, first_correct_epoch and learned_epoch (NULL = never),
-- forgetting events, AUM, E (epochs); its label (the one trained on), the original label and
-- whether it was flipped by label noise; and its position in epoch 1's training order from the
-- step phase (NULL when the run did not capture it). Takes :run.
WITH ds AS (
    SELECT x.dataset_id FROM runs r JOIN experiments x ON x.experiment = r.experiment
    WHERE r.run_id = :run
)
SELECT
    m.example_id,
    e.label,
    c.name AS class_name,
    e.orig_label,
    e.flipped,
    m.confidence,
    m.variability,
    m.correctness,
    m.region,
    m.first_correct_epoch,
    m.learned_epoch,
    m.forgetting_events,
    m.aum,
    m.epochs,
    o.position
FROM example_metrics m
JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = m.example_id
JOIN classes c ON c.dataset_id = e.dataset_id AND c.class = e.label
LEFT JOIN observations o
       ON o.run_id = m.run_id AND o.phase = 1 AND o.epoch = 1 AND o.example_id = m.example_id
WHERE m.run_id = :run AND m.phase = 'eval' AND e.split = 'train'
ORDER BY m.example_id;
