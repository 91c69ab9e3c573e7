//! The schema: the migrations in `migrations/*.sql`, embedded in the binary and applied when a
//! database is opened, with `PRAGMA user_version` as the schema version.

use rusqlite_migration::{Migrations, M};

/// Every migration, oldest first. A new one is appended here (never edited in place).
pub const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_init.sql")),
    M::up(include_str!("../../migrations/0002_example_metrics.sql")),
    M::up(include_str!("../../migrations/0003_planned_runs.sql")),
    M::up(include_str!(
        "../../migrations/0004_compact_observations.sql"
    )),
];

pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

/// The schema version this build writes.
pub fn latest_version() -> usize {
    MIGRATIONS.len()
}
