//! GraphQL over Server-Sent Events (graphql-sse, distinct connections
//! mode), as a client reads it: `next` events then `complete`, refusals
//! before the stream as HTTP answers them, the limits of the WebSocket
//! transport, the origin check, and a client going away.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use sessiongraph::admission::rate_limit::RateLimitSettings;
use sessiongraph::auth::{AuthSettings, KeySource};

use crate::helpers::*;

crate::on_both_databases!(
    operations_stream_next_events_then_complete,
    the_token_is_checked_before_the_stream_and_ends_it,
    admission_refuses_before_the_stream_starts,
    streams_keep_to_their_cap_and_keep_alive,
    a_client_that_goes_away_ends_its_subscription,
    bad_accept_and_bodies_get_clear_answers,
    streams_from_other_origins_are_refused,
);

const STREAM: &str = "text/event-stream";
const SECRET: &str = "sse-tests-shared-secret-0123456789abcdef";
const EVENTS: &str = r#"subscription { sessionEvents(zoneId: "zone_demo") { kind sessionId session { ... on UserSession { status } } } }"#;
const SESSION: &str = r#"{ session(id: "ses_root01") { ... on UserSession { id status } } }"#;

/// What an event stream carries, block by block.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Next(Value),
    Complete,
    /// A keep-alive comment.
    Comment,
}

/// An event stream being read.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200, "not a stream: {response:?}");
        assert_eq!(
            header(&response, "content-type").as_deref(),
            Some(STREAM),
            "{response:?}"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame; `None` once the server ended the stream.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_frame(block.trim_end()));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("a frame within 10 s")
                .expect("reading the stream");
            match chunk {
                Some(bytes) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8")),
                None => {
                    assert!(self.buffer.is_empty(), "a partial frame: {:?}", self.buffer);
                    return None;
                }
            }
        }
    }

    /// The next frame that is not a keep-alive comment.
    async fn next_event(&mut self) -> Option<Frame> {
        loop {
            match self.next().await {
                Some(Frame::Comment) => continue,
                other => return other,
            }
        }
    }

    /// The result of the next `next` event.
    async fn result(&mut self) -> Value {
        match self.next_event().await {
            Some(Frame::Next(result)) => result,
            other => panic!("expected a next event, got {other:?}"),
        }
    }

    /// `complete`, then the end of the body.
    async fn expect_complete(&mut self) {
        assert_eq!(self.next_event().await, Some(Frame::Complete));
        assert_eq!(self.next().await, None, "the stream goes on after complete");
    }
}

fn parse_frame(block: &str) -> Frame {
    let mut event = None;
    let mut data = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value.to_owned()),
            other => panic!("an unexpected field {other:?} in {block:?}"),
        }
    }
    match event.as_deref() {
        None if data.is_empty() => Frame::Comment,
        Some("next") => Frame::Next(serde_json::from_str(&data.join("\n")).expect("JSON data")),
        Some("complete") if data.iter().all(String::is_empty) => Frame::Complete,
        _ => panic!("not a graphql-sse event: {block:?}"),
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
}

/// POST `query` asking for an event stream, with `token` when given.
async fn post_stream(app: &TestApp, query: &str, token: Option<&str>) -> reqwest::Response {
    post_with(app, &json!({ "query": query }), token, STREAM).await
}

async fn post_with(
    app: &TestApp,
    body: &Value,
    token: Option<&str>,
    accept: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("accept", accept)
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("POST /graphql")
}

/// GET `query` asking for an event stream.
async fn get_stream(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(app.url("/graphql"))
        .query(&[("query", query)])
        .header("accept", STREAM)
        .send()
        .await
        .expect("GET /graphql")
}

/// A subscription's stream, once its subscription is in place.
async fn subscribe(app: &TestApp, query: &str, token: Option<&str>) -> Events {
    let events = Events::new(post_stream(app, query, token).await);
    // The subscription registers as the body is first polled, right after
    // the headers go out.
    tokio::time::sleep(Duration::from_millis(300)).await;
    events
}

