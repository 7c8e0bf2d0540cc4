//! Shared state (SPEC §6) as an operator running several gateway processes
//! meets it: one rate limit and one set of persisted queries across them
//! through Redis, and no failed request while Redis is down.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sessiongraph::admission::rate_limit::RateLimitSettings;
use sessiongraph::shared_state::SharedStateSettings;
use sha2::{Digest, Sha256};

use crate::helpers::processes::{RedisNamespace, RedisServer, ServerProcess};
use crate::helpers::*;

crate::on_both_databases!(
    the_shared_rate_limit_refuses_as_the_local_one_does,
    three_processes_enforce_one_rate_limit,
    a_query_registered_through_one_process_answers_through_the_others,
    a_redis_outage_fails_no_request_and_sharing_resumes,
    a_hung_redis_delays_no_request_past_its_deadline,
    a_process_started_before_redis_shares_once_it_answers,
);

/// `sessions(first: 2) { nodes { __typename } }` costs 1 + 2 × (1 + 1) = 5.
const COST_5: &str = r#"{ sessions(zoneId: "zone_demo", first: 2) { nodes { __typename } } }"#;
const COUNT: &str = r#"{ sessions(zoneId: "zone_demo") { totalCount } }"#;

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn by_hash(hash: &str) -> Value {
    json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
}

fn with_hash(query: &str) -> Value {
    json!({
        "query": query,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } }
    })
}

fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The response of a request that must succeed without errors.
async fn answer(server: &ServerProcess, body: Value) -> Value {
    let (status, response) = server.post(&body).await;
    assert_eq!(status, 200, "{body} answered {response}");
    assert!(
        response.get("errors").is_none(),
        "{body} answered {response}"
    );
    response
}

async fn start_three(db: &TestDb, args: &[&str]) -> [ServerProcess; 3] {
    let (a, b, c) = tokio::join!(
        ServerProcess::start(db, args),
        ServerProcess::start(db, args),
        ServerProcess::start(db, args),
    );
    [a, b, c]
}

async fn imported(db: &TestDb) {
    let output = import_json(db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
}

/// The refusal a caller meets is the same whether its bucket is in Redis
/// or in the process (`limits.rs` tests the latter).
async fn the_shared_rate_limit_refuses_as_the_local_one_does(db: TestDb) {
    let redis = RedisNamespace::new();
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.rate_limit = Some(RateLimitSettings {
            cost_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(10).expect("nonzero"),
        });
        config.shared_state = Some(SharedStateSettings {
            url: redis.url.clone(),
            key_prefix: redis.prefix.clone(),
        });
    })
    .await;
    app.query(COST_5, json!({})).await;
    app.query(COST_5, json!({})).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": COST_5 }))
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
    // The bucket holds nothing and refills 1 point a second: 5 s to go.
    assert!((4..=5).contains(&retry_after), "Retry-After: {retry_after}");
    let body: Value = response.json().await.expect("JSON");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(error["extensions"]["limit"], "rateLimit", "{body}");
    assert_eq!(error["extensions"]["cost"], 5, "{body}");
    assert!(
        error["message"].as_str().unwrap_or("").contains("costs 5"),
        "{body}"
    );
    // A query costlier than the burst never fits, and says so.
    let costly = r#"{ sessions(zoneId: "zone_demo", first: 5) { nodes { __typename } } }"#;
    let (status, body) = app.post_graphql(costly, json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--rate-limit-burst"),
        "{body}"
    );
    let metrics = app.metrics.render();
    assert!(
        metrics.contains("sessiongraph_redis_fallbacks_total 0"),
        "{metrics}"
    );
}

