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

/// [`push_organization`] for the table aliased `qualifier` (with its
/// trailing dot) in a join.
pub fn push_organization_of(
    sql: &mut Sql,
    access: &Access,
    column: OrganizationColumn,
    qualifier: &str,
) {
    let Some(organization_id) = access.organization_id() else {
        return;
    };
    match column {
        OrganizationColumn::Required => {
            sql.push(&format!(" AND {qualifier}organization_id = "))
                .bind(organization_id.to_owned());
        }
        OrganizationColumn::Nullable => {
            sql.push(&format!(
                " AND ({qualifier}organization_id IS NULL OR {qualifier}organization_id = "
            ))
            .bind(organization_id.to_owned())
            .push(")");
        }
    }
}
