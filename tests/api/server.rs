//! The HTTP edge as a client meets it: a real server on a random port.

use sessiongraph::server::{Application, ServerConfig};

use crate::helpers::*;

async fn health_and_readiness(db: TestDb) {
    let app = spawn_app(db).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    // A database the user named is never filled with demo data.
    assert!(
        sessiongraph::store::db::is_empty(&app.db.connect().await)
            .await
            .expect("is_empty")
    );
}

async fn demo_data_loads_only_into_an_empty_database(db: TestDb) {
    let build = || {
        Application::build(ServerConfig {
            load_demo_data: true,
            ..test_config(&db)
        })
    };
    let app = build().await.expect("build server");
    app.database().ready().await.expect("database ready");
    drop(app);
    let first = snapshot(&db.connect().await).await;
    assert!(!first.sessions.is_empty(), "demo data was not loaded");
    let app = build().await.expect("build server again");
    app.database().ready().await.expect("database ready");
    drop(app);
    assert_eq!(snapshot(&db.connect().await).await, first);
}

async fn metrics_count_requests_and_statements(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    app.query(
        r#"{ sessions(zoneId: "zone_demo") { nodes { __typename } } }"#,
        serde_json::json!({}),
    )
    .await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("metrics body");
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    };
    assert_eq!(value("sessiongraph_graphql_requests_total"), 1.0);
    assert!(value("sessiongraph_sql_statements_total") >= 1.0);
    assert_eq!(value("sessiongraph_graphql_failures_total"), 0.0);
    assert!(text.contains("sessiongraph_graphql_duration_seconds_bucket"));
}

async fn requests_beyond_the_concurrency_limit_wait_their_turn(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let app = spawn_app_configured(db, |config| config.max_concurrent_requests = 1).await;
    let client = &app.client;
    let address = app.address;
    let requests = (0..8).map(|_| {
        client
            .post(format!("http://{address}/graphql"))
            .json(&serde_json::json!({
                "query": r#"{ sessions(zoneId: "zone_demo") { totalCount nodes { __typename } } }"#
            }))
            .send()
    });
    for response in futures_util::future::join_all(requests).await {
        let body: serde_json::Value = response.expect("response").json().await.expect("JSON");
        assert_eq!(body["data"]["sessions"]["totalCount"], 3, "{body}");
    }
}

/// The real binary: SIGTERM stops it accepting, and it exits 0.
async fn sigterm_stops_the_server_cleanly(db: TestDb) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sessiongraph"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--shutdown-timeout",
            "5",
        ])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sessiongraph");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let address = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stderr") {
            if let Some((_, address)) = line.split_once("serving address=") {
                return address.trim().to_owned();
            }
        }
        panic!("the server exited before serving");
    })
    .await
    .expect("the server did not start within 30 s");
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);

    let pid = child.id().expect("pid").to_string();
    let kill = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(kill.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("the server did not exit within 10 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "exit status {status}");
    assert!(
        client
            .get(format!("http://{address}/healthz"))
            .send()
            .await
            .is_err(),
        "still accepting after shutdown"
    );
}

crate::on_both_databases!(
    sigterm_stops_the_server_cleanly,
    requests_beyond_the_concurrency_limit_wait_their_turn,
    health_and_readiness,
    demo_data_loads_only_into_an_empty_database,
    metrics_count_requests_and_statements,
);
