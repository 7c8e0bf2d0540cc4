//! `UserSession`: a user's session, with its place in its tree.

use async_graphql::{Context, ID, Object};

use super::arguments::{SessionFilter, SessionListArguments, SessionOrder};
use super::context::{fail, state};
use super::enums::SessionStatus;
use super::errors::ApiError;
use super::objects::{Application, SessionConnection, SessionList, User, UserAgent, UserSession};
use super::scalars::{DateTime, Json};
use super::session_fields::{SessionMetadata, session_object};
use crate::entities::enums::SessionType as StoredSessionType;
use crate::store::keys::{ZonedId, ZonedIdRef};
use crate::store::session_lists::Owner;
use crate::store::status::{EffectiveStatus, effective_status};

session_object!(
    /// A session a user holds. Token refresh and delegation create child
    /// sessions under it, forming a tree.
    UserSession {
        /// The id of the user the session belongs to.
        #[graphql(ready)]
        async fn user_id(&self) -> ID {
            ID(self.0.user_id.clone().unwrap_or_default())
        }

        /// The user the session belongs to.
        // Ready: the statement that read the session usually joined it in.
        #[graphql(ready)]
        async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
            let Some(id) = &self.0.user_id else { return Ok(None) };
            let state = state(ctx)?;
            let row = state.loaders.users.load_one_by(&ZonedIdRef::new(&self.0.zone_id, id)).await.map_err(Into::into);
            Ok(fail(state, row)?.map(User))
        }

        /// The id of the user agent the session was created from.
        #[graphql(ready)]
        async fn user_agent_id(&self) -> Option<ID> {
            self.0.user_agent_id.clone().map(ID)
        }

        /// The user agent the session was created from.
        // Ready: usually joined in, like `user`.
        #[graphql(ready)]
        async fn user_agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAgent>> {
            let Some(id) = &self.0.user_agent_id else { return Ok(None) };
            let state = state(ctx)?;
            let row = state.loaders.user_agents.load_one_by(&ZonedIdRef::new(&self.0.zone_id, id)).await.map_err(Into::into);
            Ok(fail(state, row)?.map(UserAgent))
        }

        /// The id of the session this one was refreshed or delegated from.
        #[graphql(ready)]
        async fn parent_id(&self) -> Option<ID> {
            self.0.parent_id.clone().map(ID)
        }

        /// The session this one was refreshed or delegated from.
        // Ready: usually joined in, like `user`.
        #[graphql(ready)]
        async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserSession>> {
            let Some(id) = &self.0.parent_id else { return Ok(None) };
            load_user_session(ctx, &self.0.zone_id, id).await
        }

        /// The top-level web session of this session's tree (itself when it has no parent).
        async fn root(&self, ctx: &Context<'_>) -> async_graphql::Result<UserSession> {
            if self.0.root_id == self.0.id {
                return Ok(self.clone());
            }
            // The import keeps root_id pointing at a stored ancestor, so
            // missing means outside the caller's organization.
            match load_user_session(ctx, &self.0.zone_id, &self.0.root_id).await? {
                Some(root) => Ok(root),
                None => fail(
                    state(ctx)?,
                    Err(ApiError::Forbidden(
                        "the root of this session's tree is outside the token's organization".into(),
                    )),
                ),
            }
        }

        /// 0 for a session without parent, the parent's depth + 1 otherwise.
        #[graphql(ready)]
        async fn depth(&self) -> i32 {
            self.0.depth
        }

        /// The direct child sessions (refreshed or delegated from this one).
        /// `filter.includeNested` does not apply here.
        #[allow(clippy::too_many_arguments)]
        async fn children(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")] first: Option<i32>,
            #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
            #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
            #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
            #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
            #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")] order_by: Option<SessionOrder>,
        ) -> async_graphql::Result<SessionConnection> {
            let list = SessionList { zone_id: &self.0.zone_id, owner: Owner::Parent, owner_id: &self.0.id, owner_is_root: false };
            SessionConnection::of(ctx, list, SessionListArguments { first, after, last, before, filter, order_by })
        }

        /// The sessions above this one, from the root of its tree down to its
        /// parent; empty for a session without parent. Ancestors outside the
        /// token's organization are left out.
        async fn ancestors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserSession>> {
            if self.0.parent_id.is_none() {
                return Ok(Vec::new());
            }
            let state = state(ctx)?;
            let key = ZonedId::new(&self.0.zone_id, &self.0.id);
            let chain = state.loaders.ancestors.load_one(key).await.map_err(Into::into);
            Ok(fail(state, chain)?
                .map(|chain| chain.iter().cloned().map(UserSession).collect())
                .unwrap_or_default())
        }

        /// Every session below this one (its children, their children, and so
        /// on), at most `maxDepth` levels down. Ordered and paginated like
        /// every session list; `filter.includeNested` does not apply here.
        #[allow(clippy::too_many_arguments)]
        async fn descendants(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")] first: Option<i32>,
            #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
            #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
            #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
            #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
            #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")] order_by: Option<SessionOrder>,
            #[graphql(desc = "How many levels down to list: 1 lists the children, 2 also their children; every level when absent. At least 1.")] max_depth: Option<i32>,
        ) -> async_graphql::Result<SessionConnection> {
            let state = state(ctx)?;
            let max_depth = match max_depth {
                None => None,
                Some(levels) if levels >= 1 => Some(levels as u32),
                Some(levels) => {
                    return fail(state, Err(ApiError::bad_input(format!("`maxDepth` must be at least 1 (got {levels})"))));
                }
            };
            let mut args = fail(state, SessionListArguments { first, after, last, before, filter, order_by }.validate())?;
            args.criteria.max_depth = max_depth;
            let list = SessionList { zone_id: &self.0.zone_id, owner: Owner::Ancestor, owner_id: &self.0.id, owner_is_root: self.0.parent_id.is_none() };
            Ok(SessionConnection::with_args(ctx, list, args))
        }
    }
);

async fn load_user_session(
    ctx: &Context<'_>,
    zone_id: &str,
    id: &str,
) -> async_graphql::Result<Option<UserSession>> {
    let state = state(ctx)?;
    let row = state
        .loaders
        .sessions
        .load_one_by(&ZonedIdRef::new(zone_id, id))
        .await
        .map_err(Into::into);
    Ok(fail(state, row)?
        .filter(|r| r.session_type == StoredSessionType::User)
        .map(UserSession))
}
