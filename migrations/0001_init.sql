-- trainlog schema, version 1.
-- One dataset is stored once, however many experiments use it; an experiment is the runs of
-- one `trainlog record` invocation (or more, appended later) on one dataset; a run is one
-- training with one (init_seed, order_seed) pair; an observation is one example at one epoch
-- in one phase of one run.

CREATE TABLE datasets (
    dataset_id   INTEGER PRIMARY KEY,
    spec         TEXT NOT NULL,               -- how it was made: mnist1d:n=5000,seed=42, a path…
    fingerprint  TEXT NOT NULL UNIQUE,        -- sha256 of labels, splits and inputs
    n_examples   INTEGER NOT NULL,
    n_classes    INTEGER NOT NULL,
    seq_len      INTEGER NOT NULL,
    input_kind   TEXT NOT NULL CHECK (input_kind IN ('numeric', 'tokens')),
    label_noise  REAL NOT NULL DEFAULT 0,     -- fraction of train labels flipped
    created_at   TEXT NOT NULL
);

CREATE TABLE classes (
    dataset_id  INTEGER NOT NULL REFERENCES datasets (dataset_id),
    class       INTEGER NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (dataset_id, class)
) WITHOUT ROWID;

CREATE TABLE examples (
    dataset_id  INTEGER NOT NULL REFERENCES datasets (dataset_id),
    example_id  INTEGER NOT NULL,             -- 0-based index in the dataset
    source_id   TEXT NOT NULL,                -- the id the source file gave it
    split       TEXT NOT NULL CHECK (split IN ('train', 'test')),
    label       INTEGER NOT NULL,             -- the label trained on
    orig_label  INTEGER NOT NULL,             -- before label noise
    flipped     INTEGER NOT NULL GENERATED ALWAYS AS (label <> orig_label) VIRTUAL,
    length      INTEGER NOT NULL,             -- real (unpadded) time steps
    PRIMARY KEY (dataset_id, example_id)
) WITHOUT ROWID;

CREATE TABLE experiments (
    experiment  TEXT PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets (dataset_id),
    created_at  TEXT NOT NULL
);

CREATE TABLE runs (
    run_id            INTEGER PRIMARY KEY,
    experiment        TEXT NOT NULL REFERENCES experiments (experiment),
    init_seed         INTEGER NOT NULL,
    order_seed        INTEGER NOT NULL,
    status            TEXT NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'diverged', 'interrupted')),
    model             TEXT NOT NULL,          -- architecture name: lstm
    config            TEXT NOT NULL,          -- the full configuration, JSON
    epochs            INTEGER NOT NULL,       -- epochs planned
    capture           TEXT NOT NULL,          -- both | eval | step | none
    trainlog_version  TEXT NOT NULL,
    libtorch_version  TEXT NOT NULL,
    device            TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    message           TEXT                    -- why it failed or diverged
);
CREATE INDEX runs_by_experiment ON runs (experiment);

-- One row per run and epoch (epoch 0: the untrained model). Written in the same transaction as
-- the epoch's observations: an epoch is in the log completely or not at all.
CREATE TABLE epochs (
    run_id          INTEGER NOT NULL REFERENCES runs (run_id),
    epoch           INTEGER NOT NULL,
    train_loss      REAL,                     -- mean over the training forward passes
    train_acc       REAL,
    eval_train_acc  REAL,                     -- eval mode, train split
    test_loss       REAL,                     -- eval mode, test split
    test_acc        REAL,
    wall_s          REAL NOT NULL,
    committed_at    TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;

CREATE TABLE phases (
    phase  INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE
);
INSERT INTO phases VALUES (0, 'eval'), (1, 'step');

CREATE TABLE observations (
    run_id      INTEGER NOT NULL,
    phase       INTEGER NOT NULL,             -- 0 eval, 1 step (see phases)
    epoch       INTEGER NOT NULL,
    example_id  INTEGER NOT NULL,
    position    INTEGER,                      -- step: 0-based place in the epoch's order
    batch       INTEGER,                      -- step: minibatch index within the epoch
    pred        INTEGER NOT NULL,
    loss        REAL NOT NULL,
    p_true      REAL NOT NULL,
    margin      REAL NOT NULL,
    logits      BLOB,                         -- n_classes little-endian f32
    PRIMARY KEY (run_id, phase, epoch, example_id)
) WITHOUT ROWID;

-- The stable view: one row per observation, with everything needed to ask questions of it.
CREATE VIEW dynamics AS
SELECT
    o.run_id,
    r.experiment,
    r.init_seed,
    r.order_seed,
    o.epoch,
    o.example_id,
    e.split,
    e.label,
    e.orig_label,
    p.name AS phase,
    o.position,
    o.batch,
    o.loss,
    o.p_true,
    o.margin,
    o.pred,
    (o.pred = e.label) AS correct,
    o.logits
FROM observations o
JOIN phases p ON p.phase = o.phase
JOIN runs r ON r.run_id = o.run_id
JOIN experiments x ON x.experiment = r.experiment
JOIN examples e ON e.dataset_id = x.dataset_id AND e.example_id = o.example_id;
