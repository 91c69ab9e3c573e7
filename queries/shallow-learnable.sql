-- shallow-learnable: are the examples learned first the ones a shallow model already gets right?
-- An example is shallow-learnable when the baseline (record --model linear --experiment SAME)
-- classifies it correctly in the eval phase at its last epoch, in a strict majority of the
-- baseline's completed runs (with two runs: both). The first section counts them per class;
-- share over all of --split is the base rate.
-- The second section, per epoch e of the experiment's main model (--model): learned = examples
-- per run whose learned_epoch is e (correct from e to the end), first_correct = those whose
-- first_correct_epoch is e, and the share of each that is shallow-learnable, against the base
-- rate (Mangalam & Prabhu 2019: early-learned examples are shallow-learnable more often than
-- the base rate). Then, after Nakkiran et al. 2019, how much of the model's accuracy at e the
-- linear model explains, in a simpler variant than their mutual-information measure μ_Y(F; L):
-- with F = the model correct, L = shallow-learnable, over (run, example) pairs of --split,
-- shallow_given_correct = P(L | F) = P(F ∧ L) / P(F); under independence it would be P(L), the
-- base rate; explained = (P(L | F) − P(L)) / (1 − P(L)): 0 = no more overlap than chance,
-- 1 = every example the model gets right the linear model gets right too.
-- The main model's metrics come from --phase (default eval); the baseline's are always eval.
-- param baseline = linear: the model of the shallow baseline's runs (linear or mlp)
-- footer base_rate: share of the examples that are shallow-learnable (base rate)
-- footer note: note
-- section: Shallow-learnable examples per class
WITH ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
base_runs AS (
    SELECT run_id, epochs FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND model = :baseline
),
ex AS (
    SELECT example_id, label FROM examples
    WHERE dataset_id = (SELECT dataset_id FROM ds) AND (:split IS NULL OR split = :split)
),
shallow AS MATERIALIZED (
    SELECT o.example_id, x.label, CASE WHEN 2 * sum(o.pred = x.label) > count(*) THEN 1 ELSE 0 END AS s
    FROM observations o
    JOIN base_runs b ON b.run_id = o.run_id AND o.epoch = b.epochs
    JOIN ex x ON x.example_id = o.example_id
    WHERE o.phase = 0
    GROUP BY o.example_id
),
note AS (
    SELECT CASE WHEN (SELECT count(*) FROM base_runs) = 0
                THEN printf('no completed %s runs in this experiment: record --model %s --experiment %s', :baseline, :baseline, :experiment)
                ELSE printf('shallow-learnable: correct at the last epoch in a strict majority of %d %s run(s)', (SELECT count(*) FROM base_runs), :baseline) END AS text
)
SELECT class, name, baseline_runs, examples, shallow_learnable, share, base_rate, note FROM (
    SELECT 'all' AS class, '' AS name, (SELECT count(*) FROM base_runs) AS baseline_runs,
           (SELECT count(*) FROM ex) AS examples, sum(s) AS shallow_learnable,
           avg(s) AS share, (SELECT avg(s) FROM shallow) AS base_rate,
           (SELECT text FROM note) AS note, -1 AS sort_key
    FROM shallow
    UNION ALL
    SELECT CAST(c.class AS TEXT), c.name, (SELECT count(*) FROM base_runs),
           (SELECT count(*) FROM ex WHERE label = c.class), sum(sh.s), avg(sh.s),
           (SELECT avg(s) FROM shallow), (SELECT text FROM note), c.class
    FROM classes c LEFT JOIN shallow sh ON sh.label = c.class
    WHERE c.dataset_id = (SELECT dataset_id FROM ds)
    GROUP BY c.class
)
ORDER BY sort_key;
-- section: Per epoch: what the model newly learns, and how much of it is shallow-learnable
WITH RECURSIVE scope AS (
    SELECT run_id FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND (:run IS NULL OR run_id = :run)
      AND (:model IS NULL OR model = :model)
),
nr AS (SELECT count(*) AS r FROM scope),
ds AS (SELECT dataset_id FROM experiments WHERE experiment = :experiment),
base_runs AS (
    SELECT run_id, epochs FROM runs
    WHERE experiment = :experiment AND status = 'completed' AND model = :baseline
),
ex AS (
    SELECT example_id, label FROM examples
    WHERE dataset_id = (SELECT dataset_id FROM ds) AND (:split IS NULL OR split = :split)
),
shallow AS MATERIALIZED (
    SELECT o.example_id, CASE WHEN 2 * sum(o.pred = x.label) > count(*) THEN 1 ELSE 0 END AS s
    FROM observations o
    JOIN base_runs b ON b.run_id = o.run_id AND o.epoch = b.epochs
    JOIN ex x ON x.example_id = o.example_id
    WHERE o.phase = 0
    GROUP BY o.example_id
),
base AS (SELECT avg(s) AS rate FROM shallow),
m AS MATERIALIZED (
    SELECT m.learned_epoch, m.first_correct_epoch, sh.s
    FROM example_metrics m
    JOIN scope USING (run_id)
    JOIN ex x ON x.example_id = m.example_id
    LEFT JOIN shallow sh ON sh.example_id = m.example_id
    WHERE m.phase = :phase
),
lrn AS (
    SELECT learned_epoch AS epoch, count(*) AS n, avg(s) AS share
    FROM m WHERE learned_epoch IS NOT NULL GROUP BY learned_epoch
),
fc AS (
    SELECT first_correct_epoch AS epoch, count(*) AS n, avg(s) AS share
    FROM m WHERE first_correct_epoch IS NOT NULL GROUP BY first_correct_epoch
),
-- Accuracy per epoch from the class curves (the same counts as the observations give); the
-- share of correct answers that are shallow-learnable from the observations, read only when
-- there are baseline runs (one lookup per row, into the examples of --split with their s).
exs AS MATERIALIZED (
    SELECT x.example_id, x.label, coalesce(sh.s, 0) AS s
    FROM ex x LEFT JOIN shallow sh USING (example_id)
),
acc_all AS MATERIALIZED (
    SELECT c.epoch, sum(c.correct) * 1.0 / sum(c.examples) AS accuracy
    FROM class_accuracy c
    JOIN scope USING (run_id)
    WHERE c.phase = :phase AND c.epoch >= 1 AND (:split IS NULL OR c.split = :split)
    GROUP BY c.epoch
),
acc_shallow AS MATERIALIZED (
    SELECT o.epoch,
           sum((o.pred = x.label) * x.s) * 1.0 / nullif(sum(o.pred = x.label), 0) AS shallow_given_correct
    FROM observations o
    JOIN scope USING (run_id)
    JOIN exs x ON x.example_id = o.example_id
    WHERE (SELECT count(*) FROM base_runs) > 0
      AND o.phase = (SELECT phase FROM phases WHERE name = :phase) AND o.epoch >= 1
    GROUP BY o.epoch
),
acc AS (
    SELECT a.epoch, a.accuracy, s.shallow_given_correct
    FROM acc_all a LEFT JOIN acc_shallow s USING (epoch)
),
ks(e) AS (
    SELECT 1 WHERE (SELECT max(epochs) FROM runs JOIN scope USING (run_id)) >= 1
    UNION ALL
    SELECT e + 1 FROM ks WHERE e < (SELECT max(epochs) FROM runs JOIN scope USING (run_id))
),
note AS (
    SELECT CASE WHEN (SELECT count(*) FROM base_runs) = 0
                THEN printf('no completed %s runs in this experiment: record --model %s --experiment %s', :baseline, :baseline, :experiment)
                ELSE printf('shallow-learnable: correct at the last epoch in a strict majority of %d %s run(s)', (SELECT count(*) FROM base_runs), :baseline) END AS text
)
SELECT
    k.e AS epoch,
    (SELECT r FROM nr) AS runs,
    coalesce(l.n, 0) * 1.0 / (SELECT r FROM nr) AS learned,
    l.share AS learned_shallow,
    coalesce(f.n, 0) * 1.0 / (SELECT r FROM nr) AS first_correct,
    f.share AS first_correct_shallow,
    (SELECT rate FROM base) AS base_rate,
    a.accuracy,
    a.shallow_given_correct,
    (a.shallow_given_correct - (SELECT rate FROM base)) / nullif(1 - (SELECT rate FROM base), 0) AS explained,
    (SELECT text FROM note) AS note
FROM ks k
LEFT JOIN lrn l ON l.epoch = k.e
LEFT JOIN fc f ON f.epoch = k.e
LEFT JOIN acc a ON a.epoch = k.e
ORDER BY k.e;
