//! A probe for bad input: a real server (in this process, or the binary in
//! a process of its own so a crash fails one test only), a client that
//! gives up after [`REQUEST_TIMEOUT`] so a hang fails instead of hanging,
//! answers checked for their shape and codes, and [`Cases`], which runs
//! every case of a test and then fails once, listing each failed case.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

/// How long any one request may take before the test calls it a hang.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

pub const MODERN: &str = "application/graphql-response+json";
pub const LEGACY: &str = "application/json";

/// The error codes of SPEC §2.
pub const SPEC_CODES: [&str; 10] = [
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "QUERY_TOO_COMPLEX",
    "PERSISTED_QUERY_NOT_FOUND",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR",
];

/// A real server over the example data, and a client that gives up after
/// [`REQUEST_TIMEOUT`].
pub struct Probe {
    base: String,
    pub http: reqwest::Client,
    _server: Server,
}

enum Server {
    /// `None` only while a crashed process is replaced.
    InProcess(#[allow(dead_code)] Option<TestApp>),
    Process(#[allow(dead_code)] ServerProcess),
}

/// One answer: its status and its body (JSON, served as JSON).
#[derive(Debug)]
pub struct Answer {
    pub what: String,
    pub status: u16,
    pub text: String,
    pub body: Value,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client")
}

impl Probe {
    /// A server in this process (the other tests' kind).
    pub async fn start(db: TestDb) -> Probe {
        let app = spawn_app_with(db, &example_document()).await;
        let probe = Probe {
            base: app.url(""),
            http: client(),
            _server: Server::InProcess(Some(app)),
        };
        probe.wait_until_ready().await;
        probe
    }

    /// The real binary in a process of its own, for input that may crash
    /// it: a crash then fails the test instead of aborting every test.
    pub async fn start_process(db: TestDb) -> Probe {
        let server = ServerProcess::start(db).await;
        Probe {
            base: format!("http://{}", server.address),
            http: client(),
            _server: Server::Process(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits for `/readyz` (the server migrates in the background).
    pub async fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ready = self
                .http
                .get(self.url("/readyz"))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// When the server's process no longer answers (it crashed): why,
    /// after starting it again over the same database. `None` while it
    /// answers `/healthz`.
    pub async fn revive(&mut self) -> Option<String> {
        let alive = self
            .http
            .get(self.url("/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let Server::Process(server) = &mut self._server else {
            return None;
        };
        if alive {
            return None;
        }
        // A crashing process may take a moment to be gone.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let exit = loop {
            match server.running() {
                Err(exit) => break exit,
                Ok(()) if std::time::Instant::now() > deadline => {
                    break "the server process stopped answering /healthz".to_owned();
                }
                Ok(()) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let db = server.db.take().expect("the server's database");
        self._server = Server::InProcess(None);
        let fresh = ServerProcess::serve(db).await;
        self.base = format!("http://{}", fresh.address);
        self._server = Server::Process(fresh);
        Some(exit)
    }

    pub fn post(&self) -> reqwest::RequestBuilder {
        self.http.post(self.url("/graphql"))
    }

    pub fn get(&self) -> reqwest::RequestBuilder {
        self.http.get(self.url("/graphql"))
    }

    /// Sends `request`; fails the test on a hang, a status 500 or a body
    /// that is not JSON.
    pub async fn send(&self, what: impl Into<String>, request: reqwest::RequestBuilder) -> Answer {
        let what = what.into();
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer within {REQUEST_TIMEOUT:?}: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{what}: status {status}, body not read in time: {e}"));
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{what}: status {status}, the body is not JSON ({e}): {}",
                clip(&text)
            )
        });
        assert_ne!(status, 500, "{what}: status 500: {}", clip(&text));
        assert!(
            content_type.starts_with(MODERN) || content_type.starts_with(LEGACY),
            "{what}: status {status} with content-type {content_type:?}: {}",
            clip(&text)
        );
        let answer = Answer {
            what,
            status,
            text,
            body,
        };
        answer.assert_well_formed();
        answer
    }

    /// POSTs `body` as JSON, accepting the graphql-response media type.
    pub async fn post_json(&self, what: impl Into<String>, body: &Value) -> Answer {
        self.send(
            what,
            self.post()
                .header("accept", MODERN)
                .header("content-type", LEGACY)
                .body(body.to_string()),
        )
        .await
    }

    /// POSTs raw bytes as `application/json`, accepting the graphql-response media type.
    pub async fn post_raw(&self, what: impl Into<String>, body: impl Into<Vec<u8>>) -> Answer {
        self.send(
            what,
            self.post()
                .header("accept", MODERN)
                .header("content-type", LEGACY)
                .body(body.into()),
        )
        .await
    }

    pub async fn query(&self, query: &str, variables: Value) -> Answer {
        self.post_json(
            format!("query {}", clip(query)),
            &json!({ "query": query, "variables": variables }),
        )
        .await
    }

    /// `/healthz` still answers.
    pub async fn assert_alive(&self) {
        let response = self
            .http
            .get(self.url("/healthz"))
            .send()
            .await
            .expect("GET /healthz after the bad input");
        assert_eq!(response.status(), 200, "/healthz after the bad input");
    }
}

impl Answer {
    pub fn errors(&self) -> &[Value] {
        self.body["errors"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }

    /// A GraphQL response: `data` and/or a list of errors, each with a
    /// message and a code from SPEC §2; for a batch, an array of them.
    pub fn assert_well_formed(&self) {
        match &self.body {
            Value::Array(entries) => {
                assert!(!entries.is_empty(), "{}: an empty batch answer", self.what);
                for entry in entries {
                    self.assert_response(entry);
                }
            }
            body => self.assert_response(body),
        }
    }

    fn assert_response(&self, body: &Value) {
        let what = &self.what;
        let Some(object) = body.as_object() else {
            panic!(
                "{what}: the body is not a JSON object: {}",
                clip(&self.text)
            );
        };
        assert!(
            object.contains_key("data") || object.contains_key("errors"),
            "{what}: neither data nor errors: {}",
            clip(&self.text)
        );
        if let Some(errors) = object.get("errors") {
            let errors = errors
                .as_array()
                .unwrap_or_else(|| panic!("{what}: errors is not a list: {}", clip(&self.text)));
            assert!(!errors.is_empty(), "{what}: an empty errors list");
            for error in errors {
                assert!(
                    error["message"].is_string(),
                    "{what}: an error without a message: {error}"
                );
                let code = error["extensions"]["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{what}: an error without extensions.code: {error}"));
                assert!(
                    SPEC_CODES.contains(&code),
                    "{what}: code {code} is not in SPEC §2: {error}"
                );
            }
        }
    }

    /// Neither a 5xx nor an internal or unavailability error: the server
    /// answered the input itself, with data or a code the client can act on.
    pub fn assert_clear(&self) -> &Self {
        let what = &self.what;
        assert!(
            self.status < 500,
            "{what}: status {}: {}",
            self.status,
            clip(&self.text)
        );
        for error in self.errors() {
            let code = error["extensions"]["code"].as_str().unwrap_or("");
            assert!(
                code != "INTERNAL_SERVER_ERROR" && code != "SERVICE_UNAVAILABLE",
                "{what}: status {}, {code}: {}",
                self.status,
                clip(&self.text)
            );
        }
        self
    }

    /// An error answer with `status`, one of `codes` first, and a message
    /// naming each of `needles` (case-insensitively). Returns the message.
    pub fn expect_error(&self, status: u16, codes: &[&str], needles: &[&str]) -> String {
        let what = &self.what;
        assert_eq!(self.status, status, "{what}: {}", clip(&self.text));
        assert!(
            codes.contains(&self.code()),
            "{what}: code {:?}, wanted one of {codes:?}: {}",
            self.code(),
            clip(&self.text)
        );
        let message = self.message().to_owned();
        assert!(!message.trim().is_empty(), "{what}: an empty message");
        let lower = message.to_lowercase();
        for needle in needles {
            assert!(
                lower.contains(&needle.to_lowercase()),
                "{what}: the message does not name {needle:?}: {message}"
            );
        }
        assert!(
            self.body["errors"][0]["extensions"]["requestId"].is_string(),
            "{what}: no requestId: {}",
            clip(&self.text)
        );
        message
    }

    /// Refused as the client's mistake: a validation failure (status 400)
    /// or a field's bad input (status 200).
    pub fn expect_refused(&self) -> String {
        self.assert_clear();
        match self.code() {
            "GRAPHQL_VALIDATION_FAILED" => {
                self.expect_error(400, &["GRAPHQL_VALIDATION_FAILED"], &[])
            }
            _ => self.expect_error(200, &["BAD_USER_INPUT"], &[]),
        }
    }

    /// A successful answer; returns its `data`.
    pub fn expect_data(&self) -> &Value {
        let what = &self.what;
        assert_eq!(self.status, 200, "{what}: {}", clip(&self.text));
        assert!(
            self.body.get("errors").is_none(),
            "{what}: errors: {}",
            clip(&self.text)
        );
        &self.body["data"]
    }
}

/// The start of a long text, for failure messages.
pub fn clip(text: &str) -> String {
    const MAX: usize = 600;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// A GraphQL string literal of `text` (JSON's escapes are GraphQL's).
pub fn literal(text: &str) -> String {
    serde_json::to_string(text).expect("string literal")
}

/// The numbers a message mentions.
pub fn numbers_in(message: &str) -> Vec<u64> {
    message
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|digits| digits.parse().ok())
        .collect()
}

/// Runs every case of a test to its end, and fails the test once, listing
/// each case that failed (a failing case no longer hides the ones after it).
#[derive(Default)]
pub struct Cases {
    run: usize,
    failures: Vec<String>,
}

impl Cases {
    pub async fn check(&mut self, what: impl std::fmt::Display, case: impl Future<Output = ()>) {
        self.run += 1;
        if let Err(panic) = (CatchUnwind(Box::pin(case))).await {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic".to_owned());
            self.failures.push(format!("{what}: {message}"));
        }
    }

    pub fn fail(&mut self, what: impl std::fmt::Display, why: impl std::fmt::Display) {
        self.failures.push(format!("{what}: {why}"));
    }

    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} cases failed:\n- {}",
            self.failures.len(),
            self.run,
            self.failures.join("\n- ")
        );
    }
}

/// A future's panic as an `Err` (what `FutureExt::catch_unwind` does).
struct CatchUnwind<F>(std::pin::Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Ok(output)),
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    }
}