/// A gauge of `/metrics`.
async fn gauge(app: &TestApp, name: &str) -> i64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("sessiongraph_{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// Waits until the open streams and subscriptions are `expected`.
async fn until_open(app: &TestApp, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let open = (
            gauge(app, "sse_streams").await,
            gauge(app, "subscriptions").await,
        );
        if open == (expected, expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "open (streams, subscriptions) stayed {open:?}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token(zones: &[&str], scope: &str, ttl: u64) -> String {
    let claims = json!({
        "sub": "sse-test", "exp": jsonwebtoken::get_current_timestamp() + ttl,
        "org": "org_demo", "zones": zones, "scope": scope,
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign a token")
}

/// A body with its request id taken out, to compare two answers.
fn without_request_id(mut body: Value) -> Value {
    if let Some(errors) = body["errors"].as_array_mut() {
        for error in errors {
            if let Some(extensions) = error["extensions"].as_object_mut() {
                extensions.remove("requestId");
            }
        }
    }
    body
}

fn code(result: &Value) -> &str {
    result["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {result}"))
}

async fn operations_stream_next_events_then_complete(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let expected = app.query(SESSION, json!({})).await;

    // A query: one `next`, then `complete`, byte for byte what
    // graphql-sse's own server writes.
    let response = post_stream(&app, SESSION, None).await;
    assert_eq!(header(&response, "content-type").as_deref(), Some(STREAM));
    assert!(header(&response, "x-request-id").is_some());
    let body = response.text().await.expect("body");
    assert_eq!(
        body,
        format!(
            "event: next\ndata: {}\n\nevent: complete\n\n",
            json!({ "data": expected })
        )
    );
    // The same from GET, as `EventSource` sends it.
    let mut events = Events::new(get_stream(&app, SESSION).await);
    assert_eq!(events.result().await, json!({ "data": expected }));
    events.expect_complete().await;

    // A subscription: the events of a revoke, as they are written.
    let mut live = subscribe(&app, EVENTS, None).await;
    let revoke = r#"mutation { updateSession(id: "ses_root01", input: {status: REVOKED}) { revokedCount } }"#;
    // The mutation itself over a stream, with its consistency token.
    let response = post_stream(&app, revoke, None).await;
    assert!(header(&response, "sessiongraph-consistency").is_some());
    let mut written = Events::new(response);
    assert_eq!(
        written.result().await,
        json!({ "data": { "updateSession": { "revokedCount": 1 } } })
    );
    written.expect_complete().await;
    assert_eq!(
        live.result().await,
        json!({ "data": { "sessionEvents": {
            "kind": "REVOKED", "sessionId": "ses_root01", "session": { "status": "REVOKED" }
        } } })
    );

    // A client that lists JSON beside the stream (urql's fetch does) gets
    // its queries as JSON and its subscriptions as a stream.
    let both = "application/graphql-response+json, application/json, text/event-stream";
    let query = post_with(&app, &json!({ "query": SESSION }), None, both).await;
    assert_eq!(
        header(&query, "content-type").as_deref(),
        Some("application/graphql-response+json")
    );
    let subscription = post_with(&app, &json!({ "query": EVENTS }), None, both).await;
    assert_eq!(
        header(&subscription, "content-type").as_deref(),
        Some(STREAM)
    );
    drop(subscription);
    drop(live);
    until_open(&app, 0).await;
}

async fn the_token_is_checked_before_the_stream_and_ends_it(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.auth = AuthSettings {
            keys: Some(KeySource::Secret(SECRET.to_owned())),
            ..AuthSettings::default()
        };
    })
    .await;
    // No token, a bad one, one without the read scope: the status and body
    // of a POST, before any stream.
    let unread = token(&["zone_demo"], "", 600);
    for (what, bearer) in [
        ("no token", None),
        ("a bad token", Some("not-a-token")),
        ("no read scope", Some(unread.as_str())),
    ] {
        let streamed = post_stream(&app, EVENTS, bearer).await;
        let posted = post_with(
            &app,
            &json!({ "query": SESSION }),
            bearer,
            "application/graphql-response+json",
        )
        .await;
        assert_eq!(streamed.status(), posted.status(), "{what}");
        assert_ne!(streamed.status(), 200, "{what}");
        assert_eq!(
            header(&streamed, "www-authenticate"),
            header(&posted, "www-authenticate"),
            "{what}"
        );
        let streamed: Value = streamed.json().await.expect("a JSON body");
        let posted: Value = posted.json().await.expect("a JSON body");
        assert_eq!(
            without_request_id(streamed),
            without_request_id(posted),
            "{what}"
        );
    }

    // A zone outside the token: the subscription's own error, in the stream.
    let reader = token(&["zone_demo"], "sessions:read", 600);
    let other_zone = EVENTS.replace("zone_demo", "zone_other");
    let mut events = Events::new(post_stream(&app, &other_zone, Some(&reader)).await);
    assert_eq!(code(&events.result().await), "FORBIDDEN");
    events.expect_complete().await;

    // A token that expires ends its subscription, saying why.
    let expiring = token(&["zone_demo"], "sessions:read", 2);
    let started = Instant::now();
    let mut events = subscribe(&app, EVENTS, Some(&expiring)).await;
    let last = events.result().await;
    assert_eq!(code(&last), "UNAUTHENTICATED", "{last}");
    assert!(
        last["errors"][0]["extensions"]["requestId"].is_string(),
        "{last}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    events.expect_complete().await;
    until_open(&app, 0).await;
}

async fn admission_refuses_before_the_stream_starts(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.introspection = false;
        config.limits.query.max_depth = 4;
        config.rate_limit = Some(RateLimitSettings {
            cost_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(11).expect("nonzero"),
        });
    })
    .await;
    let refused = |query: &'static str| {
        let app = &app;
        async move {
            let response = post_stream(app, query, None).await;
            let status = response.status().as_u16();
            assert_eq!(
                header(&response, "content-type").as_deref(),
                Some("application/json")
            );
            let body: Value = response.json().await.expect("a JSON body");
            (status, body)
        }
    };
    let (status, body) =
        refused(r#"{ session(id: "ses_root01") { ... on UserSession { parent { parent { parent { parent { id } } } } } } }"#).await;
    assert_eq!((status, code(&body)), (400, "QUERY_TOO_COMPLEX"), "{body}");
    let (status, body) = refused("{ __schema { types { name } } }").await;
    assert_eq!(
        (status, code(&body)),
        (400, "GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );
    // A document that does not validate runs as far as any: its errors are
    // the stream's result, as the protocol asks.
    let mut events = Events::new(post_stream(&app, "{ noSuchField }", None).await);
    let result = events.result().await;
    assert_eq!(code(&result), "GRAPHQL_VALIDATION_FAILED");
    assert!(result.get("data").is_none(), "{result}");
    events.expect_complete().await;
    // The rate limit: 5 points a query; the budget held 11, and the
    // document above spent 1.
    let query = r#"{ sessions(zoneId: "zone_demo", first: 2) { nodes { __typename } } }"#;
    for _ in 0..2 {
        let mut events = Events::new(post_stream(&app, query, None).await);
        assert!(events.result().await.get("errors").is_none());
        events.expect_complete().await;
    }
    let response = post_stream(&app, query, None).await;
    assert_eq!(response.status(), 429);
    assert!(header(&response, "retry-after").is_some());
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "rateLimit",
        "{body}"
    );

    // A persisted query the server does not know: the client's next step
    // is to send its text, so it is an answer (HTTP's 200), in a stream.
    let hash = "0000000000000000000000000000000000000000000000000000000000000000";
    let mut events = Events::new(
        post_with(
            &app,
            &json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }),
            None,
            STREAM,
        )
        .await,
    );
    assert_eq!(code(&events.result().await), "PERSISTED_QUERY_NOT_FOUND");
    events.expect_complete().await;
}

