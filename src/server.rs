//! The HTTP edge: builds the router and runs it until told to stop.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::db;
use crate::graphql::{SessionGraphSchema, build_schema};
use crate::http;
use crate::import;
use crate::metrics::Metrics;
use crate::persisted_queries::PersistedQueries;
use crate::seed::{self, SeedOptions};

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
    /// How long a shutdown waits for requests in flight (see `--shutdown-timeout`).
    pub shutdown_timeout: Duration,
}

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: SessionGraphSchema,
    pub metrics: Arc<Metrics>,
    /// Permits to execute a GraphQL request; bounds the memory and database
    /// connections that requests in flight hold.
    pub execution_slots: Arc<Semaphore>,
    pub persisted_queries: Arc<PersistedQueries>,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    metrics: Arc<Metrics>,
    shutdown_timeout: Duration,
}

impl Application {
    /// Connects, migrates, and binds; port 0 picks a free port (tests).
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        let mut db = db::connect_pool(&config.database_url, config.database_max_connections)
            .await
            .with_context(|| format!("connecting to {}", db::redacted(&config.database_url)))?;
        let metrics = Metrics::new();
        let counted = metrics.clone();
        db.set_metric_callback(move |info| {
            counted.sql_statements.inc();
            if info.failed {
                counted.sql_failures.inc();
            }
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
        db::migrate(&db).await.context("migrating the database")?;
        if config.load_demo_data && db::is_empty(&db).await? {
            let summary = import::store(&db, &seed::generate(&SeedOptions::demo()))
                .await
                .map_err(|e| anyhow::anyhow!("loading the demo data: {e}"))?;
            tracing::info!(%summary, "fresh embedded database: loaded the demo dataset");
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let schema = build_schema(Some(db.clone()));
        Ok(Application {
            listener,
            router: router(AppState {
                db,
                schema,
                metrics: metrics.clone(),
                execution_slots: Arc::new(Semaphore::new(config.max_concurrent_requests)),
                persisted_queries: Arc::default(),
            }),
            metrics,
            shutdown_timeout: config.shutdown_timeout,
        })
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
        let (stopping_tx, mut stopping) = watch::channel(false);
        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown_signal().await;
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
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(http::graphql_get).post(http::graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::graphiql::routes())
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
