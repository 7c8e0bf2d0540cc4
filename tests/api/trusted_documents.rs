//! Trusted documents (SPEC §9): the manifests a team's build writes
//! (Apollo's, Relay's, GraphQL Code Generator's) loaded at start, requests
//! naming their documents by id over every transport, the
//! `--trusted-documents-only` allow-list, bad manifests refused at start,
//! and SIGHUP reloading the set under load.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use sessiongraph::auth::{AuthSettings, KeySource};
use sha2::{Digest, Sha256};

use crate::helpers::graphql_ws::{self, Socket, message};
use crate::helpers::processes::ServerProcess;
use crate::helpers::*;

crate::on_both_databases!(
    each_manifest_format_answers_by_its_ids,
    ids_of_the_wrong_shape_and_unknown_ids_are_told_apart,
    batches_name_documents_entry_by_entry,
    only_trusted_documents_run_on_every_transport,
    sockets_and_event_streams_name_documents_by_id,
    sighup_swaps_the_set_and_a_bad_reload_keeps_it,
);

const SECRET: &str = "trusted-documents-tests-secret-0123456789";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// Apollo's manifest entry.
const STATUS: &str =
    "query Status($id: ID!) { session(id: $id) { ... on UserSession { id status } } }";
/// Relay's entry, under its own (MD5-like) id.
const NODE: &str = "query Node { node(id: \"ses_root01\") { id } }";
const RELAY_ID: &str = "3b1a0b5e0f3c4e5f8a9b0c1d2e3f4a5b";
/// Codegen's entry.
const TYPENAME: &str = "query Typename { __typename }";
const EVENTS: &str =
    "subscription Events { sessionEvents(zoneId: \"zone_demo\") { kind sessionId } }";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn document_id(text: &str) -> String {
    format!("sha256:{}", sha256_hex(text))
}

/// The three manifests in `dir`, as each tool writes its own.
fn manifests(dir: &Path) -> Vec<PathBuf> {
    let apollo = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            { "id": sha256_hex(STATUS), "name": "Status", "type": "query", "body": STATUS },
            { "id": sha256_hex(EVENTS), "name": "Events", "type": "subscription", "body": EVENTS },
        ],
    });
    let relay = json!({ RELAY_ID: NODE });
    let codegen = json!({ document_id(TYPENAME): TYPENAME });
    [
        ("persisted-query-manifest.json", apollo),
        ("persisted_queries.json", relay),
        ("persisted-documents.json", codegen),
    ]
    .into_iter()
    .map(|(name, manifest)| {
        let path = dir.join(name);
        std::fs::write(&path, manifest.to_string()).expect("write a manifest");
        path
    })
    .collect()
}

async fn serve(
    db: TestDb,
    dir: &Path,
    adjust: impl FnOnce(&mut sessiongraph::server::ServerConfig),
) -> TestApp {
    let files = manifests(dir);
    spawn_app_with_configured(db, &example_document(), |config| {
        config.trusted_documents = files;
        adjust(config);
    })
    .await
}

async fn post(app: &TestApp, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("accept", GRAPHQL_RESPONSE)
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("POST /graphql");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn get(app: &TestApp, parameters: &[(&str, &str)], token: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .get(app.url("/graphql"))
        .header("accept", GRAPHQL_RESPONSE)
        .query(parameters);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET /graphql");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

fn status_data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "errors: {body}");
    &body["data"]["session"]["status"]
}

