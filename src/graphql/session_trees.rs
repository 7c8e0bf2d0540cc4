//! SQL for whole session trees: `ancestors` (the parent chain up to the
//! root) and `descendants` (everything below a session), each batched across
//! all the sessions of one level of a query.
//!
//! The import stores every session's `root_id` and `depth`, so the
//! descendants of a root are one range of the `(zone_id, root_id,
//! created_at, id)` index. Below a session that is not a root, no stored
//! column names its subtree; the subtree is walked down the parent index
//! with a recursive query instead, reading that subtree and nothing else of
//! its tree.

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement};

use super::pagination::{order_by, push_cursor_bounds, push_keyset_page};
use super::session_lists::{Criteria, ListArgs, Owner, push_criteria};
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization};
use crate::auth::Access;

/// A session whose descendants are asked for.
#[derive(Debug, Clone)]
pub struct TreeOwner {
    pub id: String,
    /// Roots own their whole tree but themselves: no walk needed.
    pub is_root: bool,
}

/// Appends `... FROM <subtree> WHERE zone_id = <zone>`: every session below
/// each of `owners` (at most `max_depth` levels down), as `sessions` rows
/// plus the owner's id, `page_owner`. Below a root that is one range of the
/// root index; below an inner session, the subtree walked down the parent
/// index. Links of other organizations are walked through; `push_visible`
/// filters the rows themselves. The caller writes the `SELECT` list and the
/// `WITH` prefix comes first, so `select` is given the text that follows it.
fn push_subtree(
    sql: &mut Sql,
    zone_id: &str,
    owners: &[TreeOwner],
    max_depth: Option<u32>,
    select: &str,
) {
    let (roots, walked): (Vec<&TreeOwner>, Vec<&TreeOwner>) =
        owners.iter().partition(|owner| owner.is_root);
    if !walked.is_empty() {
        sql.push("WITH RECURSIVE below(page_owner, member_id, levels) AS (SELECT parent_id, id, 1 FROM sessions WHERE zone_id = ")
            .bind(zone_id.to_owned())
            .push(" AND parent_id IN ")
            .bind_list(walked.iter().map(|owner| owner.id.clone()))
            .push(" UNION ALL SELECT below.page_owner, sessions.id, below.levels + 1 FROM below JOIN sessions ON sessions.zone_id = ")
            .bind(zone_id.to_owned())
            .push(" AND sessions.parent_id = below.member_id");
        if let Some(max_depth) = max_depth {
            sql.push(" WHERE below.levels < ").bind(max_depth as i32);
        }
        sql.push(") ");
    }
    sql.push(select).push(" FROM (");
    if !walked.is_empty() {
        sql.push(
            "SELECT sessions.*, below.page_owner FROM below JOIN sessions ON sessions.zone_id = ",
        )
        .bind(zone_id.to_owned())
        .push(" AND sessions.id = below.member_id");
    }
    if !walked.is_empty() && !roots.is_empty() {
        sql.push(" UNION ALL ");
    }
    if !roots.is_empty() {
        sql.push("SELECT sessions.*, root_id AS page_owner FROM sessions WHERE zone_id = ")
            .bind(zone_id.to_owned())
            .push(" AND root_id IN ")
            .bind_list(roots.iter().map(|owner| owner.id.clone()))
            .push(" AND depth > 0");
        if let Some(max_depth) = max_depth {
            sql.push(" AND depth <= ").bind(max_depth as i32);
        }
    }
    sql.push(") subtree WHERE zone_id = ")
        .bind(zone_id.to_owned());
}

/// The caller's organization and the list's criteria, on `sessions`.
fn push_visible(sql: &mut Sql, access: &Access, criteria: &Criteria, now: DateTime<Utc>) {
    push_organization(sql, access, OrganizationColumn::Nullable);
    push_criteria(sql, criteria, Owner::Ancestor, now);
}

