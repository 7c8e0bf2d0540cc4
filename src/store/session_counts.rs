//! Keeping `session_counts` exact (what they hold: the migrations crate's
//! `session_counts` module): every write changes them in its own
//! transaction, the expiry sweep moves sessions whose expiry passed from
//! `active` to `expired`, and `recount` rebuilds them from the rows.
//!
//! How writes stay exact without a zone-wide lock on PostgreSQL:
//! - a revoke or delete changes counts only for rows it has locked (its
//!   UPDATE, its `FOR UPDATE`), classed by the zone's `swept_until` as it
//!   stands once they are locked (a revoke checks that the mark its UPDATE
//!   read has not moved since, and reads it again if it has);
//! - the sweep locks the rows it moves first, so a revoke of one of them
//!   waits for the sweep and then sees its new `swept_until`, and a row a
//!   revoke holds drops out of the sweep once the revoke commits;
//! - an import, which inserts rows the sweep cannot lock, holds its zones'
//!   `session_count_marks` rows `FOR SHARE`, and the sweep waits (briefly,
//!   then gives up until its next round) for the mark `FOR UPDATE`.
//!
//! - every statement locks count rows in key order, shard last, so writes,
//!   the sweep and the fold of spread shards cannot deadlock on them.
//!
//! On SQLite every write transaction holds the database's one write lock.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};
use sessiongraph_migrations::session_counts::{
    AS_STORED, COUNTED_ROWS_HEAD, COUNTS_KEY, CountChange, MOVE_COLUMNS, SHARDS, changes_of_moves,
    count_changes_tail, upsert_changes,
};

use super::db::begin_write;
use super::sql::{LOOKUP_CHUNK, Sql};
use super::subtree::push_subtree;

/// Rows counted again as they are stored: after an insert or update.
pub(super) const ADDED: &[CountChange] = &[CountChange {
    stored_status: AS_STORED,
    sign: 1,
}];

/// Rows counted out as they are stored: before a delete or update.
pub(super) const REMOVED: &[CountChange] = &[CountChange {
    stored_status: AS_STORED,
    sign: -1,
}];

/// Stored-active rows whose expiry the sweep passes.
const SWEPT: &[CountChange] = &[
    CountChange {
        stored_status: "'active'",
        sign: -1,
    },
    CountChange {
        stored_status: "'expired'",
        sign: 1,
    },
];

/// `[WITH | , ]counted AS (... WHERE <rows>), changes AS (...) INSERT ...`:
/// applies `changes` of the sessions `rows` selects (a condition over `s`).
/// `after_with` when the statement already opened a `WITH` (a subtree).
pub(super) fn push_count_changes(
    sql: &mut Sql,
    after_with: bool,
    rows: impl FnOnce(&mut Sql),
    changes: &[CountChange],
) {
    sql.push(if after_with { ", " } else { "WITH " })
        .push(COUNTED_ROWS_HEAD);
    rows(sql);
    sql.push(&count_changes_tail(changes, write_shard(sql.backend())));
}

/// The shard a write puts its count changes in: any on PostgreSQL, so that
/// concurrent writes to one key spread over rows; SQLite runs one write at
/// a time, so there every count stays in shard 0 and needs no folding.
fn write_shard(backend: DbBackend) -> u32 {
    match backend {
        DbBackend::Postgres => rand::random::<u32>() % SHARDS,
        _ => 0,
    }
}

/// Applies `changes` of the sessions with these ids, in statements of at
/// most [`LOOKUP_CHUNK`] ids.
pub(super) async fn change_counts_of(
    txn: &impl ConnectionTrait,
    ids: &[&str],
    changes: &[CountChange],
) -> Result<(), DbErr> {
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let mut sql = Sql::new(txn.get_database_backend());
        push_count_changes(
            &mut sql,
            false,
            |sql| {
                sql.push("s.id IN ").bind_list(chunk.iter().copied());
            },
            changes,
        );
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// A row of `session_count_moves` but its zone, its destination (always
/// `revoked`) and its number: application, user agent, organization,
/// type, entry, and the class the sessions left. The type and class are
/// the program's own words, written into the statement as literals.
type MoveKey<'a> = (&'a str, &'a str, &'a str, &'static str, i32, &'static str);

