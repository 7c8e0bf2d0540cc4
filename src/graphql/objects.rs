//! The graph's types, as the data their resolvers read. Each object's
//! resolvers are in a file of its own (`user_session.rs`, `user.rs`, ...);
//! the types live here so that those files name each other's types (a
//! session's user, a user's sessions) without depending on each other.

use std::sync::Arc;

use async_graphql::{ID, Interface, Union};

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
