//! The `import` and `seed` commands: a dataset into the database, all or nothing.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;

use crate::dataset::check::check;
use crate::dataset::parse::parse_document;
use crate::dataset::{Dataset, ImportErrors};
use crate::store;
use crate::store::import::DatasetRows;

/// Counts of what an import stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub applications: usize,
    pub users: usize,
    pub user_agents: usize,
    pub sessions: usize,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The document breaks DATASET.md rules; every error is listed.
    #[error("{0}")]
    Invalid(ImportErrors),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[derive(Debug, Clone, Copy)]
pub struct ImportSummary {
    pub written: Written,
    pub elapsed: Duration,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = &self.written;
        write!(
            f,
            "imported {} applications, {} users, {} user agents and {} sessions in {:.2} s",
            w.applications,
            w.users,
            w.user_agents,
            w.sessions,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Reads a document from a file, or from standard input for `-`.
pub fn read_document(source: &str) -> anyhow::Result<String> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the document from standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(Path::new(source)).with_context(|| format!("reading {source}"))
    }
}

pub async fn import_text(
    db: &DatabaseConnection,
    text: &str,
) -> Result<ImportSummary, ImportFailure> {
    let started = Instant::now();
    let spinner = progress_spinner("checking the document");
    let dataset = parse_document(text).map_err(ImportFailure::Invalid);
    spinner.finish_and_clear();
    tracing::debug!(elapsed = ?started.elapsed(), "parsed the document");
    let summary = store(db, &dataset?).await?;
    Ok(ImportSummary {
        elapsed: started.elapsed(),
        ..summary
    })
}

/// Checks a dataset against the database and writes it in one transaction.
pub async fn store(
    db: &DatabaseConnection,
    dataset: &Dataset,
) -> Result<ImportSummary, ImportFailure> {
    let started = Instant::now();
    let spinner = progress_spinner("checking references against the database");
    let plan = check(db, dataset)
        .await
        .context("reading existing records")?
        .map_err(ImportFailure::Invalid)?;
    spinner.finish_and_clear();
    tracing::debug!(elapsed = ?started.elapsed(), "checked the dataset against the database");
    let bar = progress_bar(dataset.record_count() as u64);
    let rows = DatasetRows {
        applications: dataset.applications.iter().map(|a| a.to_model()).collect(),
        users: dataset.users.iter().map(|u| u.to_model()),
        user_agents: dataset.user_agents.iter().map(|u| u.to_model()).collect(),
        sessions: plan
            .sessions
            .iter()
            .map(|(index, root_id, depth)| dataset.sessions[*index].to_model(root_id, *depth)),
        moved: &plan.moved,
        stored_sessions: &plan.stored_sessions,
    };
    store::import::write(db, rows, &bar)
        .await
        .context("writing the dataset (nothing was written)")?;
    let written = Written {
        applications: dataset.applications.len(),
        users: dataset.users.len(),
        user_agents: dataset.user_agents.len(),
        sessions: plan.sessions.len(),
    };
    bar.finish_and_clear();
    // The data is committed by now, so a failure here must not read as a
    // failed import; the planner only runs on older statistics until
    // autovacuum refreshes them.
    if let Err(error) = store::db::refresh_statistics(db).await {
        tracing::warn!(%error, "could not refresh planner statistics after the import");
    }
    Ok(ImportSummary {
        written,
        elapsed: started.elapsed(),
    })
}

fn progress_spinner(message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "writing {bar:40.cyan/blue} {pos}/{len} records ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}
