//! Whole session trees: `ancestors` (the parent chain up to the root) and
//! `descendants` (everything below a session), each batched across all the
//! sessions of one level of a query.
//!
//! The import stores every session's `root_id` and `depth`, so the
//! descendants of a root are one range of the `(zone_id, root_id,
//! created_at, id)` index. Below a session that is not a root, no stored
//! column names its subtree; the subtree is walked down the parent index
//! ([`super::subtree`]) instead, reading that subtree and nothing else of
//! its tree.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sea_orm::DbErr;

use super::decode::ByPosition;
use super::keys::{ZonedId, ids_by_zone};
use super::keyset::{order_by, push_cursor_bounds, push_keyset_page};
use super::lists::{Criteria, ListOwner, Owner, PageRequest, push_criteria};
use super::sql::Sql;
use super::subtree::push_subtree;
use super::tenancy::{OrganizationColumn, push_organization};
use super::{Reader, SessionRow, Table};
use crate::auth::Access;

/// Appends `... FROM <members> WHERE zone_id = <zone>`: every session below
/// each of `owners` (at most `max_depth` levels down), as `sessions` rows
/// plus the owner's id, `page_owner`. Below a root that is one range of the
/// root index; below an inner session, the walked subtree. Links of other
/// organizations are walked through; `push_visible` filters the rows
/// themselves. The caller writes the `SELECT` list and the `WITH` prefix
/// comes first, so `select` is given the text that follows it.
fn push_members(
    sql: &mut Sql,
    zone_id: &str,
    owners: &[ListOwner],
    max_depth: Option<u32>,
    select: &str,
) {
    let (roots, walked): (Vec<&ListOwner>, Vec<&ListOwner>) =
        owners.iter().partition(|owner| owner.is_root);
    if !walked.is_empty() {
        push_subtree(
            sql,
            zone_id,
            walked.iter().map(|owner| owner.id.clone()),
            max_depth,
        );
    }
    sql.push(select).push(" FROM (");
    if !walked.is_empty() {
        sql.push("SELECT sessions.*, subtree.owner_id AS page_owner FROM subtree JOIN sessions ON sessions.zone_id = ")
            .bind(zone_id.to_owned())
            .push(" AND sessions.id = subtree.id AND subtree.levels > 0");
    }
    if !walked.is_empty() && !roots.is_empty() {
        sql.push(" UNION ALL ");
    }
    if !roots.is_empty() {
        sql.push("SELECT sessions.*, root_id AS page_owner FROM sessions WHERE zone_id = ")
            .bind(zone_id.to_owned())
            .push(" AND root_id IN ")
            .bind_list(roots.iter().map(|owner| owner.id.clone()))
            .push(" AND depth > 0");
        if let Some(max_depth) = max_depth {
            sql.push(" AND depth <= ").bind(max_depth as i32);
        }
    }
    sql.push(") members WHERE zone_id = ")
        .bind(zone_id.to_owned());
}

/// The caller's organization and the list's criteria, on `sessions`.
fn push_visible(sql: &mut Sql, access: &Access, criteria: &Criteria, now: DateTime<Utc>) {
    push_organization(sql, access, OrganizationColumn::Nullable);
    push_criteria(sql, criteria, Owner::Ancestor, now);
}

