//! The outbox of session events: each write appends, in its own
//! transaction, the events it causes. On SQLite the serving processes poll
//! it (another process's `import` reaches them too); on PostgreSQL the
//! events travel by `NOTIFY` instead and the table stays empty.

use sea_orm_migration::prelude::*;

use crate::ddl::ddl_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE TABLE session_events (
    seq        {seq},
    written_at {ts} NOT NULL,
    payload    TEXT NOT NULL
)";

const DOWN: &str = "DROP TABLE session_events";

ddl_migration!();
