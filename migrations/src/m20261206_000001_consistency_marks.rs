//! Where each caller's latest write stands in the primary's write-ahead
//! log, per zone, so that any gateway process routes that caller's next
//! read to a replica only once the replica has replayed the write (read
//! your writes). Written after each revoke or delete by a caller with a
//! subject; on SQLite, which has no replicas, it stays empty.

use sea_orm_migration::prelude::*;

use crate::ddl::ddl_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "CREATE TABLE consistency_marks (
    zone_id {id} NOT NULL,
    subject {id} NOT NULL,
    lsn     BIGINT NOT NULL,
    PRIMARY KEY (zone_id, subject)
)";

const DOWN: &str = "DROP TABLE consistency_marks";

ddl_migration!();
