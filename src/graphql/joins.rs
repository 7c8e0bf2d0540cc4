//! Which to-one relations of a page's or a lookup's sessions the document
//! selects, so their statement reads them too (see [`crate::store::joins`]),
//! and what else a connection's selection reads.
//!
//! The look-ahead sees through fragments but not their type conditions nor
//! `@skip`/`@include`: it errs towards joining a relation no field reads,
//! which costs a join and changes no answer.

use std::sync::Arc;

use async_graphql::Lookahead;

use crate::store::joins::{MAX_PARENT_LEVELS, SessionJoins};

/// What a connection field's selection reads: the same on every object the
/// field is resolved on, so a request finds it once per field of its
/// document (`RequestState::connection_selections`).
pub struct ConnectionSelection {
    /// `nodes`, `edges` or `pageInfo`: a page is read.
    pub reads_page: bool,
    pub total_count: bool,
    /// The to-one relations of the page's sessions.
    pub joins: Arc<SessionJoins>,
}

impl ConnectionSelection {
    pub fn of(connection: &Lookahead<'_>) -> Self {
        ConnectionSelection {
            reads_page: ["nodes", "edges", "pageInfo"]
                .iter()
                .any(|field| connection.field(field).exists()),
            total_count: connection.field("totalCount").exists(),
            joins: Arc::new(connection_joins(connection)),
        }
    }
}

/// The relations selected on the sessions of `sessions` (a `nodes` field,
/// an `edges { node }`, or a session field itself).
pub fn selected_joins(sessions: &Lookahead<'_>) -> SessionJoins {
    joins_at(sessions, MAX_PARENT_LEVELS)
}

/// The relations of a connection's sessions, through `nodes` and `edges`.
fn connection_joins(connection: &Lookahead<'_>) -> SessionJoins {
    let nodes = connection.field("nodes");
    let edges = connection.field("edges").field("node");
    let mut joins = SessionJoins::default();
    if nodes.exists() {
        joins = joins.union(joins_at(&nodes, MAX_PARENT_LEVELS));
    }
    if edges.exists() {
        joins = joins.union(joins_at(&edges, MAX_PARENT_LEVELS));
    }
    joins
}

/// The session fields whose object a session's statement can join, and
/// the type each returns (checked against the schema by
/// `graphql::schema_facts`).
pub const JOINABLE: [(&str, &str); 4] = [
    (USER, "User"),
    (APPLICATION, "Application"),
    (USER_AGENT, "UserAgent"),
    (PARENT, "UserSession"),
];
const USER: &str = "user";
const APPLICATION: &str = "application";
const USER_AGENT: &str = "userAgent";
const PARENT: &str = "parent";

/// `parent_levels`: how many parents down the chain may still be joined.
fn joins_at(session: &Lookahead<'_>, parent_levels: usize) -> SessionJoins {
    let parent = session.field(PARENT);
    SessionJoins {
        user: session.field(USER).exists(),
        application: session.field(APPLICATION).exists(),
        user_agent: session.field(USER_AGENT).exists(),
        parent: (parent_levels > 0 && parent.exists())
            .then(|| Box::new(joins_at(&parent, parent_levels - 1))),
    }
}
