//! Shared test fixtures: a fresh database per test on SQLite and, when
//! `TEST_DATABASE_URL` is set, on PostgreSQL, directly and through a real
//! PgBouncer in transaction pooling mode ([`pgbouncer`]; dropped when the
//! test ends); the real binary; a real server; server processes and Redis
//! servers for what only several processes show ([`processes`]); streaming
//! replicas ([`replica`]); the bad-input [`probe`].
//!
//! `TEST_LOG=<filter>` (a `RUST_LOG` filter such as `debug` or
//! `sessiongraph=debug`) shows the servers' logs: an in-process server's
//! through the test's output, a server process's when it stops.

pub mod graphql_ws;
pub mod pgbouncer;
pub mod probe;
pub mod processes;
pub mod replica;

use std::path::Path;
use std::process::Output;

use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder};
use serde_json::Value;
use sessiongraph::dataset::{Application, Dataset, Session, User, UserAgent};
use sessiongraph::entities::{application, session, user, user_agent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL through PgBouncer in transaction pooling mode.
    PgBouncer,
}

impl Backend {
    /// Whether the database behind is PostgreSQL (directly or pooled).
    #[allow(dead_code)] // for tests that differ by backend
    pub fn is_postgres(self) -> bool {
        matches!(self, Backend::Postgres | Backend::PgBouncer)
    }
}

/// One test's own database, created empty (not even migrated), and gone
/// when dropped.
pub struct TestDb {
    pub url: String,
    /// The database itself, not through a pooler: for what needs a
    /// session (`LISTEN`) and for inspecting it from the test.
    pub direct_url: String,
    #[allow(dead_code)] // for tests that differ by backend
    pub backend: Backend,
    // Keeps the SQLite file's directory alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL server's URL and this database's name on it.
    postgres: Option<(String, String)>,
}

/// The `RUST_LOG` filter for servers under test: `TEST_LOG`'s, or warnings.
pub fn log_filter() -> String {
    std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".to_owned())
}

/// Logs of in-process servers go to the test's output when `TEST_LOG` is set.
fn init_test_log() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

impl Drop for TestDb {
    /// Drops a PostgreSQL database with the test (`WITH (FORCE)` closes the
    /// connections a server still holds), on a thread of its own because
    /// `Drop` cannot wait on the test's runtime.
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                let outcome = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                admin.close().await.ok();
                outcome
            })
        })
        .join();
        if let Ok(Err(error)) | Err(error) = dropped.map_err(|_| "panicked".to_owned()) {
            eprintln!("could not drop a test database: {error}");
        }
    }
}

impl TestDb {
    /// A fresh database, or `None` for PostgreSQL when `TEST_DATABASE_URL`
    /// is not set (the test then says so and passes vacuously).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        init_test_log();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Some(TestDb {
                    direct_url: url.clone(),
                    url,
                    backend,
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            Backend::Postgres | Backend::PgBouncer => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL run");
                    return None;
                };
                let pooler = match backend {
                    Backend::PgBouncer => Some(pgbouncer::pgbouncer()?),
                    _ => None,
                };
                let name = format!("sgtest_{}", unique_suffix());
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .unwrap_or(&admin_url);
                let direct_url = format!("{base}/{name}");
                Some(TestDb {
                    url: pooler.map_or_else(|| direct_url.clone(), |pooler| pooler.url(&name)),
                    direct_url,
                    backend,
                    _dir: None,
                    postgres: Some((admin_url.clone(), name)),
                })
            }
        }
    }

    /// Another handle on the same database, for a second server over it;
    /// only the original drops the database.
    #[allow(dead_code)] // for tests with several processes
    pub fn sharing(other: &TestDb) -> TestDb {
        TestDb {
            url: other.url.clone(),
            direct_url: other.direct_url.clone(),
            backend: other.backend,
            _dir: None,
            postgres: None,
        }
    }

    pub async fn connect(&self) -> DatabaseConnection {
        sessiongraph::store::db::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    pub async fn migrated(&self) -> DatabaseConnection {
        let db = self.connect().await;
        sessiongraph::store::db::migrate(&db)
            .await
            .expect("migrate");
        db
    }
}

pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs one test body on each backend as separate test cases, so both run
/// in parallel and a failure names its database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    if let Some(db) = $crate::helpers::TestDb::new($crate::helpers::Backend::Sqlite).await {
                        super::$name(db).await;
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::helpers::TestDb::new($crate::helpers::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn pgbouncer() {
                    if let Some(db) = $crate::helpers::TestDb::new($crate::helpers::Backend::PgBouncer).await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}

/// Runs the real `sessiongraph` binary against a test database.
pub async fn sessiongraph(db: &TestDb, args: &[&str], stdin: Option<&[u8]>) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sessiongraph"));
    command
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("SESSIONGRAPH_NOTIFY_DATABASE_URL", &db.direct_url)
        .env("RUST_LOG", log_filter())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("spawn sessiongraph");
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).await.expect("write stdin");
        }
        drop(pipe);
    }
    child.wait_with_output().await.expect("run sessiongraph")
}

