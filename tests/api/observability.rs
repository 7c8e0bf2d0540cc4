//! What an operator sees of a running server: its log lines as a log
//! collector reads them, and its traces as an OTLP receiver gets them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;

use crate::helpers::graphql_ws;
use crate::helpers::processes::ServerProcess;
use crate::helpers::*;

/// The log lines, each parsed as the JSON object it must be.
fn json_lines(server: &ServerProcess) -> Vec<Value> {
    server
        .log_lines()
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

/// A POST the server refuses, and so logs at info: its body is not JSON.
async fn post_refused(server: &ServerProcess, header: (&str, &str)) -> reqwest::Response {
    server
        .client
        .post(server.url("/graphql"))
        .header(header.0, header.1)
        .header("content-type", "text/plain")
        .body("{ sessions }")
        .send()
        .await
        .expect("POST /graphql")
}

/// The first JSON log line `find` accepts, waiting up to 10 s for it.
async fn logged(server: &ServerProcess, find: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = json_lines(server);
        if let Some(line) = lines.iter().find(|line| find(line)) {
            return line.clone();
        }
        assert!(Instant::now() < deadline, "not logged: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn json_logs_carry_the_request_id(db: TestDb) {
    let server = ServerProcess::start(&db, &["--log-format", "json"]).await;
    let response = post_refused(&server, ("x-request-id", "json-logs-1")).await;
    assert_eq!(response.headers()["x-request-id"], "json-logs-1");
    let refused = logged(&server, |line| line["message"] == "request refused").await;
    assert_eq!(refused["requestId"], "json-logs-1", "{refused}");
    assert_eq!(refused["level"], "INFO", "{refused}");
    // Lines outside any request name none.
    let serving = json_lines(&server)
        .into_iter()
        .find(|line| line["message"] == "serving")
        .expect("the serving line");
    assert!(serving.get("requestId").is_none(), "{serving}");
    assert!(serving["address"].is_string(), "{serving}");
}

/// A fresh id when the caller sent none (or one not safe to echo): the
/// answer names it, and it is the one the request's lines carry.
async fn a_request_without_an_id_gets_one_in_answer_and_logs(db: TestDb) {
    let server = ServerProcess::start(&db, &["--log-format", "json"]).await;
    let response = post_refused(&server, ("x-request-id", "not a token, spaces")).await;
    let id = response.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(id.len(), 16, "{id}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
    logged(&server, |line| {
        line["message"] == "request refused" && line["requestId"] == id.as_str()
    })
    .await;
}

/// Operations by type, name and outcome, responses by status: names the
/// server does not know by name share `other`, so random names cannot
/// grow `/metrics`.
async fn metrics_are_labelled_and_bounded(db: TestDb) {
    const MINE: &str = r#"query Mine { sessions(zoneId: "zone_demo") { totalCount } }"#;
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = tempfile::NamedTempFile::new().expect("manifest");
    std::fs::write(
        manifest.path(),
        serde_json::to_vec(&serde_json::json!({ "mine-1": MINE })).expect("json"),
    )
    .expect("write manifest");
    let path = manifest.path().to_owned();
    let app = spawn_app_configured(db, move |config| config.trusted_documents = vec![path]).await;
    app.query(MINE, Value::Null).await;
    // A trusted document's operation has a series of its own; a name the
    // client adds to it that the document does not have does not.
    let by_id = app
        .client
        .post(app.url("/graphql"))
        .json(&serde_json::json!({ "documentId": "mine-1" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(by_id.status(), 200);
    let body: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&serde_json::json!({ "documentId": "mine-1", "operationName": "Bogus" }))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    assert!(body.get("errors").is_some(), "{body}");
    for attempt in 0..3 {
        let (_, body) = app
            .post_graphql(&format!("query Random{attempt} {{ nope }}"), Value::Null)
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION_FAILED"
        );
    }
    let text = app.get("/metrics").await.text().await.expect("metrics");
    let series = |line: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{line} missing from /metrics:\n{text}"))
    };
    assert_eq!(
        series(
            r#"sessiongraph_graphql_operations_total{operation_type="query",operation_name="other",code="OK"}"#
        ),
        1.0
    );
    assert_eq!(
        series(
            r#"sessiongraph_graphql_operations_total{operation_type="query",operation_name="other",code="GRAPHQL_VALIDATION_FAILED"}"#
        ),
        3.0
    );
    assert_eq!(
        series(
            r#"sessiongraph_graphql_operations_total{operation_type="query",operation_name="Mine",code="OK"}"#
        ),
        1.0
    );
    assert!(!text.contains("Random"), "{text}");
    assert!(!text.contains("Bogus"), "{text}");
    assert!(series(r#"sessiongraph_http_responses_total{status="200"}"#) >= 1.0);
    let responses: f64 = text
        .lines()
        .filter(|l| l.starts_with("sessiongraph_http_responses_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(responses >= 4.0, "{text}");
    assert_eq!(series("sessiongraph_websockets"), 0.0);
    assert!(series("sessiongraph_database_connections_idle") >= 0.0);
    assert!(series("sessiongraph_database_connections_in_use") >= 0.0);
}

/// `/metrics` reads `name` (a whole series, labels included).
async fn series(app: &TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Every statement a request sends is counted for it, and each
/// dataloader batch's size is recorded under its loader.
async fn each_request_counts_its_statements_and_batches(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let nested = r#"{ sessions(zoneId: "zone_demo", filter: { includeNested: true }) {
        totalCount
        nodes { ... on UserSession { id user { email } children { totalCount } parent { id } } } } }"#;
    for _ in 0..2 {
        let statements = series(&app, "sessiongraph_sql_statements_total").await;
        let counted = series(&app, "sessiongraph_graphql_request_statements_sum").await;
        let requests = series(&app, "sessiongraph_graphql_request_statements_count").await;
        app.query(nested, Value::Null).await;
        let sent = series(&app, "sessiongraph_sql_statements_total").await - statements;
        assert!(sent >= 3.0, "{sent} statements");
        assert_eq!(
            series(&app, "sessiongraph_graphql_request_statements_sum").await - counted,
            sent
        );
        assert_eq!(
            series(&app, "sessiongraph_graphql_request_statements_count").await - requests,
            1.0
        );
    }
    let text = app.get("/metrics").await.text().await.expect("metrics");
    let batches: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("sessiongraph_dataloader_batch_keys_count{kind="))
        .collect();
    assert!(batches.len() >= 2, "{text}");
    // Each loader batched at least once in each of the two requests.
    assert!(
        batches.iter().all(|l| l
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<f64>().ok())
            .is_some_and(|n| n >= 2.0)),
        "{batches:?}"
    );
    assert_eq!(
        series(&app, "sessiongraph_subscription_events_delivered_total").await,
        0.0
    );
    assert!(
        text.contains("sessiongraph_subscription_resyncs_total"),
        "{text}"
    );
    assert!(
        text.contains("sessiongraph_rate_limited_requests_total 0"),
        "{text}"
    );
}

crate::on_both_databases!(
    each_request_counts_its_statements_and_batches,
    metrics_are_labelled_and_bounded,
    json_logs_carry_the_request_id,
    a_request_without_an_id_gets_one_in_answer_and_logs,
);

/// What an OTLP/HTTP receiver (a collector, Jaeger, Tempo) got: the
/// spans `POST /v1/traces` brought, decoded with the official protobuf
/// messages, and the service they came from.
#[derive(Clone, Default)]
struct Received {
    spans: Arc<Mutex<Vec<Span>>>,
    services: Arc<Mutex<Vec<String>>>,
}

impl Received {
    fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }

    /// The first span `find` accepts, waiting up to 20 s for it.
    async fn wait_for(&self, find: impl Fn(&Span) -> bool) -> Span {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans = self.spans();
            if let Some(span) = spans.iter().find(|span| find(span)) {
                return span.clone();
            }
            assert!(Instant::now() < deadline, "{:#?}", names(&spans));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A receiver on a free port; its endpoint (`http://127.0.0.1:PORT`).
async fn otlp_receiver() -> (String, Received) {
    let received = Received::default();
    let state = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                for resource in request.resource_spans {
                    if let Some(name) = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find_map(|a| {
                            (a.key == "service.name")
                                .then(|| text(a.value.as_ref()))
                                .flatten()
                        })
                    {
                        state.services.lock().expect("services").push(name);
                    }
                    for scope in resource.scope_spans {
                        state.spans.lock().expect("spans").extend(scope.spans);
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

fn text(value: Option<&AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(text) => Some(text.clone()),
        any_value::Value::IntValue(number) => Some(number.to_string()),
        any_value::Value::BoolValue(flag) => Some(flag.to_string()),
        any_value::Value::DoubleValue(number) => Some(number.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| text(a.value.as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

/// A nested query's trace, as a receiver gets it: the caller's trace
/// continued, the span tree of SPEC §8, and exactly as many statement
/// spans as `/metrics` counted, none holding a bound value.
async fn a_nested_query_is_one_trace_from_http_to_sql(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let (endpoint, received) = otlp_receiver().await;
    let server = ServerProcess::start_with_env(
        &db,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;
    let before = server.metric("sessiongraph_sql_statements_total").await;
    let response = server
        .client
        .post(server.url("/graphql"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .json(&serde_json::json!({ "query": r#"query Nested { sessions(zoneId: "zone_demo", filter: { includeNested: true }) {
            totalCount
            nodes { ... on UserSession { id user { email } children { totalCount } parent { id } } }
        } }"# }))
        .send()
        .await
        .expect("POST /graphql");
    let traceresponse = response.headers()["traceresponse"]
        .to_str()
        .expect("text")
        .to_owned();
    let body: Value = response.json().await.expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    let statements = server.metric("sessiongraph_sql_statements_total").await - before;
    assert!(statements >= 3.0, "{statements} statements");
    assert!(
        traceresponse.starts_with(&format!("00-{CALLER_TRACE}-")),
        "{traceresponse}"
    );

    // The server span ends last: once it is in, the trace is whole.
    let deadline = Instant::now() + Duration::from_secs(20);
    let trace = loop {
        let trace: Vec<Span> = received
            .spans()
            .into_iter()
            .filter(|span| hex(&span.trace_id) == CALLER_TRACE)
            .collect();
        if trace.iter().any(|span| span.name == "POST /graphql") {
            break trace;
        }
        assert!(
            Instant::now() < deadline,
            "no server span received: {trace:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let named = |name: &str| -> &Span {
        trace
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no span {name}: {:#?}", names(&trace)))
    };
    let parent_of = |span: &Span| -> Option<&Span> {
        trace
            .iter()
            .find(|other| other.span_id == span.parent_span_id)
    };

    let server_span = named("POST /graphql");
    assert_eq!(hex(&server_span.parent_span_id), CALLER_SPAN);
    assert_eq!(server_span.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(
        attribute(server_span, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        attribute(server_span, "url.path").as_deref(),
        Some("/graphql")
    );
    assert_eq!(
        attribute(server_span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(
        traceresponse.contains(&hex(&server_span.span_id)),
        "{traceresponse}"
    );

    let operation = named("GraphQL operation");
    assert_eq!(operation.parent_span_id, server_span.span_id);
    assert_eq!(
        attribute(operation, "graphql.operation.type").as_deref(),
        Some("query")
    );
    assert_eq!(
        attribute(operation, "graphql.operation.name").as_deref(),
        Some("Nested")
    );
    // A text seen for the first time is parsed and validated.
    for step in [
        "graphql.parse",
        "graphql.validate",
        "graphql.admission",
        "graphql.execute",
    ] {
        assert_eq!(named(step).parent_span_id, operation.span_id, "{step}");
    }
    let execute = named("graphql.execute");

    let batches: Vec<&Span> = trace
        .iter()
        .filter(|span| attribute(span, "dataloader.kind").is_some())
        .collect();
    assert!(
        !batches.is_empty(),
        "no dataloader span: {:#?}",
        names(&trace)
    );
    for batch in &batches {
        let keys: i64 = attribute(batch, "dataloader.keys")
            .expect("dataloader.keys")
            .parse()
            .expect("an integer");
        assert!(keys >= 1);
        assert_eq!(batch.parent_span_id, execute.span_id, "{:?}", batch.name);
    }

    let system = if db.backend.is_postgres() {
        "postgresql"
    } else {
        "sqlite"
    };
    let sql: Vec<&Span> = trace
        .iter()
        .filter(|span| attribute(span, "db.system.name").is_some())
        .collect();
    assert_eq!(sql.len() as f64, statements, "{:#?}", names(&trace));
    for statement in &sql {
        assert_eq!(
            attribute(statement, "db.system.name").as_deref(),
            Some(system)
        );
        assert!(attribute(statement, "db.operation.name").is_some_and(|op| !op.is_empty()));
        assert!(attribute(statement, "db.query.text").is_some());
        // Under the execution: directly, or in one of its batches.
        let parent = parent_of(statement).expect("a parent in the trace");
        assert!(
            parent.span_id == execute.span_id
                || batches.iter().any(|batch| batch.span_id == parent.span_id)
                || parent.span_id == operation.span_id,
            "{:?} under {:?}",
            statement.name,
            parent.name
        );
    }
    // The zone id is bound to a placeholder: never in any span.
    for span in &trace {
        for attribute in &span.attributes {
            let value = text(attribute.value.as_ref()).unwrap_or_default();
            assert!(
                !value.contains("zone_demo"),
                "{} = {value} in {}",
                attribute.key,
                span.name
            );
        }
    }
    assert!(
        received
            .services
            .lock()
            .expect("services")
            .iter()
            .all(|service| service == "sessiongraph")
    );
}

fn names(trace: &[Span]) -> Vec<(String, String, String)> {
    trace
        .iter()
        .map(|span| {
            (
                span.name.clone(),
                hex(&span.span_id),
                hex(&span.parent_span_id),
            )
        })
        .collect()
}

/// An error's code is the operation span's `error.type`, its status ERROR.
async fn a_failed_operation_is_an_error_span(db: TestDb) {
    let (endpoint, received) = otlp_receiver().await;
    let server = ServerProcess::start_with_env(
        &db,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;
    let (_, body) = server
        .post(&serde_json::json!({ "query": "query Broken { nope }" }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let operation = received
        .wait_for(|span| attribute(span, "error.type").is_some())
        .await;
    assert_eq!(
        attribute(&operation, "error.type").as_deref(),
        Some("GRAPHQL_VALIDATION_FAILED")
    );
    let status = operation.status.as_ref().expect("a status");
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
}

/// With traces on, a request's JSON log lines name the exported trace
/// and span, the ids a tracing backend finds them by.
async fn json_logs_name_the_trace(db: TestDb) {
    let (endpoint, received) = otlp_receiver().await;
    let server = ServerProcess::start_with_env(
        &db,
        &["--log-format", "json"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;
    // Exports are best effort (a batch that fails to send is dropped, as
    // the SDK does), so on a loaded machine the request is sent again
    // until one of its server spans arrives; the log line checked is the
    // one of the span that did.
    let mut server_span = None;
    for _attempt in 0..3 {
        let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
        let response = post_refused(&server, ("traceparent", &traceparent)).await;
        assert_eq!(response.status(), 415);
        let deadline = Instant::now() + Duration::from_secs(10);
        while server_span.is_none() && Instant::now() < deadline {
            server_span = received
                .spans()
                .into_iter()
                .find(|span| hex(&span.trace_id) == CALLER_TRACE && span.name == "POST /graphql");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if server_span.is_some() {
            break;
        }
    }
    let server_span = server_span.expect("no server span");
    let span_id = hex(&server_span.span_id);
    let refused = json_lines(&server)
        .into_iter()
        .find(|line| line["message"] == "request refused" && line["span_id"] == span_id.as_str())
        .expect("the refusal's line, naming the exported span");
    assert_eq!(refused["trace_id"], CALLER_TRACE, "{refused}");
    assert!(refused["requestId"].is_string(), "{refused}");
}

const SOCKET_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SOCKET_SPAN: &str = "00f067aa0ba902b7";

/// A subscription on one process continues the trace its socket names,
/// and each event it delivers links to the span of the write that sent
/// it, made by another process.
async fn an_event_links_to_its_write_across_processes(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let (endpoint, received) = otlp_receiver().await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ];
    let writer = ServerProcess::start_with_env(&db, &[], &env).await;
    let reader = ServerProcess::start_with_env(&db, &[], &env).await;
    let mut socket = graphql_ws::connect(
        &reader.address,
        serde_json::json!({ "traceparent": format!("00-{SOCKET_TRACE}-{SOCKET_SPAN}-01") }),
    )
    .await;
    graphql_ws::start(
        &mut socket,
        serde_json::json!({ "query": r#"subscription Watch { sessionEvents(zoneId: "zone_demo", filter: {kinds: [REVOKED]}) { kind sessionId } }"# }),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader.metric("sessiongraph_subscriptions").await < 1.0 {
        assert!(Instant::now() < deadline, "the subscription never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Counted as it starts; it waits on the hub once its resolver has run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let response = writer
        .client
        .post(writer.url("/graphql"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .json(&serde_json::json!({ "query": r#"mutation { updateSession(id: "ses_root01", input: {status: REVOKED}) { revokedCount } }"# }))
        .send()
        .await
        .expect("POST /graphql");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["updateSession"]["revokedCount"], 1, "{body}");
    let event = graphql_ws::message(&mut socket).await;
    assert_eq!(
        event["payload"]["data"]["sessionEvents"]["sessionId"], "ses_root01",
        "{event}"
    );
    assert_eq!(
        reader
            .metric("sessiongraph_subscription_events_delivered_total")
            .await,
        1.0
    );

    // The subscription's span ends, and is exported, when it does.
    graphql_ws::stop(&mut socket).await;

    let delivered = received
        .wait_for(|span| span.name == "session event delivered")
        .await;
    assert_eq!(hex(&delivered.trace_id), SOCKET_TRACE);
    assert_eq!(
        attribute(&delivered, "session.event.kind").as_deref(),
        Some("REVOKED")
    );
    let subscription = received
        .wait_for(|span| span.span_id == delivered.parent_span_id)
        .await;
    assert_eq!(subscription.name, "GraphQL operation");
    assert_eq!(hex(&subscription.parent_span_id), SOCKET_SPAN);
    assert_eq!(
        attribute(&subscription, "graphql.operation.type").as_deref(),
        Some("subscription")
    );
    // Linked to the writer's execution of the mutation, in its own trace.
    let link = delivered.links.first().expect("a link to the write");
    assert_eq!(hex(&link.trace_id), CALLER_TRACE);
    let write = received.wait_for(|span| span.span_id == link.span_id).await;
    assert_eq!(write.name, "graphql.execute");
    assert_eq!(hex(&write.trace_id), CALLER_TRACE);
}

crate::on_both_databases!(
    json_logs_name_the_trace,
    a_nested_query_is_one_trace_from_http_to_sql,
    a_failed_operation_is_an_error_span,
    an_event_links_to_its_write_across_processes,
);
