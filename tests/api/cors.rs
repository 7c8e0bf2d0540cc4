//! Browser apps on other origins, as a browser meets the server: preflights,
//! the CORS headers of actual answers, `*` beside listed origins, the
//! origin check of a WebSocket upgrade, and nothing of it without
//! `--cors-origin`.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::probe::ServerProcess;
use crate::helpers::*;

crate::on_both_databases!(
    a_listed_origin_is_preflighted_and_reads_the_answer,
    other_origins_get_no_cors_headers,
    a_star_allows_every_origin_without_credentials,
    without_cors_origins_nothing_changes,
    sockets_from_other_origins_are_refused,
);

const APP: &str = "http://localhost:3000";
const OTHER: &str = "https://evil.example";
const QUERY: &str = r#"{ session(id: "ses_root01") { __typename } }"#;

async fn spawn_with_origins(db: TestDb, origins: &[&str]) -> TestApp {
    let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
    spawn_app_with_configured(db, &example_document(), |config| {
        config.cors_origins = origins;
    })
    .await
}

/// The preflight a browser sends before a JSON POST with a token.
async fn preflight(app: &TestApp, origin: &str, method: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("OPTIONS /graphql")
}

async fn post_from(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .header("origin", origin)
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("POST /graphql")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A comma-separated header's entries, lowercased, from every line of it.
fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

async fn a_listed_origin_is_preflighted_and_reads_the_answer(db: TestDb) {
    let app = spawn_with_origins(db, &[APP, "https://app.example.com"]).await;

    let answer = preflight(&app, APP, "POST").await;
    assert_eq!(answer.status(), 204);
    let headers = answer.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(headers, "access-control-allow-credentials"),
        Some("true")
    );
    let methods = list(headers, "access-control-allow-methods");
    assert!(methods.contains(&"get".into()) && methods.contains(&"post".into()));
    let allowed = list(headers, "access-control-allow-headers");
    for name in [
        "authorization",
        "content-type",
        "x-request-id",
        "traceparent",
        "tracestate",
        "baggage",
        "apollographql-client-name",
        "apollographql-client-version",
    ] {
        assert!(allowed.contains(&name.to_owned()), "{name} in {allowed:?}");
    }
    let max_age: u64 = header(headers, "access-control-max-age")
        .and_then(|v| v.parse().ok())
        .expect("a max age in seconds");
    assert!(max_age > 0);
    assert!(list(headers, "vary").contains(&"origin".into()));

    // A method the route does not serve gets the same clean answer, which
    // lists what it does serve; the browser refuses the request itself.
    let answer = preflight(&app, APP, "DELETE").await;
    assert_eq!(answer.status(), 204);
    assert!(!list(answer.headers(), "access-control-allow-methods").contains(&"delete".into()));

    let answer = post_from(&app, "https://app.example.com").await;
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
    let exposed = list(&headers, "access-control-expose-headers");
    assert!(exposed.contains(&"x-request-id".into()), "{exposed:?}");
    assert!(
        exposed.contains(&"sessiongraph-consistency".into()),
        "{exposed:?}"
    );
    assert!(list(&headers, "vary").contains(&"origin".into()));
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["data"]["session"]["__typename"], "UserSession");

    // Compressed answers vary by both.
    let answer = app
        .client
        .post(app.url("/graphql"))
        .header("origin", APP)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": r#"{ sessions(zoneId: "zone_demo") { nodes { __typename } } }"# }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(header(answer.headers(), "content-encoding"), Some("gzip"));
    let vary = list(answer.headers(), "vary");
    assert!(
        vary.contains(&"origin".into()) && vary.contains(&"accept-encoding".into()),
        "{vary:?}"
    );

    // GET is served to the same origins.
    let answer = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", QUERY)])
        .header("origin", APP)
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        Some(APP)
    );

    // A refused request still carries them, or the page could not read why.
    let answer = app
        .client
        .post(app.url("/graphql"))
        .header("origin", APP)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(answer.status(), 415);
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        Some(APP)
    );
}

async fn other_origins_get_no_cors_headers(db: TestDb) {
    let app = spawn_with_origins(db, &[APP]).await;

    let answer = preflight(&app, OTHER, "POST").await;
    assert_eq!(answer.status(), 403);
    assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());
    assert!(list(answer.headers(), "vary").contains(&"origin".into()));
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    // Not the same origin with another port or scheme.
    for near in ["http://localhost:3001", "https://localhost:3000"] {
        let answer = preflight(&app, near, "POST").await;
        assert_eq!(answer.status(), 403, "{near}");
        assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());
    }

    // An actual request runs (CORS keeps the page from reading it, the
    // browser enforces that), with nothing that would let it read.
    let answer = post_from(&app, OTHER).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());
    assert!(list(answer.headers(), "vary").contains(&"origin".into()));

    // Only /graphql speaks CORS.
    let answer = app
        .client
        .get(app.url("/healthz"))
        .header("origin", APP)
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());
    let answer = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/healthz"))
        .header("origin", APP)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("OPTIONS /healthz");
    assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());

    // An OPTIONS that is not a preflight is answered as before.
    let answer = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .send()
        .await
        .expect("OPTIONS /graphql");
    assert_eq!(answer.status(), 405);
}

