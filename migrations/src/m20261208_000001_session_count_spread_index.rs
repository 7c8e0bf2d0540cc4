//! An index over the count rows that writes spread beyond shard 0.
//!
//! On PostgreSQL each write adds its changes to one of
//! [`crate::session_counts::SHARDS`] rows per key, so that concurrent
//! writes to one key do not queue on one row; the expiry sweep folds them
//! back into shard 0, so that reads keep one row per key. This index lets
//! that fold find them without reading the zone's other count rows.

use sea_orm_migration::prelude::*;

use crate::ddl::ddl_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str =
    "CREATE INDEX session_counts_spread_idx ON session_counts (zone_id) WHERE shard <> 0";

const DOWN: &str = "DROP INDEX session_counts_spread_idx";

ddl_migration!();
