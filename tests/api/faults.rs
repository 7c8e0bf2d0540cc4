//! Database trouble as a client meets it: a request that cannot reach the
//! database fails alone with SERVICE_UNAVAILABLE, and the server recovers
//! without a restart once the database is back.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::*;

/// Runs `sql` as the PostgreSQL administrator (`TEST_DATABASE_URL`).
async fn as_admin(sql: &str) {
    let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let admin = sea_orm::Database::connect(url.as_str())
        .await
        .expect("connect as admin");
    admin.execute_unprepared(sql).await.expect(sql);
    admin.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_service_unavailable_until_it_recovers() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    let app = spawn_app_with(db, &example_document()).await;
    let query = r#"{ session(id: "ses_root01") { ... on UserSession { id user { email } } } }"#;
    app.query(query, json!({})).await;

    // Cut the server off: refuse new connections, kill the pooled ones.
    as_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    as_admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    let (status, body) = app.post_graphql(query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(error["extensions"]["requestId"].is_string(), "{body}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains(&name) && !message.to_lowercase().contains("sqlx"),
        "internal details leaked: {message}"
    );
    assert_eq!(app.get("/readyz").await.status(), 503);

    as_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let data = app.query(query, json!({})).await;
    assert_eq!(data["session"]["user"]["email"], "ada@example.com");
    assert_eq!(app.get("/readyz").await.status(), 200);
}

/// A pooled connection whose backend was terminated (a failover, an
/// administrator) is not pinged before use while it is busy; the read that
/// meets it runs again on another connection, and so does a mutation's
/// `BEGIN`, so the client never sees the dead connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_pooled_connections_are_replaced_without_an_error() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    let app = spawn_app_with(db, &example_document()).await;
    let read = r#"{ session(id: "ses_root01") { ... on UserSession { id user { email } } } }"#;
    let revoke = r#"mutation { updateSession(id: "ses_child01", input: {status: REVOKED}) { revokedCount } }"#;
    for round in 0..3 {
        // Warm the pool, then kill every backend it holds.
        for _ in 0..4 {
            app.query(read, json!({})).await;
        }
        as_admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await;
        let (status, body) = if round < 2 {
            app.post_graphql(read, json!({})).await
        } else {
            app.post_graphql(revoke, json!({})).await
        };
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "round {round}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_starts_while_postgres_refuses_and_becomes_ready() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    as_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;

    let started = std::time::Instant::now();
    let app = sessiongraph::server::Application::build(test_config(&db))
        .await
        .expect("the server starts while the database is down");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "start-up waited for the database: {:?}",
        started.elapsed()
    );
    let database = app.database();
    let app = TestApp {
        address: app.address(),
        client: reqwest::Client::new(),
        metrics: app.metrics(),
        db: {
            let server = app;
            tokio::spawn(server.run_until_stopped());
            db
        },
    };
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 503);
    let query = r#"{ sessions(zoneId: "zone_demo") { totalCount } }"#;
    let (status, body) = app.post_graphql(query, json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );

    as_admin(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    tokio::time::timeout(std::time::Duration::from_secs(30), database.ready())
        .await
        .expect("ready within 30 s of the database answering")
        .expect("migrated");
    assert_eq!(app.get("/readyz").await.status(), 200);
    let data = app.query(query, json!({})).await;
    assert_eq!(data["sessions"]["totalCount"], 0);
}

