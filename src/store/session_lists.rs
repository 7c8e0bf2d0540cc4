//! Session connections: filters over the effective status, keyset pages,
//! and counts, for the zone's list and for per-owner lists batched across
//! many owners (children of many parents, sessions of many users,
//! descendants of many sessions, see [`super::session_trees`]).

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{DbErr, FromQueryResult};

use super::decode::ByPosition;
use super::joins::{JoinPlan, Related, SessionJoins};
use super::keyset::{order_by, order_by_in, push_cursor_bounds, push_keyset_page};
pub use super::lists::{Criteria, ListArgs, ListOwner, Owner, OwnerRows};
use super::lists::{PageRequest, push_criteria};
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization};
use super::{Reader, SessionRow, Table};
use crate::auth::Access;

/// The zone (one the caller may read: the loader checks), the caller's
/// organization, and the owners.
fn push_scope(sql: &mut Sql, access: &Access, zone_id: &str, owner: Owner, owners: &[String]) {
    sql.push(" WHERE zone_id = ").bind(zone_id.to_owned());
    push_organization(sql, access, OrganizationColumn::Nullable);
    if let Some(column) = owner.column() {
        sql.push(&format!(" AND {column} IN "))
            .bind_list(owners.iter().cloned());
    }
}

/// One page per owner (or of the zone), fetching one row more than the page
/// to learn whether another follows. Per-owner pages come from a single
/// statement: a window numbers each owner's rows in list order. With
/// `with_total` (per-owner pages without cursors only, where the window
/// already sees each owner's whole filtered list) every row also carries its
/// owner's `total_count`, saving the separate count statement. `columns` is
/// the select list (`Projection::select_list`).
fn push_page(sql: &mut Sql, request: &PageRequest<'_>, columns: &str, owners: &[String]) {
    let PageRequest {
        access,
        zone_id,
        owner,
        args,
        with_total,
        now,
    } = *request;
    let Some(column) = owner.column() else {
        push_keyset_page(sql, args.order, &args.window, true, |sql| {
            sql.push(&format!("SELECT {columns} FROM sessions"));
            push_scope(sql, access, zone_id, owner, owners);
            push_criteria(sql, &args.criteria, owner, now);
        });
        return;
    };
    let order = order_by(args.order, args.window.backward);
    let fetch = args.window.limit + 1;
    let total = if with_total {
        format!(", COUNT(*) OVER (PARTITION BY {column}) AS total_count")
    } else {
        String::new()
    };
    // The column list (with its claims-to-text cast) belongs outside the
    // window: inside, PostgreSQL would convert every row of each owner's
    // list, not just the page (measured 14% slower for a 263-session user).
    let total_column = if with_total { ", total_count" } else { "" };
    sql.push(&format!(
        "SELECT {columns}{total_column} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY {order}) AS page_rank{total} FROM sessions",
    ));
    push_scope(sql, access, zone_id, owner, owners);
    push_criteria(sql, &args.criteria, owner, now);
    push_cursor_bounds(sql, args.order, &args.window);
    sql.push(&format!(
        ") ranked WHERE page_rank <= {fetch} ORDER BY {column}, page_rank"
    ));
}

/// `totalCount` per owner (or of the zone): the whole filtered list,
/// whatever the cursor.
fn push_count(
    sql: &mut Sql,
    access: &Access,
    zone_id: &str,
    owner: Owner,
    owners: &[String],
    criteria: &Criteria,
    now: DateTime<Utc>,
) {
    match owner.column() {
        None => sql.push("SELECT '' AS owner, COUNT(*) AS total FROM sessions"),
        Some(column) => sql.push(&format!(
            "SELECT {column} AS owner, COUNT(*) AS total FROM sessions"
        )),
    };
    push_scope(sql, access, zone_id, owner, owners);
    push_criteria(sql, criteria, owner, now);
    if let Some(column) = owner.column() {
        sql.push(&format!(" GROUP BY {column}"));
    }
}

fn owner_column_of(owner: Owner, row: &SessionRow) -> Option<&str> {
    match owner {
        Owner::Zone => Some(""),
        Owner::Parent => row.parent_id.as_deref(),
        Owner::User => row.user_id.as_deref(),
        Owner::Application => row.application_id.as_deref(),
        Owner::UserAgent => row.user_agent_id.as_deref(),
        // Rows of a descendants page carry their owner in a column of its own.
        Owner::Ancestor => None,
    }
}

#[derive(FromQueryResult)]
struct OwnerCount {
    owner: String,
    total: i64,
}

