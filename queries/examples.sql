-- examples: per-example dynamics: when each example is first correct and learned, how often it is forgotten, its data-map values, AUM and EL2N.
-- With --run: that run's values (first_correct_epoch and learned_epoch are NULL when never).
-- Without: the mean over the experiment's completed runs, with the sample standard deviation
-- over runs in the *_sd columns; an example never correct (never learned) counts as E+1 in
-- the means; unforgettable is the share of runs in which it is unforgettable; region is the
-- region most runs give (ties: easy, then ambiguous, then hard).
-- Metrics come from the --phase observations over epochs 1..E (METRICS.md); el2n is
-- ‖softmax(z) − onehot(y)‖₂ of the eval phase at epoch k, averaged over runs (needs logits).
-- param k = 1: the epoch at which el2n is measured
-- footer note: note
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
el AS (
    SELECT o.example_id,
           avg(el2n(tl_logits(o.logits, r.logits), e.label)) AS el2n,
           stdev_samp(el2n(tl_logits(o.logits, r.logits), e.label)) AS el2n_sd
    FROM observations o
    JOIN scope USING (run_id)
    JOIN runs r ON r.run_id = o.run_id
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = o.example_id
    WHERE o.phase = 0 AND o.epoch = :k
    GROUP BY o.example_id
)
SELECT
    m.example_id,
    e.split,
    e.label,
    count(*) AS runs,
    CASE WHEN :run IS NULL THEN avg(coalesce(m.first_correct_epoch, m.epochs + 1))
         ELSE max(m.first_correct_epoch) END AS first_correct_epoch,
    stdev_samp(coalesce(m.first_correct_epoch, m.epochs + 1)) AS first_correct_epoch_sd,
    CASE WHEN :run IS NULL THEN avg(coalesce(m.learned_epoch, m.epochs + 1))
         ELSE max(m.learned_epoch) END AS learned_epoch,
    stdev_samp(coalesce(m.learned_epoch, m.epochs + 1)) AS learned_epoch_sd,
    avg(m.forgetting_events) AS forgetting_events,
    stdev_samp(m.forgetting_events) AS forgetting_events_sd,
    avg(m.unforgettable) AS unforgettable,
    avg(m.confidence) AS confidence,
    stdev_samp(m.confidence) AS confidence_sd,
    avg(m.variability) AS variability,
    stdev_samp(m.variability) AS variability_sd,
    avg(m.correctness) AS correctness,
    stdev_samp(m.correctness) AS correctness_sd,
    CASE
        WHEN sum(m.region = 'easy') >= max(sum(m.region = 'ambiguous'), sum(m.region = 'hard')) THEN 'easy'
        WHEN sum(m.region = 'ambiguous') >= sum(m.region = 'hard') THEN 'ambiguous'
        ELSE 'hard'
    END AS region,
    avg(m.aum) AS aum,
    stdev_samp(m.aum) AS aum_sd,
    el.el2n,
    el.el2n_sd,
    CASE WHEN :run IS NULL
         THEN 'means over runs; never correct / never learned count as E+1'
         ELSE 'one run; NULL = never correct / never learned' END AS note
FROM example_metrics m
JOIN scope USING (run_id)
JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM ds) AND e.example_id = m.example_id
LEFT JOIN el ON el.example_id = m.example_id
WHERE m.phase = :phase AND (:split IS NULL OR e.split = :split)
GROUP BY m.example_id
ORDER BY m.example_id;
