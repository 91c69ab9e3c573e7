-- merge: copy dataset :old of the attached shard into the main log (a new dataset_id).
INSERT INTO main.datasets (spec, fingerprint, n_examples, n_classes, seq_len, input_kind, label_noise, created_at)
SELECT spec, fingerprint, n_examples, n_classes, seq_len, input_kind, label_noise, created_at
FROM shard.datasets WHERE dataset_id = :old;
INSERT INTO main.classes (dataset_id, class, name)
SELECT (SELECT dataset_id FROM main.datasets WHERE fingerprint = (SELECT fingerprint FROM shard.datasets WHERE dataset_id = :old)),
       class, name
FROM shard.classes WHERE dataset_id = :old;
INSERT INTO main.examples (dataset_id, example_id, source_id, split, label, orig_label, length)
SELECT (SELECT dataset_id FROM main.datasets WHERE fingerprint = (SELECT fingerprint FROM shard.datasets WHERE dataset_id = :old)),
       example_id, source_id, split, label, orig_label, length
FROM shard.examples WHERE dataset_id = :old;
