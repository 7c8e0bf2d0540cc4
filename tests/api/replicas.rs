//! Reads on a real PostgreSQL streaming replica (SPEC §6): queries run
//! there while it is up and within the lag bound, mutations on the
//! primary; a replica that stops or falls behind costs no request; and a
//! caller reads its own writes through any process however far the
//! replica lags, by token subject or by the `Sessiongraph-Consistency`
//! header.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use sessiongraph::auth::{AuthSettings, KeySource};
use sessiongraph::metrics::ReadTarget;

use crate::helpers::graphql_ws;
use crate::helpers::replica::Replica;
use crate::helpers::*;

const SECRET: &str = "replica-tests-shared-secret-0123456789abcdef";
const STATUS: &str = r#"{ session(id: "ses_root01") { ... on UserSession { status } } }"#;
const REVOKE: &str =
    r#"mutation { updateSession(id: "ses_root01", input: {status: REVOKED}) { revokedCount } }"#;

/// The example dataset on a fresh PostgreSQL database, and a replica of it
/// that has replayed the import.
async fn primary_and_replica() -> Option<(TestDb, Replica, String)> {
    let db = TestDb::new(Backend::Postgres).await?;
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let replica = Replica::start().await?;
    replica.catch_up().await;
    let name = db.direct_url.rsplit('/').next().expect("name").to_owned();
    let replica_url = replica.url(&name);
    Some((db, replica, replica_url))
}

async fn serve(db: TestDb, replica_url: &str, max_lag: Duration, auth: bool) -> TestApp {
    let replica_url = replica_url.to_owned();
    spawn_app_configured(db, move |config| {
        config.replica_database_urls = vec![replica_url];
        config.replica_max_lag = max_lag;
        if auth {
            config.auth = AuthSettings {
                keys: Some(KeySource::Secret(SECRET.to_owned())),
                ..AuthSettings::default()
            };
        }
    })
    .await
}

/// A second server process over the same databases (another gateway
/// behind the load balancer).
async fn serve_another(db: &TestDb, replica_url: &str, max_lag: Duration, auth: bool) -> TestApp {
    serve(TestDb::sharing(db), replica_url, max_lag, auth).await
}

