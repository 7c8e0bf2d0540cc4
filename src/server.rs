//! The HTTP edge: builds the router and runs it until told to stop.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admission::rate_limit::RateLimitSettings;
use crate::admission::trusted_documents::TrustedDocuments;
use crate::admission::{Admission, AdmissionSettings, RequestLimits, SocketLimits};
use crate::auth::{AuthSettings, Authenticator};
use crate::cors::{self, CorsPolicy};
use crate::gateway::Gateway;
use crate::graphql::build_schema;
use crate::http;
use crate::import;
use crate::live::{self, EventCounters, EventHub};
use crate::metrics::{Metrics, RequestTally};
use crate::seed::{self, SeedOptions};
use crate::shared_state::{SharedState, SharedStateSettings};
use crate::store::db::{self, DatabaseState, Preparing};
use crate::store::replicas::{ReadRouter, Replica};
use crate::store::session_counts;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub database_url: String,
    /// Seed the demo dataset into an empty database (only the embedded default).
    pub load_demo_data: bool,
    pub listen: SocketAddr,
    /// GraphQL requests executed at once (see `--max-concurrent-requests`).
    pub max_concurrent_requests: usize,
    /// The database pool's size (see `--database-max-connections`).
    pub database_max_connections: u32,
    /// How long a statement waits for a pooled connection (see `--database-acquire-timeout`).
    pub database_acquire_timeout: Duration,
    /// How long a shutdown waits for requests in flight (see `--shutdown-timeout`).
    pub shutdown_timeout: Duration,
    /// Token verification; without keys the server runs open.
    pub auth: AuthSettings,
    /// Run open on a non-loopback address (see `--allow-unauthenticated`).
    pub allow_unauthenticated: bool,
    pub limits: RequestLimits,
    /// Serve `__schema`/`__type` (see `--disable-introspection`).
    pub introspection: bool,
    /// Per-caller cost budget; `None` is unlimited.
    pub rate_limit: Option<RateLimitSettings>,
    /// Redis, where the rate limit's budgets and the persisted queries are
    /// shared between processes (see `--redis-url`); `None` keeps them in
    /// this process.
    pub shared_state: Option<SharedStateSettings>,
    /// What a WebSocket may do (see `--max-subscriptions-per-connection`).
    pub sockets: SocketLimits,
    /// Events a subscription may fall behind by (see `--subscription-queue`).
    pub subscription_queue: usize,
    /// Where session events are listened for, when not `database_url`
    /// (see `--notify-database-url`).
    pub notify_database_url: Option<String>,
    /// PostgreSQL streaming replicas that reads may run on (see
    /// `--replica-database-url`).
    pub replica_database_urls: Vec<String>,
    /// How far behind the primary a replica may be and still serve reads
    /// (see `--replica-max-lag`).
    pub replica_max_lag: Duration,
    /// Origins browser apps may call `/graphql` from (see `--cors-origin`).
    pub cors_origins: Vec<String>,
    /// Manifests of the documents requests may name by id (see
    /// `--trusted-documents`); reloaded on SIGHUP.
    pub trusted_documents: Vec<PathBuf>,
    /// Run only documents named by id (see `--trusted-documents-only`).
    pub trusted_documents_only: bool,
}

impl ServerConfig {
    /// The defaults of the command line, over `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        ServerConfig {
            database_url: database_url.into(),
            load_demo_data: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            max_concurrent_requests: 4 * std::thread::available_parallelism()
                .map_or(1, |cores| cores.get()),
            database_max_connections: db::default_max_connections(),
            database_acquire_timeout: db::DEFAULT_ACQUIRE_TIMEOUT,
            shutdown_timeout: Duration::from_secs(30),
            auth: AuthSettings::default(),
            allow_unauthenticated: false,
            limits: RequestLimits::default(),
            introspection: true,
            rate_limit: None,
            shared_state: None,
            sockets: SocketLimits::default(),
            subscription_queue: 1_000,
            notify_database_url: None,
            replica_database_urls: Vec::new(),
            replica_max_lag: Duration::from_secs(5),
            cors_origins: Vec::new(),
            trusted_documents: Vec::new(),
            trusted_documents_only: false,
        }
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    gateway: Arc<Gateway>,
    metrics: Arc<Metrics>,
    shutdown_timeout: Duration,
    database: DatabaseState,
}

