//! Revoking and deleting session subtrees, each in one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};

use super::consistency::{self, WalPosition};
use super::db::begin_write;
use super::decode::ByPosition;
use super::events::{
    EVENT_COLUMNS, EventKind, SessionEvent, event_from_row, event_from_session, publish,
    publish_alongside,
};
use super::session_counts;
use super::sql::Sql;
use super::status::{EffectiveStatus, push_status_is};
use super::subtree::push_subtree;
use super::tenancy::{OrganizationColumn, push_organization, push_zones};
use super::{Projection, SessionRow, Table};
use crate::auth::Access;

/// Why a write changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No session the caller can see has the id.
    #[error("no session has id {0:?}")]
    NotFound(String),
    /// The change would reach sessions the caller cannot see.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The session to change, within the caller's zones and organization: one
/// of another zone is as missing as an unknown id. Its descendants share its
/// zone, so the subtree statements stay inside it.
async fn find_session(
    db: &impl ConnectionTrait,
    access: &Access,
    id: &str,
) -> Result<SessionRow, WriteError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!(
        "SELECT {} FROM sessions WHERE id = ",
        Projection::ALL.select_list(Table::Sessions)
    ))
    .bind(id.to_owned());
    push_zones(&mut sql, access);
    push_organization(&mut sql, access, OrganizationColumn::Nullable);
    match db.query_one_raw(sql.build()).await? {
        Some(row) => Ok(SessionRow::from_row(&row, u32::MAX)?),
        None => Err(WriteError::NotFound(id.to_owned())),
    }
}

/// What a revoke did, as the caller reads it afterwards.
pub struct Revoked {
    /// The session named, as it is afterwards (changed or not).
    pub session: SessionRow,
    /// Every session the revoke changed, as it is afterwards, in
    /// [`tree_order`].
    pub changed: Vec<SessionRow>,
    /// How far a read must be to show the change ([`written`]).
    pub written: WalPosition,
}

/// What a delete removed.
pub struct Deleted {
    /// The ids of every session removed, in [`tree_order`].
    pub ids: Vec<String>,
    pub written: WalPosition,
}

/// The order SPEC §7 gives the sessions a write reports: the subtree's root
/// first, then by depth, then by id compared byte by byte. Sorted here rather
/// than in SQL because an `ORDER BY id` follows the database's collation on
/// PostgreSQL, which is not byte order.
fn tree_order<'a>(root_id: &'a str, depth: i32, id: &'a str) -> (bool, i32, &'a [u8]) {
    (id != root_id, depth, id.as_bytes())
}

/// Revokes the session `id` and every descendant that is still active.
/// Descendants of another organization (a tree may mix them within a zone)
/// are neither changed nor listed: the caller cannot see them.
pub async fn revoke_subtree(
    db: &DatabaseConnection,
    access: &Access,
    id: &str,
) -> Result<Revoked, WriteError> {
    let txn = begin_write(db).await?;
    let target = find_session(&txn, access, id).await?;
    // Stored to the microsecond on both databases (SQLite would keep nanoseconds).
    let now = crate::timestamp::truncate_to_micros(Utc::now());
    let mut sql = Sql::new(txn.get_database_backend());
    push_subtree(&mut sql, &target.zone_id, [target.id.clone()], None);
    sql.push("UPDATE sessions SET status = 'revoked', updated_at = ")
        .bind(now)
        .push(" WHERE zone_id = ")
        .bind(target.zone_id.clone())
        .push(" AND id IN (SELECT id FROM subtree) AND ");
    push_status_is(&mut sql, EffectiveStatus::Active, now);
    push_organization(&mut sql, access, OrganizationColumn::Nullable);
    // The whole rows as they are after the UPDATE, so that the payload
    // lists them without reading each again, and the zone's count mark, so
    // that counting them needs no statement of its own.
    sql.push(&format!(
        " RETURNING {}, {}",
        Projection::ALL.select_list(Table::Sessions),
        session_counts::SWEPT_UNTIL_OF_ROW
    ));
    let returned = txn.query_all_raw(sql.build()).await?;
    let swept_until = match returned.first() {
        Some(row) => {
            row.try_get_by_index::<Option<DateTime<Utc>>>(Projection::ALL.width(Table::Sessions))?
        }
        None => None,
    };
    let mut changed = returned
        .iter()
        .map(|row| SessionRow::from_row(row, u32::MAX))
        .collect::<Result<Vec<SessionRow>, DbErr>>()?;
    changed.sort_by(|a, b| {
        tree_order(&target.id, a.depth, &a.id).cmp(&tree_order(&target.id, b.depth, &b.id))
    });
    let mut events = changed
        .iter()
        .map(|row| event_from_session(EventKind::Revoked, row))
        .collect::<Vec<SessionEvent>>();
    // A zone without a mark keeps no counts.
    let counts = swept_until
        .and_then(|swept_until| session_counts::RevokedCounts::new(&changed, swept_until));
    match &counts {
        Some(counts) => {
            let insert = |sql: &mut Sql| counts.push_insert(sql, true);
            if publish_alongside(&txn, &mut events, Some(&insert)).await? == 0 {
                session_counts::count_revoked(&txn, &changed).await?;
            }
        }
        None => publish(&txn, &mut events).await?,
    }
    let session = match changed.first() {
        Some(first) if first.id == target.id => first.clone(),
        _ => target,
    };
    txn.commit().await?;
    let written = written(db, access, &session.zone_id).await;
    Ok(Revoked {
        session,
        changed,
        written,
    })
}

