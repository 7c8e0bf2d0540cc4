//! The outbox of session events: each write appends, in its own
//! transaction, the events it causes. On SQLite the serving processes poll
//! it (another process's `import` reaches them too); on PostgreSQL the
//! events travel by `NOTIFY` instead and the table stays empty.

use sea_orm_migration::prelude::*;

use crate::ddl;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE TABLE session_events (
    seq        {seq},
    written_at {ts} NOT NULL,
    payload    TEXT NOT NULL
)";

const DOWN: &str = "DROP TABLE session_events";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }
}
