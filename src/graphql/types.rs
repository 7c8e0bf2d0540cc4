//! The object types of the session graph. Each relation field resolves
//! through the per-request loader (see `loader.rs`), only when selected.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Interface, Object, SimpleObject, Union};

use super::connection::SessionConnection;
use super::context::{fail, state};
use super::enums::{
    ApplicationOwnerType, OrderDirection, SessionOrderField, SessionStatus, SessionType,
};
use super::errors::ApiError;
use super::loader::{AncestorsKey, ApplicationKey, SessionKey, UserAgentKey, UserKey, ZonedId};
use super::pagination::{Ordering, Window};
use super::scalars::{DateTime, Json};
use super::session_lists::{Criteria, EffectiveStatus, ListArgs, Owner};
use super::session_row::SessionRow;
use crate::dataset::{ApplicationMetadata as StoredAppMetadata, ApplicationProtocols};
use crate::entities::enums::{SessionType as StoredSessionType, StoredStatus};
use crate::entities::{application, session, user, user_agent};

/// Filters for a list of sessions. All given conditions must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct SessionFilter {
    /// Only sessions of this kind.
    #[graphql(name = "type")]
    pub session_type: Option<SessionType>,
    /// Only sessions whose effective status is any of these; an empty list matches nothing.
    pub status: Option<Vec<SessionStatus>>,
    /// Only sessions of this user.
    pub user_id: Option<ID>,
    /// Only sessions of this application.
    pub application_id: Option<ID>,
    /// Only sessions from this user agent.
    pub user_agent_id: Option<ID>,
    /// Whether to list sessions at every depth. By default only entry
    /// sessions are listed: top-level sessions and their direct children
    /// (depth 0 or 1). `children` ignores this.
    #[graphql(default_with = "Some(false)")]
    pub include_nested: Option<bool>,
}

/// How to order a list of sessions.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct SessionOrder {
    /// The timestamp to order by.
    pub field: SessionOrderField,
    /// The direction to order in.
    pub direction: OrderDirection,
}

/// Builds the arguments of a session connection, refusing bad counts and cursors.
pub fn session_list_args(
    filter: Option<SessionFilter>,
    order_by: Option<SessionOrder>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<ListArgs, ApiError> {
    let order = order_by
        .map(|o| Ordering {
            key: o.field.into(),
            descending: o.direction == OrderDirection::Desc,
        })
        .unwrap_or_default();
    let window = Window::parse(first, after.as_deref(), last, before.as_deref(), order)?;
    let filter = filter.unwrap_or_default();
    let statuses = filter.status.map(|statuses| {
        let mut statuses: Vec<EffectiveStatus> = statuses.into_iter().map(Into::into).collect();
        statuses.sort();
        statuses.dedup();
        statuses
    });
    Ok(ListArgs {
        criteria: Criteria {
            session_type: filter.session_type.map(Into::into),
            statuses,
            user_id: filter.user_id.map(|id| id.0),
            application_id: filter.application_id.map(|id| id.0),
            user_agent_id: filter.user_agent_id.map(|id| id.0),
            include_nested: filter.include_nested.unwrap_or(false),
            max_depth: None,
        },
        order,
        window,
    })
}

/// A session connection owned by `owner_id`, or an error for bad arguments.
#[allow(clippy::too_many_arguments)]
pub fn session_connection(
    ctx: &Context<'_>,
    zone_id: &str,
    owner: Owner,
    owner_id: &str,
    filter: Option<SessionFilter>,
    order_by: Option<SessionOrder>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<SessionConnection> {
    let state = state(ctx)?;
    if owner == Owner::Zone {
        fail(state, state.require_zone(zone_id))?;
    }
    let args = fail(
        state,
        session_list_args(filter, order_by, first, after, last, before),
    )?;
    Ok(owned_connection(ctx, zone_id, owner, owner_id, false, args))
}

/// The connection of validated `args` owned by `owner_id`.
fn owned_connection(
    ctx: &Context<'_>,
    zone_id: &str,
    owner: Owner,
    owner_id: &str,
    owner_is_root: bool,
    args: ListArgs,
) -> SessionConnection {
    let selection = ctx.look_ahead();
    let count_in_page = args.counts_in_page(owner)
        && selection.field("totalCount").exists()
        && ["nodes", "edges", "pageInfo"]
            .iter()
            .any(|field| selection.field(field).exists());
    SessionConnection {
        zone_id: zone_id.to_owned(),
        owner,
        owner_id: owner_id.to_owned(),
        owner_is_root,
        args: Arc::new(args),
        count_in_page,
    }
}

/// The effective status at the request's "now".
pub fn effective_status(row: &SessionRow, now: chrono::DateTime<chrono::Utc>) -> EffectiveStatus {
    match row.status {
        StoredStatus::Revoked => EffectiveStatus::Revoked,
        StoredStatus::Expired => EffectiveStatus::Expired,
        StoredStatus::Active if row.expires_at.is_some_and(|at| at <= now) => {
            EffectiveStatus::Expired
        }
        StoredStatus::Active => EffectiveStatus::Active,
    }
}

/// A session: a user's or an application's.
#[derive(Union, Clone)]
pub enum Session {
    UserSession(UserSession),
    ApplicationSession(ApplicationSession),
}

impl From<session::Model> for Session {
    fn from(row: session::Model) -> Self {
        Session::from(Arc::new(SessionRow::from(row)))
    }
}

/// Rows are shared between the page or batch that loaded them and every
/// field that reads them, instead of copied per field.
impl From<Arc<SessionRow>> for Session {
    fn from(row: Arc<SessionRow>) -> Self {
        match row.session_type {
            StoredSessionType::User => Session::UserSession(UserSession(row)),
            StoredSessionType::Application => Session::ApplicationSession(ApplicationSession(row)),
        }
    }
}

/// Any object that can be fetched again by its id with `node` or `nodes`.
#[derive(Interface, Clone)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The object's id, unique across all kinds."
))]
pub enum Node {
    UserSession(UserSession),
    ApplicationSession(ApplicationSession),
    Application(Application),
    User(User),
    UserAgent(UserAgent),
}