/// Open mode only on loopback, unless explicitly allowed: a sessions API
/// without authentication tells anyone who is logged in where.
fn check_open_mode(config: &ServerConfig, authenticated: bool) -> anyhow::Result<()> {
    if authenticated {
        return Ok(());
    }
    if !config.listen.ip().is_loopback() && !config.allow_unauthenticated {
        anyhow::bail!(
            "refusing to serve {} without authentication: configure --jwt-secret or --jwks-file, \
             or pass --allow-unauthenticated to expose every zone to anyone who can connect",
            config.listen
        );
    }
    tracing::warn!(
        listen = %config.listen,
        "authentication is off (no --jwt-secret or --jwks-file): every caller can read and change every zone"
    );
    Ok(())
}

impl Application {
    /// Binds and starts preparing the database (migrations, demo data) in
    /// the background, so the server answers `/healthz` and `/readyz` even
    /// while the database is down; port 0 picks a free port (tests).
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        let authenticator = Authenticator::from_settings(&config.auth)?.map(Arc::new);
        let cors = CorsPolicy::from_origins(&config.cors_origins)?.map(Arc::new);
        check_open_mode(&config, authenticator.is_some())?;
        let mut db = db::connect_lazily(
            &config.database_url,
            config.database_max_connections,
            config.database_acquire_timeout,
        )
        .await
        .with_context(|| format!("connecting to {}", db::redacted(&config.database_url)))?;
        // The expiry sweep is the server's upkeep, not a request's: its
        // statements go through a handle made before the pool counts
        // statements, so that they neither show in the request metrics nor
        // land in a request's count when a sweep runs during it.
        let upkeep = db.clone();
        let metrics = Metrics::new();
        count_statements(&mut db, &metrics);
        let reads = read_router(&config, &db, &metrics).await?;
        let shared_state = match &config.shared_state {
            Some(settings) => {
                Some(SharedState::connect(settings, metrics.redis_fallbacks.clone()).await?)
            }
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let hub = EventHub::new(
            config.subscription_queue,
            EventCounters {
                delivered: metrics.events_delivered.clone(),
                dropped: metrics.events_dropped.clone(),
                resyncs: metrics.resyncs.clone(),
            },
        );
        let schema = build_schema(Some(db.clone()), Some(hub.clone()), config.introspection);
        let trusted_documents =
            TrustedDocuments::load(&config.trusted_documents, &schema, &config.limits)?;
        if !config.trusted_documents.is_empty() {
            tracing::info!(
                documents = trusted_documents.len(),
                "trusted documents loaded"
            );
        }
        if config.trusted_documents_only && config.trusted_documents.is_empty() {
            tracing::warn!(
                "--trusted-documents-only without --trusted-documents: only tokens with the `documents:any` scope can run anything"
            );
        }
        let (preparing, database) = DatabaseState::channel();
        if config.load_demo_data {
            // Only the embedded default loads demo data: a local file that
            // cannot be "down", so it is prepared before serving.
            db::migrate(&db).await.context("migrating the database")?;
            load_demo_data(&db).await?;
            preparing.send_replace(Preparing::Ready);
        } else {
            tokio::spawn(prepare_database(db.clone(), preparing));
        }
        tokio::spawn(receive_events(
            db.get_database_backend(),
            config
                .notify_database_url
                .clone()
                .unwrap_or_else(|| config.database_url.clone()),
            database.clone(),
            hub,
        ));
        tokio::spawn(sweep_expired_counts(upkeep, database.clone()));
        let gateway = Arc::new(Gateway {
            db,
            reads,
            schema,
            admission: Admission::new(
                AdmissionSettings {
                    limits: config.limits,
                    introspection: config.introspection,
                    rate_limit: config.rate_limit,
                    max_concurrent_requests: config.max_concurrent_requests,
                    authenticator,
                    shared_state,
                    trusted_documents,
                    trusted_documents_only: config.trusted_documents_only,
                    metrics: metrics.clone(),
                },
                database.clone(),
            ),
            metrics: metrics.clone(),
            database: database.clone(),
            socket_limits: config.sockets,
            socket_slots: Arc::new(tokio::sync::Semaphore::new(config.sockets.max_sockets)),
            stream_slots: Arc::new(tokio::sync::Semaphore::new(
                config.sockets.max_event_streams,
            )),
            stop: watch::channel(false).0,
        });
        #[cfg(unix)]
        if !config.trusted_documents.is_empty() {
            reload_on_hangup(gateway.clone(), config.trusted_documents, config.limits)?;
        }
        Ok(Application {
            listener,
            router: router(gateway.clone(), cors),
            gateway,
            metrics,
            shutdown_timeout: config.shutdown_timeout,
            database,
        })
    }

