//! A real PgBouncer in transaction pooling mode in front of the test
//! PostgreSQL server: one per test binary, started on first use on a free
//! port, with its own ini and auth file, and stopped when the binary exits.
//!
//! Its `[databases]` entry is a wildcard, so every fresh test database
//! created directly on PostgreSQL is reachable through it by name. No
//! `ignore_startup_parameters` is set: the gateway must get in as a stock
//! configuration lets it.

use std::process::Stdio;
use std::sync::OnceLock;

/// A pooler, reachable at `127.0.0.1:port`.
pub struct PgBouncer {
    pub port: u16,
    command: String,
    log: std::path::PathBuf,
    process: std::sync::Mutex<Option<std::process::Child>>,
    /// Holds the ini, the auth file and the log.
    _dir: tempfile::TempDir,
}

/// The test binary's shared pooler, started on first use and ended when
/// the binary's process is gone. Without `pgbouncer` on the PATH the runs
/// through it are skipped, except under CI, which installs it.
pub fn pgbouncer() -> Option<&'static PgBouncer> {
    static POOLER: OnceLock<Option<PgBouncer>> = OnceLock::new();
    POOLER
        .get_or_init(|| {
            let pooler = PgBouncer::start()?;
            pooler.end_with_this_process();
            Some(pooler)
        })
        .as_ref()
}

impl PgBouncer {
    /// A pooler of the test's own (stopped when dropped), for tests that
    /// stop or restart it; `None` where it cannot run.
    pub fn start() -> Option<PgBouncer> {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
        let Some(binary) = find_on_path("pgbouncer") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "pgbouncer is not installed (apt-get install pgbouncer); CI runs the tests through it"
            );
            eprintln!("pgbouncer is not installed: skipping the runs through it");
            return None;
        };
        let (host, port) = server_address(&admin_url);
        let listen_port = free_port();
        let dir = tempfile::tempdir().expect("pgbouncer dir");
        let ini = dir.path().join("pgbouncer.ini");
        let users = dir.path().join("users.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").expect("write auth file");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host={host} port={port}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {listen_port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 admin_users = postgres\n\
                 pool_mode = transaction\n\
                 max_client_conn = 2000\n\
                 default_pool_size = 8\n\
                 server_idle_timeout = 5\n\
                 server_login_retry = 1\n",
                users = users.display(),
            ),
        )
        .expect("write pgbouncer.ini");
        // PgBouncer refuses to run as root; as root, it is told to become
        // the PostgreSQL server's user, who must be able to read the files.
        let mut dir_mode = std::fs::metadata(dir.path()).expect("dir").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut dir_mode, 0o755);
        std::fs::set_permissions(dir.path(), dir_mode).expect("chmod pgbouncer dir");
        let as_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
        let user_flag = if as_root { "-u postgres" } else { "" };
        let log = dir.path().join("pgbouncer.log");
        let pooler = PgBouncer {
            port: listen_port,
            command: format!(
                "exec {binary} {user_flag} {ini} 2>>{log}",
                binary = binary.display(),
                ini = ini.display(),
                log = log.display(),
            ),
            log,
            process: std::sync::Mutex::new(None),
            _dir: dir,
        };
        pooler.resume_serving();
        Some(pooler)
    }

    /// The URL of database `name` through the pooler.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs a command on the pooler's admin console (`KILL db`, `RESUME db`,
    /// `RECONNECT db`, `PAUSE db`), which speaks only the simple protocol.
    pub async fn admin(&self, command: &str) {
        let output = tokio::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "pgbouncer", "-Atqc", command])
            .output()
            .await
            .expect("run psql");
        assert!(
            output.status.success(),
            "pgbouncer {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Stops the pooler process: every client connection drops.
    pub fn stop(&self) {
        let mut process = self.process.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = process.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts the pooler process (again, on the same port) and waits until
    /// it accepts connections.
    pub fn resume_serving(&self) {
        let mut process = self.process.lock().unwrap_or_else(|e| e.into_inner());
        if process.is_some() {
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let child = std::process::Command::new("sh")
            .args(["-c", &self.command])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        *process = Some(child);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "pgbouncer did not listen on {}: {}",
                self.port,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// A watcher ends the pooler once this process is gone, however it
    /// ends: statics are never dropped.
    fn end_with_this_process(&self) {
        let process = self.process.lock().unwrap_or_else(|e| e.into_inner());
        let Some(child) = process.as_ref() else {
            return;
        };
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill {pooler} 2>/dev/null",
            parent = std::process::id(),
            pooler = child.id(),
        );
        let mut watcher = std::process::Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer's watcher");
        std::thread::spawn(move || watcher.wait());
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Host and port of a `postgres://` URL (`127.0.0.1:5432` when absent).
pub fn server_address(url: &str) -> (String, u16) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap_or(5432)),
        None if host_port.is_empty() => ("127.0.0.1".to_owned(), 5432),
        None => (host_port.to_owned(), 5432),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}
