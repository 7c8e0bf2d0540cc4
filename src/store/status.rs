//! The effective status (SPEC §2), the one rule for it in Rust and in SQL:
//! a stored `active` session whose expiry has passed reads as expired, and
//! `revoked` always wins. Filters, counts, revokes and the `status` field
//! all judge it here, at the request's "now".

use chrono::{DateTime, Utc};

use super::SessionRow;
use super::sql::Sql;
use crate::entities::enums::StoredStatus;

/// The status clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EffectiveStatus {
    Active,
    Expired,
    Revoked,
}

impl EffectiveStatus {
    /// The name `sessionStats` groups by.
    pub fn as_str(self) -> &'static str {
        match self {
            EffectiveStatus::Active => "active",
            EffectiveStatus::Expired => "expired",
            EffectiveStatus::Revoked => "revoked",
        }
    }
}

/// A row's effective status at `now`.
pub fn effective_status(row: &SessionRow, now: DateTime<Utc>) -> EffectiveStatus {
    match row.status {
        StoredStatus::Revoked => EffectiveStatus::Revoked,
        StoredStatus::Expired => EffectiveStatus::Expired,
        StoredStatus::Active if row.expires_at.is_some_and(|at| at <= now) => {
            EffectiveStatus::Expired
        }
        StoredStatus::Active => EffectiveStatus::Active,
    }
}

/// `(<the session's effective status is status>)`, with `now` bound.
pub(super) fn push_status_is(sql: &mut Sql, status: EffectiveStatus, now: DateTime<Utc>) {
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

/// `CASE ... END`: the effective status's name, as [`EffectiveStatus::as_str`].
pub(super) fn push_status_name(sql: &mut Sql, now: DateTime<Utc>) {
    sql.push("CASE WHEN ");
    push_status_is(sql, EffectiveStatus::Revoked, now);
    sql.push(" THEN 'revoked' WHEN ");
    push_status_is(sql, EffectiveStatus::Expired, now);
    sql.push(" THEN 'expired' ELSE 'active' END");
}