/// Effective-active sessions of each root's subtree (itself included),
/// leaving out those that could expire while the test runs.
async fn active_subtrees(
    db: &sea_orm::DatabaseConnection,
    roots: &[String],
) -> Vec<std::collections::BTreeSet<String>> {
    let mut subtrees = Vec::new();
    for root in roots {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "WITH RECURSIVE subtree (id) AS (SELECT id FROM sessions WHERE id = $1 \
                 UNION ALL SELECT s.id FROM sessions s JOIN subtree ON s.parent_id = subtree.id) \
                 SELECT s.id FROM sessions s JOIN subtree USING (id) \
                 WHERE s.status = 'active' AND (s.expires_at IS NULL OR s.expires_at > now() + interval '1 hour')",
                [root.clone().into()],
            ))
            .await
            .expect("read subtree");
        subtrees.push(
            rows.iter()
                .map(|row| row.try_get::<String>("", "id").expect("id"))
                .collect(),
        );
    }
    subtrees
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revokes_are_all_or_nothing_while_connections_are_killed() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    let output = sessiongraph(&db, &["seed", "--sessions", "3000", "--zones", "1"], None).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let connection = db.connect().await;
    // Roots whose whole subtree is active, with descendants to cascade to.
    let candidates: Vec<String> = connection
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT p.id FROM sessions p WHERE p.parent_id IS NULL AND p.status = 'active' \
             AND (p.expires_at IS NULL OR p.expires_at > now() + interval '1 hour') \
             AND EXISTS (SELECT 1 FROM sessions c WHERE c.parent_id = p.id) ORDER BY p.id LIMIT 200",
        ))
        .await
        .expect("pick roots")
        .iter()
        .map(|row| row.try_get::<String>("", "id").expect("id"))
        .collect();
    let before = active_subtrees(&connection, &candidates).await;
    let (roots, before): (Vec<String>, Vec<_>) = candidates
        .into_iter()
        .zip(before)
        .filter(|(_, subtree)| subtree.len() >= 2)
        .take(40)
        .unzip();
    assert!(
        roots.len() >= 10,
        "the seed has too few trees: {}",
        roots.len()
    );
    let zone: String = connection
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT zone_id FROM sessions LIMIT 1",
        ))
        .await
        .expect("zone")
        .expect("a row")
        .try_get("", "zone_id")
        .expect("zone_id");

    let app = std::sync::Arc::new(spawn_app(db).await);
    let killing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let killer = {
        let killing = killing.clone();
        let name = name.clone();
        tokio::spawn(async move {
            while killing.load(std::sync::atomic::Ordering::Relaxed) {
                as_admin(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .await;
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        })
    };
    let revoke =
        "mutation($id: ID!) { updateSession(id: $id, input: {status: REVOKED}) { revokedCount } }";
    let mut requests = Vec::new();
    for root in &roots {
        let app = app.clone();
        let root = root.clone();
        requests.push(tokio::spawn(async move {
            app.post_graphql(revoke, json!({ "id": root })).await
        }));
    }
    let mut outcomes = Vec::new();
    for request in requests {
        outcomes.push(request.await.expect("request task"));
    }
    killing.store(false, std::sync::atomic::Ordering::Relaxed);
    killer.await.expect("killer task");

    let connection = app.db.connect().await;
    let after = active_subtrees(&connection, &roots).await;
    let mut failed = 0;
    for ((root, (status, body)), (before, after)) in
        roots.iter().zip(&outcomes).zip(before.iter().zip(&after))
    {
        assert_eq!(*status, 200, "{root}: {body}");
        match body.get("errors") {
            None => {
                assert!(
                    after.is_empty(),
                    "{root}: revoked, yet still active: {after:?}"
                );
                assert_eq!(
                    body["data"]["updateSession"]["revokedCount"],
                    before.len(),
                    "{root}: {body}"
                );
            }
            Some(errors) => {
                failed += 1;
                assert_eq!(
                    errors[0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
                    "{root}: {body}"
                );
                // The commit may or may not have happened before the
                // connection died; either way, the whole subtree or none of it.
                assert!(
                    after.is_empty() || after == before,
                    "{root}: half a cascade: {} of {} still active",
                    after.len(),
                    before.len()
                );
            }
        }
    }
    eprintln!(
        "{failed} of {} revokes failed while connections were killed",
        roots.len()
    );
    // Recovered without a restart.
    let data = app
        .query(
            "query($zone: ID!) { sessions(zoneId: $zone, first: 1) { totalCount } }",
            json!({ "zone": zone }),
        )
        .await;
    assert!(
        data["sessions"]["totalCount"].as_i64().unwrap_or(0) > 0,
        "{data}"
    );
}

/// A request that fans out wider than the pool (a dashboard asking every
/// count at once) takes its statements in turns, inside the request: it
/// waits out a database that is slow to answer instead of failing at the
/// pool's acquire timeout, and leaves connections for everyone else.
/// PostgreSQL only: a table lock is how the test holds statements in the
/// database, and SQLite readers do not wait on writers.
/// The example dataset on a fresh PostgreSQL database, served with a pool
/// of `connections` (acquire timeout `acquire_timeout`), and a connection
/// of its own to hold locks with; `None` without PostgreSQL.
async fn small_pool(
    connections: u32,
    acquire_timeout: std::time::Duration,
) -> Option<(std::sync::Arc<TestApp>, sea_orm::DatabaseConnection)> {
    let db = TestDb::new(Backend::Postgres).await?;
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let direct = sea_orm::Database::connect(db.direct_url.as_str())
        .await
        .expect("connect to the database");
    let app = spawn_app_configured(db, move |config| {
        config.database_max_connections = connections;
        config.database_acquire_timeout = acquire_timeout;
    })
    .await;
    Some((std::sync::Arc::new(app), direct))
}

/// A transaction on `direct` holding the sessions table: every statement
/// that reads it waits in the database, on its connection, until the
/// transaction ends.
async fn lock_sessions(direct: &sea_orm::DatabaseConnection) -> sea_orm::DatabaseTransaction {
    let writer = sea_orm::TransactionTrait::begin(direct)
        .await
        .expect("begin");
    writer
        .execute_unprepared("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock sessions");
    writer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_wider_than_the_pool_waits_its_turns_and_others_are_served() {
    const WIDE: &str = r#"{
        stats: sessionStats(zoneId: "zone_demo", filter: { includeNested: true }) {
          total byStatus { status count } byType { type count }
          byApplication { count } byUserAgent { count } }
        sessions(zoneId: "zone_demo") { totalCount } }"#;
    const LOOKUP: &str = r#"{ user(id: "usr_81aa0e") { id } }"#;
    let Some((app, direct)) = small_pool(4, std::time::Duration::from_secs(1)).await else {
        return;
    };
    let expected = app.query(WIDE, json!({})).await;

    // A writer holds the sessions table for twice the acquire timeout.
    let writer = lock_sessions(&direct).await;
    let wide = tokio::spawn({
        let app = app.clone();
        async move { app.post_graphql(WIDE, json!({})).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, body) = app.post_graphql(LOOKUP, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "data": { "user": { "id": "usr_81aa0e" } } }),
        "another caller is served while the wide request waits"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_700)).await;
    writer.commit().await.expect("release the lock");

    let (status, body) = wide.await.expect("the wide request");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], expected, "{body}");
}

