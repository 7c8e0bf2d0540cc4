//! Batches as Apollo's `BatchHttpLink` and Relay's batching layers send
//! them: a POSTed JSON array of requests, answered by an array in the same
//! order, each entry admitted, run and coded on its own.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sessiongraph::admission::rate_limit::RateLimitSettings;
use sessiongraph::auth::{AuthSettings, Claims, KeySource};

use crate::helpers::*;

crate::on_both_databases!(
    a_batch_answers_in_order_with_its_own_codes_and_ids,
    entries_run_in_order_and_see_earlier_writes,
    each_entry_is_admitted_on_its_own,
    the_rate_limit_charges_entries_in_order,
    arrays_over_the_limit_are_refused_whole,
    malformed_entries_are_named_by_their_index,
);

const STATUS: &str = r#"query ($id: ID!) { session(id: $id) {
  ... on UserSession { id status } ... on ApplicationSession { id status } } }"#;
const REVOKE: &str = r#"mutation ($id: ID!) {
  updateSession(id: $id, input: { status: REVOKED }) { revokedCount } }"#;
const DELETE: &str = r#"mutation ($id: ID!) { deleteSession(id: $id) { deletedCount } }"#;
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` as JSON; the status, the `x-request-id` and the body.
async fn post(app: &TestApp, body: &Value, headers: &[(&str, &str)]) -> (u16, String, Value) {
    post_raw(app, body.to_string(), headers).await
}

async fn post_raw(app: &TestApp, body: String, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST /graphql");
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.json().await.expect("a JSON body");
    (status, id, body)
}

fn status_of(id: &str) -> Value {
    json!({ "query": STATUS, "variables": { "id": id } })
}

/// The `extensions.code` of an entry's first error.
fn code(entry: &Value) -> &str {
    entry["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {entry}"))
}

fn entries(body: &Value) -> &Vec<Value> {
    body.as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"))
}

async fn a_batch_answers_in_order_with_its_own_codes_and_ids(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let batch = json!([
        status_of("ses_child01"),
        { "query": "{ session(id: \"x\") { noSuchField } }" },
        status_of("ses_app01"),
        { "query": "{ session(id: " },
    ]);
    // Whatever its entries say, a batch that was read is 200, in either
    // media type.
    for accept in [GRAPHQL_RESPONSE, "application/json"] {
        let (status, batch_id, body) = post(&app, &batch, &[("accept", accept)]).await;
        assert_eq!(status, 200, "{accept}: {body}");
        let answers = entries(&body);
        assert_eq!(answers.len(), 4, "{body}");
        assert_eq!(answers[0]["data"]["session"]["id"], "ses_child01");
        assert_eq!(answers[0]["data"]["session"]["status"], "EXPIRED");
        assert_eq!(code(&answers[1]), "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(answers[2]["data"]["session"]["id"], "ses_app01");
        assert_eq!(answers[2]["data"]["session"]["status"], "REVOKED");
        assert_eq!(code(&answers[3]), "GRAPHQL_PARSE_FAILED");
        // A document that never ran has no `data` in its entry either.
        assert!(answers[3].get("data").is_none(), "{body}");
        assert_eq!(
            answers[1]["errors"][0]["extensions"]["requestId"],
            format!("{batch_id}.1")
        );
        assert_eq!(
            answers[3]["errors"][0]["extensions"]["requestId"],
            format!("{batch_id}.3")
        );
    }

    // The caller's own request id leads its entries' ids.
    let (_, batch_id, body) = post(
        &app,
        &json!([{ "query": "{ session(id: " }, { "query": "{ nope }" }]),
        &[("x-request-id", "checkout-42")],
    )
    .await;
    assert_eq!(batch_id, "checkout-42");
    let answers = entries(&body);
    assert_eq!(
        answers[0]["errors"][0]["extensions"]["requestId"],
        "checkout-42.0"
    );
    assert_eq!(
        answers[1]["errors"][0]["extensions"]["requestId"],
        "checkout-42.1"
    );

    // GET is never a batch: an array in the query string is just a bad query.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", r#"[{"query": "{ __typename }"}]"#)])
        .send()
        .await
        .expect("GET /graphql");
    let body: Value = response.json().await.expect("JSON");
    assert!(body.is_object(), "{body}");
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
}

async fn entries_run_in_order_and_see_earlier_writes(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let id = json!({ "id": "ses_root01" });
    let (status, _, body) = post(
        &app,
        &json!([
            status_of("ses_root01"),
            { "query": REVOKE, "variables": id },
            status_of("ses_root01"),
            { "query": DELETE, "variables": id },
            status_of("ses_child01"),
            { "query": DELETE, "variables": id },
        ]),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answers = entries(&body);
    assert_eq!(answers[0]["data"]["session"]["status"], "ACTIVE", "{body}");
    assert_eq!(answers[1]["data"]["updateSession"]["revokedCount"], 1);
    assert_eq!(answers[2]["data"]["session"]["status"], "REVOKED", "{body}");
    assert_eq!(answers[3]["data"]["deleteSession"]["deletedCount"], 2);
    assert_eq!(answers[4]["data"]["session"], Value::Null, "{body}");
    // The second delete finds nothing: its own error, not the batch's.
    assert_eq!(code(&answers[5]), "NOT_FOUND", "{body}");
}

const SECRET: &str = "batch-tests-shared-secret-0123456789abcdef";

fn token(scope: &str) -> String {
    let claims = Claims {
        sub: "batch-test".to_owned(),
        exp: jsonwebtoken::get_current_timestamp() + 600,
        org: "org_demo".to_owned(),
        zones: vec!["zone_demo".to_owned()],
        scope: scope.to_owned(),
        iss: None,
        aud: None,
    };
    sessiongraph::auth::mint_hs256(SECRET, &claims).expect("a token")
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn each_entry_is_admitted_on_its_own(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.auth = AuthSettings {
            keys: Some(KeySource::Secret(SECRET.to_owned())),
            ..AuthSettings::default()
        };
        config.limits.query.max_depth = 3;
    })
    .await;
    let remembered = "{ session(id: \"ses_root01\") { __typename } }";
    let persisted = |query: Option<&str>, hash: &str| {
        let mut entry =
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
        if let Some(query) = query {
            entry["query"] = json!(query);
        }
        entry
    };
    let batch = json!([
        status_of("ses_root01"),
        // A read-only token may not write: this entry alone is refused.
        { "query": REVOKE, "variables": { "id": "ses_root01" } },
        { "query": "{ session(id: \"ses_child01\") { ... on UserSession { parent { ... on UserSession { user { id } } } } } }" },
        persisted(None, &sha256_hex(remembered)),
        persisted(Some(remembered), &sha256_hex(remembered)),
        // Remembered by the entry before it.
        persisted(None, &sha256_hex(remembered)),
        status_of("ses_root01"),
    ]);
    let bearer = format!("Bearer {}", token("sessions:read"));
    let (status, _, body) = post(
        &app,
        &batch,
        &[("authorization", &bearer), ("accept", GRAPHQL_RESPONSE)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answers = entries(&body);
    assert_eq!(answers.len(), 7);
    assert_eq!(answers[0]["data"]["session"]["status"], "ACTIVE", "{body}");
    assert_eq!(code(&answers[1]), "FORBIDDEN", "{body}");
    assert_eq!(code(&answers[2]), "QUERY_TOO_COMPLEX", "{body}");
    assert_eq!(answers[2]["errors"][0]["extensions"]["limit"], "depth");
    assert_eq!(code(&answers[3]), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(answers[4]["data"]["session"]["__typename"], "UserSession");
    assert_eq!(answers[5]["data"]["session"]["__typename"], "UserSession");
    // The refused write did not happen.
    assert_eq!(answers[6]["data"]["session"]["status"], "ACTIVE", "{body}");

    // The token is the request's, read before its body: without one,
    // nothing in the batch is read, and the answer is the request's 401.
    let (status, _, body) = post(&app, &batch, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

async fn the_rate_limit_charges_entries_in_order(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.rate_limit = Some(RateLimitSettings {
            cost_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(10).expect("nonzero"),
        });
    })
    .await;
    // Costs 1 + 2 × (1 + 1) = 5; the burst pays two.
    let costly = json!({ "query": r#"{ sessions(zoneId: "zone_demo", first: 2) { nodes { __typename } } }"# });
    let cheap = json!({ "query": "{ __typename }" });
    let (status, _, body) = post(
        &app,
        &json!([costly, costly, costly, cheap, "not a request"]),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answers = entries(&body);
    assert_eq!(answers.len(), 5);
    assert!(answers[0]["data"]["sessions"]["nodes"].is_array(), "{body}");
    assert!(answers[1]["data"]["sessions"]["nodes"].is_array(), "{body}");
    // The first entry the budget cannot pay, and every one after it, even
    // one it could.
    for answer in &answers[2..] {
        assert_eq!(code(answer), "QUERY_TOO_COMPLEX", "{body}");
        assert_eq!(answer["errors"][0]["extensions"]["limit"], "rateLimit");
        assert!(answer.get("data").is_none(), "{body}");
    }
    assert_eq!(answers[2]["errors"][0]["extensions"]["cost"], 5);
    // Each of the three refused entries is a rate-limited request.
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics
            .lines()
            .any(|line| line == "sessiongraph_rate_limited_requests_total 3"),
        "{metrics}"
    );
    // Refused before they ran: their operation type is not known.
    assert!(
        metrics.lines().any(|line| line
            == r#"sessiongraph_graphql_operations_total{operation_type="unknown",operation_name="other",code="QUERY_TOO_COMPLEX"} 3"#),
        "{metrics}"
    );
}

async fn arrays_over_the_limit_are_refused_whole(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.limits.max_batch_size = 3;
    })
    .await;
    let revoke = json!({ "query": REVOKE, "variables": { "id": "ses_root01" } });

    // One over: nothing in it runs, not even the first entry's write.
    let (status, _, body) = post(
        &app,
        &json!([
            revoke,
            status_of("ses_root01"),
            status_of("ses_root01"),
            status_of("ses_root01")
        ]),
        &[("accept", GRAPHQL_RESPONSE)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(extensions["limit"], "batchSize");
    assert_eq!(extensions["maximum"], 3);
    assert_eq!(extensions["actual"], 4);
    assert!(extensions["requestId"].is_string());
    let data = app.query(STATUS, json!({ "id": "ses_root01" })).await;
    assert_eq!(data["session"]["status"], "ACTIVE");

    // Ten thousand entries: a clear 400 at once, in either media type.
    let huge = format!(
        "[{}]",
        vec![r#"{"query":"{ __typename }"}"#; 10_000].join(",")
    );
    for accept in [GRAPHQL_RESPONSE, "application/json"] {
        let started = Instant::now();
        let (status, _, body) = post_raw(&app, huge.clone(), &[("accept", accept)]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["actual"], 10_000);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    let nothing = format!("[{}]", vec!["0"; 10_000].join(","));
    let (status, _, body) = post_raw(&app, nothing, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");

    // An empty array asks for nothing: refused rather than answered `[]`,
    // which would hide a client's bug.
    let (status, _, body) = post(&app, &json!([]), &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");

    // An array that is not JSON to its end.
    let (status, _, body) = post_raw(&app, r#"[{"query": "{ __typename }"}"#.into(), &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (status, _, body) = post_raw(&app, r#"[{"query": "{ __typename }"}] x"#.into(), &[]).await;
    assert_eq!(status, 400, "{body}");

    // Within the limit it runs.
    let (status, _, body) = post(&app, &json!([revoke, status_of("ses_root01")]), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(entries(&body)[1]["data"]["session"]["status"], "REVOKED");
}

async fn malformed_entries_are_named_by_their_index(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let (status, batch_id, body) = post(
        &app,
        &json!([
            1,
            "{ __typename }",
            null,
            [status_of("ses_root01")],
            { "query": 5 },
            {},
            status_of("ses_root01"),
        ]),
        &[("accept", GRAPHQL_RESPONSE)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answers = entries(&body);
    assert_eq!(answers.len(), 7);
    for (index, answer) in answers[..6].iter().enumerate() {
        assert_eq!(code(answer), "BAD_USER_INPUT", "{index}: {body}");
        let error = &answer["errors"][0];
        let message = error["message"].as_str().unwrap_or("");
        if index < 5 {
            assert!(
                message.contains(&format!("entry {index}")),
                "{index}: {message}"
            );
            assert_eq!(error["extensions"]["batchIndex"], index);
        }
        assert_eq!(
            error["extensions"]["requestId"],
            format!("{batch_id}.{index}")
        );
    }
    assert_eq!(answers[6]["data"]["session"]["status"], "ACTIVE", "{body}");

    // Batching switched off: arrays are refused, single requests served.
    let app = spawn_app_configured(
        TestDb::new(app.db.backend).await.expect("a database"),
        |config| {
            config.limits.max_batch_size = 0;
        },
    )
    .await;
    let (status, _, body) = post(&app, &json!([{ "query": "{ __typename }" }]), &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--max-batch-size"),
        "{body}"
    );
    let (status, _, body) = post(&app, &json!({ "query": "{ __typename }" }), &[]).await;
    assert_eq!(status, 200, "{body}");
}
