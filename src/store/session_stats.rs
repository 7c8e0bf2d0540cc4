//! Counts for `sessionStats`: one grouped statement per part, over the
//! same sessions `sessions(zoneId, filter)` lists (effective status,
//! `includeNested`, the caller's organization).

use sea_orm::{DbErr, FromQueryResult};

use super::Reader;
use super::lists::{Criteria, Owner, push_criteria};
use super::sql::Sql;
use super::status::push_status_name;
use super::tenancy::{OrganizationColumn, push_organization};
use crate::auth::Access;

/// What a part of the statistics groups the sessions by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One row, `total`.
    Nothing,
    /// `group_key` is `active`, `expired` or `revoked` (`EffectiveStatus::as_str`).
    EffectiveStatus,
    /// `group_key` is `user` or `application`.
    SessionType,
    /// `group_key` is the application id; sessions without one are left out.
    Application,
    /// `group_key` is the user agent id; sessions without one are left out.
    UserAgent,
}

#[derive(FromQueryResult)]
struct GroupCount {
    group_key: String,
    total: i64,
}

impl Reader {
    /// Counts per group of a zone's sessions that meet `criteria`, the
    /// largest first (then by key, byte-wise), at most `limit` of them when
    /// given. A zone outside the caller's access counts nothing.
    pub async fn session_group_counts(
        &self,
        zone_id: &str,
        criteria: &Criteria,
        grouping: Grouping,
        limit: Option<u32>,
    ) -> Result<Vec<(String, i64)>, DbErr> {
        if !self.access.permits_zone(zone_id) {
            return Ok(Vec::new());
        }
        let access = &self.access;
        let mut sql = Sql::new(self.backend());
        match grouping {
            Grouping::Nothing => sql.push("SELECT '' AS group_key"),
            Grouping::EffectiveStatus => {
                sql.push("SELECT ");
                push_status_name(&mut sql, self.now());
                sql.push(" AS group_key")
            }
            Grouping::SessionType => sql.push("SELECT session_type AS group_key"),
            Grouping::Application => sql.push("SELECT application_id AS group_key"),
            Grouping::UserAgent => sql.push("SELECT user_agent_id AS group_key"),
        };
        sql.push(", COUNT(*) AS total FROM sessions WHERE zone_id = ")
            .bind(zone_id.to_owned());
        push_organization(&mut sql, access, OrganizationColumn::Nullable);
        push_criteria(&mut sql, criteria, Owner::Zone, self.now());
        match grouping {
            Grouping::Nothing => {}
            Grouping::Application => {
                push_visible_owner(&mut sql, access, zone_id, "application_id", "applications");
                sql.push(" GROUP BY application_id");
            }
            Grouping::UserAgent => {
                push_visible_owner(&mut sql, access, zone_id, "user_agent_id", "user_agents");
                sql.push(" GROUP BY user_agent_id");
            }
            Grouping::EffectiveStatus | Grouping::SessionType => {
                sql.push(" GROUP BY 1");
            }
        }
        if grouping != Grouping::Nothing {
            sql.push(" ORDER BY total DESC, group_key ASC");
        }
        if let Some(limit) = limit {
            sql.push(&format!(" LIMIT {limit}"));
        }
        let rows = self.query_as::<GroupCount>(sql.build()).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.group_key, row.total))
            .collect())
    }
}

/// Only groups the caller can read: a session without an organization is
/// every organization's, and may name another organization's application
/// or user agent, which must neither be listed nor take a place in the top.
fn push_visible_owner(sql: &mut Sql, access: &Access, zone_id: &str, column: &str, table: &str) {
    sql.push(&format!(" AND {column} IS NOT NULL"));
    if let Some(organization_id) = access.organization_id() {
        sql.push(&format!(
            " AND {column} IN (SELECT id FROM {table} WHERE zone_id = "
        ))
        .bind(zone_id.to_owned())
        .push(" AND organization_id = ")
        .bind(organization_id.to_owned())
        .push(")");
    }
}
