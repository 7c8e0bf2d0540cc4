//! Session events (SPEC §5): what a write tells the serving processes, sent
//! inside the writing transaction so that a rolled-back write sends nothing
//! and a committed one reaches every process on the database.
//!
//! On PostgreSQL the events go out with `pg_notify` on [`CHANNEL`]; every
//! process listens on one connection of its own. On SQLite they are
//! appended to the `session_events` outbox, which every process polls
//! (cheaply: `PRAGMA data_version` says when another connection wrote).
//! Either way a payload carries ids, never rows, and stays under
//! PostgreSQL's 8,000-byte limit: a large cascade is split into several.

use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, Row};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use serde::{Deserialize, Serialize};

use super::sql::Sql;

/// The `NOTIFY` channel of session events.
pub const CHANNEL: &str = "sessiongraph_session_events";

/// Bytes of one payload at most: PostgreSQL refuses 8,000 and more.
const MAX_PAYLOAD_BYTES: usize = 7_900;

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "C")]
    Created,
    #[serde(rename = "U")]
    Updated,
    #[serde(rename = "R")]
    Revoked,
    #[serde(rename = "D")]
    Deleted,
}

impl EventKind {
    /// As the schema's `SessionEventKind` names it.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Created => "CREATED",
            EventKind::Updated => "UPDATED",
            EventKind::Revoked => "REVOKED",
            EventKind::Deleted => "DELETED",
        }
    }
}

/// One session written, with what subscriptions filter and scope by (a
/// deleted session can no longer be read for them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    #[serde(rename = "k")]
    pub kind: EventKind,
    #[serde(rename = "z")]
    pub zone_id: String,
    #[serde(rename = "s")]
    pub session_id: String,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    #[serde(rename = "r")]
    pub root_id: String,
    /// The write's commit time, in microseconds since the epoch; set by
    /// [`publish`].
    #[serde(rename = "t", default)]
    pub occurred_at: i64,
    /// The W3C `traceparent` of the write's span, when spans are
    /// exported: each delivery, on any process, links to it.
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub written_in: Option<String>,
}

impl SessionEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.occurred_at).unwrap_or_default()
    }
}

/// The columns an event is made of, in [`event_from_row`]'s order.
pub(super) const EVENT_COLUMNS: &str =
    "zone_id, id, organization_id, user_id, application_id, root_id";

/// An event of `kind` from a row that starts with [`EVENT_COLUMNS`].
pub(super) fn event_from_row(
    kind: EventKind,
    row: &sea_orm::QueryResult,
) -> Result<SessionEvent, DbErr> {
    Ok(SessionEvent {
        kind,
        zone_id: row.try_get_by_index(0)?,
        session_id: row.try_get_by_index(1)?,
        organization_id: row.try_get_by_index(2)?,
        user_id: row.try_get_by_index(3)?,
        application_id: row.try_get_by_index(4)?,
        root_id: row.try_get_by_index(5)?,
        occurred_at: 0,
        written_in: None,
    })
}

/// An event of `kind` about a session already read whole (the rows a
/// revoke's `UPDATE ... RETURNING` gives back).
pub(super) fn event_from_session(kind: EventKind, row: &super::SessionRow) -> SessionEvent {
    SessionEvent {
        kind,
        zone_id: row.zone_id.clone(),
        session_id: row.id.clone(),
        organization_id: row.organization_id.clone(),
        user_id: row.user_id.clone(),
        application_id: row.application_id.clone(),
        root_id: row.root_id.clone(),
        occurred_at: 0,
        written_in: None,
    }
}

/// Sends `events` from inside the writing transaction `txn`, in order,
/// stamped with the time just before the commit.
pub async fn publish(txn: &impl ConnectionTrait, events: &mut [SessionEvent]) -> Result<(), DbErr> {
    publish_alongside(txn, events, None).await.map(|_| ())
}

