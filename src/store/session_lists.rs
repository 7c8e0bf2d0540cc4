//! Session connections: filters over the effective status, keyset pages,
//! and counts, for the zone's list and for per-owner lists batched across
//! many owners (children of many parents, sessions of many users,
//! descendants of many sessions, see [`super::session_trees`]).

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sea_orm::{DbBackend, DbErr, FromQueryResult};

use super::decode::ByPosition;
use super::decode::is_null;
use super::joins::{JoinPlan, Related, SessionJoins};
use super::keyset::{order_by, order_by_in, push_cursor_bounds, push_keyset_page};
pub use super::lists::{Criteria, ListArgs, ListOwner, Owner, OwnerRows};
use super::lists::{PageRequest, Zone, push_criteria};
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization};
use super::{Reader, SessionRow, Table};
use crate::auth::Access;
use crate::entities::user;

/// The zone (one the caller may read: the loader checks), the caller's
/// organization, and the owners.
fn push_scope(sql: &mut Sql, access: &Access, zone: Zone<'_>, owner: Owner, owners: &[String]) {
    sql.push(" WHERE zone_id");
    zone.push_equals(sql);
    push_organization(sql, access, OrganizationColumn::Nullable);
    if let Some(column) = owner.column() {
        sql.push(&format!(" AND {column} IN "))
            .bind_list(owners.iter().cloned());
    }
}

/// One page per owner (or of the zone), fetching one row more than the page
/// to learn whether another follows. The pages of several owners come from
/// a single statement: a window numbers each owner's rows in list order.
/// One owner's page is read in index order, as the zone's is
/// ([`push_owner_page`]). With `with_total` (per-owner pages without
/// cursors only, which see each owner's whole filtered list) every row also
/// carries its owner's `total_count`, saving the separate count statement.
/// `columns` is the select list (`Projection::select_list`). With
/// `with_rank` each per-owner row ends with its place in the page,
/// `page_rank`, for a statement around it to order by.
fn push_page(
    sql: &mut Sql,
    request: &PageRequest<'_>,
    columns: &str,
    owners: &[String],
    with_rank: bool,
) {
    let PageRequest {
        owner,
        args,
        with_total,
        ..
    } = *request;
    let Some(column) = owner.column() else {
        push_keyset_page(sql, args.order, &args.window, true, |sql| {
            push_listed(sql, request, owners, columns);
        });
        return;
    };
    if let [_] = owners {
        push_owner_page(sql, request, columns, owners, with_rank);
        return;
    }
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
    let rank_column = if with_rank { ", page_rank" } else { "" };
    sql.push(&format!(
        "SELECT {columns}{total_column}{rank_column} FROM ("
    ));
    push_listed(
        sql,
        request,
        owners,
        &format!(
            "*, ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY {order}) AS page_rank{total}"
        ),
    );
    push_cursor_bounds(sql, args.order, &args.window);
    sql.push(&format!(
        ") ranked WHERE page_rank <= {fetch} ORDER BY {column}, page_rank"
    ));
}

/// One owner's page: index-ordered ranges with a `LIMIT` ([`push_keyset_page`])
/// rather than a window, which would sort the owner's whole list (a user's
/// 1,031 sessions for a page of 20); its count, when asked, one scalar
/// subquery over the same list. The columns are [`push_page`]'s.
fn push_owner_page(
    sql: &mut Sql,
    request: &PageRequest<'_>,
    columns: &str,
    owners: &[String],
    with_rank: bool,
) {
    let PageRequest {
        args, with_total, ..
    } = *request;
    let order = order_by(args.order, args.window.backward);
    sql.push("SELECT owned.*");
    if with_total {
        sql.push(", (");
        push_listed(sql, request, owners, "COUNT(*)");
        sql.push(") AS total_count");
    }
    if with_rank {
        sql.push(&format!(
            ", ROW_NUMBER() OVER (ORDER BY {order}) AS page_rank"
        ));
    }
    sql.push(" FROM (");
    push_keyset_page(sql, args.order, &args.window, true, |sql| {
        push_listed(sql, request, owners, columns);
    });
    sql.push(&format!(") owned ORDER BY {order}"));
}

