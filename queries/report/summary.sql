-- summary: what was trained, on what? The experiment's dataset, its sizes, and the model and settings of its runs.
-- One row (none if the experiment does not exist): the dataset's spec and sizes, the share of
-- train labels flipped, how many runs there are and how many completed, and the model,
-- configuration (JSON), capture and planned epochs of the experiment's first completed run.
-- Takes :experiment.
SELECT
    x.experiment,
    d.spec,
    d.n_examples,
    d.n_classes,
    d.seq_len,
    d.input_kind,
    d.label_noise,
    (SELECT count(*) FROM examples e WHERE e.dataset_id = d.dataset_id AND e.split = 'train') AS train_examples,
    (SELECT count(*) FROM examples e WHERE e.dataset_id = d.dataset_id AND e.split = 'test') AS test_examples,
    (SELECT count(*) FROM examples e WHERE e.dataset_id = d.dataset_id AND e.split = 'train' AND e.flipped) AS flipped,
    (SELECT count(*) FROM runs r WHERE r.experiment = x.experiment) AS runs,
    (SELECT count(*) FROM runs r WHERE r.experiment = x.experiment AND r.status = 'completed') AS completed_runs,
    r.model,
    r.config,
    r.capture,
    r.epochs,
    r.device
FROM experiments x
JOIN datasets d USING (dataset_id)
LEFT JOIN runs r ON r.run_id = (
    SELECT min(run_id) FROM runs WHERE experiment = x.experiment AND status = 'completed'
)
WHERE x.experiment = :experiment;
