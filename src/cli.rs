//! Command-line interface: flags with environment fallbacks, one subcommand per task.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sea_orm::DatabaseConnection;

use crate::db;
use crate::import::{self, ImportFailure};
use crate::seed::{self, SeedOptions};
use crate::server::{Application, ServerConfig};

#[derive(Debug, Parser)]
#[command(
    name = "sessiongraph",
    version,
    about = "A GraphQL gateway over session data"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    /// Defaults to the embedded `sqlite://sessiongraph.db?mode=rwc`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "SESSIONGRAPH_LISTEN",
        global = true,
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,

    /// GraphQL requests executed at once; more wait their turn. Defaults to
    /// four per CPU core. Each request in flight holds its rows and response
    /// tree, and past a few per core they only contend for the CPU and the
    /// database pool.
    #[arg(
        long,
        env = "SESSIONGRAPH_MAX_CONCURRENT_REQUESTS",
        global = true,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_concurrent_requests: Option<u32>,

    /// Database connections the server's pool opens at most. With several
    /// gateway processes on one PostgreSQL, their pools together must stay
    /// under its `max_connections`.
    #[arg(
        long,
        env = "SESSIONGRAPH_DATABASE_MAX_CONNECTIONS",
        global = true,
        default_value_t = db::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub database_max_connections: u32,

    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests in flight
    /// before the process exits anyway.
    #[arg(
        long,
        env = "SESSIONGRAPH_SHUTDOWN_TIMEOUT",
        global = true,
        default_value_t = 30
    )]
    pub shutdown_timeout: u64,
}

impl GlobalOptions {
    fn database_url(&self) -> &str {
        self.database_url
            .as_deref()
            .unwrap_or(db::DEFAULT_DATABASE_URL)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve HTTP (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Load a dataset document (DATASET.md), all or nothing; `-` reads stdin.
    Import {
        /// The JSON document, or `-` for standard input.
        file: String,
    },
    /// Write a deterministic synthetic dataset into the database, or to a file.
    Seed(SeedArgs),
    /// Print the GraphQL schema (SDL); `schema.graphql` at the repository root equals it.
    Schema,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Random seed: the same seed and counts give the same dataset.
    #[arg(long, default_value_t = SeedOptions::default().seed)]
    pub seed: u64,
    /// Number of zones the records are spread over.
    #[arg(long, default_value_t = SeedOptions::default().zones)]
    pub zones: usize,
    #[arg(long, default_value_t = SeedOptions::default().users)]
    pub users: usize,
    #[arg(long, default_value_t = SeedOptions::default().applications)]
    pub applications: usize,
    #[arg(long, default_value_t = SeedOptions::default().user_agents)]
    pub user_agents: usize,
    #[arg(long, default_value_t = SeedOptions::default().sessions)]
    pub sessions: usize,
    /// Write the dataset as a DATASET.md document to this file (`-` for
    /// stdout) instead of into the database.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl SeedArgs {
    fn options(&self) -> SeedOptions {
        SeedOptions {
            seed: self.seed,
            zones: self.zones,
            users: self.users,
            applications: self.applications,
            user_agents: self.user_agents,
            sessions: self.sessions,
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.global).await,
        Command::Migrate => migrate(&cli.global).await,
        Command::Import { file } => return import(&cli.global, &file).await,
        Command::Seed(args) => return seed(&cli.global, &args).await,
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect_and_migrate(global: &GlobalOptions) -> anyhow::Result<DatabaseConnection> {
    let url = global.database_url();
    let db = db::connect(url)
        .await
        .with_context(|| format!("connecting to {}", db::redacted(url)))?;
    db::migrate(&db).await.context("migrating the database")?;
    Ok(db)
}

async fn serve(global: &GlobalOptions) -> anyhow::Result<()> {
    let config = ServerConfig {
        database_url: global.database_url().to_owned(),
        load_demo_data: global.database_url.is_none(),
        listen: global.listen,
        max_concurrent_requests: global
            .max_concurrent_requests
            .map(|n| n as usize)
            .unwrap_or_else(|| {
                4 * std::thread::available_parallelism().map_or(1, |cores| cores.get())
            }),
        database_max_connections: global.database_max_connections,
        shutdown_timeout: std::time::Duration::from_secs(global.shutdown_timeout),
    };
    let app = Application::build(config).await?;
    tracing::info!(address = %app.address(), "serving");
    app.run_until_stopped().await
}

async fn migrate(global: &GlobalOptions) -> anyhow::Result<()> {
    connect_and_migrate(global).await?;
    println!("database is up to date");
    Ok(())
}

fn report(result: Result<import::ImportSummary, ImportFailure>) -> ExitCode {
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(ImportFailure::Invalid(errors)) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
        Err(ImportFailure::Other(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn import(global: &GlobalOptions, file: &str) -> ExitCode {
    let result = async {
        let text = import::read_document(file)?;
        let db = connect_and_migrate(global).await?;
        Ok::<_, anyhow::Error>((text, db))
    }
    .await;
    match result {
        Ok((text, db)) => report(import::import_text(&db, &text).await),
        Err(error) => report(Err(ImportFailure::Other(error))),
    }
}

async fn seed(global: &GlobalOptions, args: &SeedArgs) -> ExitCode {
    let dataset = seed::generate(&args.options());
    if let Some(out) = &args.out {
        return match write_document(out, &dataset) {
            Ok(()) => {
                eprintln!(
                    "wrote {} applications, {} users, {} user agents and {} sessions to {}",
                    dataset.applications.len(),
                    dataset.users.len(),
                    dataset.user_agents.len(),
                    dataset.sessions.len(),
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    match connect_and_migrate(global).await {
        Ok(db) => report(import::store(&db, &dataset).await),
        Err(error) => report(Err(ImportFailure::Other(error))),
    }
}

fn write_document(out: &PathBuf, dataset: &crate::dataset::Dataset) -> anyhow::Result<()> {
    use std::io::Write;
    if out.as_os_str() == "-" {
        let stdout = std::io::stdout().lock();
        let mut writer = std::io::BufWriter::new(stdout);
        serde_json::to_writer(&mut writer, dataset)?;
        writer.flush()?;
        return Ok(());
    }
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, dataset)
        .with_context(|| format!("writing {}", out.display()))?;
    writer
        .flush()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