impl From<Session> for Node {
    fn from(session: Session) -> Self {
        match session {
            Session::UserSession(s) => Node::UserSession(s),
            Session::ApplicationSession(s) => Node::ApplicationSession(s),
        }
    }
}

/// A session's display metadata.
#[derive(SimpleObject, Clone)]
pub struct SessionMetadata {
    /// A display name for the session, usually the application or user agent it belongs to.
    pub name: String,
}

/// The fields both session types declare, with identical types (SPEC §1),
/// generated into each `#[Object]` impl so that GraphQL sees them on both.
macro_rules! session_object {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        #[derive(Clone)]
        pub struct $name(pub Arc<SessionRow>);

        $(#[$meta])*
        #[Object]
        impl $name {
            /// The session's id, unique across all kinds.
            async fn id(&self) -> ID {
                ID(self.0.id.clone())
            }

            /// The effective status: a session past its expiry reads `EXPIRED`; `REVOKED` always wins.
            async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<SessionStatus> {
                Ok(effective_status(&self.0, state(ctx)?.now).into())
            }

            /// Whether the session is active.
            #[graphql(deprecation = "Use `status`.")]
            async fn active(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
                Ok(effective_status(&self.0, state(ctx)?.now) == EffectiveStatus::Active)
            }

            /// The zone (tenant) the session belongs to.
            async fn zone_id(&self) -> ID {
                ID(self.0.zone_id.clone())
            }

            /// The organization the session belongs to.
            async fn organization_id(&self) -> Option<ID> {
                self.0.organization_id.clone().map(ID)
            }

            /// The id of the application the session was issued to.
            async fn application_id(&self) -> Option<ID> {
                self.0.application_id.clone().map(ID)
            }

            /// The application the session was issued to.
            async fn application(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Application>> {
                let Some(id) = &self.0.application_id else { return Ok(None) };
                let state = state(ctx)?;
                let row = state.loader.load_one(ApplicationKey::new(&self.0.zone_id, id)).await.map_err(Into::into);
                Ok(fail(state, row)?.map(Application))
            }

            /// When the subject last authenticated for this session.
            async fn authenticated_at(&self) -> Option<DateTime> {
                self.0.authenticated_at.map(DateTime)
            }

            /// When the session was created.
            async fn created_at(&self) -> Option<DateTime> {
                self.0.created_at.map(DateTime)
            }

            /// When the session was last updated.
            async fn updated_at(&self) -> Option<DateTime> {
                self.0.updated_at.map(DateTime)
            }

            /// When the session expires.
            async fn expires_at(&self) -> Option<DateTime> {
                self.0.expires_at.map(DateTime)
            }

            /// The issuer of the session's tokens.
            async fn issuer(&self) -> Option<&str> {
                self.0.issuer.as_deref()
            }

            /// The subject of the session's tokens.
            async fn subject(&self) -> Option<&str> {
                self.0.subject.as_deref()
            }

            /// The identity provider the subject authenticated with.
            async fn provider_id(&self) -> Option<ID> {
                self.0.provider_id.clone().map(ID)
            }

            /// Display metadata.
            async fn metadata(&self) -> Option<SessionMetadata> {
                self.0.metadata_name.clone().map(|name| SessionMetadata { name })
            }

            /// The session's claims: ID-token claims for user sessions, application claims otherwise.
            async fn session_data(&self) -> Option<Json> {
                self.0.session_data().map(Json)
            }

            $($extra)*
        }
    };
}

session_object!(
    /// A session a user holds. Token refresh and delegation create child
    /// sessions under it, forming a tree.
    UserSession {
        /// The id of the user the session belongs to.
        async fn user_id(&self) -> ID {
            ID(self.0.user_id.clone().unwrap_or_default())
        }

        /// The user the session belongs to.
        async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
            let Some(id) = &self.0.user_id else { return Ok(None) };
            let state = state(ctx)?;
            let row = state.loader.load_one(UserKey::new(&self.0.zone_id, id)).await.map_err(Into::into);
            Ok(fail(state, row)?.map(User))
        }

        /// The id of the user agent the session was created from.
        async fn user_agent_id(&self) -> Option<ID> {
            self.0.user_agent_id.clone().map(ID)
        }

        /// The user agent the session was created from.
        async fn user_agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAgent>> {
            let Some(id) = &self.0.user_agent_id else { return Ok(None) };
            let state = state(ctx)?;
            let row = state.loader.load_one(UserAgentKey::new(&self.0.zone_id, id)).await.map_err(Into::into);
            Ok(fail(state, row)?.map(UserAgent))
        }

        /// The id of the session this one was refreshed or delegated from.
        async fn parent_id(&self) -> Option<ID> {
            self.0.parent_id.clone().map(ID)
        }

        /// The session this one was refreshed or delegated from.
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
            session_connection(ctx, &self.0.zone_id, Owner::Parent, &self.0.id, filter, order_by, first, after, last, before)
        }

        /// The sessions above this one, from the root of its tree down to its
        /// parent; empty for a session without parent. Ancestors outside the
        /// token's organization are left out.
        async fn ancestors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserSession>> {
            if self.0.parent_id.is_none() {
                return Ok(Vec::new());
            }
            let state = state(ctx)?;
            let key = AncestorsKey(ZonedId { zone_id: self.0.zone_id.clone(), id: self.0.id.clone() });
            let chain = state.loader.load_one(key).await.map_err(Into::into);
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
            let mut args = fail(state, session_list_args(filter, order_by, first, after, last, before))?;
            args.criteria.max_depth = max_depth;
            let is_root = self.0.parent_id.is_none();
            Ok(owned_connection(ctx, &self.0.zone_id, Owner::Ancestor, &self.0.id, is_root, args))
        }
    }
);

