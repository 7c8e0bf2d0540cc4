//! Counts for `sessionStats`: one statement per part, over the same
//! sessions `sessions(zoneId, filter)` lists (effective status,
//! `includeNested`, the caller's organization).
//!
//! Each part reads the kept counts (`session_counts`, see
//! [`super::session_counts`]) at the one level its filter and grouping
//! need, and corrects them by the few sessions whose expiry lies between
//! the zone's `swept_until` and the request's "now", counted directly in
//! the same statement. A `userId` filter counts the user's rows directly
//! (a user's sessions are few, and an index range).

use std::collections::HashMap;

use sea_orm::{DbErr, FromQueryResult};

use super::Reader;
use super::lists::{Criteria, Owner, push_criteria, session_type_name};
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

/// A row of a part read from the kept counts: the count of `class`
/// (`active`, `expired`, `revoked`) in a group, or, when `moved`, how many
/// of the group's sessions counted under `class` have changed class since
/// the sweep.
#[derive(FromQueryResult)]
struct KeptCount {
    group_key: String,
    class: String,
    total: i64,
    moved: i32,
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
        if criteria.user_id.is_some() {
            return self
                .session_group_counts_by_scan(zone_id, criteria, grouping, limit)
                .await;
        }
        if !self.access.permits_zone(zone_id) {
            return Ok(Vec::new());
        }
        let rows = self
            .query_as::<KeptCount>(self.kept_counts_statement(zone_id, criteria, grouping))
            .await?;
        let mut classes: HashMap<(String, String), i64> = HashMap::new();
        for row in rows {
            if row.moved == 0 {
                *classes.entry((row.group_key, row.class)).or_default() += row.total;
                continue;
            }
            let other = if row.class == "active" {
                "expired"
            } else {
                "active"
            };
            *classes
                .entry((row.group_key.clone(), row.class))
                .or_default() -= row.total;
            *classes
                .entry((row.group_key, other.to_owned()))
                .or_default() += row.total;
        }
        let mut groups: HashMap<String, i64> = HashMap::new();
        for ((group_key, class), total) in classes {
            let counted = criteria
                .statuses
                .as_ref()
                .is_none_or(|statuses| statuses.iter().any(|status| status.as_str() == class));
            if !counted {
                continue;
            }
            let group_key = if grouping == Grouping::EffectiveStatus {
                class
            } else {
                group_key
            };
            *groups.entry(group_key).or_default() += total;
        }
        let mut counts: Vec<(String, i64)> = groups
            .into_iter()
            .filter(|(_, total)| *total != 0 || grouping == Grouping::Nothing)
            .collect();
        if grouping == Grouping::Nothing && counts.is_empty() {
            counts.push((String::new(), 0));
        }
        counts.sort_by(|(a_key, a), (b_key, b)| b.cmp(a).then_with(|| a_key.cmp(b_key)));
        if let Some(limit) = limit {
            counts.truncate(limit as usize);
        }
        Ok(counts)
    }

    /// One statement: the part's kept counts by group and class, then the
    /// sessions whose expiry lies between the zone's `swept_until` and now
    /// (`moved`), under the class the kept counts hold them in.
    fn kept_counts_statement(
        &self,
        zone_id: &str,
        criteria: &Criteria,
        grouping: Grouping,
    ) -> sea_orm::Statement {
        let access = &self.access;
        let now = self.now();
        let by_application = criteria.application_id.is_some() || grouping == Grouping::Application;
        let by_user_agent = criteria.user_agent_id.is_some() || grouping == Grouping::UserAgent;
        let level = match (by_application, by_user_agent) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        };
        let (kept_group, row_group) = match grouping {
            Grouping::Nothing | Grouping::EffectiveStatus => ("''", "''"),
            Grouping::SessionType => ("session_type", "session_type"),
            Grouping::Application => ("application_key", "application_id"),
            Grouping::UserAgent => ("user_agent_key", "user_agent_id"),
        };
        let mut sql = Sql::new(self.backend());
        sql.push(&format!(
                "SELECT {kept_group} AS group_key, status AS class, CAST(SUM(total) AS BIGINT) AS total, 0 AS moved FROM session_counts WHERE zone_id = "
            ))
            .bind(zone_id.to_owned())
            .push(&format!(" AND level = {level}"));
        if let Some(organization_id) = access.organization_id() {
            sql.push(" AND organization_key IN ('', ")
                .bind(organization_id.to_owned())
                .push(")");
        }
        if let Some(session_type) = criteria.session_type {
            sql.push(" AND session_type = ")
                .bind(session_type_name(session_type));
        }
        for (column, value) in [
            ("application_key", &criteria.application_id),
            ("user_agent_key", &criteria.user_agent_id),
        ] {
            if let Some(value) = value {
                sql.push(&format!(" AND {column} = ")).bind(value.clone());
            }
        }
        if !criteria.include_nested {
            sql.push(" AND entry = 1");
        }
        match grouping {
            Grouping::Application => {
                push_visible_owner(
                    &mut sql,
                    access,
                    zone_id,
                    "application_key",
                    "applications",
                    "''",
                );
            }
            Grouping::UserAgent => {
                push_visible_owner(
                    &mut sql,
                    access,
                    zone_id,
                    "user_agent_key",
                    "user_agents",
                    "''",
                );
            }
            _ => {}
        }
        sql.push(" GROUP BY 1, 2");
        // Since the sweep, stored-active sessions whose expiry passed are
        // still kept as `active` (or, when another process's clock swept
        // ahead of this one, ones not yet expired are kept as `expired`).
        // The range between the two is one range of the expiry index; as
        // bounds worked out once, not a join, so that SQLite uses it.
        let (least, greatest) = match self.backend() {
            sea_orm::DbBackend::Postgres => ("LEAST", "GREATEST"),
            _ => ("MIN", "MAX"),
        };
        sql.push(&format!(" UNION ALL SELECT {row_group} AS group_key, CASE WHEN expires_at <= "))
            .bind(now)
            .push(" THEN 'active' ELSE 'expired' END AS class, COUNT(*) AS total, 1 AS moved FROM sessions WHERE zone_id = ")
            .bind(zone_id.to_owned());
        for (bound, comparison) in [(least, ">"), (greatest, "<=")] {
            sql.push(&format!(
                " AND expires_at {comparison} {bound}((SELECT swept_until FROM session_count_marks WHERE zone_id = "
            ))
            .bind(zone_id.to_owned())
            .push("), ")
            .bind(now)
            .push(")");
        }
        sql.push(" AND status = 'active'");
        push_organization(&mut sql, access, OrganizationColumn::Nullable);
        let unfiltered_status = Criteria {
            statuses: None,
            ..criteria.clone()
        };
        push_criteria(&mut sql, &unfiltered_status, Owner::Zone, now);
        match grouping {
            Grouping::Application => {
                push_visible_owner(
                    &mut sql,
                    access,
                    zone_id,
                    "application_id",
                    "applications",
                    "NULL",
                );
            }
            Grouping::UserAgent => {
                push_visible_owner(
                    &mut sql,
                    access,
                    zone_id,
                    "user_agent_id",
                    "user_agents",
                    "NULL",
                );
            }
            _ => {}
        }
        sql.push(" GROUP BY 1, 2");
        sql.build()
    }

    /// [`Self::session_group_counts`] by counting the rows themselves: what
    /// a `userId` filter uses, and the measure the kept counts are checked
    /// and benchmarked against.
    pub async fn session_group_counts_by_scan(
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
                push_visible_owner(
                    &mut sql,
                    access,
                    zone_id,
                    "application_id",
                    "applications",
                    "NULL",
                );
                sql.push(" GROUP BY application_id");
            }
            Grouping::UserAgent => {
                push_visible_owner(
                    &mut sql,
                    access,
                    zone_id,
                    "user_agent_id",
                    "user_agents",
                    "NULL",
                );
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
/// `none` is how `column` says "no owner": `NULL` in rows, `''` in counts.
fn push_visible_owner(
    sql: &mut Sql,
    access: &Access,
    zone_id: &str,
    column: &str,
    table: &str,
    none: &str,
) {
    if none == "NULL" {
        sql.push(&format!(" AND {column} IS NOT NULL"));
    } else {
        sql.push(&format!(" AND {column} <> {none}"));
    }
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