async fn a_star_allows_every_origin_without_credentials(db: TestDb) {
    let app = spawn_with_origins(db, &["*", APP]).await;

    let answer = preflight(&app, OTHER, "POST").await;
    assert_eq!(answer.status(), 204);
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(
        header(answer.headers(), "access-control-allow-credentials"),
        None
    );

    let answer = post_from(&app, OTHER).await;
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(
        header(answer.headers(), "access-control-allow-credentials"),
        None
    );
    assert!(
        list(answer.headers(), "access-control-expose-headers").contains(&"x-request-id".into())
    );

    // The listed origin keeps its credentials.
    let answer = post_from(&app, APP).await;
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        Some(APP)
    );
    assert_eq!(
        header(answer.headers(), "access-control-allow-credentials"),
        Some("true")
    );
    let answer = preflight(&app, APP, "POST").await;
    assert_eq!(answer.status(), 204);
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        Some(APP)
    );
}

async fn without_cors_origins_nothing_changes(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let answer = preflight(&app, APP, "POST").await;
    assert_eq!(answer.status(), 405);
    assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());
    let answer = post_from(&app, APP).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(cors_headers(answer.headers()), Vec::<String>::new());
    assert!(!list(answer.headers(), "vary").contains(&"origin".into()));
    assert_eq!(upgrade(&app, Some(OTHER)).await, 101);
}

/// The status of a WebSocket upgrade of `/graphql` from `origin`; the
/// socket is dropped once it is answered.
async fn upgrade(app: &TestApp, origin: Option<&str>) -> u16 {
    upgrade_with(app, origin, "").await
}

async fn upgrade_with(app: &TestApp, origin: Option<&str>, extra: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(app.address)
        .await
        .expect("connect");
    let origin = origin
        .map(|origin| format!("origin: {origin}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /graphql HTTP/1.1\r\nhost: {}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\
         sec-websocket-protocol: graphql-transport-ws\r\n{origin}{extra}\r\n",
        app.address
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write the upgrade");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.expect("read the answer");
        assert!(read > 0, "the server closed without answering");
        answer.extend_from_slice(&buffer[..read]);
    }
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer}"))
}

async fn sockets_from_other_origins_are_refused(db: TestDb) {
    let app = spawn_with_origins(db, &[APP]).await;
    assert_eq!(upgrade(&app, Some(OTHER)).await, 403);
    assert_eq!(upgrade(&app, Some(APP)).await, 101);
    // Not a browser: nothing to check.
    assert_eq!(upgrade(&app, None).await, 101);
    // GraphiQL's own page, served from the address it was reached at.
    let own = format!("http://{}", app.address);
    assert_eq!(upgrade(&app, Some(&own)).await, 101);
    // Behind a proxy that ended TLS, its scheme is the page's.
    let own_tls = format!("https://{}", app.address);
    assert_eq!(
        upgrade_with(&app, Some(&own_tls), "x-forwarded-proto: https\r\n").await,
        101
    );
    assert_eq!(
        upgrade_with(&app, Some(&own), "x-forwarded-proto: https\r\n").await,
        403
    );
}

/// The flags as an operator sets them: `--cors-origin` repeated or
/// `SESSIONGRAPH_CORS_ORIGINS` comma-separated, `--max-batch-size` or
/// `SESSIONGRAPH_MAX_BATCH_SIZE`; an origin that is not one stops the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flags_and_their_environment_variables() {
    let client = reqwest::Client::new();
    let check = async |server: &ServerProcess, batch_limit: u64| {
        for origin in ["http://a.example", "https://b.example"] {
            let answer = client
                .request(
                    reqwest::Method::OPTIONS,
                    format!("http://{}/graphql", server.address),
                )
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .expect("OPTIONS /graphql");
            assert_eq!(answer.status(), 204, "{origin}");
            assert_eq!(
                header(answer.headers(), "access-control-allow-origin"),
                Some(origin)
            );
        }
        let batch = vec![json!({ "query": "{ __typename }" }); 3];
        let answer = client
            .post(format!("http://{}/graphql", server.address))
            .json(&batch)
            .send()
            .await
            .expect("POST /graphql");
        assert_eq!(answer.status(), 400);
        let body: Value = answer.json().await.expect("JSON");
        assert_eq!(body["errors"][0]["extensions"]["maximum"], batch_limit);
    };

    let db = TestDb::new(Backend::Sqlite).await.expect("a database");
    let server = ServerProcess::serve_with(
        db,
        &[],
        &[
            (
                "SESSIONGRAPH_CORS_ORIGINS",
                "http://a.example, https://b.example",
            ),
            ("SESSIONGRAPH_MAX_BATCH_SIZE", "2"),
        ],
    )
    .await;
    check(&server, 2).await;

    let db = TestDb::new(Backend::Sqlite).await.expect("a database");
    let server = ServerProcess::serve_with(
        db,
        &[
            "--cors-origin",
            "http://a.example",
            "--cors-origin",
            "https://b.example/",
            "--max-batch-size",
            "1",
        ],
        &[],
    )
    .await;
    check(&server, 1).await;

    let db = TestDb::new(Backend::Sqlite).await.expect("a database");
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        sessiongraph(
            &db,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--cors-origin",
                "localhost:3000",
            ],
            None,
        ),
    )
    .await
    .expect("a bad origin stops the start");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--cors-origin \"localhost:3000\" is not an origin"),
        "{}",
        stderr(&refused)
    );
}