/// One page of descendants per owner, each row followed by its owner's id
/// (`page_owner`), fetching one row more than the page to learn whether
/// another follows. A single root's page is a keyset range of the root
/// index; other batches number each owner's members in list order.
pub fn descendant_page_statement(
    backend: DbBackend,
    access: &Access,
    columns: &str,
    zone_id: &str,
    owners: &[TreeOwner],
    args: &ListArgs,
    now: DateTime<Utc>,
) -> Statement {
    let mut sql = Sql::new(backend);
    let max_depth = args.criteria.max_depth;
    if let [root] = owners
        && root.is_root
    {
        push_keyset_page(&mut sql, args.order, &args.window, true, |sql| {
            sql.push(&format!(
                "SELECT {columns}, root_id AS page_owner FROM sessions WHERE zone_id = "
            ))
            .bind(zone_id.to_owned())
            .push(" AND root_id = ")
            .bind(root.id.clone())
            .push(" AND depth > 0");
            if let Some(max_depth) = max_depth {
                sql.push(" AND depth <= ").bind(max_depth as i32);
            }
            push_visible(sql, access, &args.criteria, now);
        });
        return sql.build();
    }
    let order = order_by(args.order, args.window.backward);
    let fetch = args.window.limit + 1;
    // As for `children`, the select list (claims cast to text) stays
    // outside the window, so only the page's rows are converted.
    sql.push(&format!("SELECT {columns}, page_owner FROM ("));
    push_subtree(
        &mut sql,
        zone_id,
        owners,
        max_depth,
        &format!(
            "SELECT subtree.*, ROW_NUMBER() OVER (PARTITION BY page_owner ORDER BY {order}) AS page_rank"
        ),
    );
    push_visible(&mut sql, access, &args.criteria, now);
    push_cursor_bounds(&mut sql, args.order, &args.window);
    sql.push(&format!(
        ") ranked WHERE page_rank <= {fetch} ORDER BY page_owner, page_rank"
    ));
    sql.build()
}

/// `totalCount` of descendants per owner, as `owner` and `total`.
pub fn descendant_count_statement(
    backend: DbBackend,
    access: &Access,
    zone_id: &str,
    owners: &[TreeOwner],
    criteria: &Criteria,
    now: DateTime<Utc>,
) -> Statement {
    let mut sql = Sql::new(backend);
    push_subtree(
        &mut sql,
        zone_id,
        owners,
        criteria.max_depth,
        "SELECT page_owner AS owner, COUNT(*) AS total",
    );
    push_visible(&mut sql, access, criteria, now);
    sql.push(" GROUP BY page_owner");
    sql.build()
}

/// The ancestors of each of `ids`, each row followed by the id it is an
/// ancestor of (`descendant_id`), root first. The chain is walked whatever
/// the organization of its links; only the caller's rows are returned.
pub fn ancestors_statement(
    backend: DbBackend,
    access: &Access,
    columns: &str,
    zone_id: &str,
    ids: &[String],
) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push("WITH RECURSIVE up(descendant_id, member_id, next_id) AS (SELECT id, id, parent_id FROM sessions WHERE zone_id = ")
        .bind(zone_id.to_owned())
        .push(" AND id IN ")
        .bind_list(ids.iter().cloned())
        .push(" UNION ALL SELECT up.descendant_id, sessions.id, sessions.parent_id FROM up JOIN sessions ON sessions.zone_id = ")
        .bind(zone_id.to_owned())
        .push(&format!(
            " AND sessions.id = up.next_id) SELECT {columns}, descendant_id FROM (SELECT sessions.*, up.descendant_id FROM up JOIN sessions ON sessions.zone_id = "
        ))
        .bind(zone_id.to_owned())
        .push(" AND sessions.id = up.member_id AND up.member_id <> up.descendant_id");
    push_organization(&mut sql, access, OrganizationColumn::Nullable);
    sql.push(") chain ORDER BY descendant_id, depth");
    sql.build()
}
