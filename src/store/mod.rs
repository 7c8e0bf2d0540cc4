//! The data-access layer: every SQL statement the program issues is
//! written here, behind a function named for what it reads or changes.
//! Nothing outside this module builds SQL.
//!
//! Every statement is limited to the caller's zones and organization
//! ([`tenancy`]), keeps within one zone (SPEC §4), and is decoded by column
//! position ([`decode`]), with the columns a request never reads selected
//! as `NULL` ([`Projection`]).
//!
//! - [`Reader`]: the reads of one request. Lookups and root lists in
//!   [`records`], session connections in [`session_lists`], whole trees in
//!   [`session_trees`], counts in [`session_stats`].
//! - [`writes`]: revoking and deleting session subtrees.
//! - [`import`]: the import's reads and writes.
//! - [`db`]: connecting, migrating, transactions, health.

pub mod db;
mod decode;
pub mod import;
pub mod keyset;
mod lists;
mod projection;
pub mod records;
pub mod session_lists;
mod session_row;
pub mod session_stats;
pub mod session_trees;
mod sql;
pub mod status;
mod subtree;
mod tenancy;
pub mod writes;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::auth::Access;
pub use projection::{Projection, Table};
pub use session_row::SessionRow;

/// The reads of one request: the pool, the caller (whose zones and
/// organization bound every statement), the instant effective statuses are
/// judged at, and the columns the request's fields read.
pub struct Reader {
    db: DatabaseConnection,
    access: Arc<Access>,
    now: DateTime<Utc>,
    projection: Projection,
}

impl Reader {
    pub fn new(
        db: DatabaseConnection,
        access: Arc<Access>,
        now: DateTime<Utc>,
        projection: Projection,
    ) -> Self {
        Reader {
            db,
            access,
            now,
            projection,
        }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}
