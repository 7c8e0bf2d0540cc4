//! Behind PgBouncer in transaction pooling mode (SPEC §6): every command
//! works, concurrent starts migrate once, and the pooler dropping or
//! restarting costs requests only SERVICE_UNAVAILABLE, with answers back
//! within seconds. The rest of the API suite runs through the pooler as
//! well (`on_both_databases!`'s `pgbouncer` case).

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use sessiongraph_migrations::MigratorTrait;

use crate::helpers::pgbouncer::PgBouncer;
use crate::helpers::processes::ServerProcess;
use crate::helpers::*;

const LOOKUP: &str =
    r#"{ session(id: "ses_root01") { ... on UserSession { id user { email } } } }"#;

/// A connection tells whether a pooler stands between it and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_knows_it_is_pooled() {
    use sea_orm::sqlx::Connection;
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
    let Some(db) = TestDb::new(Backend::PgBouncer).await else {
        return;
    };
    for (url, pooled) in [(&db.direct_url, false), (&db.url, true)] {
        let options: PgConnectOptions = url.parse().expect("url");
        let connection = PgConnection::connect_with(&options.extra_float_digits(None))
            .await
            .expect("connect");
        assert_eq!(connection.is_behind_pooler(), pooled, "{url}");
        connection.close().await.ok();
    }
}

/// Three processes starting at once through the pooler: each migrates in
/// its own transaction under the advisory lock (which a transaction pooler
/// keeps, being transaction-scoped), so the migrations apply once and all
/// three serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_starts_through_the_pooler_migrate_once() {
    let Some(db) = TestDb::new(Backend::PgBouncer).await else {
        return;
    };
    // Each returns once its process is ready: migrated and serving.
    let _servers = tokio::join!(
        ServerProcess::start(&db, &[]),
        ServerProcess::start(&db, &[]),
        ServerProcess::start(&db, &[]),
    );
    let direct = sessiongraph::store::db::connect(&db.direct_url)
        .await
        .expect("connect directly");
    let rows = direct
        .query_all_raw(Statement::from_string(
            direct.get_database_backend(),
            "SELECT version, COUNT(*) AS n FROM seaql_migrations GROUP BY version",
        ))
        .await
        .expect("read the migrations table");
    assert_eq!(
        rows.len(),
        sessiongraph_migrations::Migrator::migrations().len(),
        "every migration recorded"
    );
    for row in rows {
        let n: i64 = row.try_get("", "n").expect("count");
        assert_eq!(n, 1, "a migration recorded more than once");
    }
}

/// `seed` and `import` through the pooler, then a server through it
/// answers what they wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_import_and_serve_through_the_pooler() {
    let Some(db) = TestDb::new(Backend::PgBouncer).await else {
        return;
    };
    let output = sessiongraph(&db, &["seed", "--sessions", "300"], None).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let app = spawn_app(db).await;
    let data = app.query(LOOKUP, json!({})).await;
    assert_eq!(data["session"]["user"]["email"], "ada@example.com");
    let data = app
        .query(
            r#"{ sessions(zoneId: "zone_001", first: 5, filter: {includeNested: true}) { totalCount nodes { __typename } } }"#,
            json!({}),
        )
        .await;
    assert!(
        data["sessions"]["totalCount"].as_i64().unwrap_or(0) > 0,
        "{data}"
    );
}

/// Asks `LOOKUP` until `deadline`, counting answers by outcome; any error
/// other than SERVICE_UNAVAILABLE, or a wrong answer, fails the test.
async fn ask_until(app: &TestApp, deadline: Instant) -> (usize, usize) {
    let (mut answered, mut unavailable) = (0, 0);
    while Instant::now() < deadline {
        let (status, body) = app.post_graphql(LOOKUP, json!({})).await;
        match body["errors"][0]["extensions"]["code"].as_str() {
            None => {
                assert_eq!(status, 200, "{body}");
                assert_eq!(
                    body["data"]["session"]["user"]["email"], "ada@example.com",
                    "{body}"
                );
                answered += 1;
            }
            Some("SERVICE_UNAVAILABLE") => unavailable += 1,
            Some(other) => panic!("{other} while the pooler was away: {body}"),
        }
    }
    (answered, unavailable)
}

/// Waits until `LOOKUP` answers again, and returns how long that took.
async fn recovery_time(app: &TestApp) -> Duration {
    let started = Instant::now();
    loop {
        let (_, body) = app.post_graphql(LOOKUP, json!({})).await;
        match body["errors"][0]["extensions"]["code"].as_str() {
            None => return started.elapsed(),
            Some("SERVICE_UNAVAILABLE") => {}
            Some(other) => panic!("{other} while the pooler came back: {body}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no answer within 10 s of the pooler serving again: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pooler's admin console renews its server connections
/// (`RECONNECT`), drops the database's connections (`KILL`, which also
/// holds new ones until `RESUME`) and holds every query (`PAUSE`):
/// requests fail only with SERVICE_UNAVAILABLE meanwhile (a paused query
/// at the request timeout), and answer again within seconds of `RESUME`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pooler_dropping_connections_costs_only_service_unavailable() {
    let Some(pooler) = PgBouncer::start() else {
        return;
    };
    let Some(mut db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let name = db.direct_url.rsplit('/').next().expect("name").to_owned();
    db.url = pooler.url(&name);
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.limits.timeout = Duration::from_secs(3);
    })
    .await;
    app.query(LOOKUP, json!({})).await;

    pooler.admin(&format!("RECONNECT {name}")).await;
    let (answered, unavailable) = ask_until(&app, Instant::now() + Duration::from_secs(1)).await;
    assert!(answered > 0, "nothing answered across RECONNECT");
    assert_eq!(unavailable, 0, "RECONNECT waits for transactions to end");

    pooler.admin(&format!("KILL {name}")).await;
    let (_, unavailable) = ask_until(&app, Instant::now() + Duration::from_secs(6)).await;
    assert!(unavailable > 0, "KILL went unnoticed");
    pooler.admin(&format!("RESUME {name}")).await;
    let took = recovery_time(&app).await;
    eprintln!("answers resumed {took:?} after RESUME (KILL)");

    pooler.admin(&format!("PAUSE {name}")).await;
    let (status, body) = app.post_graphql(LOOKUP, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{status} {body}"
    );
    pooler.admin(&format!("RESUME {name}")).await;
    let took = recovery_time(&app).await;
    eprintln!("answers resumed {took:?} after RESUME (PAUSE)");
}

/// The pooler process stops and starts again on the same port: requests
/// fail only with SERVICE_UNAVAILABLE while it is gone, and answer again
/// within seconds of it serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pooler_restarting_costs_only_service_unavailable() {
    let Some(pooler) = PgBouncer::start() else {
        return;
    };
    let Some(mut db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let name = db.direct_url.rsplit('/').next().expect("name").to_owned();
    db.url = pooler.url(&name);
    let app = spawn_app_with(db, &example_document()).await;
    app.query(LOOKUP, json!({})).await;

    pooler.stop();
    let (_, unavailable) = ask_until(&app, Instant::now() + Duration::from_secs(2)).await;
    assert!(unavailable > 0, "the pooler's absence went unnoticed");
    assert_eq!(app.get("/readyz").await.status(), 503);
    pooler.resume_serving();
    let took = recovery_time(&app).await;
    eprintln!("answers resumed {took:?} after the pooler restarted");
    assert_eq!(app.get("/readyz").await.status(), 200);
}
