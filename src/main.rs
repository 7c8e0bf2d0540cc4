use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    sessiongraph::telemetry::init();
    let cli = sessiongraph::cli::Cli::parse();
    sessiongraph::cli::run(cli).await
}
