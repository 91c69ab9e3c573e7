-- The runs a `trainlog record` invocation will make, written (with the experiment) before the
-- first one starts, so that `trainlog record --resume` can finish an interrupted invocation,
-- runs that had not started yet included. run_id is set, in the same transaction that creates
-- the run, when the run starts.
CREATE TABLE planned_runs (
    plan_id     INTEGER PRIMARY KEY,
    experiment  TEXT NOT NULL REFERENCES experiments (experiment),
    init_seed   INTEGER NOT NULL,
    order_seed  INTEGER NOT NULL,
    config      TEXT NOT NULL,               -- the run's full configuration, JSON
    run_id      INTEGER UNIQUE REFERENCES runs (run_id)
);
CREATE INDEX planned_runs_by_experiment ON planned_runs (experiment);
