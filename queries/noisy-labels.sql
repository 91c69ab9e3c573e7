-- noisy-labels: do the training dynamics find the examples whose labels were flipped (record --label-noise)?
-- AUROC of three scores for telling flipped from clean train examples: low AUM (−aum), low
-- confidence (−confidence) and many forgetting events; 0.5 = chance, 1 = perfect. Ties count
-- one half. Per run, then the mean over runs. As in Toneva et al. 2019, an example never
-- correct counts as forgotten infinitely often (it ranks above every learned example).
-- footer note: note
WITH scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
m AS (
    SELECT m.run_id, m.aum, m.confidence, e.flipped,
           CASE WHEN m.first_correct_epoch IS NULL THEN 1e308 ELSE m.forgetting_events END AS forgetting_events
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN examples e ON e.dataset_id = (SELECT dataset_id FROM experiments WHERE experiment = :experiment)
                   AND e.example_id = m.example_id
    WHERE m.phase = :phase AND e.split = 'train'
),
per_run AS (
    SELECT run_id,
           sum(flipped) AS flipped,
           count(*) AS examples,
           auroc(-aum, flipped) AS auroc_low_aum,
           auroc(-confidence, flipped) AS auroc_low_confidence,
           auroc(forgetting_events, flipped) AS auroc_forgetting
    FROM m GROUP BY run_id
),
note AS (
    SELECT CASE WHEN (SELECT sum(flipped) FROM m) > 0
                THEN 'flipped = train labels changed by --label-noise'
                ELSE 'no flipped labels in this experiment: record with --label-noise 0.1 to test' END AS text
)
SELECT * FROM (
    SELECT CAST(run_id AS TEXT) AS run, flipped, examples, auroc_low_aum, auroc_low_confidence,
           auroc_forgetting, (SELECT text FROM note) AS note
    FROM per_run
    UNION ALL
    SELECT 'mean', avg(flipped), avg(examples), avg(auroc_low_aum), avg(auroc_low_confidence),
           avg(auroc_forgetting), (SELECT text FROM note)
    FROM per_run
)
ORDER BY run = 'mean', CAST(run AS INTEGER);
