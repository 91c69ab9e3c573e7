-- runs: the runs of the experiment with their seeds, status and final accuracies.
-- One row per run: seeds, status, epochs done, final train and test accuracy (eval mode).
SELECT
    r.run_id,
    r.init_seed,
    r.order_seed,
    r.status,
    (SELECT max(epoch) FROM epochs e WHERE e.run_id = r.run_id) AS epochs,
    (SELECT coalesce(eval_train_acc, train_acc) FROM epochs e WHERE e.run_id = r.run_id ORDER BY epoch DESC LIMIT 1) AS train_acc,
    (SELECT test_acc FROM epochs e WHERE e.run_id = r.run_id ORDER BY epoch DESC LIMIT 1) AS test_acc,
    r.started_at,
    r.finished_at
FROM runs r
WHERE r.experiment = :experiment AND (:run IS NULL OR r.run_id = :run)
ORDER BY r.run_id;