    /// Where preparing the database stands (tests wait for it).
    pub fn database(&self) -> DatabaseState {
        self.database.clone()
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The counters `/metrics` serves; tests read them directly.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting and lets the
    /// requests in flight finish, for at most the shutdown timeout.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        // Listening for the signals before saying "serving": a SIGTERM
        // sent as soon as that line is read must stop the server cleanly,
        // not kill it by the signal's default action.
        let shutdown = shutdown_signal()?;
        tracing::info!(address = %self.address(), "serving");
        let database = self.database;
        let fatal = async move {
            match database.ready().await {
                Err(reason) => reason,
                Ok(()) => std::future::pending().await,
            }
        };
        let (stopping_tx, mut stopping) = watch::channel(false);
        let gateway = self.gateway.clone();
        // Served through `into_make_service`, which hands each connection
        // the router by reference count. Served as it is, axum made each
        // connection its own deep copy of the routes (`with_state(())` on
        // a shared router: about 11,000 instructions, 7% of a point lookup
        // on a fresh connection); `router` already turned every handler
        // into a route with its state, which is what that copy was for.
        let serve = axum::serve(self.listener, self.router.into_make_service())
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Sockets close with 1001 (going away); requests finish.
                gateway.stop.send_replace(true);
                let _ = stopping_tx.send(true);
            });
        let timeout = self.shutdown_timeout;
        let drain_deadline = async move {
            if stopping.wait_for(|stopping| *stopping).await.is_err() {
                // The server ended without a shutdown: no deadline to keep.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(timeout).await;
        };
        tokio::select! {
            served = serve.into_future() => served.context("serving HTTP"),
            () = drain_deadline => {
                tracing::warn!(?timeout, "requests still in flight at the shutdown timeout; exiting anyway");
                Ok(())
            }
            reason = fatal => Err(anyhow::anyhow!(reason)),
        }
    }
}

/// Reloads the trusted documents on each SIGHUP. The new set replaces the
/// old one whole once it has loaded, so a request sees one set or the
/// other; a set that fails to load leaves the old one serving.
#[cfg(unix)]
fn reload_on_hangup(
    gateway: Arc<Gateway>,
    files: Vec<PathBuf>,
    limits: RequestLimits,
) -> anyhow::Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("listening for SIGHUP, which reloads --trusted-documents")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let gateway = gateway.clone();
            let files = files.clone();
            // Parsing and validating a large manifest is CPU work: off the
            // threads that serve requests.
            let loaded = tokio::task::spawn_blocking(move || {
                TrustedDocuments::load(&files, &gateway.schema, &limits).map(|documents| {
                    let count = documents.len();
                    gateway.admission.replace_trusted_documents(documents);
                    count
                })
            })
            .await;
            match loaded {
                Ok(Ok(documents)) => tracing::info!(documents, "trusted documents reloaded"),
                Ok(Err(error)) => tracing::error!(
                    error = %format!("{error:#}"),
                    "trusted documents not reloaded; the previous set still serves"
                ),
                Err(error) => tracing::error!(%error, "trusted documents not reloaded"),
            }
        }
    });
    Ok(())
}

