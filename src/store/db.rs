//! Connecting to the database and keeping its schema current.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sessiongraph_migrations::{Migrator, MigratorTrait};
use tokio::sync::watch;

/// The embedded default: a SQLite file next to where the binary runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://sessiongraph.db?mode=rwc";

/// Arbitrary but fixed key for the advisory lock that serialises migrations
/// when several gateway processes start at once on one PostgreSQL database.
const MIGRATION_LOCK_KEY: i64 = 0x5e55_1011_6a9f;

/// Connections a pool opens by default: two per CPU core. Each request
/// holds a connection only while one of its batches runs, so a few per core
/// keep the cores busy; more only add database backends contending for the
/// same cores when the database shares the machine (Q2 at concurrency 16
/// on 2 cores: 4 connections served 7% more requests than sqlx's default
/// of 10, p99 13% lower).
pub fn default_max_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    u32::try_from(2 * cores).unwrap_or(u32::MAX)
}

/// How long a statement waits for a pooled connection before the request
/// fails with SERVICE_UNAVAILABLE.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_pool(url, default_max_connections()).await
}

/// Connects with a pool of at most `max_connections`.
pub async fn connect_pool(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut retries = 0;
    loop {
        match Database::connect(pool_options(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT)).await {
            Err(error) if retries < SQLITE_BUSY_RETRIES && is_sqlite_busy(&error) => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(20 * u64::from(retries))).await;
            }
            connected => return connected,
        }
    }
}

/// How often connecting is retried while SQLite answers SQLITE_BUSY at
/// once. Setting `journal_mode = WAL` on a file another connection is
/// opening or converting fails that way without waiting for the busy
/// timeout (SQLite's own deadlock avoidance), which several processes
/// starting on a new file at once (a `migrate` beside a `serve`) meet.
const SQLITE_BUSY_RETRIES: u32 = 20;

/// Whether connecting failed because SQLite was busy (result code 5, in
/// any of its extended forms).
fn is_sqlite_busy(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    let (DbErr::Conn(RuntimeErr::SqlxError(sqlx))
    | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx))) = error
    else {
        return false;
    };
    match sqlx.as_ref() {
        SqlxError::Database(db) => sqlite_primary_code(db.as_ref()) == Some(5),
        _ => false,
    }
}

/// SQLite's primary result code (the low byte of an extended one) when
/// the error is SQLite's.
fn sqlite_primary_code(error: &dyn sea_orm::sqlx::error::DatabaseError) -> Option<u32> {
    error.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()?;
    let code = error.code()?.parse::<u32>().ok()?;
    Some(code & 0xff)
}

/// A pool that opens its connections on first use, so a server can start
/// while the database is down; only a malformed URL fails here.
pub async fn connect_lazily(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = pool_options(url, max_connections, acquire_timeout);
    options.connect_lazy(true);
    Database::connect(options).await
}

/// A PostgreSQL pool like [`connect_lazily`]'s whose every new connection
/// passes `check` before it is used; one that fails it is closed and
/// another opened, until the acquire timeout.
pub async fn connect_replica_lazily<F>(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    check: F,
) -> Result<DatabaseConnection, DbErr>
where
    F: for<'c> Fn(
            &'c mut sea_orm::sqlx::PgConnection,
        ) -> futures_util::future::BoxFuture<'c, Result<(), sea_orm::sqlx::Error>>
        + Send
        + Sync
        + 'static,
{
    let mut options = pool_options(url, max_connections, acquire_timeout);
    options.connect_lazy(true);
    let check = Arc::new(check);
    options.map_sqlx_postgres_pool_opts(move |pool| {
        let check = check.clone();
        pool.after_connect(move |conn, _| check(conn))
    });
    Database::connect(options).await
}

/// A pooled connection idle for this long is pinged before it is handed
/// out. sqlx pings every connection on acquire by default, a round trip
/// before each statement (4% of the gateway's CPU on a nested query), and
/// on release, which our patched sqlx-core no longer does
/// (vendor/sqlx-core/PATCHES.md). A busy connection is known alive by its
/// last statement; one that died since is met by [`retry_on_lost_connection`].
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

fn pool_options(url: &str, max_connections: u32, acquire_timeout: Duration) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .test_before_acquire_if_idle_for(PING_WHEN_IDLE_FOR)
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(acquire_timeout)
        // Left out of the startup packet: PgBouncer refuses startup
        // parameters it does not track unless its operator lists them in
        // `ignore_startup_parameters`, and no column is a float, whose
        // digits are all that `extra_float_digits` changes.
        .map_sqlx_postgres_opts(|opts| opts.extra_float_digits(None))
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run while an import writes; NORMAL sync is
            // durable across application crashes, which is what WAL needs.
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    options
}

/// Applies pending migrations. Concurrent starts (several gateway
/// processes, or `migrate` beside `serve`) wait for each other instead of
/// racing: PostgreSQL takes an advisory lock, SQLite an immediate (write)
/// transaction. Either lock ends with the transaction, so a crash
/// mid-migration cannot leave it held.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .await?;
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// A transaction that will write: on SQLite it takes the write lock at
/// `BEGIN`, so it waits (busy timeout) rather than failing halfway when
/// another writer is active.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    retry_on_lost_connection(db, || {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
    })
    .await
}

