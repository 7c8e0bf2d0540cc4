//! Backend-specific spellings for the few column types that differ.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Replaces the placeholders of a DDL template with this backend's types and
/// runs every `;`-separated statement in it.
///
/// - `{id}`: identifiers compare byte by byte on both databases (SPEC §2), so
///   PostgreSQL gets the `"C"` collation; SQLite's default is already binary.
/// - `{ts}`: `timestamptz` on PostgreSQL; SQLite stores RFC 3339 text in a
///   fixed UTC offset, which sorts chronologically.
/// - `{json}`: `jsonb` on PostgreSQL, JSON text on SQLite.
/// - `{seq}`: an ever-growing integer key, assigned by the database.
pub async fn run(manager: &SchemaManager<'_>, template: &str) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    let (id, ts, json, seq) = match backend {
        DbBackend::Postgres => (
            "TEXT COLLATE \"C\"",
            "TIMESTAMPTZ",
            "JSONB",
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        ),
        _ => ("TEXT", "TEXT", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    };
    let sql = template
        .replace("{id}", id)
        .replace("{ts}", ts)
        .replace("{json}", json)
        .replace("{seq}", seq);
    let connection = manager.get_connection();
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        connection.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// The `MigrationTrait` of a migration that is only DDL: its module's `UP`
/// template applies it and `DOWN` reverts it. Each module keeps its own
/// `#[derive(DeriveMigrationName)] struct Migration`, so that the name
/// recorded in `seaql_migrations` stays its file's name.
macro_rules! ddl_migration {
    () => {
        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                crate::ddl::run(manager, UP).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                crate::ddl::run(manager, DOWN).await
            }
        }
    };
}

pub(crate) use ddl_migration;
