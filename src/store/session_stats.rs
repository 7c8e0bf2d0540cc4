//! Counts for `sessionStats`: one statement per part, over the same
//! sessions `sessions(zoneId, filter)` lists (effective status,
//! `includeNested`, the caller's organization).
//!
//! Each part reads the kept counts (`session_counts`, see
//! [`super::session_counts`]) at the one level its filter and grouping
//! need, adds the revokes not folded into them yet, and corrects them by the few sessions whose expiry lies between
//! the zone's `swept_until` and the request's "now", counted directly in
//! the same statement. A `userId` filter counts the user's rows directly
//! (a user's sessions are few, and an index range).

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
        // The counts key "no application" and "no user agent" as '', which
        // no stored id is (the importer refuses empty ids); a filter asking
        // for '' is answered from the rows (which hold none).
        let asks_for_empty = [&criteria.application_id, &criteria.user_agent_id]
            .iter()
            .any(|id| id.as_deref() == Some(""));
        if criteria.user_id.is_some() || asks_for_empty {
            return self
                .session_group_counts_by_scan(zone_id, criteria, grouping, limit)
                .await;
        }
        if !self.access.permits_zone(zone_id) {
            return Ok(Vec::new());
        }
        let statement = self.kept_counts_statement(zone_id, criteria, grouping, limit);
        let mut counts: Vec<(String, i64)> = self
            .query_as::<GroupCount>(statement)
            .await?
            .into_iter()
            .map(|row| (row.group_key, row.total))
            .collect();
        if grouping == Grouping::Nothing && counts.is_empty() {
            counts.push((String::new(), 0));
        }
        Ok(counts)
    }

    /// One statement: the part's kept counts of one level and the revokes
    /// not folded into them yet, plus and minus
    /// the sessions whose expiry lies between the zone's `swept_until` and
    /// now (each moves from the class the counts hold it in to the other),
    /// summed per group over the classes the filter keeps.
    fn kept_counts_statement(
        &self,
        zone_id: &str,
        criteria: &Criteria,
        grouping: Grouping,
        limit: Option<u32>,
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
        let outer_group = if grouping == Grouping::EffectiveStatus {
            "class"
        } else {
            "group_key"
        };
        let mut sql = Sql::new(self.backend());
        sql.push(&format!(
            "SELECT {outer_group} AS group_key, CAST(SUM(n) AS BIGINT) AS total FROM ("
        ));
        // The level's kept counts, then the revokes not yet folded into
        // them (kept at level 0, which every level's filters can read):
        // each leaves one class and joins another.
        for (i, (class_and_n, table, level)) in [
            ("status AS class, total AS n", "session_counts", Some(level)),
            ("moved_from AS class, -n AS n", "session_count_moves", None),
            ("moved_to AS class, n AS n", "session_count_moves", None),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push(&format!(
                "SELECT {kept_group} AS group_key, {class_and_n} FROM {table} WHERE zone_id = "
            ))
            .bind(zone_id.to_owned());
            if let Some(level) = level {
                sql.push(&format!(" AND level = {level}"));
            }
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
            push_grouped_owner(&mut sql, access, zone_id, grouping, "_key", "''");
        }
        // Since the sweep, stored-active sessions whose expiry passed are
        // still kept as `active` (or, when another process's clock swept
        // ahead of this one, ones not yet expired are kept as `expired`):
        // each such session leaves one class (-1) for the other (+1). The
        // range between the two instants is one range of the expiry index;
        // its bounds are worked out once, not joined, so that SQLite uses it.
        let (least, greatest) = match self.backend() {
            sea_orm::DbBackend::Postgres => ("LEAST", "GREATEST"),
            _ => ("MIN", "MAX"),
        };
        let unfiltered_status = Criteria {
            statuses: None,
            ..criteria.clone()
        };
        for (kept_as_expired, n) in [("active", -1), ("expired", 1)] {
            let other = if kept_as_expired == "active" {
                "expired"
            } else {
                "active"
            };
            sql.push(&format!(
                " UNION ALL SELECT {row_group} AS group_key, CASE WHEN expires_at <= "
            ))
            .bind(now)
            .push(&format!(
                " THEN '{kept_as_expired}' ELSE '{other}' END AS class, {n} AS n FROM sessions WHERE zone_id = "
            ))
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
            push_criteria(&mut sql, &unfiltered_status, Owner::Zone, now);
            push_grouped_owner(&mut sql, access, zone_id, grouping, "_id", "NULL");
        }
        sql.push(") kept");
        match &criteria.statuses {
            Some(statuses) if statuses.is_empty() => {
                sql.push(" WHERE 1 = 0");
            }
            Some(statuses) => {
                sql.push(" WHERE class IN ")
                    .bind_list(statuses.iter().map(|status| status.as_str()));
            }
            None => {}
        }
        sql.push(" GROUP BY 1 HAVING SUM(n) <> 0 ORDER BY total DESC, group_key ASC");
        if let Some(limit) = limit {
            sql.push(&format!(" LIMIT {limit}"));
        }
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
        push_grouped_owner(&mut sql, access, zone_id, grouping, "_id", "NULL");
        match grouping {
            Grouping::Nothing => {}
            Grouping::Application => {
                sql.push(" GROUP BY application_id");
            }
            Grouping::UserAgent => {
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

/// [`push_visible_owner`] for the owner a part groups by, if any: its
/// column is `application` or `user_agent` + `suffix` (`_id` in rows,
/// `_key` in counts).
fn push_grouped_owner(
    sql: &mut Sql,
    access: &Access,
    zone_id: &str,
    grouping: Grouping,
    suffix: &str,
    none: &str,
) {
    let (owner, table) = match grouping {
        Grouping::Application => ("application", "applications"),
        Grouping::UserAgent => ("user_agent", "user_agents"),
        _ => return,
    };
    push_visible_owner(
        sql,
        access,
        zone_id,
        &format!("{owner}{suffix}"),
        table,
        none,
    );
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
