//! Where the caller's [`Access`] becomes SQL: every statement the store
//! issues for a request passes through these, so no relation, lookup or
//! mutation can reach a zone or organization outside the caller's token.

use super::sql::Sql;
use crate::auth::Access;

/// Whether a table's `organization_id` may be null (sessions), in which case
/// the zone alone decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationColumn {
    Required,
    Nullable,
}

/// ` AND zone_id IN (...)`: the zones of the token. Open mode adds nothing.
pub fn push_zones(sql: &mut Sql, access: &Access) {
    if let Some(zones) = access.zones() {
        sql.push(" AND zone_id IN ")
            .bind_list(zones.iter().cloned());
    }
}

/// ` AND organization_id = ?`: the token's organization. Open mode adds nothing.
pub fn push_organization(sql: &mut Sql, access: &Access, column: OrganizationColumn) {
    push_organization_of(sql, access, column, "");
}

/// [`push_organization`] for the table aliased `alias` in a join (`""`
/// for none).
pub fn push_organization_of(
    sql: &mut Sql,
    access: &Access,
    column: OrganizationColumn,
    alias: &str,
) {
    let Some(organization_id) = access.organization_id() else {
        return;
    };
    let push_column = |sql: &mut Sql| {
        if !alias.is_empty() {
            sql.push(alias).push(".");
        }
        sql.push("organization_id");
    };
    match column {
        OrganizationColumn::Required => {
            sql.push(" AND ");
            push_column(sql);
            sql.push(" = ").bind(organization_id.to_owned());
        }
        OrganizationColumn::Nullable => {
            sql.push(" AND (");
            push_column(sql);
            sql.push(" IS NULL OR ");
            push_column(sql);
            sql.push(" = ").bind(organization_id.to_owned()).push(")");
        }
    }
}