/// Counts every statement a pool runs in `/metrics`, and logs it at debug.
fn count_statements(db: &mut DatabaseConnection, metrics: &Arc<Metrics>) {
    let counted = metrics.clone();
    let system = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    db.set_metric_callback(move |info| {
        counted.sql_statements.inc();
        RequestTally::statement_sent();
        if info.failed {
            counted.sql_failures.inc();
        }
        crate::telemetry::record_statement(system, &info.statement.sql, info.elapsed, info.failed);
        // With its values inlined, so it can be replayed (the benchmark's
        // database floor does); off unless RUST_LOG enables it.
        tracing::debug!(
            target: "sessiongraph::sql",
            elapsed_us = info.elapsed.as_micros() as u64,
            failed = info.failed,
            "{}",
            info.statement
        );
    });
}

/// Where reads run: the replicas' pools (opened lazily, so a replica that
/// is down at start is only not used) and the monitor that samples them.
async fn read_router(
    config: &ServerConfig,
    primary: &DatabaseConnection,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Arc<ReadRouter>> {
    if !config.replica_database_urls.is_empty()
        && primary.get_database_backend() != sea_orm::DbBackend::Postgres
    {
        anyhow::bail!(
            "--replica-database-url names PostgreSQL streaming replicas; the database is not PostgreSQL"
        );
    }
    let mut replicas = Vec::with_capacity(config.replica_database_urls.len());
    for url in &config.replica_database_urls {
        let replica = Replica::connect(
            url,
            config.database_max_connections,
            config.database_acquire_timeout,
            |pool| count_statements(pool, metrics),
        )
        .await
        .with_context(|| format!("connecting to replica {}", db::redacted(url)))?;
        if !replica.is_postgres() {
            anyhow::bail!("replica {} is not a PostgreSQL URL", db::redacted(url));
        }
        replicas.push(replica);
    }
    let router = ReadRouter::new(
        primary.clone(),
        replicas,
        config.replica_max_lag,
        metrics.clone(),
    );
    if router.has_replicas() {
        // Its own connection, so sampling neither counts as a request's
        // statement nor waits behind requests for a pooled one.
        let probe = db::connect_lazily(&config.database_url, 1, Duration::from_secs(1))
            .await
            .with_context(|| format!("connecting to {}", db::redacted(&config.database_url)))?;
        tokio::spawn(router.clone().monitor(probe));
    }
    Ok(router)
}

/// Receives the database's session events for the subscriptions of this
/// process, once the database is ready (the outbox exists).
async fn receive_events(
    backend: sea_orm::DbBackend,
    url: String,
    database: DatabaseState,
    hub: Arc<EventHub>,
) {
    if database.ready().await.is_err() {
        return;
    }
    match backend {
        sea_orm::DbBackend::Postgres => live::listen_postgres(url, hub).await,
        _ => live::poll_sqlite(url, hub).await,
    }
}

/// How often this process moves the counts of sessions whose expiry passed
/// (`store::session_counts`). Between sweeps a `sessionStats` read counts
/// those sessions itself, so this bounds that work, not correctness.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// How often this process folds the revokes kept apart from the counts
/// into them. A read adds the ones not folded yet, so this too bounds its
/// work (a second of revokes), not correctness.
const FOLD_EVERY: Duration = Duration::from_secs(1);

async fn sweep_expired_counts(db: DatabaseConnection, database: DatabaseState) {
    if database.ready().await.is_err() {
        return;
    }
    // The first round one period after start: a request served right
    // after start pays for no statements of its own.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + FOLD_EVERY, FOLD_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_sweep = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        if last_sweep.elapsed() < SWEEP_EVERY {
            match session_counts::fold_moves(&db, None).await {
                Ok(true) => {}
                Ok(false) => tracing::debug!(
                    "a write holds the session counts; the revokes are folded next round"
                ),
                Err(error) => {
                    tracing::warn!(%error, "could not fold the revokes into the session counts")
                }
            }
            continue;
        }
        last_sweep = tokio::time::Instant::now();
        let until = crate::timestamp::truncate_to_micros(chrono::Utc::now());
        let stale = until - chrono::Duration::from_std(SWEEP_EVERY).unwrap_or_default();
        let zones = match session_counts::zones_to_sweep(&db, stale).await {
            Ok(zones) => zones,
            Err(error) => {
                tracing::warn!(%error, "could not list the zones whose session counts to sweep");
                continue;
            }
        };
        for zone_id in zones {
            match session_counts::sweep_expired(&db, &zone_id, until).await {
                Ok(true) => {}
                Ok(false) => tracing::debug!(
                    zone_id,
                    "an import holds the zone; its counts are swept next round"
                ),
                Err(error) => {
                    tracing::warn!(%error, zone_id, "could not sweep the zone's session counts")
                }
            }
        }
    }
}

