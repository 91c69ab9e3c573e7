-- Compact observations (record --logits f32|f16|none).
-- * p_true is no longer stored: it is exp(-loss), computed on read (tl_p_true).
-- * loss and margin are NULL when the run stores f32 logits: they are recomputed on read from
--   the logits (tl_loss, tl_margin), with the capture arithmetic, so to the same bits. With f16
--   or no logits they are stored, computed from the model's f32 logits.
-- * runs.logits says how a run's logits BLOBs are encoded: 'f32' (4 bytes a class,
--   little-endian), 'f16' (2 bytes a class, IEEE half), 'none' (no BLOBs).
-- Rows of older logs keep their stored loss and margin.

ALTER TABLE runs ADD COLUMN logits TEXT NOT NULL DEFAULT 'f32'
    CHECK (logits IN ('f32', 'f16', 'none'));
UPDATE runs SET logits = 'none'
WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.run_id = runs.run_id AND o.logits IS NOT NULL)
  AND EXISTS (SELECT 1 FROM observations o WHERE o.run_id = runs.run_id);

DROP VIEW dynamics;

CREATE TABLE observations_compact (
    run_id      INTEGER NOT NULL,
    phase       INTEGER NOT NULL,             -- 0 eval, 1 step (see phases)
    epoch       INTEGER NOT NULL,
    example_id  INTEGER NOT NULL,
    position    INTEGER,                      -- step: 0-based place in the epoch's order
    batch       INTEGER,                      -- step: minibatch index within the epoch
    pred        INTEGER NOT NULL,
    loss        REAL,                         -- NULL with f32 logits: tl_loss(logits, label)
    margin      REAL,                         -- NULL with f32 logits: tl_margin(logits, label)
    logits      BLOB,                         -- encoded as runs.logits says
    PRIMARY KEY (run_id, phase, epoch, example_id)
) WITHOUT ROWID;
INSERT INTO observations_compact
SELECT run_id, phase, epoch, example_id, position, batch, pred, loss, margin, logits
FROM observations;
DROP TABLE observations;
ALTER TABLE observations_compact RENAME TO observations;

-- The stable view: one row per observation, with everything needed to ask questions of it.
-- loss, p_true and margin are always there; logits is always little-endian f32 (converted
-- from f16 when the run stored f16), NULL when the run stored none.
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
    coalesce(o.loss, tl_loss(o.logits, e.label)) AS loss,
    tl_p_true(coalesce(o.loss, tl_loss(o.logits, e.label))) AS p_true,
    coalesce(o.margin, tl_margin(o.logits, e.label)) AS margin,
    o.pred,
    (o.pred = e.label) AS correct,
    tl_logits(o.logits, r.logits) AS logits
FROM observations o
JOIN phases p ON p.phase = o.phase
JOIN runs r ON r.run_id = o.run_id
JOIN experiments x ON x.experiment = r.experiment
JOIN examples e ON e.dataset_id = x.dataset_id AND e.example_id = o.example_id;