/// [`publish`], and `alongside`: a data-modifying statement of the same
/// transaction, ending in `RETURNING`. On PostgreSQL it rides in the first
/// notification's statement as a CTE, one round trip fewer; the revoke, the
/// hottest write, sends its count changes this way. SQLite has no
/// data-modifying CTEs, so there it runs by itself first. Returns how many
/// rows `alongside` returned.
pub async fn publish_alongside(
    txn: &impl ConnectionTrait,
    events: &mut [SessionEvent],
    alongside: Option<&(dyn Fn(&mut Sql) + Sync)>,
) -> Result<u64, DbErr> {
    let backend = txn.get_database_backend();
    let mut returned = 0;
    let mut alongside = alongside;
    if (backend != DbBackend::Postgres || events.is_empty())
        && let Some(statement) = alongside.take()
    {
        let mut sql = Sql::new(backend);
        statement(&mut sql);
        returned = txn.query_all_raw(sql.build()).await?.len() as u64;
    }
    if events.is_empty() {
        return Ok(returned);
    }
    let now = Utc::now();
    let written_in = crate::telemetry::current_traceparent();
    for event in events.iter_mut() {
        event.occurred_at = now.timestamp_micros();
        event.written_in.clone_from(&written_in);
    }
    for payload in payloads(events) {
        let mut sql = Sql::new(backend);
        match backend {
            DbBackend::Postgres => {
                if let Some(statement) = alongside.take() {
                    sql.push("WITH alongside AS (");
                    statement(&mut sql);
                    sql.push(") SELECT (SELECT COUNT(*) FROM alongside), pg_notify(")
                        .bind(CHANNEL)
                        .push(", ")
                        .bind(payload)
                        .push(")");
                    if let Some(row) = txn.query_one_raw(sql.build()).await? {
                        let count: i64 = row.try_get_by_index(0)?;
                        returned = u64::try_from(count).unwrap_or_default();
                    }
                    continue;
                }
                sql.push("SELECT pg_notify(")
                    .bind(CHANNEL)
                    .push(", ")
                    .bind(payload)
                    .push(")");
            }
            _ => {
                sql.push("INSERT INTO session_events (written_at, payload) VALUES (")
                    .bind(now)
                    .push(", ")
                    .bind(payload)
                    .push(")");
            }
        }
        txn.execute_raw(sql.build()).await?;
    }
    Ok(returned)
}

/// The events as JSON arrays of at most [`MAX_PAYLOAD_BYTES`] each.
fn payloads(events: &[SessionEvent]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::from("[");
    for event in events {
        let Ok(text) = serde_json::to_string(event) else {
            continue;
        };
        if current.len() > 1 && current.len() + text.len() + 2 > MAX_PAYLOAD_BYTES {
            current.push(']');
            payloads.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&text);
    }
    if current.len() > 1 {
        current.push(']');
        payloads.push(current);
    }
    payloads
}

/// The events of one payload; `None` when it is not one of ours.
pub fn parse_payload(payload: &str) -> Option<Vec<SessionEvent>> {
    serde_json::from_str(payload).ok()
}

/// The outbox as one SQLite process reads it, on a connection of its own:
/// `PRAGMA data_version` changes on it whenever another connection (of this
/// process or another) has committed.
pub struct SqliteOutbox {
    connection: sqlx::SqliteConnection,
    data_version: i64,
    last_seq: i64,
}

impl SqliteOutbox {
    /// Opens the outbox of the database at `url`, positioned after the
    /// events already in it.
    pub async fn open(url: &str) -> Result<SqliteOutbox, sqlx::Error> {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        let mut connection = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
            .busy_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await?;
        let last_seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM session_events")
            .fetch_one(&mut connection)
            .await?
            .try_get(0)?;
        let data_version = data_version(&mut connection).await?;
        Ok(SqliteOutbox {
            connection,
            data_version,
            last_seq,
        })
    }

    /// The events written since the last call, in order; nothing (and no
    /// read of the table) when no connection has written since.
    pub async fn poll(&mut self) -> Result<Vec<SessionEvent>, sqlx::Error> {
        let version = data_version(&mut self.connection).await?;
        if version == self.data_version {
            return Ok(Vec::new());
        }
        self.data_version = version;
        let rows =
            sqlx::query("SELECT seq, payload FROM session_events WHERE seq > ? ORDER BY seq")
                .bind(self.last_seq)
                .fetch_all(&mut self.connection)
                .await?;
        let mut events = Vec::new();
        for row in rows {
            self.last_seq = row.try_get(0)?;
            let payload: String = row.try_get(1)?;
            events.extend(parse_payload(&payload).unwrap_or_default());
        }
        Ok(events)
    }

    /// Forgets all but the newest `keep` payloads: every process has
    /// polled the older ones long since.
    pub async fn prune(&mut self, keep: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM session_events WHERE seq <= ?")
            .bind(self.last_seq - keep)
            .execute(&mut self.connection)
            .await
            .map(|_| ())
    }
}

async fn data_version(connection: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query("PRAGMA data_version")
        .fetch_one(connection)
        .await?
        .try_get(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> SessionEvent {
        SessionEvent {
            kind: EventKind::Revoked,
            zone_id: "zone_001".into(),
            session_id: format!("ses_{n:012}"),
            organization_id: Some("org_001".into()),
            user_id: Some("usr_000000001".into()),
            application_id: None,
            root_id: "ses_000000000000".into(),
            occurred_at: 1,
            written_in: None,
        }
    }

    #[test]
    fn a_large_cascade_is_split_under_the_notify_limit_in_order() {
        let events: Vec<SessionEvent> = (0..1_000).map(event).collect();
        let payloads = payloads(&events);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < 8_000));
        let back: Vec<SessionEvent> = payloads
            .iter()
            .flat_map(|p| parse_payload(p).unwrap_or_default())
            .collect();
        assert_eq!(back, events);
    }
}