session_object!(
    /// A session an application holds on its own behalf. It never has a parent.
    ApplicationSession {}
);

async fn load_user_session(
    ctx: &Context<'_>,
    zone_id: &str,
    id: &str,
) -> async_graphql::Result<Option<UserSession>> {
    let state = state(ctx)?;
    let row = state
        .loader
        .load_one(SessionKey::new(zone_id, id))
        .await
        .map_err(Into::into);
    Ok(fail(state, row)?
        .filter(|r| r.session_type == StoredSessionType::User)
        .map(UserSession))
}

/// Documentation links of an application.
#[derive(SimpleObject, Clone)]
pub struct ApplicationMetadata {
    /// Where the application's documentation lives.
    pub docs_url: Option<String>,
}

/// The protocols an application speaks.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ApplicationProtocols")]
pub struct Protocols {
    /// OAuth 2.0 settings.
    pub oauth2: Option<OAuth2Protocol>,
}

/// OAuth 2.0 settings of an application.
#[derive(SimpleObject, Clone)]
#[graphql(name = "OAuth2Protocol")]
pub struct OAuth2Protocol {
    /// Where users may be sent back to after signing in.
    pub redirect_uris: Option<Vec<String>>,
    /// Where users may be sent back to after signing out.
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

#[derive(Clone)]
pub struct Application(pub Arc<application::Model>);

/// An application registered with the identity platform.
#[Object]
impl Application {
    /// The application's id, unique across all kinds.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the application was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the application was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// How many other applications depend on this one.
    async fn dependencies_count(&self) -> i32 {
        self.0.dependencies_count
    }
    /// The application's identifier, unique within its zone.
    async fn identifier(&self) -> &str {
        &self.0.identifier
    }
    /// The application's display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The organization the application belongs to.
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// Who owns the application.
    async fn owner_type(&self) -> ApplicationOwnerType {
        self.0.owner_type.into()
    }
    /// The application's URL-safe name, unique within its zone.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The zone (tenant) the application belongs to.
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// A description of the application.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Documentation links.
    async fn metadata(&self) -> Option<ApplicationMetadata> {
        let stored: StoredAppMetadata = serde_json::from_value(self.0.metadata.clone()?).ok()?;
        Some(ApplicationMetadata {
            docs_url: stored.docs_url,
        })
    }
    /// The protocols the application speaks.
    async fn protocols(&self) -> Option<Protocols> {
        let stored: ApplicationProtocols =
            serde_json::from_value(self.0.protocols.clone()?).ok()?;
        Some(Protocols {
            oauth2: stored.oauth2.map(|o| OAuth2Protocol {
                redirect_uris: o.redirect_uris,
                post_logout_redirect_uris: o.post_logout_redirect_uris,
            }),
        })
    }
    /// Sessions issued to this application. Entry sessions only unless `filter.includeNested`.
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
        #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
        #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")]
        order_by: Option<SessionOrder>,
    ) -> async_graphql::Result<SessionConnection> {
        session_connection(
            ctx,
            &self.0.zone_id,
            Owner::Application,
            &self.0.id,
            filter,
            order_by,
            first,
            after,
            last,
            before,
        )
    }
}

