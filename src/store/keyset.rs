//! Keyset pages: the order of a list, a position in it, the window a page
//! covers, and the SQL that reads exactly that window.
//!
//! Order is `key DIRECTION, id DIRECTION` with null keys last in either
//! direction. A position is the key and the id of its row, so a page stays
//! exact while rows are inserted before it.
//!
//! Pages are fetched as range scans of the `(zone_id, key, id)` indexes:
//! rows with a key and rows without one are read by separate index-ordered
//! branches, because no single index order puts nulls last in both
//! directions.

use chrono::{DateTime, Utc};

use super::sql::Sql;

/// Rows of a page when the client names no size.
pub const DEFAULT_PAGE: u64 = 20;
/// The most rows one page may ask for.
pub const MAX_PAGE: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKey {
    CreatedAt,
    ExpiresAt,
    AuthenticatedAt,
}

impl OrderKey {
    pub fn column(self) -> &'static str {
        match self {
            OrderKey::CreatedAt => "created_at",
            OrderKey::ExpiresAt => "expires_at",
            OrderKey::AuthenticatedAt => "authenticated_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ordering {
    pub key: OrderKey,
    pub descending: bool,
}

impl Ordering {
    pub fn describe(self) -> String {
        format!(
            "{} {}",
            self.key.column(),
            if self.descending { "DESC" } else { "ASC" }
        )
    }

    pub fn tag(self) -> &'static str {
        if self.descending { "desc" } else { "asc" }
    }
}

impl Default for Ordering {
    fn default() -> Self {
        Ordering {
            key: OrderKey::CreatedAt,
            descending: true,
        }
    }
}

/// A position in a list: the order key of a row (null sorts last) and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub key: Option<DateTime<Utc>>,
    pub id: String,
}

/// The rows a page covers: validated `first`/`last`/`after`/`before`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    pub limit: u64,
    /// Paging backwards from the end (`last`).
    pub backward: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

/// Appends ` AND <rows strictly after the cursor in list order>`.
pub fn push_after(sql: &mut Sql, order: Ordering, cursor: &Cursor) {
    let column = order.key.column();
    let op = if order.descending { "<" } else { ">" };
    match cursor.key {
        Some(key) => {
            sql.push(&format!(" AND ({column} IS NULL OR {column} {op} "))
                .bind(key)
                .push(&format!(" OR ({column} = "))
                .bind(key)
                .push(&format!(" AND id {op} "))
                .bind(cursor.id.clone())
                .push("))");
        }
        None => {
            sql.push(&format!(" AND ({column} IS NULL AND id {op} "))
                .bind(cursor.id.clone())
                .push(")");
        }
    }
}

/// Appends ` AND <rows strictly before the cursor in list order>`.
pub fn push_before(sql: &mut Sql, order: Ordering, cursor: &Cursor) {
    let column = order.key.column();
    let op = if order.descending { ">" } else { "<" };
    match cursor.key {
        Some(key) => {
            sql.push(&format!(" AND ({column} IS NOT NULL AND ({column} {op} "))
                .bind(key)
                .push(&format!(" OR ({column} = "))
                .bind(key)
                .push(&format!(" AND id {op} "))
                .bind(cursor.id.clone())
                .push(")))");
        }
        None => {
            sql.push(&format!(" AND ({column} IS NOT NULL OR id {op} "))
                .bind(cursor.id.clone())
                .push(")");
        }
    }
}

/// Appends the conditions of the window's `after` and `before` cursors,
/// for statements that page by numbering rows rather than by a keyset scan.
pub fn push_cursor_bounds(sql: &mut Sql, order: Ordering, window: &Window) {
    if let Some(after) = &window.after {
        push_after(sql, order, after);
    }
    if let Some(before) = &window.before {
        push_before(sql, order, before);
    }
}

/// ` ORDER BY`-list for the order (reversed when fetching a `last` page):
/// nulls last, then the key, then the id, both in the sort's direction.
pub fn order_by(order: Ordering, reversed: bool) -> String {
    order_by_in(order, reversed, "")
}

/// [`order_by`] over the columns of the relation named `qualifier` (with
/// its trailing dot), for a statement that joins other tables in.
pub fn order_by_in(order: Ordering, reversed: bool, qualifier: &str) -> String {
    let column = format!("{qualifier}{}", order.key.column());
    let descending = order.descending != reversed;
    let direction = if descending { "DESC" } else { "ASC" };
    let nulls = if reversed { "DESC" } else { "ASC" };
    format!(
        "CASE WHEN {column} IS NULL THEN 1 ELSE 0 END {nulls}, {column} {direction}, {qualifier}id {direction}"
    )
}

