//! Shared state in Redis (`--redis-url`, SPEC §6): what several gateway
//! processes must agree on, the rate limit's budgets and the automatic
//! persisted queries, kept where every process reads and writes it.
//!
//! Redis helps answers and never decides whether one is given: every call
//! has a short deadline, and while Redis is unreachable each process uses
//! its own memory instead (each caller of [`SharedState::run`] says what
//! that is), logs the outage once and counts every fallback in `/metrics`.
//! A probe reconnects in the background, so the shared state is in use
//! again within about a second of Redis answering.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use anyhow::Context;
use prometheus_client::metrics::counter::Counter;
use redis::aio::MultiplexedConnection;

use crate::store::db::redacted;

/// The longest a request waits on Redis. A local Redis answers in well
/// under a millisecond; past this it is as good as down, and the request
/// goes on with this process's memory rather than stalling.
const CALL_DEADLINE: Duration = Duration::from_millis(200);
/// The longest one attempt to (re)connect may take; attempts run in the
/// background, never in a request.
const CONNECT_DEADLINE: Duration = Duration::from_secs(1);
/// How often an unreachable Redis is tried again: Redis being back is
/// noticed within this, well inside SPEC §6's five seconds.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Where the shared state lives (see `--redis-url`, `--redis-key-prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStateSettings {
    pub url: String,
    /// Put before every key, so that several deployments (or tests) can
    /// share one Redis without reading each other's budgets.
    pub key_prefix: String,
}

/// The default of `--redis-key-prefix`.
pub const DEFAULT_KEY_PREFIX: &str = "sessiongraph:";

pub struct SharedState {
    client: redis::Client,
    key_prefix: String,
    /// The URL with its password hidden, for the log.
    shown_url: String,
    /// The connection in use and its generation; `None` while Redis is
    /// unreachable, when requests use this process's memory without
    /// waiting on Redis at all. The generation keeps a call that failed on
    /// an old connection from dropping the one the probe has opened since.
    connection: Mutex<(u64, Option<MultiplexedConnection>)>,
    /// `sessiongraph_redis_fallbacks_total`.
    fallbacks: Counter,
}

impl SharedState {
    /// Tries Redis once (a process may start while Redis is down: it then
    /// uses its own memory until Redis answers) and starts the probe. Only
    /// a URL that can never work is an error.
    pub async fn connect(
        settings: &SharedStateSettings,
        fallbacks: Counter,
    ) -> anyhow::Result<Arc<SharedState>> {
        let shown_url = redacted(&settings.url);
        let client = redis::Client::open(settings.url.as_str())
            .with_context(|| format!("--redis-url {shown_url}"))?;
        let state = Arc::new(SharedState {
            client,
            key_prefix: settings.key_prefix.clone(),
            shown_url,
            connection: Mutex::new((0, None)),
            fallbacks,
        });
        match state.open().await {
            Ok(()) => {
                tracing::info!(redis = %state.shown_url, "rate limit budgets and persisted queries are shared in Redis")
            }
            Err(reason) => tracing::warn!(
                redis = %state.shown_url,
                %reason,
                "Redis is unreachable: this process keeps rate limit budgets and persisted queries in its own memory until it answers"
            ),
        }
        tokio::spawn(probe(Arc::downgrade(&state)));
        Ok(state)
    }

    /// The Redis key of `name` among the things of one `kind`.
    pub fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.key_prefix)
    }

    /// Runs `call` on Redis within the deadline. `None` means Redis did
    /// not answer (or is known to be down) and the caller must use its own
    /// memory; that is counted, and the first failure of an outage logged.
    pub async fn run<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let (generation, connection) = {
            let slot = self.connection.lock().unwrap_or_else(|e| e.into_inner());
            (slot.0, slot.1.clone())
        };
        let Some(connection) = connection else {
            self.fallbacks.inc();
            return None;
        };
        let reason = match tokio::time::timeout(CALL_DEADLINE, call(connection)).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", CALL_DEADLINE.as_millis()),
        };
        self.fallbacks.inc();
        self.lose(generation, &reason);
        None
    }

    /// Gives up the connection `generation` (unless the probe has already
    /// replaced it): requests stop waiting on it and the probe takes over.
    fn lose(&self, generation: u64, reason: &str) {
        let mut slot = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        if slot.0 == generation && slot.1.take().is_some() {
            tracing::warn!(
                redis = %self.shown_url,
                %reason,
                "Redis is unreachable: this process keeps rate limit budgets and persisted queries in its own memory until it answers"
            );
        }
    }

    /// Connects and checks that Redis answers, then puts the connection in
    /// use.
    async fn open(&self) -> Result<(), String> {
        let attempt = async {
            let mut connection = self.client.get_multiplexed_async_connection().await?;
            redis::cmd("PING")
                .query_async::<()>(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(connection)
        };
        let connection = match tokio::time::timeout(CONNECT_DEADLINE, attempt).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => return Err(error.to_string()),
            Err(_) => {
                return Err(format!(
                    "no answer within {} ms",
                    CONNECT_DEADLINE.as_millis()
                ));
            }
        };
        let mut slot = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        *slot = (slot.0.wrapping_add(1), Some(connection));
        Ok(())
    }

    fn is_connected(&self) -> bool {
        self.connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .is_some()
    }
}

/// Reconnects while Redis is unreachable; ends with the process's shared
/// state.
async fn probe(state: Weak<SharedState>) {
    let mut tick = tokio::time::interval(PROBE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else { return };
        if state.is_connected() {
            continue;
        }
        match state.open().await {
            Ok(()) => tracing::info!(
                redis = %state.shown_url,
                "Redis answers again: rate limit budgets and persisted queries are shared again"
            ),
            Err(reason) => {
                tracing::debug!(redis = %state.shown_url, %reason, "Redis still unreachable")
            }
        }
    }
}