/// `SELECT <select> FROM sessions WHERE ...`: the owners' sessions the
/// request's list holds, before any cursor.
fn push_listed(sql: &mut Sql, request: &PageRequest<'_>, owners: &[String], select: &str) {
    let PageRequest {
        access,
        zone,
        owner,
        args,
        now,
        ..
    } = *request;
    sql.push(&format!("SELECT {select} FROM sessions"));
    push_scope(sql, access, zone, owner, owners);
    push_criteria(sql, &args.criteria, owner, now);
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
    push_scope(sql, access, Zone::Id(zone_id), owner, owners);
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
            zone: Zone::Id(zone_id),
            owner,
            args,
            with_total,
            now: self.now(),
        };
        // The owner's column groups the rows, whatever the document reads.
        let projection = match owner.column() {
            Some(column) => self.projection.including(Table::Sessions, column),
            None => self.projection,
        };
        let columns = projection.select_list(Table::Sessions);
        let session_columns = projection.width(Table::Sessions);
        let mut sql = Sql::new(self.backend());
        let mut joined = None;
        if owner == Owner::Ancestor {
            super::session_trees::push_descendant_page(
                &mut sql, zone_id, &request, &columns, owners,
            );
        } else {
            let ids: Vec<String> = owners.iter().map(|owner| owner.id.clone()).collect();
            if joins.is_empty() {
                push_page(&mut sql, &request, &columns, &ids, false);
            } else {
                let base_columns = session_columns + usize::from(with_total);
                joined = Some(JoinPlan::push(
                    &mut sql,
                    &self.access,
                    &self.projection,
                    joins,
                    base_columns,
                    |sql| push_page(sql, &request, &columns, &ids, false),
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
        let selected = projection.mask(Table::Sessions);
        let results = self.query(sql.build()).await?;
        // One owner's page (a zone's list, one session's children) is
        // made at its full size: growing a vector of rows this size one
        // doubling at a time copied it five times over for a page of 50.
        // Many owners' pages grow as they fill, most being short.
        let rows_per_page = if owners.len() == 1 { results.len() } else { 0 };
        if let Some(plan) = &joined {
            plan.reserve(&mut related, results.len());
        }
        for result in &results {
            let row = SessionRow::from_row(result, selected)?;
            let total = if with_total {
                // The count follows the session's columns.
                result.try_get_by_index::<i64>(session_columns)?
            } else {
                0
            };
            if let Some(plan) = &joined {
                plan.read(result, &row, &self.projection, &mut related)?;
            }
            let owner_id = match owner {
                // So does a descendant's owner.
                Owner::Ancestor => result.try_get_by_index::<String>(session_columns)?,
                _ => match owner_column_of(owner, &row) {
                    Some(owner_id) => owner_id.to_owned(),
                    None => continue,
                },
            };
            let page = pages.entry(owner_id).or_insert_with(|| OwnerRows {
                rows: Vec::with_capacity(rows_per_page),
                total: 0,
            });
            page.rows.push(row);
            page.total = total;
        }
        Ok((pages, related))
    }

    /// The user with this id, found as [`Reader::by_id`] finds them, with
    /// one page of their sessions (and the records `joins` names) read in
    /// the same statement, for a lookup that selects the user's sessions:
    /// the page's zone is the user's, so it need not wait for the user.
    /// `None` when no user is found.
    pub async fn user_with_session_page(
        &self,
        user_id: &str,
        args: &ListArgs,
        with_total: bool,
        joins: &SessionJoins,
    ) -> Result<Option<(user::Model, OwnerRows, Related)>, DbErr> {
        // PostgreSQL reads the page laterally, in the zone of the user it
        // found: no lookup of the user per use of their zone (the page,
        // its rows without a key, the count). SQLite has no LATERAL, and
        // looks the zone up where it is used.
        let lateral = self.backend() == DbBackend::Postgres;
        let request = PageRequest {
            access: &self.access,
            zone: if lateral {
                Zone::Column("found.zone_id")
            } else {
                Zone::OfUser(user_id)
            },
            owner: Owner::User,
            args,
            with_total,
            now: self.now(),
        };
        let columns = self.projection.select_list(Table::Sessions);
        let owners = [user_id.to_owned()];
        let mut sql = Sql::new(self.backend());
        sql.push("SELECT page.*, found.* FROM (");
        self.push_by_id(&mut sql, Table::Users, &owners);
        // Every row of the page carries the user; a user without sessions
        // is one row: nulls, then the user.
        sql.push(if lateral {
            ") found LEFT JOIN LATERAL ("
        } else {
            ") found LEFT JOIN ("
        });
        let session_columns = self.projection.width(Table::Sessions);
        let rank_column = session_columns + usize::from(with_total);
        let (joined, page_columns) = if joins.is_empty() {
            push_page(&mut sql, &request, &columns, &owners, true);
            (None, rank_column + 1)
        } else {
            let plan = JoinPlan::push(
                &mut sql,
                &self.access,
                &self.projection,
                joins,
                rank_column + 1,
                |sql| push_page(sql, &request, &columns, &owners, true),
            );
            let page_columns = plan.columns();
            (Some(plan), page_columns)
        };
        // Neither joins nor a joined derived table keep an order: the
        // page's own rank orders it.
        sql.push(") page ON TRUE ORDER BY page.page_rank");
        let mut found = None;
        let mut page = OwnerRows::default();
        let mut related = Related::default();
        let sessions_selected = self.projection.mask(Table::Sessions);
        let users_selected = self.projection.mask(Table::Users);
        let results = self.query(sql.build()).await?;
        // Made at its full size, as in `read_session_pages`.
        page.rows.reserve_exact(results.len());
        if let Some(plan) = &joined {
            plan.reserve(&mut related, results.len());
        }
        for result in &results {
            if found.is_none() {
                found = Some(user::Model::from_row_at(
                    result,
                    users_selected,
                    page_columns,
                )?);
            }
            // The session's `id`, never left out, is NULL for no session.
            if is_null(result, 1)? {
                continue;
            }
            let row = SessionRow::from_row(result, sessions_selected)?;
            if with_total {
                page.total = result.try_get_by_index::<i64>(session_columns)?;
            }
            if let Some(plan) = &joined {
                plan.read(result, &row, &self.projection, &mut related)?;
            }
            page.rows.push(row);
        }
        Ok(found.map(|user| (user, page, related)))
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
