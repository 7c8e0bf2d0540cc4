//! Where reads run (SPEC §6): on a PostgreSQL streaming replica while one
//! is up, within `--replica-max-lag` and as fresh as the read needs;
//! otherwise on the primary. Mutations, and everything a mutation reads,
//! run on the primary.
//!
//! A monitor samples the primary's write-ahead log position and each
//! replica's replayed position several times a second. A replica is
//! caught up to the latest primary sample it has replayed past; its lag is
//! the age of that sample, the bound on the age of the oldest commit it
//! has not replayed (0 when it has replayed the newest sample). Positions
//! only say how far a replica got, never how far it will get, so a replica
//! that stopped receiving (its link to the primary cut) lags like one that
//! stopped replaying, and is left once the bound is passed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult, Statement};
use tokio::sync::Semaphore;

use super::consistency::WalPosition;
use super::db;
use crate::metrics::{Metrics, ReadTarget};

/// How often the monitor samples the primary and every replica: a read
/// starting more than a second after a replica went down or past the
/// bound must not use it.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// A check that takes longer counts as the replica being down.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);
/// A replica whose last successful check is older is not used.
const STALE_AFTER: Duration = Duration::from_secs(1);

/// How fresh one read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Any replica within the lag bound.
    Bounded,
    /// At least this far into the primary's log (the caller's own write).
    AtLeast(WalPosition),
    /// Every commit made before this instant (an event received then).
    AsOf(Instant),
}

pub struct Replica {
    /// The URL without its password, for logs.
    name: String,
    db: DatabaseConnection,
    /// Shared with the guard on the pool's new connections.
    state: Arc<Mutex<ReplicaState>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct ReplicaState {
    /// When a check last succeeded.
    checked_at: Option<Instant>,
    /// Whether the last check failed (or found a primary, not a replica).
    down: bool,
    replayed: WalPosition,
    /// The furthest it was ever seen to have replayed. A replica restarted
    /// from an old restart point opens for reads as of that point and
    /// replays forward from there: a connection opened to it before it
    /// passes this again would answer from an older state than it did.
    furthest: WalPosition,
    /// The time of the newest primary sample this replica has replayed.
    caught_up_to: Option<Instant>,
}

impl Replica {
    /// A pool (opened lazily, so a replica that is down at start is only
    /// not used) whose new connections are refused while the replica is
    /// behind where it was once seen. `prepare` adds what every pool of the
    /// server has (statement counting).
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        prepare: impl FnOnce(&mut DatabaseConnection),
    ) -> Result<Arc<Replica>, DbErr> {
        let name = db::redacted(url);
        let state = Arc::new(Mutex::new(ReplicaState::default()));
        let guard = ReplicaGuard {
            name: name.clone(),
            state: state.clone(),
        };
        let mut db =
            db::connect_replica_lazily(url, max_connections, acquire_timeout, move |conn| {
                let guard = guard.clone();
                Box::pin(async move { guard.check(conn).await })
            })
            .await?;
        prepare(&mut db);
        Ok(Arc::new(Replica { name, db, state }))
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == sea_orm::DbBackend::Postgres
    }

    fn state(&self) -> ReplicaState {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A read on it failed for want of it: skip it until a check says it is back.
    pub fn mark_down(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.down {
            tracing::warn!(replica = %self.name, "a read on the replica failed: reading from the primary until it answers");
        }
        state.down = true;
    }

    fn serves(&self, need: Freshness, max_lag: Duration, now: Instant) -> bool {
        let state = self.state();
        let (Some(checked_at), Some(caught_up_to)) = (state.checked_at, state.caught_up_to) else {
            return false;
        };
        if state.down || now.saturating_duration_since(checked_at) > STALE_AFTER {
            return false;
        }
        if now.saturating_duration_since(caught_up_to) > max_lag {
            return false;
        }
        match need {
            Freshness::Bounded => true,
            Freshness::AtLeast(position) => state.replayed >= position,
            Freshness::AsOf(instant) => caught_up_to >= instant,
        }
    }
}

/// Picks the database each read runs on.
pub struct ReadRouter {
    primary: DatabaseConnection,
    replicas: Vec<Arc<Replica>>,
    max_lag: Duration,
    next: AtomicUsize,
    metrics: Arc<Metrics>,
    /// How many statements of one request may hold connections at once.
    fair_share: usize,
}

impl ReadRouter {
    pub fn new(
        primary: DatabaseConnection,
        replicas: Vec<Arc<Replica>>,
        max_lag: Duration,
        metrics: Arc<Metrics>,
    ) -> Arc<ReadRouter> {
        let fair_share = fair_share_of(db::pool_size(&primary));
        Arc::new(ReadRouter {
            primary,
            replicas,
            max_lag,
            next: AtomicUsize::new(0),
            metrics,
            fair_share,
        })
    }

