//! The data-access layer: every SQL statement the program issues is
//! written here, behind a function named for what it reads or changes.
//! Nothing outside this module builds SQL.
//!
//! Every statement is limited to the caller's zones and organization
//! ([`tenancy`]), keeps within one zone (SPEC §4), and is decoded by column
//! position ([`decode`]), with the columns a request never reads left out
//! ([`Projection`]).
//!
//! - [`Reader`]: the reads of one request. Lookups and root lists in
//!   [`records`], session connections in [`session_lists`], whole trees in
//!   [`session_trees`], counts in [`session_stats`].
//! - [`writes`]: revoking and deleting session subtrees.
//! - [`import`]: the import's reads and writes.
//! - [`db`]: connecting, migrating, transactions, health.
//! - [`replicas`]: which database each read runs on; [`consistency`]: how
//!   fresh it must be to show the caller's own writes.

pub mod consistency;
pub mod db;
mod decode;
pub mod events;
pub mod import;
pub mod joins;
pub mod keys;
pub mod keyset;
mod lists;
mod projection;
pub mod records;
pub mod replicas;
pub mod session_counts;
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
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, DbErr, FromQueryResult, QueryResult, Statement};

use crate::auth::Access;
pub use projection::{Projection, Table};
pub use session_row::SessionRow;

/// The instant a request judges effective statuses at: fixed for a query
/// or mutation, moved to each event's delivery for a subscription.
#[derive(Debug)]
pub struct Clock(AtomicI64);

impl Clock {
    pub fn at(now: DateTime<Utc>) -> Arc<Clock> {
        Arc::new(Clock(AtomicI64::new(now.timestamp_micros())))
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.load(Ordering::Relaxed)).unwrap_or_default()
    }

    /// Moves the clock to the present.
    pub fn advance(&self) {
        self.0
            .store(Utc::now().timestamp_micros(), Ordering::Relaxed);
    }
}

/// The reads of one request: where they run (a replica or the primary),
/// the caller (whose zones and organization bound every statement), the
/// request's clock, and the columns the request's fields read.
pub struct Reader {
    db: replicas::ReadConnection,
    access: Arc<Access>,
    clock: Arc<Clock>,
    projection: Projection,
}

impl Reader {
    pub fn new(
        db: replicas::ReadConnection,
        access: Arc<Access>,
        clock: Arc<Clock>,
        projection: Projection,
    ) -> Self {
        Reader {
            db,
            access,
            clock,
            projection,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn backend(&self) -> DbBackend {
        self.db.backend()
    }

    /// Moves the request's later reads to a database as fresh as `need`
    /// (a subscription, before each event's reads).
    pub fn retarget(&self, need: replicas::Freshness) {
        self.db.retarget(need);
    }

    /// Runs one of the request's reads, on another connection when the
    /// first turns out dead.
    async fn query(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.db.query_all(statement).await
    }

    /// [`Self::query`], each row read as a `T` by column name.
    async fn query_as<T: FromQueryResult>(&self, statement: Statement) -> Result<Vec<T>, DbErr> {
        self.query(statement)
            .await?
            .iter()
            .map(|row| T::from_query_result(row, ""))
            .collect()
    }
}