/// The count changes of the sessions a revoke changed (as they are after
/// it, all of one zone): each out of the class it had and into `revoked`,
/// appended to `session_count_moves` as one row per key (usually one row
/// for the whole revoke) for the gateway to fold into the counts later.
/// The class rule is the migrations crate's `count_changes_tail`'s, for a
/// row that was `active`: `expired` once its expiry is at or before
/// `swept_until`.
pub(super) struct RevokedCounts<'a> {
    zone_id: &'a str,
    /// The zone's mark the classes were taken from.
    swept_until: DateTime<Utc>,
    moves: std::collections::BTreeMap<MoveKey<'a>, i64>,
}

impl<'a> RevokedCounts<'a> {
    /// `None` when no row changed.
    pub(super) fn new(rows: &'a [super::SessionRow], swept_until: DateTime<Utc>) -> Option<Self> {
        let first = rows.first()?;
        let mut moves = std::collections::BTreeMap::new();
        for row in rows {
            let was = if row.expires_at.is_some_and(|at| at <= swept_until) {
                "expired"
            } else {
                "active"
            };
            *moves
                .entry((
                    row.application_id.as_deref().unwrap_or(""),
                    row.user_agent_id.as_deref().unwrap_or(""),
                    row.organization_id.as_deref().unwrap_or(""),
                    super::lists::session_type_name(row.session_type),
                    i32::from(row.depth <= 1),
                    was,
                ))
                .or_default() += 1;
        }
        Some(RevokedCounts {
            zone_id: &first.zone_id,
            swept_until,
            moves,
        })
    }

    /// The insert of the moves, returning a row per move. With
    /// `unless_mark_moved`, on PostgreSQL it inserts nothing (and returns
    /// no row) if the zone's mark is no longer `swept_until`: a sweep that
    /// moved these rows may have committed while the revoke's UPDATE waited
    /// for their locks, after the UPDATE's snapshot was taken. SQLite's
    /// write lock keeps sweeps out of the transaction.
    pub(super) fn push_insert(&self, sql: &mut Sql, unless_mark_moved: bool) {
        sql.push(&format!(
            "INSERT INTO session_count_moves ({MOVE_COLUMNS}) SELECT * FROM (VALUES "
        ));
        for (i, ((application, user_agent, organization, session_type, entry, was), n)) in
            self.moves.iter().enumerate()
        {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(self.zone_id.to_owned())
                .push(", ")
                .bind((*application).to_owned())
                .push(", ")
                .bind((*user_agent).to_owned())
                .push(", ")
                .bind((*organization).to_owned())
                .push(&format!(
                    ", '{session_type}', {entry}, '{was}', 'revoked', "
                ))
                .bind(*n)
                .push(")");
        }
        sql.push(") AS moves WHERE ");
        if unless_mark_moved && sql.backend() == DbBackend::Postgres {
            sql.push("EXISTS (SELECT 1 FROM session_count_marks WHERE zone_id = ")
                .bind(self.zone_id.to_owned())
                .push(" AND swept_until = ")
                .bind(self.swept_until)
                .push(")");
        } else {
            sql.push("true");
        }
        sql.push(" RETURNING 1");
    }
}

/// What `RETURNING` adds to a revoke's UPDATE for [`RevokedCounts`]: the
/// zone's `swept_until` in the UPDATE's snapshot, `NULL` for a zone that
/// keeps no counts.
pub(super) const SWEPT_UNTIL_OF_ROW: &str =
    "(SELECT swept_until FROM session_count_marks m WHERE m.zone_id = sessions.zone_id)";

/// Counts the sessions a revoke changed with the zone's mark read now, after
/// the revoke's UPDATE has locked them: a sweep that commits from here on
/// either waits for these rows or does not cover their expiry, so the mark
/// read classes them as every sweep will. For when
/// [`RevokedCounts::push_insert`] found its mark moved.
pub(super) async fn count_revoked(
    txn: &impl ConnectionTrait,
    rows: &[super::SessionRow],
) -> Result<(), DbErr> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let backend = txn.get_database_backend();
    let mut mark = Sql::new(backend);
    mark.push("SELECT swept_until FROM session_count_marks WHERE zone_id = ")
        .bind(first.zone_id.clone());
    let Some(row) = txn.query_one_raw(mark.build()).await? else {
        // A zone without a mark keeps no counts.
        return Ok(());
    };
    let swept_until: DateTime<Utc> = row.try_get_by_index(0)?;
    if let Some(counts) = RevokedCounts::new(rows, swept_until) {
        let mut insert = Sql::new(backend);
        counts.push_insert(&mut insert, false);
        txn.query_all_raw(insert.build()).await?;
    }
    Ok(())
}

