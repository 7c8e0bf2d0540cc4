//! Session counts kept by every write, so that `sessionStats` reads a few
//! hundred rows instead of counting a zone's sessions (see
//! [`crate::session_counts`]). The migration fills them from the stored
//! sessions in one statement, with `swept_until` at the migration's start.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, Value};

use crate::ddl;
use crate::session_counts::{AS_STORED, COUNTED_ROWS_HEAD, CountChange, count_changes_tail};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE TABLE session_count_marks (
    zone_id     {id} NOT NULL,
    swept_until {ts} NOT NULL,
    CONSTRAINT session_count_marks_pkey PRIMARY KEY (zone_id)
);
CREATE TABLE session_counts (
    zone_id          {id} NOT NULL,
    level            INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
    application_key  {id} NOT NULL,
    user_agent_key   {id} NOT NULL,
    organization_key {id} NOT NULL,
    session_type     TEXT NOT NULL,
    status           TEXT NOT NULL,
    entry            INTEGER NOT NULL,
    shard            INTEGER NOT NULL,
    total            BIGINT NOT NULL,
    CONSTRAINT session_counts_pkey PRIMARY KEY (zone_id, level, application_key, user_agent_key, organization_key, session_type, status, entry, shard)
);
CREATE INDEX session_counts_user_agent_idx ON session_counts (zone_id, level, user_agent_key, application_key)";

const DOWN: &str = "DROP TABLE session_counts; DROP TABLE session_count_marks";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await?;
        let backend = manager.get_database_backend();
        let connection = manager.get_connection();
        let placeholder = match backend {
            DbBackend::Postgres => "$1",
            _ => "?",
        };
        // Bound rather than written as SQL so that SQLite compares it with
        // `expires_at` in the text form the gateway stores.
        let now = chrono::Utc::now();
        connection
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO session_count_marks (zone_id, swept_until) SELECT DISTINCT zone_id, {placeholder} FROM sessions"
                ),
                [Value::from(now)],
            ))
            .await?;
        let fill = CountChange {
            stored_status: AS_STORED,
            sign: 1,
        };
        connection
            .execute_unprepared(&format!(
                "WITH {COUNTED_ROWS_HEAD}1 = 1{}",
                count_changes_tail(&[fill], 0)
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }
}