    pub fn primary(&self) -> &DatabaseConnection {
        &self.primary
    }

    pub fn has_replicas(&self) -> bool {
        !self.replicas.is_empty()
    }

    /// Reads that must see the primary: a mutation's.
    pub fn on_primary(self: &Arc<Self>) -> ReadConnection {
        self.reads_on(None)
    }

    /// Reads on a replica that serves `need` now, or on the primary.
    pub fn for_read(self: &Arc<Self>, need: Freshness) -> ReadConnection {
        self.reads_on(self.pick(need))
    }

    fn reads_on(self: &Arc<Self>, replica: Option<Arc<Replica>>) -> ReadConnection {
        ReadConnection {
            router: self.clone(),
            replica: Mutex::new(replica),
            turns: Semaphore::new(self.fair_share),
        }
    }

    /// A replica that serves `need` now, taking turns among them.
    fn pick(&self, need: Freshness) -> Option<Arc<Replica>> {
        if self.replicas.is_empty() {
            return None;
        }
        let now = Instant::now();
        let count = self.replicas.len();
        let first = if count > 1 {
            self.next.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        (0..count)
            .map(|turn| &self.replicas[(first + turn) % count])
            .find(|replica| replica.serves(need, self.max_lag, now))
            .cloned()
    }

    /// Samples the primary and the replicas for as long as the process
    /// runs; `probe` is a connection to the primary outside the request
    /// pool, so its statements are neither counted nor queued behind
    /// requests.
    pub async fn monitor(self: Arc<Self>, probe: DatabaseConnection) {
        if self.replicas.is_empty() {
            return;
        }
        let keep = self.max_lag + Duration::from_secs(2);
        let mut samples: VecDeque<(Instant, WalPosition)> = VecDeque::new();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let sampled_at = Instant::now();
            if let Ok(Ok(position)) =
                tokio::time::timeout(CHECK_TIMEOUT, log_position(&probe, PRIMARY_POSITION)).await
            {
                samples.push_back((sampled_at, position));
            }
            while samples
                .front()
                .is_some_and(|(at, _)| sampled_at.saturating_duration_since(*at) > keep)
            {
                samples.pop_front();
            }
            let checks = self.replicas.iter().map(|replica| {
                let samples = &samples;
                async move {
                    let checked = tokio::time::timeout(
                        CHECK_TIMEOUT,
                        log_position(&replica.db, REPLICA_POSITION),
                    )
                    .await;
                    replica.record_check(checked, samples);
                }
            });
            futures_util::future::join_all(checks).await;
        }
    }

    /// Counts a read statement by where it ran.
    fn count(&self, target: ReadTarget) {
        self.metrics.count_read(target);
    }
}

/// The log position a monitor statement reads, as a byte count; `NULL`
/// (a replica that is no longer in recovery) fails the check.
const PRIMARY_POSITION: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::BIGINT";
const REPLICA_POSITION: &str = "SELECT CASE WHEN pg_is_in_recovery() \
     THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::BIGINT END";

async fn log_position(db: &DatabaseConnection, statement: &str) -> Result<WalPosition, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), statement))
        .await?
        .ok_or_else(|| DbErr::Custom("no row".to_owned()))?;
    let position: Option<i64> = row.try_get_by_index(0)?;
    position
        .and_then(|position| u64::try_from(position).ok())
        .map(WalPosition)
        .ok_or_else(|| DbErr::Custom("not a replica in recovery".to_owned()))
}