/// Applies `changes` of the sessions below `id` (not itself).
pub(super) async fn change_counts_below(
    txn: &impl ConnectionTrait,
    zone_id: &str,
    id: &str,
    changes: &[CountChange],
) -> Result<(), DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    push_subtree(&mut sql, zone_id, [id.to_owned()], None);
    push_count_changes(
        &mut sql,
        true,
        |sql| {
            sql.push("s.zone_id = ")
                .bind(zone_id.to_owned())
                .push(" AND s.id IN (SELECT id FROM subtree WHERE levels > 0)");
        },
        changes,
    );
    txn.execute_raw(sql.build()).await?;
    Ok(())
}

/// The sessions an import wrote, counted in once all are written: one
/// grouped statement over them all costs far less than one per batch.
const IMPORTED: &str = "imported_sessions";

/// Opens the list of sessions the transaction writes ([`note_imported`]).
pub(super) async fn start_import(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let id_type = match txn.get_database_backend() {
        DbBackend::Postgres => "TEXT COLLATE \"C\"",
        _ => "TEXT",
    };
    txn.execute_unprepared(&format!(
        "CREATE TEMPORARY TABLE {IMPORTED} (id {id_type} PRIMARY KEY)"
    ))
    .await?;
    Ok(())
}

/// Notes sessions the import wrote (each once).
pub(super) async fn note_imported(txn: &impl ConnectionTrait, ids: &[&str]) -> Result<(), DbErr> {
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push(&format!("INSERT INTO {IMPORTED} (id) VALUES "));
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(id.to_string()).push(")");
        }
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Counts in every session noted, as written, and closes the list.
pub(super) async fn count_imported(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    push_count_changes(
        &mut sql,
        false,
        |sql| {
            sql.push(&format!("s.id IN (SELECT id FROM {IMPORTED})"));
        },
        ADDED,
    );
    txn.execute_raw(sql.build()).await?;
    txn.execute_unprepared(&format!("DROP TABLE {IMPORTED}"))
        .await?;
    Ok(())
}

/// Makes sure each zone has its mark (a new zone's counts start swept up
/// to now) and, on PostgreSQL, holds the marks `FOR SHARE` until the
/// transaction ends, so that no sweep moves `swept_until` under rows this
/// transaction inserts.
pub(super) async fn hold_zones(
    txn: &impl ConnectionTrait,
    zone_ids: &[&str],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    for chunk in zone_ids.chunks(LOOKUP_CHUNK) {
        let mut insert = Sql::new(backend);
        insert.push("INSERT INTO session_count_marks (zone_id, swept_until) VALUES ");
        for (i, zone_id) in chunk.iter().enumerate() {
            if i > 0 {
                insert.push(", ");
            }
            insert
                .push("(")
                .bind(zone_id.to_string())
                .push(", ")
                .bind(now)
                .push(")");
        }
        insert.push(" ON CONFLICT (zone_id) DO NOTHING");
        txn.execute_raw(insert.build()).await?;
        if backend == DbBackend::Postgres {
            let mut hold = Sql::new(backend);
            hold.push("SELECT zone_id FROM session_count_marks WHERE zone_id IN ")
                .bind_list(chunk.iter().map(|zone_id| zone_id.to_string()))
                .push(" ORDER BY zone_id FOR SHARE");
            txn.query_all_raw(hold.build()).await?;
        }
    }
    Ok(())
}

/// Locks the sessions with these ids until the transaction ends (PostgreSQL;
/// SQLite's write lock already covers them), so that their counts can be
/// taken out before they change.
pub(super) async fn lock_sessions(txn: &impl ConnectionTrait, ids: &[&str]) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("SELECT id FROM sessions WHERE id IN ")
            .bind_list(chunk.iter().copied())
            .push(" FOR UPDATE");
        txn.query_all_raw(sql.build()).await?;
    }
    Ok(())
}

/// How long the sweep waits for an import to let go of a zone before
/// trying again at its next round.
const SWEEP_LOCK_TIMEOUT: &str = "2s";

/// Moves the counts of `zone_id`'s stored-active sessions that expired by
/// `until` from `active` to `expired`, and `swept_until` to `until`, then
/// folds the zone's revokes ([`fold_moves`]) and spread counts
/// ([`fold_spread_counts`]) into shard 0. Returns false when an import
/// held the zone and nothing was done.
pub async fn sweep_expired(
    db: &DatabaseConnection,
    zone_id: &str,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let swept = match sweep_zone(db, zone_id, until).await {
        Err(error) if is_lock_timeout(&error) => false,
        done => done.map(|()| true)?,
    };
    let folded = fold_moves(db, Some(zone_id)).await? && swept;
    match fold_spread_counts(db, zone_id).await {
        Err(error) if is_lock_timeout(&error) => Ok(false),
        done => done.map(|()| folded),
    }
}

