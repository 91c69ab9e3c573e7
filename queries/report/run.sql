-- run: which experiment does a run belong to, and did it complete?
-- One row (none if there is no such run): the run's experiment and status. Takes :run.
SELECT experiment, status FROM runs WHERE run_id = :run;
