//! Writes a checked dataset in one transaction with multi-row upserts.

use indicatif::ProgressBar;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, IntoColumnRef, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, IdenStatic, IntoActiveModel, Iterable, PrimaryKeyToColumn, QueryFilter, Statement,
    Value,
};

use super::check::Plan;
use super::records::Dataset;
use crate::entities::{application, session, user, user_agent};

/// Rows per INSERT. The widest row (sessions) has 20 columns, so a batch
/// binds 20,000 values: under SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Counts of what a write stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub applications: usize,
    pub users: usize,
    pub user_agents: usize,
    pub sessions: usize,
}

pub async fn write(
    db: &DatabaseConnection,
    dataset: &Dataset,
    plan: &Plan,
    progress: &ProgressBar,
) -> Result<Written, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        // SQLite's default 2 MiB page cache spills a large import into the
        // WAL and reads it back; a bigger cache for this connection roughly
        // halves the time of a 100k-session import.
        txn.execute_unprepared("PRAGMA cache_size = -131072")
            .await?;
    }
    park_unique_values(&txn, dataset).await?;
    upsert::<application::Entity, _>(
        &txn,
        dataset.applications.iter().map(|a| a.to_model()),
        progress,
    )
    .await?;
    upsert::<user::Entity, _>(&txn, dataset.users.iter().map(|u| u.to_model()), progress).await?;
    upsert::<user_agent::Entity, _>(
        &txn,
        dataset.user_agents.iter().map(|u| u.to_model()),
        progress,
    )
    .await?;
    // Parents come before children in the plan, so every batch's foreign keys
    // point at rows already written.
    let sessions = plan
        .sessions
        .iter()
        .map(|(index, root_id, depth)| dataset.sessions[*index].to_model(root_id, *depth));
    upsert::<session::Entity, _>(&txn, sessions, progress).await?;
    refresh_moved_subtrees(&txn, &plan.moved).await?;
    txn.commit().await?;
    Ok(Written {
        applications: dataset.applications.len(),
        users: dataset.users.len(),
        user_agents: dataset.user_agents.len(),
        sessions: plan.sessions.len(),
    })
}

/// Prefix of the placeholder a re-imported record's unique values wait under;
/// the control character keeps it clear of any real slug or identifier.
const PARKED: &str = "\u{1}parked:";

/// The check ran on the document's final state, so a re-import may move a
/// slug or identifier from one stored record to another (a rename whose old
/// value a new record takes, a swap). The unique constraints hold row by row,
/// so the re-imported records first give their values up; the upserts then
/// write the final ones.
async fn park_unique_values(txn: &impl ConnectionTrait, dataset: &Dataset) -> Result<(), DbErr> {
    // `||` concatenates in both databases; the placeholder is unique per id.
    fn parked(id: impl IntoColumnRef) -> Expr {
        Expr::val(PARKED).binary(BinOper::Custom("||"), Expr::col(id))
    }
    for chunk in dataset.applications.chunks(ROWS_PER_STATEMENT) {
        application::Entity::update_many()
            .col_expr(
                application::Column::Identifier,
                parked(application::Column::Id),
            )
            .col_expr(application::Column::Slug, parked(application::Column::Id))
            .filter(application::Column::Id.is_in(chunk.iter().map(|a| a.id.as_str())))
            .exec(txn)
            .await?;
    }
    for chunk in dataset.user_agents.chunks(ROWS_PER_STATEMENT) {
        user_agent::Entity::update_many()
            .col_expr(user_agent::Column::Slug, parked(user_agent::Column::Id))
            .filter(user_agent::Column::Id.is_in(chunk.iter().map(|u| u.id.as_str())))
            .exec(txn)
            .await?;
    }
    Ok(())
}

async fn upsert<E, M>(
    txn: &impl ConnectionTrait,
    models: impl Iterator<Item = M>,
    progress: &ProgressBar,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    M: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let keys: Vec<E::Column> = E::PrimaryKey::iter().map(|k| k.into_column()).collect();
    let updates: Vec<E::Column> = E::Column::iter()
        .filter(|c| !keys.iter().any(|k| k.as_str() == c.as_str()))
        .collect();
    let mut batch: Vec<E::ActiveModel> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut models = models.peekable();
    while models.peek().is_some() {
        batch.clear();
        batch.extend(
            models
                .by_ref()
                .take(ROWS_PER_STATEMENT)
                .map(|m| m.into_active_model()),
        );
        let written = batch.len();
        E::insert_many(batch.drain(..))
            .on_conflict(
                OnConflict::columns(keys.iter().copied())
                    .update_columns(updates.iter().copied())
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        progress.inc(written as u64);
    }
    Ok(())
}

/// Stored descendants of a re-parented session follow it: their root and
/// depth are recomputed from the moved session down.
/// (`tree CROSS JOIN sessions` keeps SQLite walking the tree by the parent
/// index; see `push_subtree` in the mutations.)
async fn refresh_moved_subtrees(
    txn: &impl ConnectionTrait,
    moved: &[(String, String)],
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    for (zone_id, id) in moved {
        let (zone, start) = match backend {
            DbBackend::Postgres => ("$1", "$2"),
            _ => ("?", "?"),
        };
        let sql = format!(
            "WITH RECURSIVE tree (zone_id, id, root_id, depth) AS ( \
                 SELECT zone_id, id, root_id, depth FROM sessions WHERE zone_id = {zone} AND id = {start} \
                 UNION ALL \
                 SELECT c.zone_id, c.id, tree.root_id, tree.depth + 1 \
                 FROM tree CROSS JOIN sessions c WHERE c.zone_id = tree.zone_id AND c.parent_id = tree.id \
             ) \
             UPDATE sessions SET root_id = tree.root_id, depth = tree.depth \
             FROM tree \
             WHERE sessions.zone_id = tree.zone_id AND sessions.id = tree.id \
               AND (sessions.root_id <> tree.root_id OR sessions.depth <> tree.depth)"
        );
        let values: [Value; 2] = [zone_id.clone().into(), id.clone().into()];
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}