/// `sessiongraph import` of a JSON value, through a file.
pub async fn import_json(db: &TestDb, document: &Value) -> Output {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), serde_json::to_vec(document).expect("json"))
        .expect("write document");
    import_file(db, file.path()).await
}

pub async fn import_file(db: &TestDb, path: &Path) -> Output {
    let path = path.to_str().expect("utf-8 path");
    sessiongraph(db, &["import", path], None).await
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The example document that ships with DATASET.md.
pub fn example_document() -> Value {
    serde_json::from_str(include_str!("../../fixtures/example_dataset.json"))
        .expect("example fixture")
}

/// Everything stored, as dataset records ordered by id: two snapshots are
/// equal exactly when the database holds the same records.
pub async fn snapshot(db: &DatabaseConnection) -> Dataset {
    Dataset {
        applications: application::Entity::find()
            .order_by_asc(application::Column::Id)
            .all(db)
            .await
            .expect("read applications")
            .into_iter()
            .map(Application::from_model)
            .collect(),
        users: user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(db)
            .await
            .expect("read users")
            .into_iter()
            .map(User::from_model)
            .collect(),
        user_agents: user_agent::Entity::find()
            .order_by_asc(user_agent::Column::Id)
            .all(db)
            .await
            .expect("read user agents")
            .into_iter()
            .map(UserAgent::from_model)
            .collect(),
        sessions: session::Entity::find()
            .order_by_asc(session::Column::Id)
            .all(db)
            .await
            .expect("read sessions")
            .into_iter()
            .map(Session::from_model)
            .collect(),
    }
}

/// A dataset sorted like [`snapshot`], for comparing with what was stored.
pub fn sorted(mut dataset: Dataset) -> Dataset {
    dataset.applications.sort_by(|a, b| a.id.cmp(&b.id));
    dataset.users.sort_by(|a, b| a.id.cmp(&b.id));
    dataset.user_agents.sort_by(|a, b| a.id.cmp(&b.id));
    dataset.sessions.sort_by(|a, b| a.id.cmp(&b.id));
    dataset
}

/// `(id, depth, root_id)` of every stored session, ordered by id.
pub async fn tree_positions(db: &DatabaseConnection) -> Vec<(String, i32, String)> {
    session::Entity::find()
        .order_by_asc(session::Column::Id)
        .all(db)
        .await
        .expect("read sessions")
        .into_iter()
        .map(|s| (s.id, s.depth, s.root_id))
        .collect()
}

/// A real server on a random port over a test database.
pub struct TestApp {
    pub address: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub metrics: std::sync::Arc<sessiongraph::metrics::Metrics>,
    pub db: TestDb,
}

/// Starts the server over `db` after importing `document` into it.
pub async fn spawn_app_with(db: TestDb, document: &Value) -> TestApp {
    spawn_app_with_configured(db, document, |_| {}).await
}

/// [`spawn_app_with`], with `adjust` applied to [`test_config`].
pub async fn spawn_app_with_configured(
    db: TestDb,
    document: &Value,
    adjust: impl FnOnce(&mut sessiongraph::server::ServerConfig),
) -> TestApp {
    let output = import_json(&db, document).await;
    assert!(
        output.status.success(),
        "fixture import failed: {}",
        stderr(&output)
    );
    spawn_app_configured(db, adjust).await
}

/// Starts the server over `db` as it is (migrated on start).
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_configured(db, |_| {}).await
}

/// The server configuration tests start from: no demo data, a random port.
pub fn test_config(db: &TestDb) -> sessiongraph::server::ServerConfig {
    sessiongraph::server::ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        max_concurrent_requests: 16,
        shutdown_timeout: std::time::Duration::from_secs(5),
        notify_database_url: Some(db.direct_url.clone()),
        ..sessiongraph::server::ServerConfig::new(db.url.clone())
    }
}

/// Starts the server over `db` with `adjust` applied to [`test_config`].
pub async fn spawn_app_configured(
    db: TestDb,
    adjust: impl FnOnce(&mut sessiongraph::server::ServerConfig),
) -> TestApp {
    let mut config = test_config(&db);
    adjust(&mut config);
    let app = sessiongraph::server::Application::build(config)
        .await
        .expect("build server");
    app.database().ready().await.expect("database ready");
    let address = app.address();
    let metrics = app.metrics();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        metrics,
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// GETs `path` (health, readiness, metrics).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// POSTs a GraphQL request; returns the status and the JSON body.
    pub async fn post_graphql(&self, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON body");
        (status, body)
    }

    /// The `data` of a request that must succeed without errors.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post_graphql(query, variables).await;
        assert_eq!(status, 200, "status {status}: {body}");
        assert!(body.get("errors").is_none(), "errors: {body}");
        body["data"].clone()
    }

    /// The `extensions.code` of the first error of a request that must fail.
    pub async fn error_code(&self, query: &str, variables: Value) -> String {
        let (_, body) = self.post_graphql(query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {body}"))
            .to_owned()
    }
}