fn token(subject: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 600;
    let claims = json!({
        "sub": subject, "exp": exp, "org": "org_demo", "zones": ["zone_demo"],
        "scope": "sessions:read sessions:write"
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

/// POSTs `query`, with a bearer token and a consistency header when given;
/// returns the body and the answer's consistency header.
async fn post(
    app: &TestApp,
    query: &str,
    bearer: Option<&str>,
    consistency: Option<&str>,
) -> (Value, Option<String>) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(consistency) = consistency {
        request = request.header("sessiongraph-consistency", consistency);
    }
    let response = request.send().await.expect("POST /graphql");
    let header = response
        .headers()
        .get("sessiongraph-consistency")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.json::<Value>().await.expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    (body, header)
}

fn status_of(body: &Value) -> &str {
    body["data"]["session"]["status"].as_str().unwrap_or("?")
}

/// Waits until a query of `app` runs on the replica.
async fn until_reads_use_the_replica(app: &TestApp) {
    until_reads_of_use_the_replica(app, None).await;
}

/// Waits until a query of `app` by `bearer` runs on the replica.
async fn until_reads_of_use_the_replica(app: &TestApp, bearer: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = app.metrics.reads(ReadTarget::Replica);
        post(app, STATUS, bearer, None).await;
        if app.metrics.reads(ReadTarget::Replica) > before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no read reached the replica within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_read_on_the_replica_and_mutations_on_the_primary() {
    let Some((db, _replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let app = serve(db, &replica_url, Duration::from_secs(5), false).await;
    until_reads_use_the_replica(&app).await;
    let text = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        text.contains("sessiongraph_database_reads_total{target=\"replica\"}"),
        "{text}"
    );

    let on_replica = app.metrics.reads(ReadTarget::Replica);
    let (body, header) = post(&app, REVOKE, None, None).await;
    assert_eq!(body["data"]["updateSession"]["revokedCount"], 1, "{body}");
    assert_eq!(
        app.metrics.reads(ReadTarget::Replica),
        on_replica,
        "a mutation read on the replica"
    );
    let header = header.expect("a mutation's answer carries Sessiongraph-Consistency");
    assert!(header.starts_with("1."), "{header}");

    // The header makes the next read at least as fresh as the write.
    let (body, _) = post(&app, STATUS, None, Some(&header)).await;
    assert_eq!(status_of(&body), "REVOKED", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_costs_no_request_and_is_used_again_once_back() {
    let Some((db, replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let app = serve(db, &replica_url, Duration::from_secs(5), false).await;
    until_reads_use_the_replica(&app).await;

    replica.stop();
    let until = Instant::now() + Duration::from_secs(2);
    let mut answered = 0;
    while Instant::now() < until {
        let (body, _) = post(&app, STATUS, None, None).await;
        assert_eq!(status_of(&body), "ACTIVE", "{body}");
        answered += 1;
    }
    assert!(answered > 0);
    assert_eq!(app.get("/readyz").await.status(), 200);

    replica.resume_serving().await;
    let back = Instant::now();
    until_reads_use_the_replica(&app).await;
    eprintln!(
        "the replica served reads again {:?} after it answered",
        back.elapsed()
    );
}

/// A replica that crashes comes back as of its last restart point and
/// replays forward from there: until it is past where it was seen, it
/// answers from an older state. Reads under load through its crash and
/// return never see that state; it is read again once caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_restarted_from_an_older_state_is_not_read_until_caught_up() {
    let Some((db, replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let name = db.direct_url.rsplit('/').next().expect("name").to_owned();
    let app = std::sync::Arc::new(serve(db, &replica_url, Duration::from_secs(5), false).await);
    let (body, header) = post(&app, REVOKE, None, None).await;
    assert_eq!(body["data"]["updateSession"]["revokedCount"], 1, "{body}");
    let header = header.expect("consistency header");
    // Reads on the replica that see the revocation: it has replayed it.
    post(&app, STATUS, None, Some(&header)).await;
    until_reads_use_the_replica(&app).await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answered = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (body, _) = post(&app, STATUS, None, None).await;
                    assert_eq!(status_of(&body), "REVOKED", "an older state: {body}");
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    replica.stop();
    // Back without applying any commit newer than an hour: as of its
    // restart point, from before the revocation.
    replica
        .resume_serving_with("-c recovery_min_apply_delay=1h")
        .await;
    let revoked = "SELECT status = 'revoked' FROM sessions WHERE id = 'ses_root01'";
    // A restart point the replica made after the revocation (other tests'
    // checkpoints and WAL can cause one) brings it back already past it:
    // then the reads below are still checked, but there was no older
    // state to keep them from.
    if replica.holds_in(&name, revoked).await {
        eprintln!("the replica restarted past the revocation: no older state this run");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        let answered = reader.await.expect("reader");
        assert!(answered > 0);
    }

    replica.stop();
    replica.resume_serving().await;
    replica.catch_up().await;
    assert!(replica.holds_in(&name, revoked).await);
    until_reads_use_the_replica(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_past_the_lag_bound_is_left_for_the_primary() {
    let Some((db, replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let direct = sessiongraph::store::db::connect(&db.direct_url)
        .await
        .expect("connect to the primary");
    let app = serve(db, &replica_url, Duration::from_secs(1), false).await;
    until_reads_use_the_replica(&app).await;

    replica.pause_replay().await;
    // A write the gateway knows nothing of: only the lag bound protects it.
    direct
        .execute_unprepared("UPDATE sessions SET status = 'revoked' WHERE id = 'ses_root01'")
        .await
        .expect("write on the primary");
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let on_primary = app.metrics.reads(ReadTarget::Primary);
    let (body, _) = post(&app, STATUS, None, None).await;
    assert_eq!(status_of(&body), "REVOKED", "{body}");
    assert!(app.metrics.reads(ReadTarget::Primary) > on_primary);

    replica.resume_replay().await;
    until_reads_use_the_replica(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_reads_its_writes_through_another_process_however_far_the_replica_lags() {
    let Some((db, replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let lag = Duration::from_secs(300);
    let b = serve_another(&db, &replica_url, lag, true).await;
    let a = serve(db, &replica_url, lag, true).await;
    let alice = token("alice");
    until_reads_of_use_the_replica(&a, Some(&alice)).await;
    until_reads_of_use_the_replica(&b, Some(&alice)).await;

    replica.pause_replay().await;
    let (body, _) = post(&a, REVOKE, Some(&alice), None).await;
    assert_eq!(body["data"]["updateSession"]["revokedCount"], 1, "{body}");

    // Another caller reads the paused replica: the write is not there yet.
    let (body, _) = post(&b, STATUS, Some(&token("bob")), None).await;
    assert_eq!(status_of(&body), "ACTIVE", "{body}");
    // The writer reads its write through the other process.
    let (body, _) = post(&b, STATUS, Some(&alice), None).await;
    assert_eq!(status_of(&body), "REVOKED", "{body}");
    replica.resume_replay().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_subject_the_consistency_header_carries_the_write() {
    let Some((db, replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let lag = Duration::from_secs(300);
    let b = serve_another(&db, &replica_url, lag, false).await;
    let a = serve(db, &replica_url, lag, false).await;
    until_reads_use_the_replica(&b).await;

    replica.pause_replay().await;
    let (_, header) = post(&a, REVOKE, None, None).await;
    let header = header.expect("Sessiongraph-Consistency");
    let (body, _) = post(&b, STATUS, None, None).await;
    assert_eq!(
        status_of(&body),
        "ACTIVE",
        "the replica serves stale reads: {body}"
    );
    let (body, _) = post(&b, STATUS, None, Some(&header)).await;
    assert_eq!(status_of(&body), "REVOKED", "{body}");

    // A value the server never wrote is named, not ignored.
    let response = b
        .client
        .post(b.url("/graphql"))
        .header("sessiongraph-consistency", "yesterday")
        .json(&json!({ "query": STATUS }))
        .send()
        .await
        .expect("POST");
    let body = response.json::<Value>().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    replica.resume_replay().await;
}

/// Subscribes to the zone's events on `app` over graphql-transport-ws.
/// A graphql-ws socket running the subscription `query`.
async fn subscribe(app: &TestApp, query: &str) -> graphql_ws::Socket {
    let mut socket = graphql_ws::connect(&app.address.to_string(), json!({})).await;
    graphql_ws::start(&mut socket, json!({ "query": query })).await;
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reads_its_session_at_least_as_fresh_as_the_write_that_sent_it() {
    let Some((db, replica, replica_url)) = primary_and_replica().await else {
        return;
    };
    let lag = Duration::from_secs(300);
    let b = serve_another(&db, &replica_url, lag, false).await;
    let a = serve(db, &replica_url, lag, false).await;
    until_reads_use_the_replica(&b).await;
    let mut events = subscribe(
        &b,
        r#"subscription { sessionEvents(zoneId: "zone_demo", filter: {kinds: [REVOKED]}) { kind sessionId session { ... on UserSession { status } } } }"#,
    )
    .await;
    // The subscription is registered once its resolver has run.
    tokio::time::sleep(Duration::from_millis(500)).await;

    replica.pause_replay().await;
    post(&a, REVOKE, None, None).await;
    let message = graphql_ws::message(&mut events).await;
    let event = &message["payload"]["data"]["sessionEvents"];
    assert_eq!(event["sessionId"], "ses_root01", "{message}");
    assert_eq!(event["session"]["status"], "REVOKED", "{message}");
    replica.resume_replay().await;
}
