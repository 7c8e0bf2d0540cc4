//! The import's statements: what the checks read of the stored records,
//! and the write of a checked dataset in one transaction with multi-row
//! upserts. These go through SeaORM's query builder: generic over the
//! entity, an upsert is written once for every table.

use std::collections::HashSet;

use indicatif::ProgressBar;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, IntoColumnRef, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, IdenStatic, IntoActiveModel, Iterable, PrimaryKeyToColumn, QueryFilter,
    QuerySelect,
};

use super::events::{EventKind, SessionEvent, event_from_row, publish};
use super::session_counts;
use super::sql::Sql;
use super::subtree::push_subtree;
use crate::entities::enums::SessionType;
use crate::entities::{application, session, user, user_agent};

pub use super::sql::LOOKUP_CHUNK;

/// Rows per INSERT. The widest row (sessions) has 20 columns, so a batch
/// binds 20,000 values: under SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;

/// The rows of a checked dataset, in the order they can be written.
pub struct DatasetRows<'a, Users, Sessions> {
    pub applications: Vec<application::Model>,
    pub users: Users,
    pub user_agents: Vec<user_agent::Model>,
    /// Parents before children, so every batch's foreign keys point at rows
    /// already written.
    pub sessions: Sessions,
    /// `(zone_id, id)` of stored sessions that moved to another parent:
    /// their stored descendants' root and depth are recomputed.
    pub moved: &'a [(String, String)],
    /// Ids of sessions already stored: updated, not created.
    pub stored_sessions: &'a HashSet<String>,
}

/// Writes the rows in one transaction: all of them or, on any failure,
/// nothing.
pub async fn write<Users, Sessions>(
    db: &DatabaseConnection,
    rows: DatasetRows<'_, Users, Sessions>,
    progress: &ProgressBar,
) -> Result<(), DbErr>
where
    Users: Iterator<Item = user::Model>,
    Sessions: Iterator<Item = session::Model>,
{
    let txn = super::db::begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        // SQLite's default 2 MiB page cache spills a large import into the
        // WAL and reads it back; a bigger cache for this connection roughly
        // halves the time of a 100k-session import.
        txn.execute_unprepared("PRAGMA cache_size = -131072")
            .await?;
    }
    park_unique_values(&txn, &rows.applications, &rows.user_agents).await?;
    upsert::<application::Entity, _>(&txn, rows.applications.into_iter(), progress).await?;
    upsert::<user::Entity, _>(&txn, rows.users, progress).await?;
    upsert::<user_agent::Entity, _>(&txn, rows.user_agents.into_iter(), progress).await?;
    let stored = rows.stored_sessions;
    let now = crate::timestamp::truncate_to_micros(chrono::Utc::now());
    let mut held_zones = HashSet::new();
    let mut events = Vec::new();
    session_counts::start_import(&txn).await?;
    let mut sessions = rows.sessions.peekable();
    while sessions.peek().is_some() {
        let batch: Vec<session::Model> = sessions.by_ref().take(ROWS_PER_STATEMENT).collect();
        events.extend(batch.iter().map(|session| SessionEvent {
            kind: if stored.contains(&session.id) {
                EventKind::Updated
            } else {
                EventKind::Created
            },
            zone_id: session.zone_id.clone(),
            session_id: session.id.clone(),
            organization_id: session.organization_id.clone(),
            user_id: session.user_id.clone(),
            application_id: session.application_id.clone(),
            root_id: session.root_id.clone(),
            occurred_at: 0,
            written_in: None,
        }));
        let written = batch.len();
        write_sessions(&txn, batch, stored, &mut held_zones, now).await?;
        progress.inc(written as u64);
    }
    // Before the moved subtrees are refreshed: those changes are counted
    // as changes of rows already counted.
    session_counts::count_imported(&txn).await?;
    events.extend(refresh_moved_subtrees(&txn, rows.moved).await?);
    publish(&txn, &mut events).await?;
    txn.commit().await
}

