use std::process::ExitCode;

use clap::Parser;

// Resolving a response allocates many small, short-lived objects across
// threads, where glibc's malloc spent over a quarter of the server's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = sessiongraph::cli::Cli::parse();
    let _telemetry = sessiongraph::telemetry::init(cli.global.log_format);
    sessiongraph::cli::run(cli).await
}
