//! The one recursive walk down a session tree, shared by everything that
//! reads or changes a subtree: `descendants` below inner sessions, revoking
//! and deleting, and the import moving a session to another parent.

use super::sql::Sql;

/// `WITH RECURSIVE subtree (owner_id, id, levels) AS (...) `: each of
/// `owners` (at `levels` 0) and every session below it, `levels` below it,
/// at most `max_depth` levels down, all in `zone_id` (a tree never leaves
/// its zone). Links of every organization are walked; callers filter the
/// rows they return.
///
/// `subtree CROSS JOIN sessions` makes SQLite walk the subtree and look each
/// node's children up by `(zone_id, parent_id)`; with a plain JOIN, SQLite
/// 3.51 chose to scan the zone's whole parent index per step (a revoke took
/// 26 ms instead of 0.12 ms on 100,000 sessions). PostgreSQL plans it as the
/// inner join it is.
pub(super) fn push_subtree(
    sql: &mut Sql,
    zone_id: &str,
    owners: impl IntoIterator<Item = String>,
    max_depth: Option<u32>,
) {
    sql.push("WITH RECURSIVE subtree (owner_id, id, levels) AS (SELECT id, id, 0 FROM sessions WHERE zone_id = ")
        .bind(zone_id.to_owned())
        .push(" AND id IN ")
        .bind_list(owners)
        .push(" UNION ALL SELECT subtree.owner_id, child.id, subtree.levels + 1 FROM subtree CROSS JOIN sessions child WHERE child.zone_id = ")
        .bind(zone_id.to_owned())
        .push(" AND child.parent_id = subtree.id");
    if let Some(max_depth) = max_depth {
        sql.push(" AND subtree.levels < ").bind(max_depth as i32);
    }
    sql.push(") ");
}