/// `sessiongraph serve` in a process of its own over a test database with
/// the example data, killed when dropped.
pub struct ServerProcess {
    pub address: std::net::SocketAddr,
    child: std::process::Child,
    log: tempfile::NamedTempFile,
    db: Option<TestDb>,
}

impl ServerProcess {
    pub async fn start(db: TestDb) -> ServerProcess {
        let output = import_json(&db, &example_document()).await;
        assert!(
            output.status.success(),
            "fixture import failed: {}",
            stderr(&output)
        );
        Self::serve(db).await
    }

    /// Serves `db` as it is.
    pub async fn serve(db: TestDb) -> ServerProcess {
        Self::serve_with(db, &[], &[]).await
    }

    /// Serves `db` as it is, with more flags and environment variables.
    pub async fn serve_with(db: TestDb, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_sessiongraph"))
            .args(["serve", "--listen", &address.to_string()])
            .args(args)
            .envs(env.iter().copied())
            .env("DATABASE_URL", &db.url)
            .env("RUST_LOG", log_filter())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log.reopen().expect("log file"))
            .spawn()
            .expect("spawn sessiongraph serve");
        let mut server = ServerProcess {
            address,
            child,
            log,
            db: Some(db),
        };
        let http = client();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Err(exit) = server.running() {
                panic!("the server did not start: {exit}");
            }
            let ready = http
                .get(format!("http://{address}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return server;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `Err` with the exit status and the end of the log once the process
    /// has exited.
    pub fn running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join(" | ");
                Err(format!("the server process exited ({status}): {tail}"))
            }
            Err(error) => Err(format!("the server process: {error}")),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("TEST_LOG").is_some() {
            let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            eprintln!("--- log of the server at {} ---\n{log}", self.address);
        }
    }
}
