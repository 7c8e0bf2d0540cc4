//! GraphQL over HTTP as clients meet it: media types, status codes, GET and
//! POST, and error codes with request ids.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const SIMPLE: &str = r#"{ session(id: "ses_root01") { __typename } }"#;

async fn post_with(
    app: &TestApp,
    accept: Option<&str>,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.expect("POST /graphql")
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn media_types_and_status_codes(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let body = json!({ "query": SIMPLE }).to_string();

    let modern = post_with(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        &body,
    )
    .await;
    assert_eq!(modern.status(), 200);
    assert!(content_type(&modern).starts_with("application/graphql-response+json"));
    let data: Value = modern.json().await.expect("json");
    assert_eq!(data["data"]["session"]["__typename"], "UserSession");

    let legacy = post_with(&app, None, "application/json", &body).await;
    assert_eq!(legacy.status(), 200);
    assert!(content_type(&legacy).starts_with("application/json"));

    // A document that does not parse is a request error: 400 with the modern
    // media type, 200 with legacy JSON; the code names it either way.
    let broken = json!({ "query": "{ session(id: " }).to_string();
    let modern = post_with(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        &broken,
    )
    .await;
    assert_eq!(modern.status(), 400);
    let body: Value = modern.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
    let legacy = post_with(&app, Some("application/json"), "application/json", &broken).await;
    assert_eq!(legacy.status(), 200);

    let invalid = json!({ "query": "{ session(id: \"x\") { noSuchField } }" }).to_string();
    let response = post_with(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        &invalid,
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    // An operationName the document does not define is the client's error.
    let unknown_operation =
        json!({ "query": "query A { __typename }", "operationName": "B" }).to_string();
    let response = post_with(
        &app,
        Some("application/graphql-response+json"),
        "application/json",
        &unknown_operation,
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );

    let wrong_type = post_with(&app, None, "text/plain", &body.to_string()).await;
    assert_eq!(wrong_type.status(), 415);
    let malformed = post_with(&app, None, "application/json", "{not json").await;
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let unacceptable = post_with(
        &app,
        Some("text/html"),
        "application/json",
        &json!({ "query": SIMPLE }).to_string(),
    )
    .await;
    assert_eq!(unacceptable.status(), 406);
}

async fn get_runs_queries_but_not_mutations(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", SIMPLE)])
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["session"]["__typename"], "UserSession");

    let mutation = r#"mutation { deleteSession(id: "ses_root01") { deletedCount } }"#;
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", mutation)])
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 405);
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    // Nothing was deleted.
    let data = app.query(SIMPLE, json!({})).await;
    assert_eq!(data["session"]["__typename"], "UserSession");
}

async fn request_ids_are_echoed_and_carried_by_errors(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "trace-123")
        .json(&json!({ "query": r#"mutation { deleteSession(id: "nope") { deletedCount } }"# }))
        .send()
        .await
        .expect("POST");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-123")
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "trace-123");
}

async fn internal_errors_are_masked(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    // Break the database behind the server's back.
    let conn = app.db.connect().await;
    conn.execute_unprepared("DROP TABLE sessions")
        .await
        .expect("drop sessions");
    let (status, body) = app
        .post_graphql(
            r#"{ sessions(zoneId: "zone_demo") { nodes { __typename } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(error["extensions"]["requestId"].is_string());
    let message = error["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        !message.contains("sessions") && !message.contains("select") && !message.contains("sql"),
        "{message}"
    );
}

/// Apollo's automatic persisted queries: a hash alone is not found until the
/// client has sent it with its text; a hash that is not the text's is refused.
async fn persisted_queries_by_hash(db: TestDb) {
    use sha2::Digest;
    let app = spawn_app_with(db, &example_document()).await;
    let query = r#"{ session(id: "ses_root01") { ... on UserSession { id } } }"#;
    let hash: String = sha2::Sha256::digest(query.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| {
        app.client
            .post(app.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&body)
            .send()
    };

    let unknown = post(json!({ "extensions": persisted }))
        .await
        .expect("POST");
    assert_eq!(unknown.status(), 200);
    let body: Value = unknown.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let registered = post(json!({ "query": query, "extensions": persisted }))
        .await
        .expect("POST");
    let body: Value = registered.json().await.expect("JSON");
    assert_eq!(body["data"]["session"]["id"], "ses_root01", "{body}");

    let by_hash = post(json!({ "extensions": persisted }))
        .await
        .expect("POST");
    let body: Value = by_hash.json().await.expect("JSON");
    assert_eq!(body["data"]["session"]["id"], "ses_root01", "{body}");

    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", persisted.to_string())])
        .send()
        .await
        .expect("GET");
    let body: Value = get.json().await.expect("JSON");
    assert_eq!(body["data"]["session"]["id"], "ses_root01", "{body}");

    let forged = post(json!({ "query": "{ __typename }", "extensions": persisted }))
        .await
        .expect("POST");
    assert_eq!(forged.status(), 400);
    let body: Value = forged.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

/// Compressed only when the client asks, by `Accept-Encoding`; the body
/// decodes to the very answer an identity request gets.
async fn responses_are_compressed_only_when_asked(db: TestDb) {
    use std::io::Read;

    let app = spawn_app_with(db, &example_document()).await;
    // Large enough to be worth compressing: every field of the fixture.
    let query = r#"{ sessions(zoneId: "zone_demo", filter: {includeNested: true}) {
        nodes { ... on UserSession { id status createdAt issuer subject sessionData
                                     user { email } userAgent { name } } } } }"#;
    let body = json!({ "query": query }).to_string();
    let send = |encoding: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let plain = send(None).await.expect("POST /graphql");
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-encoding"), None);
    let plain = plain.bytes().await.expect("body").to_vec();
    let expected: Value = serde_json::from_slice(&plain).expect("JSON");
    assert!(expected.get("errors").is_none(), "{expected}");

    let gzip = send(Some("gzip")).await.expect("POST /graphql");
    assert_eq!(header(&gzip, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header(&gzip, "vary").as_deref(), Some("accept-encoding"));
    let compressed = gzip.bytes().await.expect("body");
    assert!(
        compressed.len() < plain.len(),
        "gzip did not shrink the body"
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .expect("a gzip body");
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).expect("JSON"),
        expected
    );

    let br = send(Some("br;q=1.0, gzip;q=0.5"))
        .await
        .expect("POST /graphql");
    assert_eq!(header(&br, "content-encoding").as_deref(), Some("br"));
    let compressed = br.bytes().await.expect("body");
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .expect("a brotli body");
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).expect("JSON"),
        expected
    );

    // An encoding the server does not offer gets the identity body.
    let other = send(Some("compress")).await.expect("POST /graphql");
    assert_eq!(header(&other, "content-encoding"), None);
    assert_eq!(other.bytes().await.expect("body").to_vec(), plain);
}

crate::on_both_databases!(
    responses_are_compressed_only_when_asked,
    persisted_queries_by_hash,
    media_types_and_status_codes,
    get_runs_queries_but_not_mutations,
    request_ids_are_echoed_and_carried_by_errors,
    internal_errors_are_masked,
);
