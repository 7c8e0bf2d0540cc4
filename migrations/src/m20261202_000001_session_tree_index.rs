//! An index for `descendants`: a root's whole tree, in list order.
//!
//! Every session stores its tree's `root_id`, so everything below a root is
//! one range of this index, read in `created_at` order; a page of 50 under a
//! tree of thousands reads 51 entries.

use sea_orm_migration::prelude::*;

use crate::ddl::ddl_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE INDEX sessions_root_idx ON sessions (zone_id, root_id, created_at, id)";

const DOWN: &str = "DROP INDEX sessions_root_idx";

ddl_migration!();
