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
