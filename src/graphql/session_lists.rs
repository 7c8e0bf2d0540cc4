//! SQL for session connections: filters over the effective status, keyset
//! pages, and counts, for the root list and for per-owner lists batched
//! across many owners (children of many parents, sessions of many users).

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement};

use super::pagination::{Ordering, Window, order_by, push_cursor_bounds, push_keyset_page};
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization};
use crate::auth::Access;
use crate::entities::enums::SessionType;

/// The status clients see: a stored `active` session whose expiry has
/// passed reads as expired; `revoked` always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EffectiveStatus {
    Active,
    Expired,
    Revoked,
}

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

/// SQL for the effective status, with `now` bound.
pub(super) fn push_status(sql: &mut Sql, status: EffectiveStatus, now: DateTime<Utc>) {
    match status {
        EffectiveStatus::Active => {
            sql.push("(status = 'active' AND (expires_at IS NULL OR expires_at > ")
                .bind(now)
                .push("))");
        }
        EffectiveStatus::Expired => {
            sql.push("(status = 'expired' OR (status = 'active' AND expires_at <= ")
                .bind(now)
                .push("))");
        }
        EffectiveStatus::Revoked => {
            sql.push("(status = 'revoked')");
        }
    }
}

pub(super) fn push_criteria(sql: &mut Sql, criteria: &Criteria, owner: Owner, now: DateTime<Utc>) {
    if let Some(session_type) = criteria.session_type {
        let value = match session_type {
            SessionType::User => "user",
            SessionType::Application => "application",
        };
        sql.push(" AND session_type = ").bind(value);
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
                push_status(sql, *status, now);
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

/// The zone (one the caller may read: the loader checks), the caller's
/// organization, and the owners.
fn push_scope(sql: &mut Sql, access: &Access, zone_id: &str, owner: Owner, owners: &[String]) {
    sql.push(" WHERE zone_id = ").bind(zone_id.to_owned());
    push_organization(sql, access, OrganizationColumn::Nullable);
    if let Some(column) = owner.column() {
        sql.push(&format!(" AND {column} IN "))
            .bind_list(owners.iter().cloned());
    }
}

/// One page per owner (or of the zone), fetching one row more than the page
/// to learn whether another follows. Per-owner pages come from a single
/// statement: a window numbers each owner's rows in list order. With
/// `with_total` (per-owner pages without cursors only, where the window
/// already sees each owner's whole filtered list) every row also carries its
/// owner's `total_count`, saving the separate count statement. `columns` is
/// the select list (`Projection::select_list`).
#[allow(clippy::too_many_arguments)]
pub fn page_statement(
    backend: DbBackend,
    access: &Access,
    columns: &str,
    zone_id: &str,
    owner: Owner,
    owners: &[String],
    args: &ListArgs,
    with_total: bool,
    now: DateTime<Utc>,
) -> Statement {
    let mut sql = Sql::new(backend);
    let Some(column) = owner.column() else {
        push_keyset_page(&mut sql, args.order, &args.window, true, |sql| {
            sql.push(&format!("SELECT {columns} FROM sessions"));
            push_scope(sql, access, zone_id, owner, owners);
            push_criteria(sql, &args.criteria, owner, now);
        });
        return sql.build();
    };
    let order = order_by(args.order, args.window.backward);
    let fetch = args.window.limit + 1;
    let total = if with_total {
        format!(", COUNT(*) OVER (PARTITION BY {column}) AS total_count")
    } else {
        String::new()
    };
    // The column list (with its claims-to-text cast) belongs outside the
    // window: inside, PostgreSQL would convert every row of each owner's
    // list, not just the page (measured 14% slower for a 263-session user).
    let total_column = if with_total { ", total_count" } else { "" };
    sql.push(&format!(
        "SELECT {columns}{total_column} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY {order}) AS page_rank{total} FROM sessions",
    ));
    push_scope(&mut sql, access, zone_id, owner, owners);
    push_criteria(&mut sql, &args.criteria, owner, now);
    push_cursor_bounds(&mut sql, args.order, &args.window);
    sql.push(&format!(
        ") ranked WHERE page_rank <= {fetch} ORDER BY {column}, page_rank"
    ));
    sql.build()
}

/// `totalCount` per owner (or of the zone): the whole filtered list,
/// whatever the cursor.
pub fn count_statement(
    backend: DbBackend,
    access: &Access,
    zone_id: &str,
    owner: Owner,
    owners: &[String],
    criteria: &Criteria,
    now: DateTime<Utc>,
) -> Statement {
    let mut sql = Sql::new(backend);
    match owner.column() {
        None => sql.push("SELECT '' AS owner, COUNT(*) AS total FROM sessions"),
        Some(column) => sql.push(&format!(
            "SELECT {column} AS owner, COUNT(*) AS total FROM sessions"
        )),
    };
    push_scope(&mut sql, access, zone_id, owner, owners);
    push_criteria(&mut sql, criteria, owner, now);
    if let Some(column) = owner.column() {
        sql.push(&format!(" GROUP BY {column}"));
    }
    sql.build()
}