/// The most connections `db`'s pool opens.
pub fn pool_size(db: &DatabaseConnection) -> u32 {
    match db.get_database_backend() {
        DbBackend::Postgres => db
            .get_postgres_connection_pool()
            .options()
            .get_max_connections(),
        DbBackend::Sqlite => db
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        _ => default_max_connections(),
    }
}

/// Runs `attempt` again, on another pooled connection, while it fails
/// because its connection was dead ([`is_connection_lost`]): its backend
/// was terminated or the server restarted. Only for what is safe to repeat:
/// reads, and `BEGIN`. The pool closes each dead connection it meets, so
/// one attempt more than the pool holds gets past all of them; failing to
/// connect at all is not retried.
pub async fn retry_on_lost_connection<T, F: Future<Output = Result<T, DbErr>>>(
    db: &DatabaseConnection,
    mut attempt: impl FnMut() -> F,
) -> Result<T, DbErr> {
    let most = match db.get_database_backend() {
        DbBackend::Postgres => usize::try_from(pool_size(db))
            .unwrap_or(usize::MAX)
            .saturating_add(1),
        // A SQLite connection is a file handle: it does not die this way.
        _ => 1,
    };
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(error) if attempts < most && is_connection_lost(&error) => attempts += 1,
            outcome => return outcome,
        }
    }
}

/// Whether a statement failed because the connection it ran on was gone:
/// its socket failed, or the server ended the session (an administrator's
/// `pg_terminate_backend`, a shutdown). Failing to get a connection at all
/// is not this: retrying would only wait again.
pub fn is_connection_lost(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) =
        error
    else {
        return false;
    };
    match sqlx.as_ref() {
        SqlxError::Io(_) | SqlxError::Protocol(_) => true,
        SqlxError::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

/// Refreshes the planner's statistics after a bulk load. Without them
/// PostgreSQL plans the page and child-window queries of a freshly imported
/// database as if its tables were empty (until autovacuum gets round to
/// them), which was measured to cost 40% of nested-query throughput.
/// PostgreSQL also vacuums the tables: until their pages are marked
/// all-visible, every index-only scan (each `totalCount`) still visits the
/// rows themselves, and the first reads of each row write its hint bits.
pub async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    let statement = match db.get_database_backend() {
        DbBackend::Postgres => {
            "VACUUM (ANALYZE) applications, users, user_agents, sessions, session_counts"
        }
        _ => "ANALYZE",
    };
    db.execute_unprepared(statement).await.map(|_| ())
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    retry_on_lost_connection(db, || db.ping()).await
}

/// The URL with any password replaced, for messages and logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// True when no table holds a row: a database nobody has loaded yet.
pub async fn is_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    use sea_orm::{EntityTrait, PaginatorTrait};

    use crate::entities::{application, session, user, user_agent};
    Ok(application::Entity::find().count(db).await? == 0
        && user::Entity::find().count(db).await? == 0
        && user_agent::Entity::find().count(db).await? == 0
        && session::Entity::find().count(db).await? == 0)
}

/// Whether a statement never reached the database: no pooled connection
/// could be had (the pool timed out, or connecting failed). Unlike a
/// connection lost mid-statement, running another statement at once would
/// only wait as long again.
pub fn is_unreachable(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            matches!(
                sqlx.as_ref(),
                SqlxError::PoolTimedOut | SqlxError::PoolClosed
            )
        }
        _ => false,
    }
}

/// Whether an error means the database could not be reached or went away
/// (clients should retry later) rather than that a statement was wrong.
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    let runtime = match error {
        // Acquiring a connection failed: the pool timed out or connecting did.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return false;
    };
    match sqlx.as_ref() {
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed
        | SqlxError::Protocol(_) => true,
        SqlxError::Database(db) => match sqlite_primary_code(db.as_ref()) {
            // Busy or locked past the busy timeout.
            Some(code) => matches!(code, 5 | 6),
            // SQLSTATE: connection exceptions (class 08), shutdowns and
            // restarts (57P0x), too many connections.
            None => db.code().is_some_and(|code| {
                code.starts_with("08") || code.starts_with("57P0") || code == "53300"
            }),
        },
        _ => false,
    }
}

/// Where preparing the database (migrations, demo data) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preparing {
    /// Migrating, or waiting for the database to answer.
    Pending,
    Ready,
    /// Failed in a way retrying cannot fix; the server stops.
    Failed(String),
}

/// A view of [`Preparing`] that request handlers and tests share.
#[derive(Debug, Clone)]
pub struct DatabaseState(watch::Receiver<Preparing>);

impl DatabaseState {
    /// A state, pending, and the sender that reports on it.
    pub fn channel() -> (watch::Sender<Preparing>, DatabaseState) {
        let (preparing, watch) = watch::channel(Preparing::Pending);
        (preparing, DatabaseState(watch))
    }

    pub fn is_ready(&self) -> bool {
        *self.0.borrow() == Preparing::Ready
    }

    /// Waits until the database is ready, or the reason it never will be.
    pub async fn ready(&self) -> Result<(), String> {
        let mut watch = self.0.clone();
        let outcome = watch
            .wait_for(|state| *state != Preparing::Pending)
            .await
            .map_err(|_| "the server stopped preparing the database".to_owned())?
            .clone();
        match outcome {
            Preparing::Failed(reason) => Err(reason),
            _ => Ok(()),
        }
    }
}
