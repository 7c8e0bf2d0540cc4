//! Where the caller's [`Access`] becomes SQL: every statement the gateway
//! issues passes through one of these, so no relation, lookup or mutation
//! can reach a zone or organization outside the caller's token.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Select};

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
    let Some(organization_id) = access.organization_id() else {
        return;
    };
    match column {
        OrganizationColumn::Required => {
            sql.push(" AND organization_id = ")
                .bind(organization_id.to_owned());
        }
        OrganizationColumn::Nullable => {
            sql.push(" AND (organization_id IS NULL OR organization_id = ")
                .bind(organization_id.to_owned())
                .push(")");
        }
    }
}

/// The same two predicates for a SeaORM query.
pub fn restrict<E: EntityTrait>(
    select: Select<E>,
    access: &Access,
    zone: impl ColumnTrait,
    organization: impl ColumnTrait,
    column: OrganizationColumn,
) -> Select<E> {
    let mut select = select;
    if let Some(zones) = access.zones() {
        select = select.filter(zone.is_in(zones.iter().cloned()));
    }
    if let Some(organization_id) = access.organization_id() {
        select = select.filter(match column {
            OrganizationColumn::Required => Condition::all().add(organization.eq(organization_id)),
            OrganizationColumn::Nullable => Condition::any()
                .add(organization.is_null())
                .add(organization.eq(organization_id)),
        });
    }
    select
}