impl Replica {
    fn record_check(
        &self,
        checked: Result<Result<WalPosition, DbErr>, tokio::time::error::Elapsed>,
        samples: &VecDeque<(Instant, WalPosition)>,
    ) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match checked {
            Ok(Ok(replayed)) => {
                if state.down || state.checked_at.is_none() {
                    tracing::info!(replica = %self.name, "replica answers: reads may use it");
                }
                state.down = false;
                state.checked_at = Some(Instant::now());
                state.replayed = replayed;
                state.furthest = state.furthest.max(replayed);
                // The newest primary sample it has replayed past. None when
                // it is behind every sample kept: a replica restarted from
                // an old restart point replays from there and must not
                // pass for as fresh as before it stopped.
                state.caught_up_to = samples
                    .iter()
                    .rev()
                    .find(|(_, position)| *position <= replayed)
                    .map(|(at, _)| *at);
            }
            Ok(Err(error)) => {
                if !state.down {
                    tracing::warn!(replica = %self.name, %error, "replica check failed: reads go elsewhere");
                }
                state.down = true;
            }
            Err(_) => {
                if !state.down {
                    tracing::warn!(replica = %self.name, timeout = ?CHECK_TIMEOUT, "replica did not answer its check: reads go elsewhere");
                }
                state.down = true;
            }
        }
    }
}

/// Checks each new connection to a replica before the pool hands it out:
/// it must be in recovery and have replayed at least as far as the replica
/// was ever seen to. The monitor notices a restart within a check or two;
/// this covers the reads that open a connection in between.
#[derive(Clone)]
struct ReplicaGuard {
    name: String,
    state: Arc<Mutex<ReplicaState>>,
}

impl ReplicaGuard {
    async fn check(
        &self,
        conn: &mut sea_orm::sqlx::PgConnection,
    ) -> Result<(), sea_orm::sqlx::Error> {
        let replayed: Option<i64> = sea_orm::sqlx::query_scalar(REPLICA_POSITION)
            .fetch_one(&mut *conn)
            .await?;
        let replayed = replayed
            .and_then(|position| u64::try_from(position).ok())
            .map(WalPosition);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let refused = match replayed {
            None => "it is not a replica in recovery".to_owned(),
            Some(replayed) if replayed < state.furthest => format!(
                "it has replayed {} bytes of log but was seen at {}: it restarted from an older state",
                replayed.0, state.furthest.0
            ),
            Some(_) => return Ok(()),
        };
        if !state.down {
            tracing::warn!(replica = %self.name, reason = %refused, "new replica connection refused: reads go elsewhere");
        }
        state.down = true;
        Err(sea_orm::sqlx::Error::Protocol(format!(
            "replica {} not used: {refused}",
            self.name
        )))
    }
}

/// Where one request's reads run: a replica until a read on it fails for
/// want of it (then that read and every later one run on the primary), or
/// the primary.
pub struct ReadConnection {
    router: Arc<ReadRouter>,
    replica: Mutex<Option<Arc<Replica>>>,
    /// The request's fair share of the pool: its statements beyond it
    /// wait here, inside the request (which its timeout bounds), rather
    /// than in the pool's queue, where the acquire timeout would fail
    /// them and where they would hold up every other caller's statements.
    turns: Semaphore,
}

/// Half the pool, at least one connection: one request that fans out
/// wider (a dashboard's every count at once) runs its statements in
/// turns, and the other half keeps serving everyone else.
fn fair_share_of(pool_size: u32) -> usize {
    usize::try_from(pool_size / 2).unwrap_or(usize::MAX).max(1)
}

impl ReadConnection {
    pub fn backend(&self) -> sea_orm::DbBackend {
        self.router.primary.get_database_backend()
    }

    fn replica(&self) -> Option<Arc<Replica>> {
        self.replica
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs a read where it belongs. A replica that cannot be reached, or
    /// whose connection is lost, costs the read nothing but the retry on
    /// the primary, where the request's later reads go too. The read is
    /// not retried on the replica: a lost connection may mean it restarted,
    /// and until the monitor has seen where it is again it may be serving
    /// an older state than the one this request already read.
    pub async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        // Never closed, so a permit always comes.
        let _turn = self.turns.acquire().await.ok();
        if let Some(replica) = self.replica() {
            self.router.count(ReadTarget::Replica);
            let on_replica = replica.db.query_all_raw(statement.clone()).await;
            match on_replica {
                Err(error) if db::is_unavailable(&error) => {
                    replica.mark_down();
                    *self.replica.lock().unwrap_or_else(PoisonError::into_inner) = None;
                }
                outcome => return outcome,
            }
        }
        self.router.count(ReadTarget::Primary);
        let primary = &self.router.primary;
        db::retry_on_lost_connection(primary, || primary.query_all_raw(statement.clone())).await
    }

    /// Moves later reads to where `need` is served (a subscription, before
    /// each event's reads).
    pub fn retarget(&self, need: Freshness) {
        if self.router.has_replicas() {
            *self.replica.lock().unwrap_or_else(PoisonError::into_inner) = self.router.pick(need);
        }
    }
}
