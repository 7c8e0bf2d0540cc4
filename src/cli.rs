//! Command-line interface: flags with environment fallbacks, one subcommand per task.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sea_orm::DatabaseConnection;

use std::num::NonZeroU32;
use std::time::Duration;

use crate::admission::limits::Limits;
use crate::admission::rate_limit::RateLimitSettings;
use crate::admission::{RequestLimits, SocketLimits};
use crate::auth::{self, AuthSettings, Claims, KeySource};
use crate::import::{self, ImportFailure};
use crate::seed::{self, SeedOptions};
use crate::server::{Application, ServerConfig};
use crate::shared_state::{self, SharedStateSettings};
use crate::store::db;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "sessiongraph",
    version,
    about = "A GraphQL gateway over session data"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    /// Defaults to the embedded `sqlite://sessiongraph.db?mode=rwc`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "SESSIONGRAPH_LISTEN",
        global = true,
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,

    /// GraphQL requests executed at once; more wait their turn. Defaults to
    /// four per CPU core. Each request in flight holds its rows and response
    /// tree, and past a few per core they only contend for the CPU and the
    /// database pool.
    #[arg(
        long,
        env = "SESSIONGRAPH_MAX_CONCURRENT_REQUESTS",
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_concurrent_requests: Option<u32>,

    /// Database connections the server's pool opens at most. Defaults to
    /// two per CPU core; raise it when the database is far away (each
    /// statement then waits longer on the network). With several gateway
    /// processes on one PostgreSQL, their pools together must stay under
    /// its `max_connections`.
    #[arg(
        long,
        env = "SESSIONGRAPH_DATABASE_MAX_CONNECTIONS",
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub database_max_connections: Option<u32>,

    /// Seconds a statement waits for a pooled connection before its request
    /// fails with SERVICE_UNAVAILABLE.
    #[arg(
        long,
        env = "SESSIONGRAPH_DATABASE_ACQUIRE_TIMEOUT",
        global = true,
        default_value_t = db::DEFAULT_ACQUIRE_TIMEOUT.as_secs_f64()
    )]
    pub database_acquire_timeout: f64,

    /// A PostgreSQL streaming replica that queries and subscriptions may
    /// read from (repeatable); mutations and what they read stay on the
    /// primary. The environment variable takes a comma-separated list.
    #[arg(
        long = "replica-database-url",
        env = "SESSIONGRAPH_REPLICA_DATABASE_URLS",
        global = true,
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub replica_database_urls: Vec<String>,

    /// Seconds a replica may lag behind the primary (the age of the oldest
    /// commit it has not replayed) and still serve reads.
    #[arg(
        long,
        env = "SESSIONGRAPH_REPLICA_MAX_LAG",
        global = true,
        default_value_t = 5.0
    )]
    pub replica_max_lag: f64,

    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests in flight
    /// before the process exits anyway.
    #[arg(
        long,
        env = "SESSIONGRAPH_SHUTDOWN_TIMEOUT",
        global = true,
        default_value_t = 30
    )]
    pub shutdown_timeout: u64,

    /// Origins whose pages may call /graphql from a browser (CORS), like
    /// https://app.example.com; repeat the flag, or separate them with
    /// commas. `*` allows any origin, without credentials (cookies,
    /// client certificates) except for the origins listed beside it.
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        env = "SESSIONGRAPH_CORS_ORIGINS",
        global = true,
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// A manifest of the documents the frontends ship, which requests may
    /// name by id (`documentId`, Relay's `doc_id`, Apollo's persisted
    /// query hash): Apollo's persisted query manifest, Relay's
    /// `persisted_queries.json` or GraphQL Code Generator's
    /// `persisted-documents.json`. Repeat the flag, or separate files with
    /// commas; SIGHUP reloads them.
    #[arg(
        long = "trusted-documents",
        value_name = "FILE",
        env = "SESSIONGRAPH_TRUSTED_DOCUMENTS",
        global = true,
        value_delimiter = ','
    )]
    pub trusted_documents: Vec<PathBuf>,

    /// Run only the documents of --trusted-documents, named by id; any
    /// other is refused with TRUSTED_DOCUMENT_REQUIRED, except for tokens
    /// whose scope holds `documents:any`.
    #[arg(long, env = "SESSIONGRAPH_TRUSTED_DOCUMENTS_ONLY", global = true)]
    pub trusted_documents_only: bool,

    /// How log lines are written to stderr: `text` for people, `json` for
    /// log collectors (one object a line; a request's lines carry its
    /// `requestId`).
    #[arg(
        long,
        env = "SESSIONGRAPH_LOG_FORMAT",
        global = true,
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub auth: AuthOptions,

    #[command(flatten)]
    pub limits: LimitOptions,

    #[command(flatten)]
    pub live: LiveOptions,

    #[command(flatten)]
    pub shared_state: SharedStateOptions,
}

