-- Per-example metrics of each run (METRICS.md), computed once when a run completes
-- (`trainlog metrics` recomputes them), so canned queries over many runs answer quickly.
CREATE TABLE example_metrics (
    run_id               INTEGER NOT NULL REFERENCES runs (run_id),
    phase                TEXT NOT NULL CHECK (phase IN ('eval', 'step')),
    example_id           INTEGER NOT NULL,
    epochs               INTEGER NOT NULL,    -- E: the run's last epoch
    first_correct_epoch  INTEGER,             -- NULL if never correct in 1..E
    learned_epoch        INTEGER,             -- NULL if not correct at E
    forgetting_events    INTEGER NOT NULL,
    unforgettable        INTEGER NOT NULL,
    confidence           REAL NOT NULL,
    variability          REAL NOT NULL,
    correctness          REAL NOT NULL,
    region               TEXT NOT NULL CHECK (region IN ('easy', 'ambiguous', 'hard')),
    aum                  REAL NOT NULL,
    PRIMARY KEY (run_id, phase, example_id)
) WITHOUT ROWID;

-- Class accuracy curves of each run: per phase, epoch (0..E for eval, 1..E for step), split
-- and class, how many examples there are and how many were correct. Computed with
-- example_metrics.
CREATE TABLE class_accuracy (
    run_id    INTEGER NOT NULL REFERENCES runs (run_id),
    phase     TEXT NOT NULL CHECK (phase IN ('eval', 'step')),
    epoch     INTEGER NOT NULL,
    split     TEXT NOT NULL CHECK (split IN ('train', 'test')),
    class     INTEGER NOT NULL,
    examples  INTEGER NOT NULL,
    correct   INTEGER NOT NULL,
    PRIMARY KEY (run_id, phase, epoch, split, class)
) WITHOUT ROWID;