/// `/metrics` shows the statements waiting for one of the pool's
/// connections while every connection is busy, and none once they are
/// free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_waiting_for_a_connection_are_counted() {
    const COUNT: &str = r#"{ sessions(zoneId: "zone_demo") { totalCount } }"#;
    let Some((app, direct)) = small_pool(2, std::time::Duration::from_secs(10)).await else {
        return;
    };
    let expected = app.query(COUNT, json!({})).await;
    let gauge = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    let writer = lock_sessions(&direct).await;
    // Two hold the pool's two connections, waiting on the lock; the
    // others wait for a connection.
    let counts: Vec<_> = (0..4)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.post_graphql(COUNT, json!({})).await })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let waiting = loop {
        let text = app.get("/metrics").await.text().await.expect("metrics");
        let waiting = gauge(&text, "sessiongraph_database_connections_waiting");
        if waiting >= 2.0 {
            assert_eq!(
                gauge(&text, "sessiongraph_database_connections_in_use"),
                2.0
            );
            break waiting;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing waited for a connection:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(waiting, 2.0);
    writer.commit().await.expect("release the lock");
    for count in counts {
        let (status, body) = count.await.expect("a count");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], expected, "{body}");
    }
    let text = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(
        gauge(&text, "sessiongraph_database_connections_waiting"),
        0.0
    );
}
