//! Configured limits as a client meets them: the rate limit, the request
//! timeout and the introspection switch (the document limits at their
//! defaults are in `bad_input`).

use std::num::NonZeroU32;
use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;
use sessiongraph::admission::rate_limit::RateLimitSettings;

use crate::helpers::*;

crate::on_both_databases!(
    the_rate_limit_holds_callers_to_their_budget,
    slow_requests_are_cancelled_at_the_timeout,
    introspection_can_be_switched_off,
    limits_follow_their_configuration,
);

async fn spawn_example_app(
    db: TestDb,
    adjust: impl FnOnce(&mut sessiongraph::server::ServerConfig),
) -> TestApp {
    spawn_app_with_configured(db, &example_document(), adjust).await
}

async fn the_rate_limit_holds_callers_to_their_budget(db: TestDb) {
    let app = spawn_example_app(db, |config| {
        config.rate_limit = Some(RateLimitSettings {
            cost_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(10).expect("nonzero"),
        });
    })
    .await;
    // `sessions(first: 2) { nodes { id } }` costs 1 + 2 × (1 + 1) = 5.
    let query = r#"{ sessions(zoneId: "zone_demo", first: 2) { nodes { __typename } } }"#;
    app.query(query, json!({})).await;
    app.query(query, json!({})).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(
        (1..=10).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let body: serde_json::Value = response.json().await.expect("JSON");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(error["extensions"]["limit"], "rateLimit", "{body}");
    assert_eq!(error["extensions"]["cost"], 5, "{body}");
    assert!(
        error["message"].as_str().unwrap_or("").contains("costs 5"),
        "{body}"
    );
}

async fn slow_requests_are_cancelled_at_the_timeout(db: TestDb) {
    let app = spawn_example_app(db, |config| {
        config.limits.timeout = Duration::from_millis(500);
    })
    .await;
    // A writer holding the session makes the revoke wait past the timeout.
    let holder = app.db.connect().await;
    let lock = sessiongraph::store::db::begin_write(&holder)
        .await
        .expect("begin");
    lock.execute_unprepared("UPDATE sessions SET updated_at = updated_at WHERE id = 'ses_root01'")
        .await
        .expect("lock the row");
    let revoke = r#"mutation { updateSession(id: "ses_root01", input: {status: REVOKED}) { revokedCount } }"#;
    let (status, body) = app.post_graphql(revoke, json!({})).await;
    lock.rollback().await.expect("release");
    assert_eq!(status, 504, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(error["extensions"]["limit"], "timeoutSeconds", "{body}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("--request-timeout"),
        "{body}"
    );
    // Nothing of the cancelled revoke remains, and the server serves on.
    let data = app
        .query(
            r#"{ session(id: "ses_root01") { ... on UserSession { status } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["session"]["status"], "ACTIVE");
}

async fn introspection_can_be_switched_off(db: TestDb) {
    let app = spawn_example_app(db, |config| config.introspection = false).await;
    let (_, body) = app
        .post_graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    let error = &body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("--disable-introspection"),
        "{body}"
    );
    let data = app
        .query(r#"{ session(id: "ses_root01") { __typename } }"#, json!({}))
        .await;
    assert_eq!(data["session"]["__typename"], "UserSession");
}

async fn limits_follow_their_configuration(db: TestDb) {
    let app = spawn_example_app(db, |config| {
        config.limits.query.max_depth = 2;
        config.limits.query.max_aliases = 1;
    })
    .await;
    let (_, body) = app
        .post_graphql(
            r#"{ session(id: "ses_root01") { ... on UserSession { parent { id } } } }"#,
            json!({}),
        )
        .await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(error["extensions"]["limit"], "depth", "{body}");
    assert_eq!(error["extensions"]["maximum"], 2, "{body}");
    assert_eq!(error["extensions"]["actual"], 3, "{body}");
    let (_, body) = app
        .post_graphql("{ a: __typename b: __typename }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "aliases",
        "{body}"
    );
    app.query("{ a: __typename }", json!({})).await;
}
