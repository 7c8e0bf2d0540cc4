//! Relay connection arguments, opaque cursors, and keyset page SQL.
//!
//! Order is `key DIRECTION, id DIRECTION` with null keys last in either
//! direction. A cursor carries the order field, the key and the id of its
//! row, so it stays exact while rows are inserted before it; a cursor made
//! for another order is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::errors::ApiError;
use super::sql::Sql;

pub const DEFAULT_PAGE: u64 = 20;
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

impl Cursor {
    pub fn encode(&self, order: OrderKey) -> String {
        let key = self
            .key
            .map(|k| k.timestamp_micros().to_string())
            .unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!("{}|{}|{}", order.column(), key, self.id))
    }

    pub fn decode(text: &str, order: OrderKey, argument: &str) -> Result<Cursor, ApiError> {
        let malformed =
            || ApiError::bad_input(format!("`{argument}` is not a cursor of this list"));
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed())?;
        let decoded = String::from_utf8(bytes).map_err(|_| malformed())?;
        let mut parts = decoded.splitn(3, '|');
        let (Some(field), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        if field != order.column() {
            return Err(ApiError::bad_input(format!(
                "`{argument}` is a cursor for a list ordered by {field}, not {}",
                order.column()
            )));
        }
        let key = if key.is_empty() {
            None
        } else {
            let micros: i64 = key.parse().map_err(|_| malformed())?;
            Some(DateTime::from_timestamp_micros(micros).ok_or_else(malformed)?)
        };
        if id.is_empty() {
            return Err(malformed());
        }
        Ok(Cursor {
            key,
            id: id.to_owned(),
        })
    }
}

/// Validated `first`/`last`/`after`/`before`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    pub limit: u64,
    /// Paging backwards from the end (`last`).
    pub backward: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

impl Window {
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        order: OrderKey,
    ) -> Result<Window, ApiError> {
        let count = |value: i32, name: &str| -> Result<u64, ApiError> {
            if value < 0 {
                Err(ApiError::bad_input(format!(
                    "`{name}` must not be negative (got {value})"
                )))
            } else if value as u64 > MAX_PAGE {
                Err(ApiError::bad_input(format!(
                    "`{name}` must be at most {MAX_PAGE} (got {value})"
                )))
            } else {
                Ok(value as u64)
            }
        };
        let (limit, backward) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "`first` and `last` cannot be used together; page forwards with first/after or backwards with last/before",
                ));
            }
            (Some(first), None) => (count(first, "first")?, false),
            (None, Some(last)) => (count(last, "last")?, true),
            (None, None) => (DEFAULT_PAGE, before.is_some() && after.is_none()),
        };
        Ok(Window {
            limit,
            backward,
            after: after
                .map(|c| Cursor::decode(c, order, "after"))
                .transpose()?,
            before: before
                .map(|c| Cursor::decode(c, order, "before"))
                .transpose()?,
        })
    }
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

/// ` ORDER BY`-list for the order (reversed when fetching a `last` page):
/// nulls last, then the key, then the id, both in the sort's direction.
pub fn order_by(order: Ordering, reversed: bool) -> String {
    let column = order.key.column();
    let descending = order.descending != reversed;
    let direction = if descending { "DESC" } else { "ASC" };
    let nulls = if reversed { "DESC" } else { "ASC" };
    format!(
        "CASE WHEN {column} IS NULL THEN 1 ELSE 0 END {nulls}, {column} {direction}, id {direction}"
    )
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

    #[test]
    fn cursors_round_trip_and_refuse_other_orders() {
        let cursor = Cursor {
            key: DateTime::from_timestamp_micros(1_700_000_000_123_456),
            id: "ses_1".into(),
        };
        let text = cursor.encode(OrderKey::ExpiresAt);
        assert_eq!(
            Cursor::decode(&text, OrderKey::ExpiresAt, "after").unwrap(),
            cursor
        );
        assert!(Cursor::decode(&text, OrderKey::CreatedAt, "after").is_err());
        assert!(Cursor::decode("not a cursor", OrderKey::CreatedAt, "after").is_err());
        let null_key = Cursor {
            key: None,
            id: "a|b".into(),
        };
        assert_eq!(
            Cursor::decode(
                &null_key.encode(OrderKey::CreatedAt),
                OrderKey::CreatedAt,
                "after"
            )
            .unwrap(),
            null_key
        );
    }

    #[test]
    fn window_rules() {
        let order = OrderKey::CreatedAt;
        assert_eq!(
            Window::parse(None, None, None, None, order).unwrap().limit,
            DEFAULT_PAGE
        );
        assert_eq!(
            Window::parse(Some(0), None, None, None, order)
                .unwrap()
                .limit,
            0
        );
        assert!(Window::parse(Some(1), None, Some(1), None, order).is_err());
        assert!(Window::parse(Some(-1), None, None, None, order).is_err());
        assert!(Window::parse(Some(101), None, None, None, order).is_err());
        let before = Cursor {
            key: None,
            id: "x".into(),
        }
        .encode(order);
        assert!(
            Window::parse(None, None, None, Some(&before), order)
                .unwrap()
                .backward
        );
    }
}