#[derive(Clone)]
pub struct User(pub Arc<user::Model>);

/// A user of the identity platform.
#[Object]
impl User {
    /// The user's id, unique across all kinds.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the user was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the user was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The user's email address.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Whether the user has verified their email address.
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }
    /// The organization the user belongs to.
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// The zone (tenant) the user belongs to.
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// When the user last authenticated.
    async fn authenticated_at(&self) -> Option<DateTime> {
        self.0.authenticated_at.map(DateTime)
    }
    /// The issuer of the user's identity, for federated users.
    async fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }
    /// The identity provider the user signs in with.
    async fn provider_id(&self) -> Option<ID> {
        self.0.provider_id.clone().map(ID)
    }
    /// The user's subject at the identity provider.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The user's sessions. Entry sessions only unless `filter.includeNested`.
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
        #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
        #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")]
        order_by: Option<SessionOrder>,
    ) -> async_graphql::Result<SessionConnection> {
        session_connection(
            ctx,
            &self.0.zone_id,
            Owner::User,
            &self.0.id,
            filter,
            order_by,
            first,
            after,
            last,
            before,
        )
    }
}

#[derive(Clone)]
pub struct UserAgent(pub Arc<user_agent::Model>);

/// A client program sessions are created from: a browser, a CLI, an app.
#[Object]
impl UserAgent {
    /// The user agent's id, unique across all kinds.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the user agent was first seen.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the user agent was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// `ua:` followed by the SHA-256 of the agent string, in lowercase hex.
    async fn identifier(&self) -> &str {
        &self.0.identifier
    }
    /// The user agent's display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The organization the user agent belongs to.
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// The user agent's URL-safe name, unique within its zone.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The zone (tenant) the user agent belongs to.
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// Sessions created from this user agent. Entry sessions only unless `filter.includeNested`.
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
        #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
        #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")]
        order_by: Option<SessionOrder>,
    ) -> async_graphql::Result<SessionConnection> {
        session_connection(
            ctx,
            &self.0.zone_id,
            Owner::UserAgent,
            &self.0.id,
            filter,
            order_by,
            first,
            after,
            last,
            before,
        )
    }
}