/// State that several gateway processes share: the rate limit's budgets and
/// the automatic persisted queries.
#[derive(Debug, Clone, Args)]
#[group(id = "shared-state")]
pub struct SharedStateOptions {
    /// Redis holding the rate limit's budgets and the automatic persisted
    /// queries, shared by every process pointed at it
    /// (`redis://[:PASSWORD@]HOST[:PORT][/DB]`). While it is unreachable
    /// each process uses its own memory. Unset, each process always does.
    #[arg(
        long,
        env = "SESSIONGRAPH_REDIS_URL",
        global = true,
        hide_env_values = true
    )]
    pub redis_url: Option<String>,

    /// Put before every Redis key, so that deployments sharing one Redis
    /// keep apart.
    #[arg(long, env = "SESSIONGRAPH_REDIS_KEY_PREFIX", global = true, default_value = shared_state::DEFAULT_KEY_PREFIX)]
    pub redis_key_prefix: String,
}

impl SharedStateOptions {
    fn settings(&self) -> Option<SharedStateSettings> {
        Some(SharedStateSettings {
            url: self.redis_url.clone()?,
            key_prefix: self.redis_key_prefix.clone(),
        })
    }
}

/// Subscriptions over WebSocket and server-sent events.
#[derive(Debug, Clone, Args)]
#[group(id = "live")]
pub struct LiveOptions {
    /// Operations (subscriptions) one WebSocket may have open at once.
    #[arg(long, env = "SESSIONGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION", global = true, default_value_t = SocketLimits::default().max_operations_per_socket)]
    pub max_subscriptions_per_connection: usize,

    /// WebSockets this process keeps open at once; more are answered 503.
    #[arg(long, env = "SESSIONGRAPH_MAX_WEBSOCKET_CONNECTIONS", global = true, default_value_t = SocketLimits::default().max_sockets)]
    pub max_websocket_connections: usize,

    /// Server-sent event streams this process keeps open at once; more
    /// are answered 503.
    #[arg(long, env = "SESSIONGRAPH_MAX_SSE_STREAMS", global = true, default_value_t = SocketLimits::default().max_event_streams)]
    pub max_sse_streams: usize,

    /// Seconds between the server's pings on an open WebSocket, and between
    /// keep-alive comments on an idle event stream.
    #[arg(long, env = "SESSIONGRAPH_WEBSOCKET_KEEPALIVE", global = true, default_value_t = SocketLimits::default().keepalive.as_secs_f64())]
    pub websocket_keepalive: f64,

    /// Seconds a new WebSocket may take to send `connection_init` before it
    /// is closed (4408).
    #[arg(long, env = "SESSIONGRAPH_WEBSOCKET_INIT_TIMEOUT", global = true, default_value_t = SocketLimits::default().init_timeout.as_secs_f64())]
    pub websocket_init_timeout: f64,

    /// Events a subscription may fall behind by; past it the subscription
    /// ends with an error naming this limit, so memory stays bounded.
    #[arg(
        long,
        env = "SESSIONGRAPH_SUBSCRIPTION_QUEUE",
        global = true,
        default_value_t = 1_000
    )]
    pub subscription_queue: usize,

    /// Where to LISTEN for session events (PostgreSQL), when not the main
    /// database URL. LISTEN needs a session-mode connection: point this at
    /// PostgreSQL itself or a session-pooling PgBouncer, never at one that
    /// pools by transaction.
    #[arg(long, env = "SESSIONGRAPH_NOTIFY_DATABASE_URL", global = true)]
    pub notify_database_url: Option<String>,
}