fn token(scope: &str) -> String {
    let claims = json!({
        "sub": "trusted-documents-test", "exp": jsonwebtoken::get_current_timestamp() + 600,
        "org": "org_demo", "zones": ["zone_demo"], "scope": scope,
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign a token")
}

async fn each_manifest_format_answers_by_its_ids(db: TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = serve(db, dir.path(), |_| {}).await;
    let variables = json!({ "id": "ses_root01" });

    // Apollo's entry: by the draft's `sha256:<hex>` and by the manifest's id.
    for id in [document_id(STATUS), sha256_hex(STATUS)] {
        let (status, body) = post(
            &app,
            &json!({ "documentId": id, "variables": variables }),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(status_data(&body), "ACTIVE", "{body}");
    }
    // Apollo Client's persisted-queries link: the hash, no text.
    let (status, body) = post(
        &app,
        &json!({ "variables": variables, "extensions": {
            "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(STATUS) } } }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_data(&body), "ACTIVE", "{body}");

    // Relay's entry by its `doc_id`, POST and GET.
    let (status, body) = post(&app, &json!({ "doc_id": RELAY_ID }), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["node"]["id"], "ses_root01", "{body}");
    let (status, body) = get(&app, &[("doc_id", RELAY_ID)], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["node"]["id"], "ses_root01", "{body}");

    // Codegen's entry, by `sha256:<hex>` and bare hex, in the query string.
    for id in [document_id(TYPENAME), sha256_hex(TYPENAME)] {
        let (status, body) = get(&app, &[("documentId", &id)], None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
    }
    // GET must not change data, by id or not.
    let (status, body) = get(
        &app,
        &[
            ("documentId", &document_id(STATUS)),
            ("variables", &variables.to_string()),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_data(&body), "ACTIVE", "{body}");
}

async fn ids_of_the_wrong_shape_and_unknown_ids_are_told_apart(db: TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = serve(db, dir.path(), |_| {}).await;
    let unknown = [
        json!({ "documentId": document_id("{ nothing }") }),
        json!({ "documentId": "no-such-id" }),
        json!({ "doc_id": "no-such-id" }),
    ];
    for body in unknown {
        let (_, answer) = post(&app, &body, None).await;
        assert_eq!(
            code(&answer),
            "PERSISTED_QUERY_NOT_FOUND",
            "{body}: {answer}"
        );
    }
    let malformed = [
        json!({ "documentId": 12 }),
        json!({ "documentId": ["sha256:00"] }),
        json!({ "documentId": "a".repeat(257) }),
        json!({ "documentId": "sha256:not-hex" }),
        json!({ "documentId": format!("sha256:{}", "a".repeat(63)) }),
        json!({ "documentId": "md5:3b1a0b5e0f3c4e5f8a9b0c1d2e3f4a5b" }),
        json!({ "documentId": document_id(TYPENAME), "query": TYPENAME }),
    ];
    for body in malformed {
        let (status, answer) = post(&app, &body, None).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{body}: {answer}");
    }
    let (status, answer) = get(&app, &[("documentId", "md5:00")], None).await;
    assert_eq!((status, code(&answer)), (400, "BAD_USER_INPUT"), "{answer}");
}

async fn batches_name_documents_entry_by_entry(db: TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = serve(db, dir.path(), |_| {}).await;
    let batch = json!([
        { "documentId": document_id(STATUS), "variables": { "id": "ses_root01" } },
        { "doc_id": RELAY_ID },
        { "documentId": "no-such-id" },
        { "documentId": 7 },
        { "query": TYPENAME },
    ]);
    let (status, body) = post(&app, &batch, None).await;
    assert_eq!(status, 200, "{body}");
    let entries = body.as_array().expect("an array");
    assert_eq!(status_data(&entries[0]), "ACTIVE", "{body}");
    assert_eq!(entries[1]["data"]["node"]["id"], "ses_root01", "{body}");
    assert_eq!(code(&entries[2]), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    assert_eq!(code(&entries[3]), "BAD_USER_INPUT", "{body}");
    assert_eq!(entries[4]["data"]["__typename"], "Query", "{body}");
}

async fn only_trusted_documents_run_on_every_transport(db: TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = serve(db, dir.path(), |config| {
        config.trusted_documents_only = true;
        config.auth = AuthSettings {
            keys: Some(KeySource::Secret(SECRET.to_owned())),
            ..AuthSettings::default()
        };
    })
    .await;
    let reader = token("sessions:read");
    let operator = token("sessions:read documents:any");
    let by_id = json!({ "documentId": document_id(STATUS), "variables": { "id": "ses_root01" } });
    let (status, body) = post(&app, &by_id, Some(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_data(&body), "ACTIVE", "{body}");

    // Text, over POST, GET, a batch, an event stream and a socket.
    let text = json!({ "query": TYPENAME });
    let (status, body) = post(&app, &text, Some(&reader)).await;
    assert_eq!(
        (status, code(&body)),
        (400, "TRUSTED_DOCUMENT_REQUIRED"),
        "{body}"
    );
    let (status, body) = get(&app, &[("query", TYPENAME)], Some(&reader)).await;
    assert_eq!(
        (status, code(&body)),
        (400, "TRUSTED_DOCUMENT_REQUIRED"),
        "{body}"
    );
    let (status, body) = post(&app, &json!([by_id, text]), Some(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_data(&body[0]), "ACTIVE", "{body}");
    assert_eq!(code(&body[1]), "TRUSTED_DOCUMENT_REQUIRED", "{body}");
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .bearer_auth(&reader)
        .json(&json!({ "query": EVENTS }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(code(&body), "TRUSTED_DOCUMENT_REQUIRED", "{body}");
    let mut socket = socket(&app, Some(&reader)).await;
    let answer = operation(&mut socket, json!({ "query": TYPENAME })).await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"], "TRUSTED_DOCUMENT_REQUIRED",
        "{answer}"
    );
    let answer = operation(&mut socket, json!({ "documentId": document_id(TYPENAME) })).await;
    assert_eq!(answer["payload"]["data"]["__typename"], "Query", "{answer}");

    // A hash alone that the set lacks is not found; with its text it is
    // free text. A trusted document's hash runs.
    let apq = |query: &str, text: &str| {
        json!({ "query": query, "extensions": {
            "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(text) } } })
    };
    let other = "query Other { __typename }";
    let (_, body) = post(&app, &apq("", other), Some(&reader)).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    let (status, body) = post(&app, &apq(other, other), Some(&reader)).await;
    assert_eq!(
        (status, code(&body)),
        (400, "TRUSTED_DOCUMENT_REQUIRED"),
        "{body}"
    );
    let (status, body) = post(&app, &apq("", TYPENAME), Some(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    // Operators' tokens send text, which runs but is not remembered.
    let untrusted = "query Untrusted { __typename }";
    let register = json!({ "query": untrusted, "extensions": {
        "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(untrusted) } } });
    let (status, body) = post(&app, &register, Some(&operator)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let by_hash = json!({ "extensions": {
        "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(untrusted) } } });
    for token in [&operator, &reader] {
        let (_, body) = post(&app, &by_hash, Some(token)).await;
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");
    }
    let (status, body) = post(&app, &text, Some(&operator)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

/// A graphql-transport-ws socket, acknowledged.
async fn socket(app: &TestApp, token: Option<&str>) -> Socket {
    graphql_ws::connect(&app.address.to_string(), graphql_ws::bearer(token)).await
}

/// Subscribes with `payload` under a fresh id; the first answer.
async fn operation(socket: &mut Socket, payload: Value) -> Value {
    graphql_ws::start(socket, payload).await;
    message(socket).await
}

async fn sockets_and_event_streams_name_documents_by_id(db: TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = serve(db, dir.path(), |config| {
        config.trusted_documents_only = true
    })
    .await;
    // Without authentication nobody may send text.
    let (status, body) = post(&app, &json!({ "query": TYPENAME }), None).await;
    assert_eq!(
        (status, code(&body)),
        (400, "TRUSTED_DOCUMENT_REQUIRED"),
        "{body}"
    );

    let mut socket = socket(&app, None).await;
    let answer = operation(
        &mut socket,
        json!({ "query": "", "documentId": document_id(STATUS), "variables": { "id": "ses_root01" } }),
    )
    .await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(answer["payload"]["data"]["session"]["status"], "ACTIVE");
    assert_eq!(message(&mut socket).await["type"], "complete");
    let answer = operation(&mut socket, json!({ "doc_id": RELAY_ID })).await;
    assert_eq!(
        answer["payload"]["data"]["node"]["id"], "ses_root01",
        "{answer}"
    );
    assert_eq!(message(&mut socket).await["type"], "complete");
    let answer = operation(&mut socket, json!({ "documentId": "nope" })).await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{answer}"
    );
    // A subscription by id is open until the socket closes.
    graphql_ws::start(&mut socket, json!({ "documentId": document_id(EVENTS) })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = post(&app, &json!({ "documentId": "no-such-mutation" }), None).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");

    // graphql-sse: a query by id streams its result, then `complete`.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({ "documentId": document_id(STATUS), "variables": { "id": "ses_root01" } }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("the stream");
    assert!(text.contains(r#""status":"ACTIVE""#), "{text}");
    assert!(text.contains("event: complete"), "{text}");
    let response = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .query(&[("documentId", document_id(TYPENAME))])
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("the stream");
    assert!(text.contains(r#""__typename":"Query""#), "{text}");
}

/// Writes `manifest` over `path` in one step, as a deploy does.
fn replace(path: &Path, manifest: &Value) {
    let next = path.with_extension("next");
    std::fs::write(&next, manifest.to_string()).expect("write a manifest");
    std::fs::rename(&next, path).expect("replace the manifest");
}

async fn sighup_swaps_the_set_and_a_bad_reload_keeps_it(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("persisted_queries.json");
    replace(&path, &json!({ "typename": TYPENAME }));
    let manifest = path.to_str().expect("a UTF-8 path");
    let server = ServerProcess::start(&db, &["--trusted-documents", manifest]).await;
    let by = |id: &str| json!({ "documentId": id, "variables": { "id": "ses_root01" } });
    let (_, body) = server.post(&by("typename")).await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    let (_, body) = server.post(&by("status")).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body}");

    // Requests by id keep running while the set is reloaded under them.
    let load = (0..4)
        .map(|_| {
            let client = server.client.clone();
            let url = server.url("/graphql");
            tokio::spawn(async move {
                let mut answered = 0;
                let deadline = Instant::now() + Duration::from_secs(3);
                while Instant::now() < deadline {
                    let body: Value = client
                        .post(&url)
                        .json(&json!({ "documentId": "typename" }))
                        .send()
                        .await
                        .expect("POST /graphql")
                        .json()
                        .await
                        .expect("JSON");
                    assert_eq!(body["data"]["__typename"], "Query", "{body}");
                    answered += 1;
                }
                answered
            })
        })
        .collect::<Vec<_>>();
    replace(&path, &json!({ "typename": TYPENAME, "status": STATUS }));
    for _ in 0..5 {
        hang_up(&server);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = server.post(&by("status")).await;
        if body["data"]["session"]["status"] == "ACTIVE" {
            break;
        }
        assert!(Instant::now() < deadline, "not reloaded: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in load {
        assert!(task.await.expect("no panic") > 0);
    }

    // A bad reload is logged and the set stays.
    std::fs::write(&path, "{ not json").expect("write");
    hang_up(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.logged("trusted documents not reloaded") == 0 {
        assert!(Instant::now() < deadline, "the bad reload was not logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.logged("not a JSON manifest"), 1);
    let (_, body) = server.post(&by("status")).await;
    assert_eq!(body["data"]["session"]["status"], "ACTIVE", "{body}");
}

fn hang_up(server: &ServerProcess) {
    let pid = server.pid().expect("the server runs");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
}

/// A bad manifest stops the start with a message naming the file and the
/// entry, whatever is wrong with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_manifests_stop_the_start_naming_file_and_entry() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let good = write("good.json", json!({ "one": TYPENAME }).to_string());
    let huge = format!("{{ {} }}", "__typename ".repeat(1_100_000));
    let cases = [
        (vec![write("broken.json", "{\"one\": ".to_owned())], "broken.json", "not a JSON manifest"),
        (
            vec![write("invalid.json", json!({ "bad-one": "{ noSuchField }" }).to_string())],
            "entry `bad-one`",
            "not valid",
        ),
        (
            vec![write("parse.json", json!({ "unparsed": "{ session(" }).to_string())],
            "entry `unparsed`",
            "does not parse",
        ),
        (
            vec![good.clone(), write("collision.json", json!({ "one": "{ __typename }" }).to_string())],
            "collision.json",
            "different text",
        ),
        (
            vec![write("hash.json", json!({ document_id("{ other }"): TYPENAME }).to_string())],
            "hash.json",
            "SHA-256",
        ),
        (
            vec![write("huge.json", json!({ "huge": huge }).to_string())],
            "entry `huge`",
            "--max-query-bytes",
        ),
        (
            vec![write(
                "duplicate.json",
                format!(r#"{{"one": "{TYPENAME}", "one": "{{ __typename }}"}}"#),
            )],
            "duplicate.json",
            "different text",
        ),
        (
            vec![write("list.json", "[]".to_owned())],
            "list.json",
            "expected a JSON object",
        ),
        (
            vec![write("cost.json", json!({ "costly": "{ a: sessions(zoneId: \"z\", first: 100) { nodes { ... on UserSession { children(first: 100) { nodes { ... on UserSession { children(first: 100) { nodes { __typename } } } } } } } } }" }).to_string())],
            "entry `costly`",
            "cost",
        ),
        (vec![dir.path().join("missing.json")], "missing.json", "No such file"),
    ];
    for (files, names, reason) in cases {
        let mut config = test_config(&db);
        config.trusted_documents = files;
        let error = match sessiongraph::server::Application::build(config).await {
            Ok(_) => panic!("started with {names}"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains(names), "{names}: {error}");
        assert!(error.contains(reason), "{reason}: {error}");
    }
    // The real binary says so and exits.
    let broken = dir.path().join("broken.json");
    let output = sessiongraph(
        &db,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trusted-documents",
            broken.to_str().expect("UTF-8"),
        ],
        None,
    )
    .await;
    assert!(!output.status.success());
    let said = stderr(&output);
    assert!(
        said.contains("broken.json") && said.contains("not a JSON manifest"),
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
}