/// Adds the revokes kept in `session_count_moves` (of one zone, or of
/// every zone) to shard 0 of the counts and removes them. Returns false
/// when a write held a count row it needs for longer than the sweep waits:
/// the moves stay for the next round.
pub async fn fold_moves(db: &DatabaseConnection, zone_id: Option<&str>) -> Result<bool, DbErr> {
    match fold_moves_now(db, zone_id).await {
        Err(error) if is_lock_timeout(&error) => Ok(false),
        done => done.map(|()| true),
    }
}

async fn fold_moves_now(db: &DatabaseConnection, zone_id: Option<&str>) -> Result<(), DbErr> {
    // Most rounds find nothing to fold; a read says so without taking
    // SQLite's write lock or opening a transaction.
    let mut any = Sql::new(db.get_database_backend());
    any.push("SELECT 1 FROM session_count_moves");
    push_of_zone(&mut any, zone_id);
    any.push(" LIMIT 1");
    if db.query_one_raw(any.build()).await?.is_none() {
        return Ok(());
    }
    let txn = begin_upkeep(db).await?;
    fold_moves_in(&txn, zone_id).await?;
    txn.commit().await
}

/// ` WHERE zone_id = …` when `zone_id` is given.
fn push_of_zone(sql: &mut Sql, zone_id: Option<&str>) {
    if let Some(zone_id) = zone_id {
        sql.push(" WHERE zone_id = ").bind(zone_id.to_owned());
    }
}

/// The upkeep's write transaction: on PostgreSQL it waits for a row lock
/// at most [`SWEEP_LOCK_TIMEOUT`], so that a long import delays a round
/// rather than holding the upkeep up.
async fn begin_upkeep(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SET LOCAL lock_timeout = '{SWEEP_LOCK_TIMEOUT}'"))
            .await?;
    }
    Ok(txn)
}

/// [`fold_moves`] within `txn`, of one zone or all. On PostgreSQL one
/// statement deletes the moves and adds them up, so it adds exactly the
/// moves it deletes: a revoke that commits meanwhile keeps its row for the
/// next fold, and a read sees each move either as a row or in the counts.
/// SQLite's write lock makes its two statements one step.
async fn fold_moves_in(txn: &impl ConnectionTrait, zone_id: Option<&str>) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let of_zone = |sql: &mut Sql| push_of_zone(sql, zone_id);
    let mut fold = Sql::new(backend);
    if backend == DbBackend::Postgres {
        fold.push("WITH folded AS (DELETE FROM session_count_moves");
        of_zone(&mut fold);
        fold.push(&format!(
            " RETURNING {MOVE_COLUMNS}), {} {}",
            changes_of_moves("folded"),
            upsert_changes(0)
        ));
        txn.execute_raw(fold.build()).await?;
        return Ok(());
    }
    fold.push(&format!(
        "WITH folded AS (SELECT {MOVE_COLUMNS} FROM session_count_moves"
    ));
    of_zone(&mut fold);
    fold.push(&format!(
        "), {} {}",
        changes_of_moves("folded"),
        upsert_changes(0)
    ));
    txn.execute_raw(fold.build()).await?;
    let mut folded = Sql::new(backend);
    folded.push("DELETE FROM session_count_moves");
    of_zone(&mut folded);
    txn.execute_raw(folded.build()).await?;
    Ok(())
}