/// Migrates, retrying while the database is unreachable; a failure that
/// retrying cannot fix stops the server.
async fn prepare_database(db: DatabaseConnection, preparing: watch::Sender<Preparing>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match migrate(&db).await {
            Ok(()) => {
                preparing.send_replace(Preparing::Ready);
                tracing::info!("database migrated: ready");
                return;
            }
            Err(Preparation::Unavailable(error)) => {
                tracing::warn!(%error, retry_in = ?backoff, "database unavailable; serving not-ready until it answers");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(Preparation::Fatal(error)) => {
                tracing::error!(error = %format!("{error:#}"), "preparing the database failed");
                preparing.send_replace(Preparing::Failed(format!("{error:#}")));
                return;
            }
        }
    }
}

enum Preparation {
    Unavailable(sea_orm::DbErr),
    Fatal(anyhow::Error),
}

async fn migrate(db: &DatabaseConnection) -> Result<(), Preparation> {
    db::migrate(db).await.map_err(|error| {
        if db::is_unavailable(&error) {
            Preparation::Unavailable(error)
        } else {
            Preparation::Fatal(anyhow::Error::new(error).context("migrating the database"))
        }
    })
}

/// Fills a fresh embedded database with the demo dataset.
async fn load_demo_data(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db::is_empty(db).await? {
        let summary = import::store(db, &seed::generate(&SeedOptions::demo()))
            .await
            .map_err(|e| anyhow::anyhow!("loading the demo data: {e}"))?;
        tracing::info!(%summary, "fresh embedded database: loaded the demo dataset");
    }
    Ok(())
}

/// The routes; `cors` (when origins are configured) wraps `/graphql` only:
/// the other paths are for operators and the page served from here.
pub fn router(gateway: Arc<Gateway>, cors: Option<Arc<CorsPolicy>>) -> Router {
    let body_limit =
        axum::extract::DefaultBodyLimit::max(gateway.admission.limits().max_body_bytes);
    let mut graphql = get(http::graphql_get)
        .post(http::graphql_post)
        .layer(body_limit);
    if let Some(policy) = cors {
        // On the method router, so that it also sees the `OPTIONS` that no
        // method of the route answers.
        graphql = graphql.layer(axum::middleware::from_fn_with_state(policy, cors::guard));
    }
    Router::new()
        .route("/graphql", graphql)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::graphiql::routes())
        // Resolvers have their own guard against panics; this one answers
        // a panic anywhere else in a request.
        .layer(axum::middleware::from_fn_with_state(
            gateway.metrics.clone(),
            http::request_scope,
        ))
        .layer(compression())
        .with_state(gateway)
}

/// Gzip or Brotli, only for clients that send `Accept-Encoding` for it:
/// everyone else gets identity bodies and pays nothing. The fastest level,
/// because the gateway's CPU is what bounds its throughput: a 16 KB nested
/// response shrinks about 6.6 times at gzip level 1 (43 µs) against 7.7
/// times at the default level 6 (112 µs, a tenth of the request's CPU).
fn compression() -> tower_http::compression::CompressionLayer {
    tower_http::compression::CompressionLayer::new()
        .no_deflate()
        .no_zstd()
        .quality(tower_http::CompressionLevel::Fastest)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(gateway): State<Arc<Gateway>>) -> impl axum::response::IntoResponse {
    let (size, idle, waiting) = match gateway.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = gateway.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32, pool.num_waiting())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = gateway.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32, pool.num_waiting())
        }
        _ => (0, 0, 0),
    };
    gateway
        .metrics
        .set_pool(size.saturating_sub(idle), idle, waiting);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        gateway.metrics.render(),
    )
}

async fn readyz(State(gateway): State<Arc<Gateway>>) -> (StatusCode, &'static str) {
    if !gateway.database.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database not migrated yet (unreachable or migrating)",
        );
    }
    match db::ping(&gateway.db).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT). The handlers are installed
/// when this is called, not when the future is first polled.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