/// Deletes the session `id` and all its descendants.
pub async fn delete_subtree(
    db: &DatabaseConnection,
    access: &Access,
    id: &str,
) -> Result<Deleted, WriteError> {
    let txn = begin_write(db).await?;
    let target = find_session(&txn, access, id).await?;
    let backend = txn.get_database_backend();
    // Counted before deleting: on SQLite the DELETE's own count leaves out the
    // descendants that the parent key's ON DELETE CASCADE removed first. On
    // PostgreSQL the lock keeps children from being added meanwhile.
    let mut count = Sql::new(backend);
    push_subtree(&mut count, &target.zone_id, [target.id.clone()], None);
    count
        .push(&format!(
            "SELECT {EVENT_COLUMNS}, depth FROM sessions WHERE zone_id = "
        ))
        .bind(target.zone_id.clone())
        .push(" AND id IN (SELECT id FROM subtree)");
    if backend == DbBackend::Postgres {
        count.push(" FOR UPDATE");
    }
    let subtree = txn.query_all_raw(count.build()).await?;
    let mut removed = subtree
        .iter()
        .map(|row| {
            let id: String = row.try_get_by_index(1)?;
            let depth: i32 = row.try_get_by_index(6)?;
            Ok((depth, id))
        })
        .collect::<Result<Vec<(i32, String)>, DbErr>>()?;
    removed.sort_by(|(a_depth, a), (b_depth, b)| {
        tree_order(&target.id, *a_depth, a).cmp(&tree_order(&target.id, *b_depth, b))
    });
    // The parent key's ON DELETE CASCADE takes the whole subtree, so a
    // subtree holding sessions of another organization cannot be deleted
    // by this caller at all.
    if let Some(organization_id) = access.organization_id() {
        for row in &subtree {
            let owner: Option<String> = row.try_get("", "organization_id")?;
            if owner
                .as_deref()
                .is_some_and(|owner| owner != organization_id)
            {
                return Err(WriteError::Forbidden(
                    "the session's subtree holds sessions of another organization; it cannot be deleted with this token",
                ));
            }
        }
    }
    // Counted out while the rows (locked above) are still there.
    let mut uncount = Sql::new(backend);
    push_subtree(&mut uncount, &target.zone_id, [target.id.clone()], None);
    session_counts::push_count_changes(
        &mut uncount,
        true,
        |sql| {
            sql.push("s.zone_id = ")
                .bind(target.zone_id.clone())
                .push(" AND s.id IN (SELECT id FROM subtree)");
        },
        session_counts::REMOVED,
    );
    txn.execute_raw(uncount.build()).await?;
    let mut sql = Sql::new(backend);
    push_subtree(&mut sql, &target.zone_id, [target.id.clone()], None);
    sql.push("DELETE FROM sessions WHERE zone_id = ")
        .bind(target.zone_id.clone())
        .push(" AND id IN (SELECT id FROM subtree)");
    txn.execute_raw(sql.build()).await?;
    let mut events = subtree
        .iter()
        .map(|row| event_from_row(EventKind::Deleted, row))
        .collect::<Result<Vec<SessionEvent>, DbErr>>()?;
    publish(&txn, &mut events).await?;
    txn.commit().await?;
    let written = written(db, access, &target.zone_id).await;
    Ok(Deleted {
        ids: removed.into_iter().map(|(_, id)| id).collect(),
        written,
    })
}

/// Where the primary's log stands after a committed write, recorded for
/// the caller (`consistency::after_write`). The write stands whatever
/// happens here, so a failure is logged, not reported: the answer then
/// asks no freshness of later reads, and the caller's own reads fall back
/// on the replicas' lag bound.
async fn written(db: &DatabaseConnection, access: &Access, zone_id: &str) -> WalPosition {
    match consistency::after_write(db, access, zone_id).await {
        Ok(position) => position,
        Err(error) => {
            tracing::warn!(%error, "the write committed, but its log position could not be read");
            WalPosition::default()
        }
    }
}
