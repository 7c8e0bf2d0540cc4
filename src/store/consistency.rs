//! Read your writes across gateway processes and replicas (SPEC §6): a
//! write's position in the primary's write-ahead log, handed to the client
//! as the `Sessiongraph-Consistency` header and kept per caller subject in
//! `consistency_marks`, so that a later read goes to a replica only once it
//! has replayed that far.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};

use super::sql::Sql;
use crate::auth::Access;

/// The HTTP header a mutation's answer carries and a later request may
/// send back.
pub const HEADER: &str = "sessiongraph-consistency";

/// How fresh a read must be: at least this far into the primary's
/// write-ahead log (a byte position; 0 asks nothing). Opaque to clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalPosition(pub u64);

impl WalPosition {
    /// The header's value: a version, then the position in hexadecimal.
    pub fn token(self) -> String {
        format!("1.{:x}", self.0)
    }

    /// Reads a header value this server wrote; anything else is named.
    pub fn from_token(token: &str) -> Result<WalPosition, String> {
        let refused = || {
            format!(
                "the {HEADER} header must be a value an earlier mutation's answer carried (got {:?})",
                token.chars().take(40).collect::<String>()
            )
        };
        let hex = token.trim().strip_prefix("1.").ok_or_else(refused)?;
        if hex.is_empty() || hex.len() > 16 {
            return Err(refused());
        }
        u64::from_str_radix(hex, 16)
            .map(WalPosition)
            .map_err(|_| refused())
    }
}

/// The primary's write-ahead log position as a byte count, in SQL.
const CURRENT_POSITION: &str = "(pg_current_wal_lsn() - '0/0'::pg_lsn)::BIGINT";

/// After a write committed in `zone_id`: where the primary's log stands
/// now (past the write's commit), recorded for the caller's subject when
/// there is one, in one statement. SQLite has no replicas: position 0.
pub async fn after_write(
    db: &DatabaseConnection,
    access: &Access,
    zone_id: &str,
) -> Result<WalPosition, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(WalPosition::default());
    }
    let mut sql = Sql::new(backend);
    match access.subject() {
        Some(subject) => {
            sql.push("INSERT INTO consistency_marks (zone_id, subject, lsn) VALUES (")
                .bind(zone_id.to_owned())
                .push(", ")
                .bind(subject.to_owned())
                .push(&format!(
                    ", {CURRENT_POSITION}) ON CONFLICT (zone_id, subject) DO UPDATE SET lsn = \
                     GREATEST(consistency_marks.lsn, EXCLUDED.lsn) RETURNING lsn"
                ));
        }
        None => {
            sql.push(&format!("SELECT {CURRENT_POSITION} AS lsn"));
        }
    }
    let row = db.query_one_raw(sql.build()).await?;
    let lsn: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(WalPosition(u64::try_from(lsn).unwrap_or(0)))
}

/// The latest write of the caller's subject in any of the caller's zones;
/// nothing without a subject.
pub async fn caller_mark(db: &DatabaseConnection, access: &Access) -> Result<WalPosition, DbErr> {
    let Some(subject) = access.subject() else {
        return Ok(WalPosition::default());
    };
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT MAX(lsn) FROM consistency_marks WHERE subject = ")
        .bind(subject.to_owned());
    super::tenancy::push_zones(&mut sql, access);
    let lsn: Option<i64> = match db.query_one_raw(sql.build()).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => None,
    };
    Ok(WalPosition(
        lsn.and_then(|lsn| u64::try_from(lsn).ok()).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_strangers_are_named() {
        for position in [0, 1, 0x86_008a90, u64::MAX] {
            let token = WalPosition(position).token();
            assert_eq!(WalPosition::from_token(&token), Ok(WalPosition(position)));
        }
        for bad in ["", "1.", "2.10", "1.xyz", "1.10000000000000000", "abc"] {
            let error = WalPosition::from_token(bad).expect_err(bad);
            assert!(error.contains(HEADER), "{error}");
        }
    }
}