/// Who may call: bearer JWTs. Authentication is on whenever a key is set.
#[derive(Debug, Clone, Args)]
#[group(id = "authentication")]
pub struct AuthOptions {
    /// HS256 secret (at least 32 bytes) that tokens are signed with.
    #[arg(
        long,
        env = "SESSIONGRAPH_JWT_SECRET",
        global = true,
        hide_env_values = true,
        conflicts_with = "jwks_file"
    )]
    pub jwt_secret: Option<String>,

    /// JWKS document with the RS256/ES256 public keys tokens are signed with.
    #[arg(long, env = "SESSIONGRAPH_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,

    /// Expected `iss` claim; tokens without it are refused when set.
    #[arg(long, env = "SESSIONGRAPH_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Expected `aud` claim; tokens without it are refused when set.
    #[arg(long, env = "SESSIONGRAPH_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Seconds of clock skew tolerated on `exp`/`nbf` (at most 60).
    #[arg(long, env = "SESSIONGRAPH_JWT_LEEWAY", global = true, default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(0..=60))]
    pub jwt_leeway: u64,

    /// Serve without authentication on a non-loopback address. Anyone who
    /// can connect then reads and changes every zone.
    #[arg(long, env = "SESSIONGRAPH_ALLOW_UNAUTHENTICATED", global = true)]
    pub allow_unauthenticated: bool,
}

impl AuthOptions {
    fn settings(&self) -> AuthSettings {
        let keys = match (&self.jwt_secret, &self.jwks_file) {
            (Some(secret), _) => Some(KeySource::Secret(secret.clone())),
            (None, Some(path)) => Some(KeySource::JwksFile(path.clone())),
            (None, None) => None,
        };
        AuthSettings {
            keys,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway: Duration::from_secs(self.jwt_leeway),
        }
    }
}

/// What one request may ask for. Every rejection names the limit and the
/// measured value.
#[derive(Debug, Clone, Args)]
pub struct LimitOptions {
    /// Deepest field nesting of a query.
    #[arg(long, env = "SESSIONGRAPH_MAX_QUERY_DEPTH", global = true, default_value_t = Limits::default().max_depth)]
    pub max_query_depth: u64,

    /// Cost budget of a query: a field costs 1, a connection its
    /// `first`/`last` (20 when absent) times the cost of its selection.
    #[arg(long, env = "SESSIONGRAPH_MAX_QUERY_COST", global = true, default_value_t = Limits::default().max_cost)]
    pub max_query_cost: u64,

    /// Aliased fields in a query.
    #[arg(long, env = "SESSIONGRAPH_MAX_ALIASES", global = true, default_value_t = Limits::default().max_aliases)]
    pub max_aliases: u64,

    /// Fields at a query's root.
    #[arg(long, env = "SESSIONGRAPH_MAX_ROOT_FIELDS", global = true, default_value_t = Limits::default().max_root_fields)]
    pub max_root_fields: u64,

    /// Bytes of query text.
    #[arg(long, env = "SESSIONGRAPH_MAX_QUERY_BYTES", global = true, default_value_t = RequestLimits::default().max_query_bytes)]
    pub max_query_bytes: usize,

    /// Bytes of a POST body.
    #[arg(long, env = "SESSIONGRAPH_MAX_BODY_BYTES", global = true, default_value_t = RequestLimits::default().max_body_bytes)]
    pub max_body_bytes: usize,

    /// Requests one POST may carry as a JSON array (a batch, as Apollo's
    /// BatchHttpLink sends); a longer array is refused whole. 0 refuses
    /// arrays.
    #[arg(long, env = "SESSIONGRAPH_MAX_BATCH_SIZE", global = true, default_value_t = RequestLimits::default().max_batch_size)]
    pub max_batch_size: usize,

    /// Seconds one request may run before it is cancelled.
    #[arg(long, env = "SESSIONGRAPH_REQUEST_TIMEOUT", global = true, default_value_t = RequestLimits::default().timeout.as_secs_f64())]
    pub request_timeout: f64,

    /// Hide `__schema` and `__type` (GraphiQL then cannot explore).
    #[arg(long, env = "SESSIONGRAPH_DISABLE_INTROSPECTION", global = true)]
    pub disable_introspection: bool,

    /// Query cost a caller (the token's `sub`) regains per second; off
    /// when unset. Over it, requests get 429 with `Retry-After`.
    #[arg(long, env = "SESSIONGRAPH_RATE_LIMIT_COST_PER_SECOND", global = true)]
    pub rate_limit_cost_per_second: Option<NonZeroU32>,

    /// Query cost a caller can spend at once (defaults to the query cost budget).
    #[arg(long, env = "SESSIONGRAPH_RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<NonZeroU32>,
}

