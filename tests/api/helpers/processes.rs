//! What only several processes show: real `sessiongraph serve` processes
//! over one test database, and Redis servers, the shared one (isolated by
//! a key prefix) or one of a test's own that the test may stop.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncBufReadExt;

use super::{TestDb, unique_suffix};

/// A `sessiongraph serve` process on a free port; killed when dropped.
pub struct ServerProcess {
    pub address: String,
    pub client: reqwest::Client,
    child: tokio::process::Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `sessiongraph serve` over `db` with `args`, and returns once
    /// it is ready (the database migrated).
    pub async fn start(db: &TestDb, args: &[&str]) -> ServerProcess {
        Self::start_with_env(db, args, &[]).await
    }

    /// [`ServerProcess::start`] with more environment variables.
    pub async fn start_with_env(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sessiongraph"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .env("DATABASE_URL", &db.url)
            .env("SESSIONGRAPH_NOTIFY_DATABASE_URL", &db.direct_url)
            .env("RUST_LOG", "info,sqlx=warn,sea_orm_migration=warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sessiongraph");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        // Read to the end, so the process never blocks on a full pipe.
        let lines_log = log.clone();
        tokio::spawn(async move {
            let mut address_tx = Some(address_tx);
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(address) = serving_address(&line)
                    && let Some(tx) = address_tx.take()
                {
                    let _ = tx.send(address);
                }
                lines_log.lock().expect("log").push(line);
            }
        });
        let address = tokio::time::timeout(Duration::from_secs(30), address_rx)
            .await
            .expect("the server did not start within 30 s")
            .unwrap_or_else(|_| {
                panic!(
                    "the server exited before serving:\n{}",
                    log.lock().expect("log").join("\n")
                )
            });
        let server = ServerProcess {
            address,
            client: reqwest::Client::new(),
            child,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.get("/readyz").await.status() != 200 {
            assert!(Instant::now() < deadline, "not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// POSTs `body` to `/graphql`; returns the status and the JSON body.
    pub async fn post(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(body)
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON body");
        (status, body)
    }

    /// The value of an unlabelled counter or gauge in `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.expect("metrics");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
    }

    /// The process id, to signal it; `None` once it has exited.
    #[allow(dead_code)] // for tests that signal the server
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Every log line written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// The log lines written so far that contain `text`.
    pub fn logged(&self, text: &str) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|line| line.contains(text))
            .count()
    }
}

/// The address in the "serving" line, in either log format.
fn serving_address(line: &str) -> Option<String> {
    if let Some((_, address)) = line.split_once("serving address=") {
        return Some(address.trim().to_owned());
    }
    let line: Value = serde_json::from_str(line).ok()?;
    (line["message"] == "serving").then(|| line["address"].as_str().map(str::to_owned))?
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::env::var_os("TEST_LOG").is_some() {
            eprintln!(
                "--- log of the server at {} ---\n{}",
                self.address,
                self.log
                    .lock()
                    .map(|log| log.join("\n"))
                    .unwrap_or_default()
            );
        }
    }
}

/// A key prefix of this test's own on the shared Redis (`TEST_REDIS_URL`,
/// by default the local one); its keys are deleted when dropped.
pub struct RedisNamespace {
    pub url: String,
    pub prefix: String,
}

impl RedisNamespace {
    pub fn new() -> RedisNamespace {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let answers = redis::Client::open(url.as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
        if let Err(error) = answers {
            panic!("no Redis answers at {url} ({error}): start one, or set TEST_REDIS_URL");
        }
        RedisNamespace {
            url,
            prefix: format!("sgtest:{}:", unique_suffix()),
        }
    }
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        let deleted = redis::Client::open(self.url.as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut connection| {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{}*", self.prefix))
                    .query(&mut connection)?;
                if !keys.is_empty() {
                    redis::cmd("DEL").arg(keys).query::<()>(&mut connection)?;
                }
                Ok(())
            });
        if let Err(error) = deleted {
            eprintln!("could not delete the test's Redis keys: {error}");
        }
    }
}

/// A `redis-server` of the test's own on a free port, without persistence;
/// killed when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub async fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer { port, child: None };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a stopped process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops (`true`) or resumes the server without closing its sockets:
    /// a hung Redis, which accepts connections and never answers.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("redis-server running").id();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Starts the server (again) on its port; returns once it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run redis-server (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answers = redis::Client::open(self.url().as_str())
                .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
            if answers.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {} within 10 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
