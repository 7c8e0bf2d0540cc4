//! What a list of sessions is: whose it is (its [`Owner`]), which
//! sessions it keeps ([`Criteria`]), its order and window ([`ListArgs`]),
//! and the SQL condition of its criteria, shared by pages, counts, trees
//! and statistics.

use chrono::{DateTime, Utc};

use super::SessionRow;
use super::keyset::{Ordering, Window};
use super::sql::Sql;
use super::status::{EffectiveStatus, push_status_is};
use crate::auth::Access;
use crate::entities::enums::SessionType;

/// Which sessions a connection lists, beyond its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Criteria {
    pub session_type: Option<SessionType>,
    /// Any of these; `Some(empty)` matches nothing.
    pub statuses: Option<Vec<EffectiveStatus>>,
    pub user_id: Option<String>,
    pub application_id: Option<String>,
    pub user_agent_id: Option<String>,
    /// `false` lists entry sessions only (depth 0 or 1).
    pub include_nested: bool,
    /// For `descendants`: at most this many levels below the owner.
    pub max_depth: Option<u32>,
}

/// The relation a connection hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// `Query.sessions`: the whole zone.
    Zone,
    Parent,
    User,
    Application,
    UserAgent,
    /// `descendants`: every session below the owner (see `session_trees`).
    Ancestor,
}

impl Owner {
    /// The column that names a row's owner; `None` for the zone list and for
    /// descendants, whose owners no single column names.
    pub fn column(self) -> Option<&'static str> {
        match self {
            Owner::Zone | Owner::Ancestor => None,
            Owner::Parent => Some("parent_id"),
            Owner::User => Some("user_id"),
            Owner::Application => Some("application_id"),
            Owner::UserAgent => Some("user_agent_id"),
        }
    }
}

/// Everything that shapes one page, shared by every owner in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListArgs {
    pub criteria: Criteria,
    pub order: Ordering,
    pub window: Window,
}

impl ListArgs {
    /// Whether a page statement can count the owner's whole list as well:
    /// only a per-owner window without cursors sees the whole list.
    /// Descendant pages never do: a single root's page is a keyset range
    /// that does not see the whole list.
    pub fn counts_in_page(&self, owner: Owner) -> bool {
        !matches!(owner, Owner::Zone | Owner::Ancestor)
            && self.window.after.is_none()
            && self.window.before.is_none()
    }
}

/// A session type as the `session_type` column stores it.
pub(super) fn session_type_name(session_type: SessionType) -> &'static str {
    match session_type {
        SessionType::User => "user",
        SessionType::Application => "application",
    }
}

pub(super) fn push_criteria(sql: &mut Sql, criteria: &Criteria, owner: Owner, now: DateTime<Utc>) {
    if let Some(session_type) = criteria.session_type {
        sql.push(" AND session_type = ")
            .bind(session_type_name(session_type));
    }
    if let Some(statuses) = &criteria.statuses {
        if statuses.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND (");
            for (i, status) in statuses.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                push_status_is(sql, *status, now);
            }
            sql.push(")");
        }
    }
    for (column, value) in [
        ("user_id", &criteria.user_id),
        ("application_id", &criteria.application_id),
        ("user_agent_id", &criteria.user_agent_id),
    ] {
        if let Some(value) = value {
            sql.push(&format!(" AND {column} = ")).bind(value.clone());
        }
    }
    // `children` and `descendants` list sessions whatever their depth (SPEC §2, §5).
    if !criteria.include_nested && !matches!(owner, Owner::Parent | Owner::Ancestor) {
        sql.push(" AND depth <= 1");
    }
}

/// An owner of a list in a batch.
#[derive(Debug, Clone)]
pub struct ListOwner {
    pub id: String,
    /// For descendants: the owner is the root of its tree, which owns the
    /// whole tree but itself (see `session_trees.rs`).
    pub is_root: bool,
}

/// The fetched rows of one owner's page, in fetch order, and when asked
/// for, the owner's whole count.
#[derive(Debug, Default)]
pub struct OwnerRows {
    pub rows: Vec<SessionRow>,
    pub total: i64,
}

/// The zone a statement of pages reads.
#[derive(Clone, Copy)]
pub(super) enum Zone<'a> {
    Id(&'a str),
    /// The zone of the user with this id, read by the statement itself:
    /// a user looked up together with a page of their sessions.
    OfUser(&'a str),
    /// The zone in this column of a row the statement has already read:
    /// the user found beside their page, where a lateral join can see it.
    Column(&'static str),
}

impl Zone<'_> {
    /// ` = <the zone>`, after a `zone_id` column.
    pub fn push_equals(self, sql: &mut Sql) {
        match self {
            Zone::Id(zone_id) => sql.push(" = ").bind(zone_id.to_owned()),
            Zone::OfUser(user_id) => sql
                .push(" = (SELECT zone_id FROM users WHERE id = ")
                .bind(user_id.to_owned())
                .push(")"),
            Zone::Column(column) => sql.push(" = ").push(column),
        };
    }
}

/// What shapes one statement of pages: everything but the owners.
#[derive(Clone, Copy)]
pub(super) struct PageRequest<'a> {
    pub access: &'a Access,
    pub zone: Zone<'a>,
    pub owner: Owner,
    pub args: &'a ListArgs,
    /// Each row also carries its owner's `total_count` (only for
    /// [`ListArgs::counts_in_page`] lists).
    pub with_total: bool,
    pub now: DateTime<Utc>,
}