async fn streams_keep_to_their_cap_and_keep_alive(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.sockets.max_event_streams = 1;
        config.sockets.keepalive = Duration::from_millis(200);
    })
    .await;
    let mut first = subscribe(&app, EVENTS, None).await;
    // The one slot is taken: another stream is refused, plain HTTP is not.
    let response = post_stream(&app, SESSION, None).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "sseStreams",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["maximum"], 1, "{body}");
    app.query(SESSION, json!({})).await;
    // An idle stream gets a comment at the keep-alive interval.
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(first.next().await, Some(Frame::Comment));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A stream that ends frees its slot.
    drop(first);
    until_open(&app, 0).await;
    let mut events = Events::new(post_stream(&app, SESSION, None).await);
    assert!(events.result().await.get("errors").is_none());
    events.expect_complete().await;
}

async fn a_client_that_goes_away_ends_its_subscription(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    until_open(&app, 0).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(subscribe(&app, EVENTS, None).await);
    }
    until_open(&app, 3).await;
    // One client reads an event first, then goes away mid-stream.
    let revoke = r#"mutation { updateSession(id: "ses_root01", input: {status: REVOKED}) { revokedCount } }"#;
    app.query(revoke, json!({})).await;
    assert_eq!(
        streams[0].result().await["data"]["sessionEvents"]["sessionId"],
        "ses_root01"
    );
    streams.clear();
    until_open(&app, 0).await;
    // Nothing is left behind to deliver to: writes and streams go on.
    let delete = r#"mutation { deleteSession(id: "ses_root01") { deletedCount } }"#;
    app.query(delete, json!({})).await;
    let mut events = Events::new(post_stream(&app, SESSION, None).await);
    assert!(events.result().await.get("errors").is_none());
    events.expect_complete().await;
}

