//! Records by id and the zone-wide lists of applications, users and user
//! agents.

use sea_orm::{DbErr, FromQueryResult};

use super::decode::ByPosition;
use super::joins::{JoinPlan, Related, SessionJoins};
use super::keys::{ZonedId, ids_by_zone};
use super::keyset::{Ordering, Window, push_keyset_page};
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization, push_zones};
use super::{Reader, SessionRow, Table};
use crate::entities::{application, user, user_agent};

/// A table the store reads whole records of, and how its rows are decoded.
pub trait Record: ByPosition + Send + Sync + 'static {
    const TABLE: Table;
}

impl Record for user::Model {
    const TABLE: Table = Table::Users;
}

impl Record for application::Model {
    const TABLE: Table = Table::Applications;
}

impl Record for user_agent::Model {
    const TABLE: Table = Table::UserAgents;
}

impl Record for SessionRow {
    const TABLE: Table = Table::Sessions;
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Applications => "applications",
            Table::UserAgents => "user_agents",
            Table::Sessions => "sessions",
        }
    }

    /// Sessions may belong to no organization; then the zone alone decides.
    pub(super) fn organization_column(self) -> OrganizationColumn {
        match self {
            Table::Sessions => OrganizationColumn::Nullable,
            _ => OrganizationColumn::Required,
        }
    }
}

impl Reader {
    /// Records by zone and id, within the caller's organization: one
    /// statement per zone, the statement every batch of a to-one relation
    /// runs. Keys of zones outside the caller's access find nothing.
    pub async fn by_zoned_id<R: Record>(&self, keys: &[ZonedId]) -> Result<Vec<R>, DbErr> {
        let mut found = Vec::with_capacity(keys.len());
        for (zone_id, ids) in ids_by_zone(keys) {
            if !self.access.permits_zone(zone_id) {
                continue;
            }
            let mut sql = Sql::new(self.backend());
            sql.push("SELECT ")
                .push(&self.projection.select_list(R::TABLE))
                .push(" FROM ")
                .push(R::TABLE.name())
                .push(" WHERE zone_id = ")
                .bind(zone_id.to_owned());
            push_organization(&mut sql, &self.access, R::TABLE.organization_column());
            sql.push(" AND id IN ").bind_list(ids);
            found.extend(self.decode_all::<R>(sql, R::TABLE).await?);
        }
        Ok(found)
    }

    /// Records by id in any zone the caller reads (ids are unique across
    /// zones and kinds, SPEC §2), within the caller's organization: the
    /// lookups of the root fields.
    pub async fn by_id<R: Record>(&self, ids: &[String]) -> Result<Vec<R>, DbErr> {
        let mut sql = Sql::new(self.backend());
        self.push_by_id(&mut sql, R::TABLE, ids);
        self.decode_all(sql, R::TABLE).await
    }

    /// Sessions by id, as [`Self::by_id`] finds them, with the records of
    /// `joins` read in the same statement.
    pub async fn sessions_by_id_joined(
        &self,
        ids: &[String],
        joins: &SessionJoins,
    ) -> Result<(Vec<SessionRow>, Related), DbErr> {
        let mut related = Related::default();
        if joins.is_empty() {
            return Ok((self.by_id(ids).await?, related));
        }
        let mut sql = Sql::new(self.backend());
        let plan = JoinPlan::push(
            &mut sql,
            &self.access,
            &self.projection,
            joins,
            self.projection.width(Table::Sessions),
            |sql| self.push_by_id(sql, Table::Sessions, ids),
        );
        let selected = self.projection.mask(Table::Sessions);
        let mut rows = Vec::with_capacity(ids.len());
        // When the joined statement fails, the sessions alone: a failure of
        // a relation's table then fails only the fields that read it,
        // through their own loader, not the lookup.
        // A database that cannot be reached fails both alike: no second
        // wait for it.
        let results = match self.query(sql.build()).await {
            Ok(results) => results,
            Err(error) if super::db::is_unreachable(&error) => return Err(error),
            Err(_) => return Ok((self.by_id(ids).await?, related)),
        };
        plan.reserve(&mut related, results.len());
        for result in results {
            let row = SessionRow::from_row(&result, selected)?;
            plan.read(&result, &row, &self.projection, &mut related)?;
            rows.push(row);
        }
        Ok((rows, related))
    }

    pub(super) fn push_by_id(&self, sql: &mut Sql, table: Table, ids: &[String]) {
        sql.push("SELECT ")
            .push(&self.projection.select_list(table))
            .push(" FROM ")
            .push(table.name())
            .push(" WHERE id IN ")
            .bind_list(ids.iter().cloned());
        push_zones(sql, &self.access);
        push_organization(sql, &self.access, table.organization_column());
    }

    /// A page of a zone's records, newest first, with one row more than
    /// the page when another follows.
    pub async fn newest_first<R: Record>(
        &self,
        zone_id: &str,
        window: &Window,
    ) -> Result<Vec<R>, DbErr> {
        let mut sql = Sql::new(self.backend());
        // The order key makes the rows' cursors, asked for or not.
        let projection = self.projection.including(R::TABLE, "created_at");
        let columns = projection.select_list(R::TABLE);
        // created_at is required for these tables: no unkeyed branch.
        push_keyset_page(&mut sql, Ordering::default(), window, false, |sql| {
            sql.push(&format!(
                "SELECT {columns} FROM {} WHERE zone_id = ",
                R::TABLE.name()
            ))
            .bind(zone_id.to_owned());
            push_organization(sql, &self.access, R::TABLE.organization_column());
        });
        self.decode_with(sql, projection.mask(R::TABLE)).await
    }

    /// How many records of `table` the caller sees in a zone.
    pub async fn count_in_zone(&self, table: Table, zone_id: &str) -> Result<i64, DbErr> {
        #[derive(FromQueryResult)]
        struct Total {
            total: i64,
        }
        let mut sql = Sql::new(self.backend());
        sql.push(&format!(
            "SELECT COUNT(*) AS total FROM {} WHERE zone_id = ",
            table.name()
        ))
        .bind(zone_id.to_owned());
        push_organization(&mut sql, &self.access, table.organization_column());
        let total = self.query_as::<Total>(sql.build()).await?;
        Ok(total.first().map_or(0, |total| total.total))
    }

    async fn decode_all<R: ByPosition>(&self, sql: Sql, table: Table) -> Result<Vec<R>, DbErr> {
        self.decode_with(sql, self.projection.mask(table)).await
    }

    async fn decode_with<R: ByPosition>(&self, sql: Sql, selected: u32) -> Result<Vec<R>, DbErr> {
        self.query(sql.build())
            .await?
            .iter()
            .map(|result| R::from_row(result, selected))
            .collect()
    }
}