/// Adds the zone's count rows outside shard 0 into shard 0 and removes them
/// (PostgreSQL; see [`write_shard`]), so that between sweeps a read finds
/// about one row per key rather than up to [`SHARDS`]. Every sum stays the
/// same at every instant. The rows are locked in key order, the order every
/// write locks its count rows in, so the fold cannot deadlock with them.
async fn fold_spread_counts(db: &DatabaseConnection, zone_id: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let txn = begin_upkeep(db).await?;
    let key = COUNTS_KEY;
    let key_but_shard = "zone_id, level, application_key, user_agent_key, organization_key, session_type, status, entry";
    let mut fold = Sql::new(DbBackend::Postgres);
    fold.push(&format!(
        "WITH spread AS (SELECT {key} FROM session_counts WHERE zone_id = "
    ))
    .bind(zone_id.to_owned())
    .push(&format!(
        " AND shard <> 0 ORDER BY {key} FOR UPDATE), \
folded AS (DELETE FROM session_counts c USING spread \
WHERE ({}) = ({}) RETURNING c.*) \
INSERT INTO session_counts ({key}, total) \
SELECT {key_but_shard}, 0, SUM(total) FROM folded GROUP BY {key_but_shard} ORDER BY {key_but_shard} \
ON CONFLICT ({key}) DO UPDATE SET total = session_counts.total + excluded.total",
        qualified("c", key),
        qualified("spread", key),
    ));
    txn.execute_raw(fold.build()).await?;
    txn.commit().await
}

/// `columns`, a comma-separated list, each prefixed with `table.`.
fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{table}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn sweep_zone(
    db: &DatabaseConnection,
    zone_id: &str,
    until: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = begin_upkeep(db).await?;
    let backend = txn.get_database_backend();
    let Some(swept_until) = hold_mark(&txn, zone_id).await? else {
        return Ok(());
    };
    if until <= swept_until {
        return Ok(());
    }
    let expiring = |sql: &mut Sql| push_expiring(sql, zone_id, swept_until, until);
    if backend == DbBackend::Postgres {
        let mut lock = Sql::new(backend);
        lock.push("SELECT s.id FROM sessions s WHERE ");
        expiring(&mut lock);
        lock.push(" FOR UPDATE");
        txn.query_all_raw(lock.build()).await?;
    }
    let mut moves = Sql::new(backend);
    push_count_changes(&mut moves, false, expiring, SWEPT);
    txn.execute_raw(moves.build()).await?;
    let mut advance = Sql::new(backend);
    advance
        .push("UPDATE session_count_marks SET swept_until = ")
        .bind(until)
        .push(" WHERE zone_id = ")
        .bind(zone_id.to_owned());
    txn.execute_raw(advance.build()).await?;
    txn.commit().await
}

/// The zone's stored-active sessions (`s`) whose expiry is in `(after, until]`.
fn push_expiring(sql: &mut Sql, zone_id: &str, after: DateTime<Utc>, until: DateTime<Utc>) {
    sql.push("s.zone_id = ")
        .bind(zone_id.to_owned())
        .push(" AND s.status = 'active' AND s.expires_at > ")
        .bind(after)
        .push(" AND s.expires_at <= ")
        .bind(until);
}

/// The zone's `swept_until`, its mark held `FOR UPDATE` (PostgreSQL) until
/// the transaction ends; `None` for a zone without counts.
async fn hold_mark(
    txn: &impl ConnectionTrait,
    zone_id: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let backend = txn.get_database_backend();
    let mut mark = Sql::new(backend);
    mark.push("SELECT swept_until FROM session_count_marks WHERE zone_id = ")
        .bind(zone_id.to_owned());
    if backend == DbBackend::Postgres {
        mark.push(" FOR UPDATE");
    }
    match txn.query_one_raw(mark.build()).await? {
        Some(row) => Ok(Some(row.try_get_by_index::<DateTime<Utc>>(0)?)),
        None => Ok(None),
    }
}

/// PostgreSQL's `lock_not_available`, which `lock_timeout` raises.
fn is_lock_timeout(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) =
        error
    else {
        return false;
    };
    matches!(sqlx.as_ref(), sea_orm::sqlx::Error::Database(db) if db.code().is_some_and(|code| code == "55P03"))
}

/// The zones whose counts were swept before `before`.
pub async fn zones_to_sweep(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT zone_id FROM session_count_marks WHERE swept_until < ")
        .bind(before);
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// What `recount` found in one zone.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recount {
    pub zone_id: String,
    /// Sessions in the zone.
    pub sessions: i64,
    /// Count rows (keys) whose kept count differed from the rows.
    pub drifted_keys: usize,
    /// The sum of the differences, in sessions.
    pub drifted_sessions: i64,
}

/// Rebuilds every zone's counts from its rows (the zones that have
/// sessions or counts), each zone in one transaction, and reports what
/// differed.
pub async fn recount(db: &DatabaseConnection) -> Result<Vec<Recount>, DbErr> {
    let zones: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT zone_id FROM sessions GROUP BY zone_id UNION SELECT zone_id FROM session_count_marks",
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    let mut found = Vec::with_capacity(zones.len());
    for zone_id in zones {
        found.push(recount_zone(db, &zone_id).await?);
    }
    Ok(found)
}