async fn bad_accept_and_bodies_get_clear_answers(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("a JSON body");
        (status, body)
    };
    let message = |body: &Value| {
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    // Nothing this server writes.
    let (status, body) =
        answer(post_with(&app, &json!({ "query": SESSION }), None, "text/html").await).await;
    assert_eq!((status, code(&body)), (406, "BAD_USER_INPUT"), "{body}");
    assert!(message(&body).contains("text/event-stream"), "{body}");
    // A batch cannot be a stream.
    let batch = json!([{ "query": SESSION }, { "query": SESSION }]);
    let (status, body) = answer(post_with(&app, &batch, None, STREAM).await).await;
    assert_eq!((status, code(&body)), (406, "BAD_USER_INPUT"), "{body}");
    assert!(message(&body).contains("batch"), "{body}");
    // A mutation over GET, stream or not.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            r#"mutation { deleteSession(id: "ses_root01") { deletedCount } }"#,
        )])
        .header("accept", STREAM)
        .send()
        .await
        .expect("GET");
    assert_eq!(header(&response, "allow").as_deref(), Some("POST"));
    let (status, body) = answer(response).await;
    assert_eq!((status, code(&body)), (405, "BAD_USER_INPUT"), "{body}");
    // Bodies that are not requests.
    for (what, content_type, body, status) in [
        ("not JSON", "application/json", "{not json", 400),
        ("not an object", "application/json", "42", 400),
        ("no query", "application/json", "{}", 400),
        (
            "not JSON's type",
            "text/plain",
            "{\"query\": \"{ __typename }\"}",
            415,
        ),
    ] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("accept", STREAM)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        let (got, body) = answer(response).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{what}: {body}");
    }
    // A client that drops the connection before the answer, and one that
    // drops it mid-stream, harm nothing.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for read_first in [false, true] {
        let mut socket = tokio::net::TcpStream::connect(app.address)
            .await
            .expect("connect");
        let body = json!({ "query": EVENTS }).to_string();
        let request = format!(
            "POST /graphql HTTP/1.1\r\nhost: {}\r\naccept: {STREAM}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            app.address,
            body.len()
        );
        socket.write_all(request.as_bytes()).await.expect("write");
        if read_first {
            let mut head = [0u8; 64];
            let read = socket.read(&mut head).await.expect("read");
            assert!(
                head[..read].starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&head[..read])
            );
        }
        drop(socket);
    }
    until_open(&app, 0).await;
    app.query(SESSION, json!({})).await;
}

async fn streams_from_other_origins_are_refused(db: TestDb) {
    let app = spawn_app_with_configured(db, &example_document(), |config| {
        config.cors_origins = vec!["http://localhost:3000".to_owned()];
    })
    .await;
    let from = |origin: Option<String>| {
        let app = &app;
        async move {
            let mut request = app
                .client
                .get(app.url("/graphql"))
                .query(&[("query", SESSION)])
                .header("accept", STREAM);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send().await.expect("GET")
        }
    };
    let refused = from(Some("https://evil.example".to_owned())).await;
    assert_eq!(refused.status(), 403);
    assert!(header(&refused, "access-control-allow-origin").is_none());
    let body: Value = refused.json().await.expect("a JSON body");
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // A listed origin, the server's own page and a client without a page.
    let listed = from(Some("http://localhost:3000".to_owned())).await;
    assert_eq!(
        header(&listed, "access-control-allow-origin").as_deref(),
        Some("http://localhost:3000")
    );
    for response in [
        listed,
        from(Some(format!("http://{}", app.address))).await,
        from(None).await,
    ] {
        let mut events = Events::new(response);
        assert!(events.result().await.get("errors").is_none());
        events.expect_complete().await;
    }
    // A plain query from another origin still runs, without CORS headers.
    let plain = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(&json!({ "query": SESSION }))
        .send()
        .await
        .expect("POST");
    assert_eq!(plain.status(), 200);
}