/// One page of descendants per owner, each row followed by its owner's id
/// (`page_owner`), fetching one row more than the page to learn whether
/// another follows. A single root's page is a keyset range of the root
/// index; other batches number each owner's members in list order.
pub(super) fn push_descendant_page(
    sql: &mut Sql,
    zone_id: &str,
    request: &PageRequest<'_>,
    columns: &str,
    owners: &[ListOwner],
) {
    let PageRequest {
        access, args, now, ..
    } = *request;
    let max_depth = args.criteria.max_depth;
    if let [root] = owners
        && root.is_root
    {
        push_keyset_page(sql, args.order, &args.window, true, |sql| {
            sql.push(&format!(
                "SELECT {columns}, root_id AS page_owner FROM sessions WHERE zone_id = "
            ))
            .bind(zone_id.to_owned())
            .push(" AND root_id = ")
            .bind(root.id.clone())
            .push(" AND depth > 0");
            if let Some(max_depth) = max_depth {
                sql.push(" AND depth <= ").bind(max_depth as i32);
            }
            push_visible(sql, access, &args.criteria, now);
        });
        return;
    }
    let order = order_by(args.order, args.window.backward);
    let fetch = args.window.limit + 1;
    // As for `children`, the select list (claims cast to text) stays
    // outside the window, so only the page's rows are converted.
    sql.push(&format!("SELECT {columns}, page_owner FROM ("));
    push_members(
        sql,
        zone_id,
        owners,
        max_depth,
        &format!(
            "SELECT members.*, ROW_NUMBER() OVER (PARTITION BY page_owner ORDER BY {order}) AS page_rank"
        ),
    );
    push_visible(sql, access, &args.criteria, now);
    push_cursor_bounds(sql, args.order, &args.window);
    sql.push(&format!(
        ") ranked WHERE page_rank <= {fetch} ORDER BY page_owner, page_rank"
    ));
}

/// `totalCount` of descendants per owner, as `owner` and `total`.
pub(super) fn push_descendant_count(
    sql: &mut Sql,
    access: &Access,
    zone_id: &str,
    owners: &[ListOwner],
    criteria: &Criteria,
    now: DateTime<Utc>,
) {
    push_members(
        sql,
        zone_id,
        owners,
        criteria.max_depth,
        "SELECT page_owner AS owner, COUNT(*) AS total",
    );
    push_visible(sql, access, criteria, now);
    sql.push(" GROUP BY page_owner");
}

impl Reader {
    /// The ancestors of each session, root first, keyed by the session;
    /// one statement per zone. The chain is walked whatever the
    /// organization of its links; only the caller's rows are returned.
    /// Sessions of zones outside the caller's access have no ancestors.
    pub async fn ancestors(
        &self,
        keys: &[ZonedId],
    ) -> Result<FxHashMap<ZonedId, Vec<SessionRow>>, DbErr> {
        let mut chains: FxHashMap<ZonedId, Vec<SessionRow>> = FxHashMap::default();
        for (zone_id, ids) in ids_by_zone(keys) {
            if self.access.permits_zone(zone_id) {
                self.ancestors_in_zone(zone_id, &ids, &mut chains).await?;
            }
        }
        Ok(chains)
    }

    async fn ancestors_in_zone(
        &self,
        zone_id: &str,
        ids: &[String],
        chains: &mut FxHashMap<ZonedId, Vec<SessionRow>>,
    ) -> Result<(), DbErr> {
        let columns = self.projection.select_list(Table::Sessions);
        let mut sql = Sql::new(self.backend());
        sql.push("WITH RECURSIVE up(descendant_id, member_id, next_id) AS (SELECT id, id, parent_id FROM sessions WHERE zone_id = ")
            .bind(zone_id.to_owned())
            .push(" AND id IN ")
            .bind_list(ids.iter().cloned())
            .push(" UNION ALL SELECT up.descendant_id, sessions.id, sessions.parent_id FROM up JOIN sessions ON sessions.zone_id = ")
            .bind(zone_id.to_owned())
            .push(&format!(
                " AND sessions.id = up.next_id) SELECT {columns}, descendant_id FROM (SELECT sessions.*, up.descendant_id FROM up JOIN sessions ON sessions.zone_id = "
            ))
            .bind(zone_id.to_owned())
            .push(" AND sessions.id = up.member_id AND up.member_id <> up.descendant_id");
        push_organization(&mut sql, &self.access, OrganizationColumn::Nullable);
        // Qualified: the chain's stored depth, whether or not the select
        // list carries it.
        sql.push(") chain ORDER BY chain.descendant_id, chain.depth");
        let selected = self.projection.mask(Table::Sessions);
        // The descendant follows the session's columns.
        let descendant_column = self.projection.width(Table::Sessions);
        for result in self.query(sql.build()).await? {
            let row = SessionRow::from_row(&result, selected)?;
            let descendant = result.try_get_by_index::<String>(descendant_column)?;
            chains
                .entry(ZonedId::new(zone_id, &descendant))
                .or_default()
                .push(row);
        }
        Ok(())
    }
}