type KeptCounts = std::collections::BTreeMap<String, i64>;

async fn recount_zone(db: &DatabaseConnection, zone_id: &str) -> Result<Recount, DbErr> {
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    // The mark first: an import holding it finishes before the rebuild.
    let swept_until = hold_mark(&txn, zone_id).await?;
    if backend == DbBackend::Postgres {
        // Revokes and deletes change counts without a zone-wide lock; for
        // the moment of the rebuild they wait (reads go on). The moves are
        // locked first, the order the fold's statement locks them in.
        txn.execute_unprepared("LOCK TABLE session_count_moves, session_counts IN EXCLUSIVE MODE")
            .await?;
    }
    // The revokes not folded yet are part of what is kept.
    fold_moves_in(&txn, Some(zone_id)).await?;
    // Never behind where a sweep (perhaps by a process whose clock runs
    // ahead) already took the zone; swept there first, so that kept and
    // rebuilt counts classify expiry alike and only true drift differs.
    let now = crate::timestamp::truncate_to_micros(Utc::now()).max(swept_until.unwrap_or_default());
    if let Some(swept_until) = swept_until.filter(|at| *at < now) {
        let mut moves = Sql::new(backend);
        push_count_changes(
            &mut moves,
            false,
            |sql| push_expiring(sql, zone_id, swept_until, now),
            SWEPT,
        );
        txn.execute_raw(moves.build()).await?;
    }
    let kept = kept_counts(&txn, zone_id).await?;
    let mut reset = Sql::new(backend);
    reset
        .push("DELETE FROM session_counts WHERE zone_id = ")
        .bind(zone_id.to_owned());
    txn.execute_raw(reset.build()).await?;
    let mut mark = Sql::new(backend);
    mark.push("INSERT INTO session_count_marks (zone_id, swept_until) VALUES (")
        .bind(zone_id.to_owned())
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (zone_id) DO UPDATE SET swept_until = excluded.swept_until");
    txn.execute_raw(mark.build()).await?;
    let mut fill = Sql::new(backend);
    push_count_changes(
        &mut fill,
        false,
        |sql| {
            sql.push("s.zone_id = ").bind(zone_id.to_owned());
        },
        ADDED,
    );
    txn.execute_raw(fill.build()).await?;
    let rebuilt = kept_counts(&txn, zone_id).await?;
    txn.commit().await?;
    let mut found = Recount {
        zone_id: zone_id.to_owned(),
        sessions: rebuilt
            .iter()
            .filter(|(key, _)| key.starts_with("3\u{0}"))
            .map(|(_, total)| total)
            .sum(),
        ..Recount::default()
    };
    for key in kept
        .keys()
        .chain(rebuilt.keys().filter(|key| !kept.contains_key(*key)))
    {
        let difference =
            kept.get(key).copied().unwrap_or(0) - rebuilt.get(key).copied().unwrap_or(0);
        if difference != 0 {
            found.drifted_keys += 1;
            found.drifted_sessions += difference.abs();
        }
    }
    Ok(found)
}

/// A zone's counts by key (shards summed, zeros left out), each key its
/// columns joined by NUL.
async fn kept_counts(txn: &impl ConnectionTrait, zone_id: &str) -> Result<KeptCounts, DbErr> {
    let key_columns = COUNTS_KEY
        .split(", ")
        .filter(|column| !matches!(*column, "zone_id" | "shard"))
        .collect::<Vec<_>>();
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push(&format!(
        "SELECT {}, CAST(SUM(total) AS BIGINT) FROM session_counts WHERE zone_id = ",
        key_columns.join(", ")
    ))
    .bind(zone_id.to_owned())
    .push(&format!(" GROUP BY {}", key_columns.join(", ")));
    let mut counts = KeptCounts::new();
    for row in txn.query_all_raw(sql.build()).await? {
        let level: i32 = row.try_get_by_index(0)?;
        let mut key = level.to_string();
        for (index, column) in key_columns.iter().enumerate().skip(1) {
            key.push('\u{0}');
            if *column == "entry" {
                key.push_str(&row.try_get_by_index::<i32>(index)?.to_string());
            } else {
                key.push_str(&row.try_get_by_index::<String>(index)?);
            }
        }
        let total: i64 = row.try_get_by_index(key_columns.len())?;
        if total != 0 {
            counts.insert(key, total);
        }
    }
    Ok(counts)
}