/// A caller driving three processes at once gets the budget of one: the
/// burst plus the rate over the time it drove them, not three times that.
async fn three_processes_enforce_one_rate_limit(db: TestDb) {
    const RATE: f64 = 20.0;
    const BURST: f64 = 40.0;
    imported(&db).await;
    let redis = RedisNamespace::new();
    let servers = start_three(
        &db,
        &[
            "--redis-url",
            &redis.url,
            "--redis-key-prefix",
            &redis.prefix,
            "--rate-limit-cost-per-second",
            "20",
            "--rate-limit-burst",
            "40",
        ],
    )
    .await;
    let started = Instant::now();
    let drive = Duration::from_secs(4);
    let outcomes = futures_util::future::join_all(servers.iter().map(|server| async move {
        let (mut admitted, mut limited) = (0u32, 0u32);
        while started.elapsed() < drive {
            let (status, body) = server.post(&json!({ "query": COST_5 })).await;
            match status {
                200 if body.get("errors").is_none() => admitted += 1,
                429 => {
                    assert_eq!(error_code(&body), Some("QUERY_TOO_COMPLEX"), "{body}");
                    assert_eq!(body["errors"][0]["extensions"]["limit"], "rateLimit");
                    limited += 1;
                }
                _ => panic!("status {status}: {body}"),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (admitted, limited)
    }))
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let admitted_cost: f64 = outcomes.iter().map(|(n, _)| f64::from(*n) * 5.0).sum();
    let limited: u32 = outcomes.iter().map(|(_, n)| n).sum();
    let budget = BURST + RATE * elapsed;
    eprintln!(
        "three processes admitted cost {admitted_cost} in {elapsed:.2} s (per process {:?}, {limited} refused); \
         one process's budget: {budget:.0} (burst {BURST} + {RATE}/s)",
        outcomes.iter().map(|(n, _)| n * 5).collect::<Vec<_>>()
    );
    assert!(
        admitted_cost <= budget * 1.1,
        "admitted {admitted_cost} over {elapsed:.2} s, above the budget of one process ({budget:.0}) + 10%"
    );
    assert!(
        admitted_cost >= BURST,
        "admitted only {admitted_cost}: the burst was not available"
    );
    assert!(
        limited > 0,
        "nothing was refused: the load did not reach the limit"
    );
    for server in &servers {
        assert_eq!(
            server.metric("sessiongraph_redis_fallbacks_total").await,
            0.0
        );
    }
}

async fn a_query_registered_through_one_process_answers_through_the_others(db: TestDb) {
    imported(&db).await;
    let redis = RedisNamespace::new();
    let [a, b, c] = start_three(
        &db,
        &[
            "--redis-url",
            &redis.url,
            "--redis-key-prefix",
            &redis.prefix,
        ],
    )
    .await;
    let hash = sha256_hex(COUNT);
    let (_, body) = b.post(&by_hash(&hash)).await;
    assert_eq!(
        error_code(&body),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );

    let (status, body) = a.post(&with_hash(COUNT)).await;
    assert_eq!(status, 200, "{body}");
    let expected = json!({ "data": { "sessions": { "totalCount": 3 } } });
    assert_eq!(body, expected);
    for server in [&b, &c, &a] {
        let (status, body) = server.post(&by_hash(&hash)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, expected);
    }

    // Texts over 16 KiB run but are not remembered, in Redis as in memory.
    let long = format!("{COUNT}\n#{}", "x".repeat(17 * 1024));
    let (status, body) = a.post(&with_hash(&long)).await;
    assert_eq!((status, &body), (200, &expected));
    for server in [&a, &b] {
        let (_, body) = server.post(&by_hash(&sha256_hex(&long))).await;
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{body}"
        );
    }
    for server in [&a, &b, &c] {
        assert_eq!(
            server.metric("sessiongraph_redis_fallbacks_total").await,
            0.0
        );
    }
}

/// Redis killed mid-run: every request still answers from each process's
/// own memory, the outage is logged once and counted, and once Redis is
/// back a query registered through one process answers through another
/// within 5 s.
async fn a_redis_outage_fails_no_request_and_sharing_resumes(db: TestDb) {
    imported(&db).await;
    let mut redis = RedisServer::start().await;
    let url = redis.url();
    let args = [
        "--redis-url",
        url.as_str(),
        "--rate-limit-cost-per-second",
        "100000",
        "--rate-limit-burst",
        "100000",
    ];
    let (a, b) = tokio::join!(
        ServerProcess::start(&db, &args),
        ServerProcess::start(&db, &args)
    );
    let expected = json!({ "data": { "sessions": { "totalCount": 3 } } });
    assert_eq!(answer(&a, with_hash(COUNT)).await, expected);
    assert_eq!(answer(&b, by_hash(&sha256_hex(COUNT))).await, expected);

    redis.kill();
    for round in 0..20 {
        let query = format!("query Outage{round} {COUNT}");
        for server in [&a, &b] {
            answer(server, json!({ "query": COST_5 })).await;
            // Registered during the outage: remembered by the process itself.
            answer(server, with_hash(&query)).await;
            answer(server, by_hash(&sha256_hex(&query))).await;
        }
    }
    for server in [&a, &b] {
        assert!(server.metric("sessiongraph_redis_fallbacks_total").await > 0.0);
        assert_eq!(
            server.logged("Redis is unreachable"),
            1,
            "the outage is logged once"
        );
    }

    redis.restart().await;
    let took = shared_again(&a, &b).await;
    eprintln!("shared again {took:?} after Redis was back");
    for server in [&a, &b] {
        assert_eq!(server.logged("Redis answers again"), 1);
    }
}

/// A process that starts while Redis is down serves from its own memory,
/// and shares once Redis answers.
async fn a_process_started_before_redis_shares_once_it_answers(db: TestDb) {
    imported(&db).await;
    let mut redis = RedisServer::start().await;
    redis.kill();
    let url = redis.url();
    let args = ["--redis-url", url.as_str()];
    let (a, b) = tokio::join!(
        ServerProcess::start(&db, &args),
        ServerProcess::start(&db, &args)
    );
    answer(&a, with_hash(COUNT)).await;
    answer(&a, by_hash(&sha256_hex(COUNT))).await;
    assert!(a.metric("sessiongraph_redis_fallbacks_total").await > 0.0);
    for server in [&a, &b] {
        assert_eq!(server.logged("Redis is unreachable"), 1);
    }
    redis.restart().await;
    let took = shared_again(&a, &b).await;
    eprintln!("shared {took:?} after Redis started");
}

/// Registers a fresh query through `a` and asks `b` for it by hash until
/// `b` answers, which needs both to use Redis; fails past 5 s. Every other
/// request meanwhile must succeed.
async fn shared_again(a: &ServerProcess, b: &ServerProcess) -> Duration {
    let expected = json!({ "data": { "sessions": { "totalCount": 3 } } });
    let back = Instant::now();
    let mut round = 0;
    loop {
        round += 1;
        let query = format!("query Shared{round} {COUNT}");
        answer(a, with_hash(&query)).await;
        let (_, body) = b.post(&by_hash(&sha256_hex(&query))).await;
        if body.get("errors").is_none() {
            assert_eq!(body, expected);
            return back.elapsed();
        }
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{body}"
        );
        answer(b, json!({ "query": COST_5 })).await;
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "shared state not used within 5 s of Redis answering"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Redis that accepts connections and never answers (stopped with
/// SIGSTOP) costs one request of each process the call deadline, and
/// none after it; once Redis answers again it is used again.
async fn a_hung_redis_delays_no_request_past_its_deadline(db: TestDb) {
    imported(&db).await;
    let redis = RedisServer::start().await;
    let url = redis.url();
    let args = [
        "--redis-url",
        url.as_str(),
        "--rate-limit-cost-per-second",
        "100000",
    ];
    let server = ServerProcess::start(&db, &args).await;
    answer(&server, json!({ "query": COST_5 })).await;

    redis.freeze(true);
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    for round in 0..20 {
        let started = Instant::now();
        answer(&server, json!({ "query": COST_5 })).await;
        let query = format!("query Hung{round} {COUNT}");
        answer(&server, with_hash(&query)).await;
        let took = started.elapsed();
        slowest = slowest.max(took);
        total += took;
    }
    eprintln!("with Redis hung: slowest request pair {slowest:?}, 20 pairs in {total:?}");
    // One request waits out the 200 ms deadline; the others do not ask.
    assert!(slowest < Duration::from_secs(1), "slowest {slowest:?}");
    assert!(total < Duration::from_secs(3), "total {total:?}");
    assert!(server.metric("sessiongraph_redis_fallbacks_total").await >= 40.0);
    assert_eq!(server.logged("Redis is unreachable"), 1);

    redis.freeze(false);
    let back = Instant::now();
    while server.logged("Redis answers again") == 0 {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "Redis not used again within 5 s of answering"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fallbacks = server.metric("sessiongraph_redis_fallbacks_total").await;
    answer(&server, json!({ "query": COST_5 })).await;
    assert_eq!(
        server.metric("sessiongraph_redis_fallbacks_total").await,
        fallbacks
    );
}
