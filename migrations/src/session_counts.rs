//! The statement that changes the kept session counts, written once for
//! the migration's backfill and for every write the gateway makes (import,
//! revoke, delete, the expiry sweep, `recount`).
//!
//! `session_counts` holds, per zone, how many sessions share a key: their
//! organization, type, status class and whether they are entry sessions
//! (depth 0 or 1), at four levels: per application and user agent (0), per
//! application (1), per user agent (2) and for the whole zone (3). A
//! request reads the one level its filter and grouping need, so the widest
//! read is one row per application or user agent, never one per session.
//!
//! The status class is the stored status, except that a stored `active`
//! session whose `expires_at` is at or before the zone's `swept_until`
//! (`session_count_marks`) counts as `expired`. A read corrects for the
//! sessions that expired between `swept_until` and its own "now" by
//! counting them directly, which the expiry index keeps to a short range;
//! the sweep moves `swept_until` forward (and their counts with it) so that
//! range stays short.
//!
//! Each key's count may be spread over [`SHARDS`] rows, the sum being the
//! count: a write on PostgreSQL puts all its changes in one shard picked at
//! random, so that concurrent writes to one key (the zone's total, a busy
//! application, the nested sessions without one) do not queue on one row,
//! and the expiry sweep folds the other shards back into shard 0, so that a
//! read finds about one row per key.
//!
//! A revoke, the hottest write, leaves the count rows alone: it appends
//! what it moved to `session_count_moves` ([`MOVE_COLUMNS`]), one row per
//! key at level 0, which the gateway folds into the counts every second or
//! so, deleting them in the same statement. A read adds the moves not
//! folded yet, so it sees every committed revoke exactly once.

/// Rows the zone's total is spread over.
pub const SHARDS: u32 = 8;

/// How a set of sessions changes the counts: each row adds `sign` under the
/// class it has when its stored status is `stored_status`, an SQL
/// expression over the `counted` rows (`counted.stored_status`, the status
/// as it is now, or a literal such as `'active'`, the status a revoke found).
#[derive(Debug, Clone, Copy)]
pub struct CountChange {
    pub stored_status: &'static str,
    pub sign: i32,
}

/// Each row counted as it is stored now.
pub const AS_STORED: &str = "counted.stored_status";

/// The opening of the `counted` CTE, up to its `WHERE`: the caller writes the
/// condition over `s` (the `sessions` rows to count, all in zones that have
/// a `session_count_marks` row), then [`count_changes_tail`].
pub const COUNTED_ROWS_HEAD: &str = "counted AS (SELECT s.zone_id AS zone_id, \
COALESCE(s.application_id, '') AS application_key, \
COALESCE(s.user_agent_id, '') AS user_agent_key, \
COALESCE(s.organization_id, '') AS organization_key, \
s.session_type AS session_type, \
CASE WHEN s.depth <= 1 THEN 1 ELSE 0 END AS entry, \
s.status AS stored_status, s.expires_at AS expires_at, m.swept_until AS swept_until \
FROM sessions s JOIN session_count_marks m ON m.zone_id = s.zone_id WHERE ";

/// The key columns of `session_counts`, its primary key.
pub const COUNTS_KEY: &str = "zone_id, level, application_key, user_agent_key, organization_key, session_type, status, entry, shard";

/// Closes the `counted` CTE and adds `changes` of its rows to the counts,
/// at all four levels, in `shard` ([`upsert_changes`]).
pub fn count_changes_tail(changes: &[CountChange], shard: u32) -> String {
    let class = |stored: &str| {
        format!(
            "CASE WHEN {stored} = 'active' AND counted.expires_at <= counted.swept_until THEN 'expired' ELSE {stored} END"
        )
    };
    let changed = changes
        .iter()
        .map(|change| {
            format!(
                "SELECT zone_id, application_key, user_agent_key, organization_key, session_type, entry, {} AS status, {} AS n FROM counted",
                class(change.stored_status),
                change.sign
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    format!("), changes AS ({changed}) {}", upsert_changes(shard))
}

/// Adds the rows of a `changes` relation to the counts, each `n` sessions
/// of one key at level 0 (`zone_id`, `application_key`, `user_agent_key`,
/// `organization_key`, `session_type`, `entry`) joining (`n > 0`) or
/// leaving (`n < 0`) the status class `status`,
/// at all four levels, in `shard`. Rows are upserted in key order, so that
/// concurrent writers lock shared count rows in one order and cannot
/// deadlock on them.
pub fn upsert_changes(shard: u32) -> String {
    let shard = shard % SHARDS;
    let level = |level: u32, application: &str, user_agent: &str, shard: u32, group: &str| {
        format!(
            "SELECT zone_id, {level} AS level, {application} AS application_key, {user_agent} AS user_agent_key, organization_key, session_type, status, entry, {shard} AS shard, SUM(n) AS total FROM changes GROUP BY zone_id, {group}organization_key, session_type, status, entry"
        )
    };
    format!(
        "INSERT INTO session_counts ({COUNTS_KEY}, total) \
SELECT * FROM ({} UNION ALL {} UNION ALL {} UNION ALL {}) deltas WHERE total <> 0 ORDER BY {COUNTS_KEY} \
ON CONFLICT ({COUNTS_KEY}) DO UPDATE SET total = session_counts.total + excluded.total",
        level(
            0,
            "application_key",
            "user_agent_key",
            shard,
            "application_key, user_agent_key, "
        ),
        level(1, "application_key", "''", shard, "application_key, "),
        level(2, "''", "user_agent_key", shard, "user_agent_key, "),
        level(3, "''", "''", shard, ""),
    )
}

/// The columns of `session_count_moves`: `n` sessions of one key at level
/// 0 that a revoke moved from the class `moved_from` to `moved_to`, not yet
/// added to `session_counts`. A revoke appends one such row per key it
/// changed instead of updating eight count rows, and the gateway folds
/// them into the counts in batches; a read adds the ones not folded yet.
pub const MOVE_COLUMNS: &str = "zone_id, application_key, user_agent_key, organization_key, session_type, entry, moved_from, moved_to, n";

/// A `changes` relation ([`upsert_changes`]) over the moves in `moves` (a
/// relation with [`MOVE_COLUMNS`]): each leaves one class and joins the
/// other.
pub fn changes_of_moves(moves: &str) -> String {
    let key = "zone_id, application_key, user_agent_key, organization_key, session_type, entry";
    format!(
        "changes AS (SELECT {key}, moved_from AS status, -n AS n FROM {moves} \
UNION ALL SELECT {key}, moved_to AS status, n FROM {moves})"
    )
}
