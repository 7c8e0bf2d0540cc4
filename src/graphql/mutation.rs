//! The mutations of SPEC §1–2: revoking and deleting session subtrees, each
//! in one transaction.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::context::{fail, state};
use super::enums::SessionStatus;
use super::errors::ApiError;
use super::objects::Session;
use crate::auth::{Access, WRITE_SCOPE};
use crate::store::consistency;
use crate::store::writes::{delete_subtree, revoke_subtree};

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
    /// Every session the revoke changed (those `revokedCount` counts), as
    /// they read after it: the revoked session first when it changed, then
    /// its descendants by depth, then by id. A client cache updates from
    /// them without refetching the tree.
    pub revoked_sessions: Vec<Session>,
}

/// The result of `deleteSession`.
#[derive(SimpleObject)]
pub struct DeleteSessionPayload {
    /// The id of the deleted session.
    pub deleted_session_id: ID,
    /// How many sessions were deleted: the session and all its descendants.
    pub deleted_count: i32,
    /// The ids of every session deleted (those `deletedCount` counts): the
    /// session first, then its descendants by depth, then by id. A client
    /// cache evicts them without refetching.
    pub deleted_session_ids: Vec<ID>,
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

fn as_count(count: usize) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
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
        let revoked = match require_write(&state.access) {
            Ok(()) => revoke_subtree(db, &state.access, &id.0)
                .await
                .map_err(ApiError::from),
            Err(refused) => Err(refused),
        };
        let revoked = fail(state, revoked)?;
        ctx.insert_http_header(consistency::HEADER, revoked.written.token());
        Ok(UpdateSessionPayload {
            session: Session::from(Arc::new(revoked.session)),
            revoked_count: as_count(revoked.changed.len()),
            revoked_sessions: revoked
                .changed
                .into_iter()
                .map(|row| Session::from(Arc::new(row)))
                .collect(),
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
        let deleted = match require_write(&state.access) {
            Ok(()) => delete_subtree(db, &state.access, &id.0)
                .await
                .map_err(ApiError::from),
            Err(refused) => Err(refused),
        };
        let deleted = fail(state, deleted)?;
        ctx.insert_http_header(consistency::HEADER, deleted.written.token());
        Ok(DeleteSessionPayload {
            deleted_session_id: id,
            deleted_count: as_count(deleted.ids.len()),
            deleted_session_ids: deleted.ids.into_iter().map(ID).collect(),
        })
    }
}