/// Prefix of the placeholder a re-imported record's unique values wait under;
/// the control character keeps it clear of any real slug or identifier.
const PARKED: &str = "\u{1}parked:";

/// The check ran on the document's final state, so a re-import may move a
/// slug or identifier from one stored record to another (a rename whose old
/// value a new record takes, a swap). The unique constraints hold row by row,
/// so the re-imported records first give their values up; the upserts then
/// write the final ones.
async fn park_unique_values(
    txn: &impl ConnectionTrait,
    applications: &[application::Model],
    user_agents: &[user_agent::Model],
) -> Result<(), DbErr> {
    // `||` concatenates in both databases; the placeholder is unique per id.
    fn parked(id: impl IntoColumnRef) -> Expr {
        Expr::val(PARKED).binary(BinOper::Custom("||"), Expr::col(id))
    }
    for chunk in applications.chunks(ROWS_PER_STATEMENT) {
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
    for chunk in user_agents.chunks(ROWS_PER_STATEMENT) {
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
    let mut models = models.peekable();
    while models.peek().is_some() {
        let batch: Vec<E::ActiveModel> = models
            .by_ref()
            .take(ROWS_PER_STATEMENT)
            .map(|m| m.into_active_model())
            .collect();
        let written = batch.len();
        upsert_rows::<E>(txn, batch).await?;
        progress.inc(written as u64);
    }
    Ok(())
}

/// One multi-row upsert: every column but the key replaced.
async fn upsert_rows<E>(txn: &impl ConnectionTrait, rows: Vec<E::ActiveModel>) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let keys: Vec<E::Column> = E::PrimaryKey::iter().map(|k| k.into_column()).collect();
    let updates: Vec<E::Column> = E::Column::iter()
        .filter(|c| !keys.iter().any(|k| k.as_str() == c.as_str()))
        .collect();
    E::insert_many(rows)
        .on_conflict(
            OnConflict::columns(keys.iter().copied())
                .update_columns(updates.iter().copied())
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Writes one batch of sessions and keeps their counts: the stored ones
/// among them counted out as they were (locked first); every one is noted
/// to be counted in as written once the import has written them all.
async fn write_sessions(
    txn: &impl ConnectionTrait,
    batch: Vec<session::Model>,
    stored: &HashSet<String>,
    held_zones: &mut HashSet<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let ids: Vec<String> = batch.iter().map(|session| session.id.clone()).collect();
    let mut new_zones: Vec<&str> = batch
        .iter()
        .map(|session| session.zone_id.as_str())
        .filter(|zone_id| !held_zones.contains(*zone_id))
        .collect();
    new_zones.sort_unstable();
    new_zones.dedup();
    if !new_zones.is_empty() {
        session_counts::hold_zones(txn, &new_zones, now).await?;
        held_zones.extend(new_zones.iter().map(|zone_id| zone_id.to_string()));
    }
    let replaced: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| stored.contains(*id))
        .collect();
    if !replaced.is_empty() {
        session_counts::lock_sessions(txn, &replaced).await?;
        session_counts::change_counts_of(txn, &replaced, session_counts::REMOVED).await?;
    }
    upsert_rows::<session::Entity>(
        txn,
        batch
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
    )
    .await?;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    session_counts::note_imported(txn, &ids).await
}

/// Stored descendants of a re-parented session follow it: their root and
/// depth are recomputed from the moved session (already written with its
/// new ones) down. Returns an UPDATED event for each session changed.
async fn refresh_moved_subtrees(
    txn: &impl ConnectionTrait,
    moved: &[(String, String)],
) -> Result<Vec<SessionEvent>, DbErr> {
    let mut events = Vec::new();
    for (zone_id, id) in moved {
        if txn.get_database_backend() == DbBackend::Postgres {
            let mut lock = Sql::new(DbBackend::Postgres);
            push_subtree(&mut lock, zone_id, [id.clone()], None);
            lock.push("SELECT id FROM sessions WHERE zone_id = ")
                .bind(zone_id.clone())
                .push(" AND id IN (SELECT id FROM subtree) FOR UPDATE");
            txn.query_all_raw(lock.build()).await?;
        }
        session_counts::change_counts_below(txn, zone_id, id, session_counts::REMOVED).await?;
        let mut sql = Sql::new(txn.get_database_backend());
        push_subtree(&mut sql, zone_id, [id.clone()], None);
        sql.push("UPDATE sessions SET root_id = moved.root_id, depth = moved.depth + subtree.levels FROM subtree CROSS JOIN sessions moved WHERE moved.zone_id = ")
            .bind(zone_id.clone())
            .push(" AND moved.id = subtree.owner_id AND sessions.zone_id = ")
            .bind(zone_id.clone())
            .push(" AND sessions.id = subtree.id AND (sessions.root_id <> moved.root_id OR sessions.depth <> moved.depth + subtree.levels)")
            .push(" RETURNING sessions.zone_id, sessions.id, sessions.organization_id, sessions.user_id, sessions.application_id, sessions.root_id");
        for row in txn.query_all_raw(sql.build()).await? {
            events.push(event_from_row(EventKind::Updated, &row)?);
        }
        session_counts::change_counts_below(txn, zone_id, id, session_counts::ADDED).await?;
    }
    Ok(events)
}

/// Whether `E`'s table holds any row: lookups in an empty table are skipped.
pub async fn has_rows<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
) -> Result<bool, DbErr> {
    let any: Option<String> = E::find()
        .select_only()
        .column(column)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(any.is_some())
}

/// `(id, zone_id)` of the stored records of `E` among `ids`.
pub async fn stored_zones<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    zone_id: E::Column,
    ids: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    E::find()
        .select_only()
        .columns([id, zone_id])
        .filter(id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await
}

/// Where a stored session sits in its tree.
pub struct StoredSession {
    pub id: String,
    pub zone_id: String,
    pub session_type: SessionType,
    pub parent_id: Option<String>,
    pub root_id: String,
    pub depth: i32,
}

/// The stored sessions among `ids`.
pub async fn stored_sessions(
    db: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<Vec<StoredSession>, DbErr> {
    let rows: Vec<(String, String, SessionType, Option<String>, String, i32)> =
        session::Entity::find()
            .select_only()
            .columns([
                session::Column::Id,
                session::Column::ZoneId,
                session::Column::SessionType,
                session::Column::ParentId,
                session::Column::RootId,
                session::Column::Depth,
            ])
            .filter(session::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, zone_id, session_type, parent_id, root_id, depth)| StoredSession {
                id,
                zone_id,
                session_type,
                parent_id,
                root_id,
                depth,
            },
        )
        .collect())
}

/// `(id, identifier, slug)` of the stored applications of a zone whose
/// identifier or slug is among `values`.
pub async fn applications_holding(
    db: &impl ConnectionTrait,
    zone_id: &str,
    values: &[&str],
) -> Result<Vec<(String, String, String)>, DbErr> {
    application::Entity::find()
        .select_only()
        .columns([
            application::Column::Id,
            application::Column::Identifier,
            application::Column::Slug,
        ])
        .filter(application::Column::ZoneId.eq(zone_id))
        .filter(
            application::Column::Identifier
                .is_in(values.iter().copied())
                .or(application::Column::Slug.is_in(values.iter().copied())),
        )
        .into_tuple()
        .all(db)
        .await
}

/// `(id, slug)` of the stored user agents of a zone whose slug is among
/// `values`.
pub async fn user_agents_holding(
    db: &impl ConnectionTrait,
    zone_id: &str,
    values: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    user_agent::Entity::find()
        .select_only()
        .columns([user_agent::Column::Id, user_agent::Column::Slug])
        .filter(user_agent::Column::ZoneId.eq(zone_id))
        .filter(user_agent::Column::Slug.is_in(values.iter().copied()))
        .into_tuple()
        .all(db)
        .await
}
