//! The revokes not yet added to the session counts (see
//! [`crate::session_counts::MOVE_COLUMNS`]): a revoke appends a row here
//! rather than updating eight count rows, which cost a quarter of a
//! revoke's time on PostgreSQL. The index finds a zone's moves for a read
//! and for the fold.

use sea_orm_migration::prelude::*;

use crate::ddl::ddl_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE TABLE session_count_moves (
    zone_id          {id} NOT NULL,
    application_key  {id} NOT NULL,
    user_agent_key   {id} NOT NULL,
    organization_key {id} NOT NULL,
    session_type     TEXT NOT NULL,
    entry            INTEGER NOT NULL,
    moved_from       TEXT NOT NULL,
    moved_to         TEXT NOT NULL,
    n                BIGINT NOT NULL
);
CREATE INDEX session_count_moves_zone_idx ON session_count_moves (zone_id)";

const DOWN: &str = "DROP TABLE session_count_moves";

ddl_migration!();