/// A duration flag given in seconds, which must be positive and finite.
fn positive_seconds(flag: &str, seconds: f64) -> anyhow::Result<Duration> {
    if !(seconds.is_finite() && seconds > 0.0) {
        anyhow::bail!("{flag} must be a positive number of seconds (got {seconds})");
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl LimitOptions {
    fn request_limits(&self) -> anyhow::Result<RequestLimits> {
        let timeout = positive_seconds("--request-timeout", self.request_timeout)?;
        Ok(RequestLimits {
            query: Limits {
                max_depth: self.max_query_depth,
                max_cost: self.max_query_cost,
                max_aliases: self.max_aliases,
                max_root_fields: self.max_root_fields,
            },
            max_query_bytes: self.max_query_bytes,
            max_body_bytes: self.max_body_bytes,
            max_batch_size: self.max_batch_size,
            timeout,
        })
    }

    fn rate_limit(&self) -> Option<RateLimitSettings> {
        let cost_per_second = self.rate_limit_cost_per_second?;
        let burst = self.rate_limit_burst.unwrap_or_else(|| {
            NonZeroU32::new(u32::try_from(self.max_query_cost).unwrap_or(u32::MAX))
                .unwrap_or(cost_per_second)
        });
        Some(RateLimitSettings {
            cost_per_second,
            burst,
        })
    }
}

impl GlobalOptions {
    fn database_url(&self) -> &str {
        self.database_url
            .as_deref()
            .unwrap_or(db::DEFAULT_DATABASE_URL)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve HTTP (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Load a dataset document (DATASET.md), all or nothing; `-` reads stdin.
    Import {
        /// The JSON document, or `-` for standard input.
        file: String,
    },
    /// Write a deterministic synthetic dataset into the database, or to a file.
    Seed(SeedArgs),
    /// Rebuild the kept session counts (`sessionStats`) from the stored
    /// sessions, zone by zone, and report any that had drifted.
    Recount,
    /// Print the GraphQL schema (SDL); `schema.graphql` at the repository root equals it.
    Schema,
    /// Mint an HS256 token signed with `--jwt-secret`, for development and tests.
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The caller (`sub`).
    #[arg(long, default_value = "developer")]
    pub subject: String,
    /// The organization (`org`).
    #[arg(long)]
    pub org: String,
    /// Zones the token may read (`zones`), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub zones: Vec<String>,
    /// OAuth scopes (`scope`), space-separated.
    #[arg(long, default_value = "sessions:read")]
    pub scope: String,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Random seed: the same seed and counts give the same dataset.
    #[arg(long, default_value_t = SeedOptions::default().seed)]
    pub seed: u64,
    /// Number of zones the records are spread over.
    #[arg(long, default_value_t = SeedOptions::default().zones)]
    pub zones: usize,
    #[arg(long, default_value_t = SeedOptions::default().users)]
    pub users: usize,
    #[arg(long, default_value_t = SeedOptions::default().applications)]
    pub applications: usize,
    #[arg(long, default_value_t = SeedOptions::default().user_agents)]
    pub user_agents: usize,
    #[arg(long, default_value_t = SeedOptions::default().sessions)]
    pub sessions: usize,
    /// Write the dataset as a DATASET.md document to this file (`-` for
    /// stdout) instead of into the database.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl SeedArgs {
    fn options(&self) -> SeedOptions {
        SeedOptions {
            seed: self.seed,
            zones: self.zones,
            users: self.users,
            applications: self.applications,
            user_agents: self.user_agents,
            sessions: self.sessions,
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.global).await,
        Command::Migrate => migrate(&cli.global).await,
        Command::Recount => recount(&cli.global).await,
        Command::Import { file } => return import(&cli.global, &file).await,
        Command::Seed(args) => return seed(&cli.global, &args).await,
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Token(args) => token(&cli.global, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect_and_migrate(global: &GlobalOptions) -> anyhow::Result<DatabaseConnection> {
    let url = global.database_url();
    let db = db::connect(url)
        .await
        .with_context(|| format!("connecting to {}", db::redacted(url)))?;
    db::migrate(&db).await.context("migrating the database")?;
    Ok(db)
}

async fn recount(global: &GlobalOptions) -> anyhow::Result<()> {
    let db = connect_and_migrate(global).await?;
    let zones = crate::store::session_counts::recount(&db)
        .await
        .context("recounting the sessions")?;
    let mut drifted = 0;
    for zone in &zones {
        if zone.drifted_keys == 0 {
            println!("{}: {} sessions, counts exact", zone.zone_id, zone.sessions);
        } else {
            drifted += 1;
            println!(
                "{}: {} sessions, {} counts had drifted by {} sessions in all; rebuilt",
                zone.zone_id, zone.sessions, zone.drifted_keys, zone.drifted_sessions
            );
        }
    }
    println!("{} zones recounted, {drifted} had drifted", zones.len());
    Ok(())
}

fn token(global: &GlobalOptions, args: &TokenArgs) -> anyhow::Result<()> {
    let Some(secret) = &global.auth.jwt_secret else {
        anyhow::bail!(
            "`token` signs with the HS256 secret: pass --jwt-secret or set SESSIONGRAPH_JWT_SECRET"
        );
    };
    let claims = Claims {
        sub: args.subject.clone(),
        exp: jsonwebtoken::get_current_timestamp().saturating_add(args.ttl),
        org: args.org.clone(),
        zones: args.zones.clone(),
        scope: args.scope.clone(),
        iss: global.auth.jwt_issuer.clone(),
        aud: global.auth.jwt_audience.clone(),
    };
    println!("{}", auth::mint_hs256(secret, &claims)?);
    Ok(())
}

async fn serve(global: &GlobalOptions) -> anyhow::Result<()> {
    let defaults = ServerConfig::new(global.database_url());
    let config = ServerConfig {
        load_demo_data: global.database_url.is_none(),
        listen: global.listen,
        max_concurrent_requests: global
            .max_concurrent_requests
            .map_or(defaults.max_concurrent_requests, |n| n as usize),
        database_max_connections: global
            .database_max_connections
            .unwrap_or(defaults.database_max_connections),
        database_acquire_timeout: positive_seconds(
            "--database-acquire-timeout",
            global.database_acquire_timeout,
        )?,
        shutdown_timeout: Duration::from_secs(global.shutdown_timeout),
        auth: global.auth.settings(),
        allow_unauthenticated: global.auth.allow_unauthenticated,
        limits: global.limits.request_limits()?,
        introspection: !global.limits.disable_introspection,
        rate_limit: global.limits.rate_limit(),
        shared_state: global.shared_state.settings(),
        sockets: SocketLimits {
            max_operations_per_socket: global.live.max_subscriptions_per_connection,
            max_sockets: global.live.max_websocket_connections,
            max_event_streams: global.live.max_sse_streams,
            keepalive: positive_seconds("--websocket-keepalive", global.live.websocket_keepalive)?,
            init_timeout: positive_seconds(
                "--websocket-init-timeout",
                global.live.websocket_init_timeout,
            )?,
        },
        subscription_queue: global.live.subscription_queue.max(1),
        notify_database_url: global.live.notify_database_url.clone(),
        replica_database_urls: global.replica_database_urls.clone(),
        replica_max_lag: positive_seconds("--replica-max-lag", global.replica_max_lag)?,
        cors_origins: global.cors_origins.clone(),
        trusted_documents: global.trusted_documents.clone(),
        trusted_documents_only: global.trusted_documents_only,
        ..defaults
    };
    let app = Application::build(config).await?;
    app.run_until_stopped().await
}

async fn migrate(global: &GlobalOptions) -> anyhow::Result<()> {
    connect_and_migrate(global).await?;
    println!("database is up to date");
    Ok(())
}

fn report(result: Result<import::ImportSummary, ImportFailure>) -> ExitCode {
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(ImportFailure::Invalid(errors)) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
        Err(ImportFailure::Other(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn import(global: &GlobalOptions, file: &str) -> ExitCode {
    let result = async {
        let text = import::read_document(file)?;
        let db = connect_and_migrate(global).await?;
        Ok::<_, anyhow::Error>((text, db))
    }
    .await;
    match result {
        Ok((text, db)) => report(import::import_text(&db, &text).await),
        Err(error) => report(Err(ImportFailure::Other(error))),
    }
}

async fn seed(global: &GlobalOptions, args: &SeedArgs) -> ExitCode {
    let dataset = seed::generate(&args.options());
    if let Some(out) = &args.out {
        return match write_document(out, &dataset) {
            Ok(()) => {
                eprintln!(
                    "wrote {} applications, {} users, {} user agents and {} sessions to {}",
                    dataset.applications.len(),
                    dataset.users.len(),
                    dataset.user_agents.len(),
                    dataset.sessions.len(),
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    match connect_and_migrate(global).await {
        Ok(db) => report(import::store(&db, &dataset).await),
        Err(error) => report(Err(ImportFailure::Other(error))),
    }
}

fn write_document(out: &PathBuf, dataset: &crate::dataset::Dataset) -> anyhow::Result<()> {
    use std::io::Write;
    if out.as_os_str() == "-" {
        let stdout = std::io::stdout().lock();
        let mut writer = std::io::BufWriter::new(stdout);
        serde_json::to_writer(&mut writer, dataset)?;
        writer.flush()?;
        return Ok(());
    }
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, dataset)
        .with_context(|| format!("writing {}", out.display()))?;
    writer
        .flush()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