impl Reader {
    /// One page per owner (the zone's list has the one owner `""`), each
    /// with one row more than the page when another follows, keyed by
    /// owner id, and the records of `joins` read with them (not for
    /// descendants, whose statement stays as it is). A zone outside the
    /// caller's access lists nothing.
    ///
    /// When the joined statement fails, the pages are read alone: a failure
    /// of a relation's table then fails only the fields that read it,
    /// through their own loader, as the spec's field errors would have it,
    /// not the whole page.
    pub async fn session_pages(
        &self,
        zone_id: &str,
        owner: Owner,
        owners: &[ListOwner],
        args: &ListArgs,
        with_total: bool,
        joins: &SessionJoins,
    ) -> Result<(FxHashMap<String, OwnerRows>, Related), DbErr> {
        let joined = self
            .read_session_pages(zone_id, owner, owners, args, with_total, joins)
            .await;
        match joined {
            // A database that cannot be reached fails both alike.
            Err(error)
                if !joins.is_empty()
                    && owner != Owner::Ancestor
                    && !super::db::is_unreachable(&error) =>
            {
                let alone = SessionJoins::default();
                self.read_session_pages(zone_id, owner, owners, args, with_total, &alone)
                    .await
            }
            outcome => outcome,
        }
    }

    async fn read_session_pages(
        &self,
        zone_id: &str,
        owner: Owner,
        owners: &[ListOwner],
        args: &ListArgs,
        with_total: bool,
        joins: &SessionJoins,
    ) -> Result<(FxHashMap<String, OwnerRows>, Related), DbErr> {
        let mut pages: FxHashMap<String, OwnerRows> = FxHashMap::default();
        let mut related = Related::default();
        if !self.access.permits_zone(zone_id) {
            return Ok((pages, related));
        }
        let request = PageRequest {
            access: &self.access,
            zone_id,
            owner,
            args,
            with_total,
            now: self.now(),
        };
        let columns = self.projection.select_list(Table::Sessions);
        let mut sql = Sql::new(self.backend());
        let mut joined = None;
        if owner == Owner::Ancestor {
            super::session_trees::push_descendant_page(&mut sql, &request, &columns, owners);
        } else {
            let ids: Vec<String> = owners.iter().map(|owner| owner.id.clone()).collect();
            if joins.is_empty() {
                push_page(&mut sql, &request, &columns, &ids);
            } else {
                let base_columns = SessionRow::COLUMNS + usize::from(with_total);
                joined = Some(JoinPlan::push(
                    &mut sql,
                    &self.access,
                    &self.projection,
                    joins,
                    base_columns,
                    |sql| push_page(sql, &request, &columns, &ids),
                ));
                // The joins keep no order: the page's order again, over
                // the base rows.
                let order = order_by_in(args.order, args.window.backward, "base.");
                match owner.column() {
                    Some(column) => sql.push(&format!(" ORDER BY base.{column}, {order}")),
                    None => sql.push(&format!(" ORDER BY {order}")),
                };
            }
        }
        let selected = self.projection.mask(Table::Sessions);
        for result in self.query(sql.build()).await? {
            let row = SessionRow::from_row(&result, selected)?;
            let total = if with_total {
                // The count follows the session's columns.
                result.try_get_by_index::<i64>(SessionRow::COLUMNS)?
            } else {
                0
            };
            if let Some(plan) = &joined {
                plan.read(&result, &row, &self.projection, &mut related)?;
            }
            let owner_id = match owner {
                // So does a descendant's owner.
                Owner::Ancestor => result.try_get_by_index::<String>(SessionRow::COLUMNS)?,
                _ => match owner_column_of(owner, &row) {
                    Some(owner_id) => owner_id.to_owned(),
                    None => continue,
                },
            };
            let page = pages.entry(owner_id).or_default();
            page.rows.push(row);
            page.total = total;
        }
        Ok((pages, related))
    }

    /// `totalCount` per owner: the whole filtered list, whatever the
    /// cursor. Owners without sessions are left out.
    pub async fn session_counts(
        &self,
        zone_id: &str,
        owner: Owner,
        owners: &[ListOwner],
        criteria: &Criteria,
    ) -> Result<FxHashMap<String, i64>, DbErr> {
        if !self.access.permits_zone(zone_id) {
            return Ok(FxHashMap::default());
        }
        let mut sql = Sql::new(self.backend());
        if owner == Owner::Ancestor {
            super::session_trees::push_descendant_count(
                &mut sql,
                &self.access,
                zone_id,
                owners,
                criteria,
                self.now(),
            );
        } else {
            let ids: Vec<String> = owners.iter().map(|owner| owner.id.clone()).collect();
            push_count(
                &mut sql,
                &self.access,
                zone_id,
                owner,
                &ids,
                criteria,
                self.now(),
            );
        }
        let rows = self.query_as::<OwnerCount>(sql.build()).await?;
        Ok(rows.into_iter().map(|row| (row.owner, row.total)).collect())
    }
}
