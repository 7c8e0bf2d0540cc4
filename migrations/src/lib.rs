//! Database migrations for sessiongraph, shared verbatim by SQLite and PostgreSQL.
//!
//! Each migration is plain SQL with a handful of backend-specific type names
//! substituted in (see [`ddl`]), so the schema reads like the schema it is.

pub use sea_orm_migration::prelude::*;

mod ddl;
mod m20261126_000001_create_tables;
mod m20261202_000001_session_tree_index;
mod m20261202_000002_session_events;
mod m20261206_000001_consistency_marks;
mod m20261207_000001_session_counts;
mod m20261208_000001_session_count_spread_index;
mod m20261209_000001_session_count_moves;
pub mod session_counts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_tables::Migration),
            Box::new(m20261202_000001_session_tree_index::Migration),
            Box::new(m20261202_000002_session_events::Migration),
            Box::new(m20261206_000001_consistency_marks::Migration),
            Box::new(m20261207_000001_session_counts::Migration),
            Box::new(m20261208_000001_session_count_spread_index::Migration),
            Box::new(m20261209_000001_session_count_moves::Migration),
        ]
    }
}
