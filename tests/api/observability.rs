//! What an operator sees of a running server: its log lines as a log
//! collector reads them.

use std::time::{Duration, Instant};

use serde_json::Value;

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

async fn json_logs_carry_the_request_id(db: TestDb) {
    let server = ServerProcess::start(&db, &["--log-format", "json"]).await;
    let response = server
        .client
        .post(server.url("/graphql"))
        .header("x-request-id", "json-logs-1")
        // Refused (and so logged at info): not JSON.
        .header("content-type", "text/plain")
        .body("{ sessions }")
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.headers()["x-request-id"], "json-logs-1");
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let lines = json_lines(&server);
        if let Some(line) = lines
            .iter()
            .find(|line| line["message"] == "request refused")
        {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "no refusal logged: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
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
    let response = server
        .client
        .post(server.url("/graphql"))
        .header("x-request-id", "not a token, spaces")
        .header("content-type", "text/plain")
        .body("{ sessions }")
        .send()
        .await
        .expect("POST /graphql");
    let id = response.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(id.len(), 16, "{id}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !json_lines(&server)
        .iter()
        .any(|line| line["message"] == "request refused" && line["requestId"] == id.as_str())
    {
        assert!(Instant::now() < deadline, "{:#?}", server.log_lines());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

crate::on_both_databases!(
    json_logs_carry_the_request_id,
    a_request_without_an_id_gets_one_in_answer_and_logs,
);
