-- merge: copy run :old of the attached shard, with everything recorded and computed for it,
-- into the main log as run :new.
INSERT INTO main.runs (run_id, experiment, init_seed, order_seed, status, model, config, epochs, capture,
                       trainlog_version, libtorch_version, device, started_at, finished_at, message, logits)
SELECT :new, experiment, init_seed, order_seed, status, model, config, epochs, capture,
       trainlog_version, libtorch_version, device, started_at, finished_at, message, logits
FROM shard.runs WHERE run_id = :old;
INSERT INTO main.epochs (run_id, epoch, train_loss, train_acc, eval_train_acc, test_loss, test_acc, wall_s, committed_at)
SELECT :new, epoch, train_loss, train_acc, eval_train_acc, test_loss, test_acc, wall_s, committed_at
FROM shard.epochs WHERE run_id = :old;
INSERT INTO main.observations (run_id, phase, epoch, example_id, position, batch, pred, loss, margin, logits)
SELECT :new, phase, epoch, example_id, position, batch, pred, loss, margin, logits
FROM shard.observations WHERE run_id = :old;
INSERT INTO main.example_metrics (run_id, phase, example_id, epochs, first_correct_epoch, learned_epoch,
                                  forgetting_events, unforgettable, confidence, variability, correctness, region, aum)
SELECT :new, phase, example_id, epochs, first_correct_epoch, learned_epoch,
       forgetting_events, unforgettable, confidence, variability, correctness, region, aum
FROM shard.example_metrics WHERE run_id = :old;
INSERT INTO main.class_accuracy (run_id, phase, epoch, split, class, examples, correct)
SELECT :new, phase, epoch, split, class, examples, correct
FROM shard.class_accuracy WHERE run_id = :old;
