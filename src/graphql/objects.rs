//! The graph's types, as the data their resolvers read. Each object's
//! resolvers are in a file of its own (`user_session.rs`, `user.rs`, ...);
//! the types live here so that those files name each other's types (a
//! session's user, a user's sessions) without depending on each other.

use std::sync::Arc;

use async_graphql::{ID, Interface, Union};

use super::enums::SessionStatus;
use super::loaders::{LoadError, SessionPage};
use super::scalars::{DateTime, Json};
use super::session_fields::SessionMetadata;

use crate::entities::enums::SessionType as StoredSessionType;
use crate::entities::{application, user, user_agent};
use crate::store::SessionRow;
use crate::store::joins::SessionJoins;
use crate::store::session_lists::{ListArgs, Owner};

/// A session a user holds (resolvers in `user_session.rs`).
#[derive(Clone)]
pub struct UserSession(pub Arc<SessionRow>);

/// A session an application holds (resolvers in `application_session.rs`).
#[derive(Clone)]
pub struct ApplicationSession(pub Arc<SessionRow>);

/// Resolvers in `application.rs`.
#[derive(Clone)]
pub struct Application(pub Arc<application::Model>);

/// Resolvers in `user.rs`.
#[derive(Clone)]
pub struct User(pub Arc<user::Model>);

/// Resolvers in `user_agent.rs`.
#[derive(Clone)]
pub struct UserAgent(pub Arc<user_agent::Model>);

/// A session: a user's or an application's.
#[derive(Union, Clone)]
pub enum Session {
    UserSession(UserSession),
    ApplicationSession(ApplicationSession),
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

// Each field resolves through the member's own resolver (generated for both
// by `session_object!` in `session_fields.rs`), so only the declarations are
// here; a test holds them equal to the members' (`tests/api/schema_snapshot.rs`).
/// The fields every session has, user's or application's. A fragment on
/// `IdentitySession` selects them once for both kinds.
// Clippy reads the fields' `ty = ...` as repeats of one attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Clone)]
#[graphql(
    field(
        name = "id",
        ty = "ID",
        desc = "The session's id, unique across all kinds."
    ),
    field(
        name = "status",
        ty = "SessionStatus",
        desc = "The effective status: a session past its expiry reads `EXPIRED`; `REVOKED` always wins."
    ),
    field(
        name = "active",
        ty = "bool",
        desc = "Whether the session is active.",
        deprecation = "Use `status`."
    ),
    field(
        name = "zone_id",
        ty = "ID",
        desc = "The zone (tenant) the session belongs to."
    ),
    field(
        name = "organization_id",
        ty = "Option<ID>",
        desc = "The organization the session belongs to."
    ),
    field(
        name = "application_id",
        ty = "Option<ID>",
        desc = "The id of the application the session was issued to."
    ),
    field(
        name = "application",
        ty = "Option<Application>",
        desc = "The application the session was issued to."
    ),
    field(
        name = "authenticated_at",
        ty = "Option<DateTime>",
        desc = "When the subject last authenticated for this session."
    ),
    field(
        name = "created_at",
        ty = "Option<DateTime>",
        desc = "When the session was created."
    ),
    field(
        name = "updated_at",
        ty = "Option<DateTime>",
        desc = "When the session was last updated."
    ),
    field(
        name = "expires_at",
        ty = "Option<DateTime>",
        desc = "When the session expires."
    ),
    field(
        name = "issuer",
        ty = "Option<String>",
        desc = "The issuer of the session's tokens."
    ),
    field(
        name = "subject",
        ty = "Option<String>",
        desc = "The subject of the session's tokens."
    ),
    field(
        name = "provider_id",
        ty = "Option<ID>",
        desc = "The identity provider the subject authenticated with."
    ),
    field(
        name = "metadata",
        ty = "Option<SessionMetadata>",
        desc = "Display metadata."
    ),
    field(
        name = "session_data",
        ty = "Option<Json>",
        desc = "The session's claims: ID-token claims for user sessions, application claims otherwise."
    )
)]
pub enum IdentitySession {
    UserSession(UserSession),
    ApplicationSession(ApplicationSession),
}

/// `IdentitySession` is reachable from no field, only through the types
/// that implement it; registering it through this type also records that
/// it implements `Node`, which the derive cannot declare.
pub struct IdentitySessionType;

impl async_graphql::OutputType for IdentitySessionType {
    fn type_name() -> std::borrow::Cow<'static, str> {
        IdentitySession::type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        let registered = IdentitySession::create_type_info(registry);
        registry.add_implements(&IdentitySession::type_name(), &Node::type_name());
        registered
    }

    async fn resolve(
        &self,
        _ctx: &async_graphql::ContextSelectionSet<'_>,
        field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<async_graphql::Value> {
        Err(async_graphql::ServerError::new(
            "IdentitySession is registered, never returned",
            Some(field.pos),
        ))
    }
}

impl From<Session> for Node {
    fn from(session: Session) -> Self {
        match session {
            Session::UserSession(s) => Node::UserSession(s),
            Session::ApplicationSession(s) => Node::ApplicationSession(s),
        }
    }
}

/// A list of sessions, loaded only when one of its fields is resolved
/// (resolvers in `session_connection.rs`).
pub struct SessionConnection {
    pub zone_id: String,
    pub owner: Owner,
    pub owner_id: String,
    /// For descendants: the owner is the root of its tree.
    pub owner_is_root: bool,
    pub args: Arc<ListArgs>,
    /// Both the page and `totalCount` are selected and one statement can
    /// answer both (see [`ListArgs::counts_in_page`]).
    pub count_in_page: bool,
    /// The to-one relations of the sessions the document selects, read
    /// with the page.
    pub joins: Arc<SessionJoins>,
    /// The page once its loader answered: the connection's fields
    /// (`nodes` and `totalCount` most often) share one lookup of it.
    pub loaded: tokio::sync::OnceCell<Result<Option<Arc<SessionPage>>, LoadError>>,
}

/// Whose sessions a connection lists.
#[derive(Debug, Clone, Copy)]
pub struct SessionList<'a> {
    pub zone_id: &'a str,
    pub owner: Owner,
    /// `""` for the zone's list.
    pub owner_id: &'a str,
    /// For descendants: the owner is the root of its tree.
    pub owner_is_root: bool,
}
