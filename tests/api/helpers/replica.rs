//! A real PostgreSQL streaming replica of the test server, for one test:
//! `pg_basebackup -R` (with a replication slot of its own, so the primary
//! keeps the WAL it still needs) into a temporary directory, started with
//! `pg_ctl` on a free port as the `postgres` user; stopped, its slot
//! dropped and its directory removed when dropped.
//!
//! The primary must accept replication connections from 127.0.0.1
//! (`.ci/run` adds the `pg_hba.conf` line when missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;

use super::pgbouncer::free_port;

pub struct Replica {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    slot: String,
    admin_url: String,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// A replica caught up with the primary, or `None` where it cannot be
    /// made (no `TEST_DATABASE_URL`; outside CI, no replication access).
    pub async fn start() -> Option<Replica> {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
        let bin = server_bin_dir()?;
        let (host, port) = super::pgbouncer::server_address(&admin_url);
        let dir = tempfile::tempdir().expect("replica dir");
        let data = dir.path().join("data");
        chown_postgres(dir.path());
        let slot = format!("sgtest_{}", super::unique_suffix());
        let mut attempts = 0;
        let backup = loop {
            attempts += 1;
            let backup = base_backup(&bin, &host, port, &data, &slot);
            if backup.status.success() || attempts == 3 {
                break backup;
            }
            // A checkpoint that runs while the slot is being made can
            // invalidate it at once (PostgreSQL 15 logs that it "exceeds
            // max_slot_wal_keep_size" even when unlimited); start over.
            drop_slot(&admin_url, &slot);
            let _ = std::fs::remove_dir_all(&data);
        };
        if !backup.status.success() {
            let why = String::from_utf8_lossy(&backup.stderr).into_owned();
            assert!(
                std::env::var_os("CI").is_none(),
                "pg_basebackup failed (is replication allowed in pg_hba.conf?): {why}"
            );
            eprintln!("cannot make a replica here, skipping: {why}");
            return None;
        }
        // Debian keeps the configuration outside the data directory; the
        // copy gets its own.
        for (file, text) in [
            ("postgresql.conf", ""),
            (
                "pg_hba.conf",
                "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            ),
            ("pg_ident.conf", ""),
        ] {
            std::fs::write(data.join(file), text).expect("write replica config");
        }
        chown_postgres(&data);
        let replica = Replica {
            port: free_port(),
            bin,
            data,
            slot,
            admin_url,
            _dir: dir,
        };
        replica.resume_serving().await;
        Some(replica)
    }

    /// The URL of database `name` on the replica.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Starts the replica (again) and waits until it answers.
    pub async fn resume_serving(&self) {
        self.resume_serving_with("").await;
    }

    /// Starts the replica (again) with more server options (`-c name=value`)
    /// and waits until it answers.
    pub async fn resume_serving_with(&self, more_options: &str) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c hot_standby=on {more_options}",
            self.port,
            path(self.data.parent().unwrap_or(&self.data)),
        );
        let log = self.data.parent().unwrap_or(&self.data).join("replica.log");
        let started = as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                path(&self.data),
                "-l",
                path(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(true) = self.ask_bool("SELECT pg_is_in_recovery()").await {
                return;
            }
            assert!(Instant::now() < deadline, "the replica never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the replica at once, as a crash would.
    pub fn stop(&self) {
        as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", path(&self.data), "-m", "immediate", "stop"],
        );
    }

    /// Whether `question` (a boolean query on database `name`) holds on the replica.
    pub async fn holds_in(&self, name: &str, question: &str) -> bool {
        let Ok(db) = sea_orm::Database::connect(self.url(name).as_str()).await else {
            return false;
        };
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                question,
            ))
            .await;
        db.close().await.ok();
        matches!(row, Ok(Some(row)) if row.try_get_by_index::<bool>(0) == Ok(true))
    }

    pub async fn pause_replay(&self) {
        self.run("SELECT pg_wal_replay_pause()").await;
    }

    pub async fn resume_replay(&self) {
        self.run("SELECT pg_wal_replay_resume()").await;
    }

    /// Waits until the replica has replayed everything the primary has
    /// written so far.
    pub async fn catch_up(&self) {
        let primary = sea_orm::Database::connect(self.admin_url.as_str())
            .await
            .expect("connect to the primary");
        let row = primary
            .query_one_raw(sea_orm::Statement::from_string(
                primary.get_database_backend(),
                "SELECT pg_current_wal_lsn()::text",
            ))
            .await
            .expect("primary position")
            .expect("a row");
        let target: String = row.try_get_by_index(0).expect("lsn");
        primary.close().await.ok();
        let deadline = Instant::now() + Duration::from_secs(30);
        let question = format!("SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn");
        while self.ask_bool(&question).await != Ok(true) {
            assert!(Instant::now() < deadline, "the replica never caught up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn connect(&self) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
        sea_orm::Database::connect(self.url("postgres").as_str()).await
    }

    async fn ask_bool(&self, question: &str) -> Result<bool, sea_orm::DbErr> {
        let db = self.connect().await?;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                question,
            ))
            .await?;
        db.close().await.ok();
        Ok(row
            .and_then(|row| row.try_get_by_index::<bool>(0).ok())
            .unwrap_or(false))
    }

    async fn run(&self, statement: &str) {
        let db = self.connect().await.expect("connect to the replica");
        db.execute_unprepared(statement).await.expect(statement);
        db.close().await.ok();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop();
        // The primary's sender lets go of the slot a moment after the
        // replica stops; until then the slot is active and stays.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if drop_slot(&self.admin_url, &self.slot) {
                break;
            }
            if Instant::now() > deadline {
                eprintln!("could not drop replication slot {}", self.slot);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One base backup at a time in this test binary: each asks for a fast
/// checkpoint, and a checkpoint running while another backup's slot is
/// made can invalidate that slot.
static BASE_BACKUPS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn base_backup(bin: &Path, host: &str, port: u16, data: &Path, slot: &str) -> Output {
    let _one_at_a_time = BASE_BACKUPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    as_postgres(
        &bin.join("pg_basebackup"),
        &[
            "-h",
            host,
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-D",
            path(data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-C",
            "-S",
            slot,
        ],
    )
}

fn drop_slot(admin_url: &str, slot: &str) -> bool {
    let drop_slot = format!(
        "SELECT pg_drop_replication_slot('{slot}') FROM pg_replication_slots WHERE slot_name = '{slot}'"
    );
    Command::new("psql")
        .args([admin_url, "-Atqc", &drop_slot])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The server binaries of the installed PostgreSQL (Debian keeps them off
/// the PATH), newest version first.
fn server_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").is_file())
        .collect();
    found.sort_by_key(|bin| {
        bin.parent()
            .and_then(|version| version.file_name())
            .and_then(|version| version.to_str())
            .and_then(|version| version.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// Runs a PostgreSQL server binary as `postgres` (it refuses root).
fn as_postgres(binary: &Path, args: &[&str]) -> Output {
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .args(args)
        .output()
        .expect("run a PostgreSQL binary")
}

fn chown_postgres(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres", path(dir)])
            .status()
            .expect("chown");
        assert!(status.success(), "chown {}", dir.display());
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