/// Appends the cursor conditions for one branch: rows with a key
/// (`keyed`) or rows without one, which follow all keyed rows in list order.
fn push_branch_cursors(sql: &mut Sql, order: Ordering, window: &Window, keyed: bool) {
    let column = order.key.column();
    let (after_op, before_op) = if order.descending {
        ("<", ">")
    } else {
        (">", "<")
    };
    for (cursor, op) in [(&window.after, after_op), (&window.before, before_op)] {
        let Some(cursor) = cursor else { continue };
        match (keyed, cursor.key) {
            (true, Some(key)) => {
                sql.push(&format!(" AND ({column}, id) {op} ("))
                    .bind(key)
                    .push(", ")
                    .bind(cursor.id.clone())
                    .push(")");
            }
            (false, None) => {
                sql.push(&format!(" AND id {op} ")).bind(cursor.id.clone());
            }
            // A cursor in the other branch bounds this one wholly or not at
            // all; `branch_open` has ruled out the first case.
            _ => {}
        }
    }
}

/// Keyed rows all lie before an unkeyed `after` cursor; unkeyed rows all lie
/// after a keyed `before` cursor.
fn branch_open(window: &Window, keyed: bool) -> bool {
    if keyed {
        window.after.as_ref().is_none_or(|c| c.key.is_some())
    } else {
        window.before.as_ref().is_none_or(|c| c.key.is_none())
    }
}

/// Appends a whole keyset page query: `base` (a `SELECT ... WHERE ...`
/// without ORDER BY) narrowed to the window, in fetch order, with one row
/// more than the page to learn whether another follows. `nullable` says
/// whether the order key can be null; when it can, keyed and unkeyed rows
/// are fetched by separate index-ordered branches and merged.
pub fn push_keyset_page(
    sql: &mut Sql,
    order: Ordering,
    window: &Window,
    nullable: bool,
    base: impl Fn(&mut Sql),
) {
    let column = order.key.column();
    let fetch = window.limit + 1;
    let descending = order.descending != window.backward;
    let direction = if descending { "DESC" } else { "ASC" };
    let keyed_open = branch_open(window, true);
    let unkeyed_open = nullable && branch_open(window, false);
    let keyed = |sql: &mut Sql| {
        base(sql);
        if nullable {
            sql.push(&format!(" AND {column} IS NOT NULL"));
        }
        push_branch_cursors(sql, order, window, true);
        sql.push(&format!(
            " ORDER BY {column} {direction}, id {direction} LIMIT {fetch}"
        ));
    };
    let unkeyed = |sql: &mut Sql| {
        base(sql);
        sql.push(&format!(" AND {column} IS NULL"));
        push_branch_cursors(sql, order, window, false);
        sql.push(&format!(" ORDER BY id {direction} LIMIT {fetch}"));
    };
    match (keyed_open, unkeyed_open) {
        (true, false) => keyed(sql),
        (false, true) => unkeyed(sql),
        (false, false) => {
            base(sql);
            sql.push(" AND 1 = 0");
        }
        (true, true) => {
            sql.push("SELECT * FROM (SELECT * FROM (");
            keyed(sql);
            sql.push(") AS keyed UNION ALL SELECT * FROM (");
            unkeyed(sql);
            sql.push(&format!(
                ") AS unkeyed) AS page ORDER BY {} LIMIT {fetch}",
                order_by(order, window.backward)
            ));
        }
    }
}

/// One page of rows plus whether more lie beyond it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Trims the extra row fetched to detect a further page and restores
    /// list order for backward pages.
    pub fn from_fetched(mut rows: Vec<T>, window: &Window) -> Page<T> {
        let more = rows.len() as u64 > window.limit;
        rows.truncate(window.limit as usize);
        if window.backward {
            rows.reverse();
            Page {
                rows,
                has_next_page: window.before.is_some(),
                has_previous_page: more,
            }
        } else {
            Page {
                rows,
                has_next_page: more,
                has_previous_page: window.after.is_some(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWEST: Ordering = Ordering {
        key: OrderKey::CreatedAt,
        descending: true,
    };

    fn window(limit: u64) -> Window {
        Window {
            limit,
            backward: false,
            after: None,
            before: None,
        }
    }

    fn page_sql(window: &Window) -> String {
        let mut sql = Sql::new(sea_orm::DbBackend::Postgres);
        push_keyset_page(&mut sql, NEWEST, window, true, |sql| {
            sql.push("SELECT * FROM sessions WHERE zone_id = ")
                .bind("z");
        });
        sql.build().sql
    }

    #[test]
    fn pages_read_keyed_and_unkeyed_rows_by_separate_index_scans() {
        let mut window = window(5);
        let both = page_sql(&window);
        assert!(both.contains("created_at IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 6"));
        assert!(both.contains("created_at IS NULL ORDER BY id DESC LIMIT 6"));
        // An unkeyed `after` cursor leaves only unkeyed rows to read.
        window.after = Some(Cursor {
            key: None,
            id: "ses_1".into(),
        });
        let unkeyed = page_sql(&window);
        assert!(!unkeyed.contains("IS NOT NULL"));
        assert!(unkeyed.contains("created_at IS NULL AND id < $2"));
        // A keyed `before` cursor leaves only keyed rows.
        window.after = None;
        window.before = Some(Cursor {
            key: DateTime::from_timestamp_micros(1),
            id: "ses_1".into(),
        });
        let keyed = page_sql(&window);
        assert!(!keyed.contains("IS NULL ORDER"));
        assert!(keyed.contains("(created_at, id) > ($2, $3)"));
    }
}
