//! The mutations of SPEC §1–2: revoking and deleting session subtrees, each
//! in one transaction.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::context::{fail, state};
use super::enums::SessionStatus;
use super::errors::ApiError;
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization, restrict};
use super::types::Session;
use crate::auth::{Access, WRITE_SCOPE};
use crate::db::begin_write;
use crate::entities::session;

pub struct Mutation;

/// The change to make to a session.
#[derive(InputObject)]
pub struct UpdateSessionInput {
    /// The new status. Only `REVOKED` is accepted.
    pub status: SessionStatus,
}

/// The result of `updateSession`.
#[derive(SimpleObject)]
pub struct UpdateSessionPayload {
    /// The session as it is after the update.
    pub session: Session,
    /// How many sessions were revoked: the session itself and its descendants that were still active.
    pub revoked_count: i32,
}

/// The result of `deleteSession`.
#[derive(SimpleObject)]
pub struct DeleteSessionPayload {
    /// The id of the deleted session.
    pub deleted_session_id: ID,
    /// How many sessions were deleted: the session and all its descendants.
    pub deleted_count: i32,
}

/// `WITH RECURSIVE subtree(id)`: the session and all its descendants, in its zone.
///
/// `subtree CROSS JOIN sessions` makes SQLite walk the subtree and look each
/// node's children up by `(zone_id, parent_id)`; with a plain JOIN, SQLite
/// 3.51 chose to scan the zone's whole parent index per step (a revoke took
/// 26 ms instead of 0.12 ms on 100,000 sessions). PostgreSQL plans it as the
/// inner join it is.
fn push_subtree(sql: &mut Sql, zone_id: &str, id: &str) {
    sql.push("WITH RECURSIVE subtree (id) AS (SELECT id FROM sessions WHERE zone_id = ")
        .bind(zone_id.to_owned())
        .push(" AND id = ")
        .bind(id.to_owned())
        .push(" UNION ALL SELECT child.id FROM subtree CROSS JOIN sessions child WHERE child.zone_id = ")
        .bind(zone_id.to_owned())
        .push(" AND child.parent_id = subtree.id) ");
}

/// The session to change, within the caller's zones and organization: one
/// of another zone is as missing as an unknown id. Its descendants share its
/// zone, so the subtree statements below stay inside it.
async fn find_session(
    db: &impl ConnectionTrait,
    access: &Access,
    id: &str,
) -> Result<session::Model, ApiError> {
    let sessions = session::Entity::find().filter(session::Column::Id.eq(id));
    restrict(
        sessions,
        access,
        session::Column::ZoneId,
        session::Column::OrganizationId,
        OrganizationColumn::Nullable,
    )
    .one(db)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no session has id {id:?}")))
}

fn require_write(access: &Access) -> Result<(), ApiError> {
    if access.may_write() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the token's scope lacks `{WRITE_SCOPE}`"
        )))
    }
}

async fn revoke(
    db: &DatabaseConnection,
    access: &Access,
    id: &str,
) -> Result<(session::Model, i32), ApiError> {
    require_write(access)?;
    let txn = begin_write(db).await?;
    let target = find_session(&txn, access, id).await?;
    // Stored to the microsecond on both databases (SQLite would keep nanoseconds).
    let now = crate::timestamp::truncate_to_micros(Utc::now());
    let mut sql = Sql::new(txn.get_database_backend());
    push_subtree(&mut sql, &target.zone_id, &target.id);
    sql.push("UPDATE sessions SET status = 'revoked', updated_at = ")
        .bind(now)
        .push(" WHERE zone_id = ")
        .bind(target.zone_id.clone())
        .push(" AND id IN (SELECT id FROM subtree) AND status = 'active' AND (expires_at IS NULL OR expires_at > ")
        .bind(now)
        .push(")");
    // Descendants of another organization (a tree may mix them within a
    // zone) are neither changed nor counted: the caller cannot see them.
    push_organization(&mut sql, access, OrganizationColumn::Nullable);
    let changed = txn.execute_raw(sql.build()).await?.rows_affected();
    let updated = find_session(&txn, access, id).await?;
    txn.commit().await?;
    Ok((updated, i32::try_from(changed).unwrap_or(i32::MAX)))
}

async fn delete(db: &DatabaseConnection, access: &Access, id: &str) -> Result<i32, ApiError> {
    require_write(access)?;
    let txn = begin_write(db).await?;
    let target = find_session(&txn, access, id).await?;
    let backend = txn.get_database_backend();
    // Counted before deleting: on SQLite the DELETE's own count leaves out the
    // descendants that the parent key's ON DELETE CASCADE removed first. On
    // PostgreSQL the lock keeps children from being added meanwhile.
    let mut count = Sql::new(backend);
    push_subtree(&mut count, &target.zone_id, &target.id);
    count
        .push("SELECT id, organization_id FROM sessions WHERE zone_id = ")
        .bind(target.zone_id.clone())
        .push(" AND id IN (SELECT id FROM subtree)");
    if backend == sea_orm::DbBackend::Postgres {
        count.push(" FOR UPDATE");
    }
    let subtree = txn.query_all_raw(count.build()).await?;
    let deleted = subtree.len();
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
                return Err(ApiError::Forbidden(
                    "the session's subtree holds sessions of another organization; it cannot be deleted with this token".into(),
                ));
            }
        }
    }
    let mut sql = Sql::new(backend);
    push_subtree(&mut sql, &target.zone_id, &target.id);
    sql.push("DELETE FROM sessions WHERE zone_id = ")
        .bind(target.zone_id.clone())
        .push(" AND id IN (SELECT id FROM subtree)");
    txn.execute_raw(sql.build()).await?;
    txn.commit().await?;
    Ok(i32::try_from(deleted).unwrap_or(i32::MAX))
}

/// Changes to sessions.
#[Object]
impl Mutation {
    /// Revokes a session and every descendant that is still active, in one
    /// transaction. Revoking a session that is already revoked or expired
    /// changes only its still-active descendants.
    async fn update_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the session.")] id: ID,
        #[graphql(desc = "The change to make.")] input: UpdateSessionInput,
    ) -> async_graphql::Result<UpdateSessionPayload> {
        let state = state(ctx)?;
        if input.status != SessionStatus::Revoked {
            return fail(
                state,
                Err(ApiError::bad_input(format!(
                    "`input.status` can only be REVOKED (got {})",
                    async_graphql::Value::from(input.status)
                ))),
            );
        }
        let db = ctx.data::<DatabaseConnection>()?;
        let (row, revoked_count) = fail(state, revoke(db, &state.access, &id.0).await)?;
        Ok(UpdateSessionPayload {
            session: Session::from(row),
            revoked_count,
        })
    }

    /// Deletes a session and all its descendants, in one transaction.
    async fn delete_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the session.")] id: ID,
    ) -> async_graphql::Result<DeleteSessionPayload> {
        let state = state(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let deleted_count = fail(state, delete(db, &state.access, &id.0).await)?;
        Ok(DeleteSessionPayload {
            deleted_session_id: id,
            deleted_count,
        })
    }
}
