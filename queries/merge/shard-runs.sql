-- merge: the runs of a shard, with what a merge checks of them: their experiment and its
-- dataset's fingerprint, and their identity (seeds and full configuration).
SELECT r.run_id, r.experiment, r.status, r.init_seed, r.order_seed, r.config, d.fingerprint, d.dataset_id
FROM runs r
JOIN experiments x ON x.experiment = r.experiment
JOIN datasets d ON d.dataset_id = x.dataset_id
ORDER BY r.run_id;
