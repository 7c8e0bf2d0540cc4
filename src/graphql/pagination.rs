//! Relay connection arguments and opaque cursors.
//!
//! A cursor carries the order (field and direction), the key and the id of
//! its row, so it stays exact while rows are inserted before it; a cursor
//! made for another order is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;

use super::errors::ApiError;
use crate::store::keyset::{Cursor, DEFAULT_PAGE, MAX_PAGE, Ordering, Window};

impl Cursor {
    pub fn encode(&self, order: Ordering) -> String {
        let key = self
            .key
            .map(|k| k.timestamp_micros().to_string())
            .unwrap_or_default();
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}|{}|{}",
            order.key.column(),
            order.tag(),
            key,
            self.id
        ))
    }

    pub fn decode(text: &str, order: Ordering, argument: &str) -> Result<Cursor, ApiError> {
        let malformed =
            || ApiError::bad_input(format!("`{argument}` is not a cursor of this list"));
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed())?;
        let decoded = String::from_utf8(bytes).map_err(|_| malformed())?;
        let mut parts = decoded.splitn(4, '|');
        let (Some(field), Some(direction), Some(key), Some(id)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        if field != order.key.column() || direction != order.tag() {
            if !matches!(direction, "asc" | "desc") {
                return Err(malformed());
            }
            return Err(ApiError::bad_input(format!(
                "`{argument}` is a cursor for a list ordered by {field} {}, not {}",
                direction.to_uppercase(),
                order.describe()
            )));
        }
        let key = if key.is_empty() {
            None
        } else {
            let micros: i64 = key.parse().map_err(|_| malformed())?;
            Some(DateTime::from_timestamp_micros(micros).ok_or_else(malformed)?)
        };
        // No stored id is empty or holds NUL (PostgreSQL text cannot).
        if id.is_empty() || id.contains('\0') {
            return Err(malformed());
        }
        Ok(Cursor {
            key,
            id: id.to_owned(),
        })
    }
}

impl Window {
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        order: Ordering,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keyset::OrderKey;

    const NEWEST: Ordering = Ordering {
        key: OrderKey::CreatedAt,
        descending: true,
    };

    #[test]
    fn cursors_round_trip_and_refuse_other_orders() {
        let cursor = Cursor {
            key: DateTime::from_timestamp_micros(1_700_000_000_123_456),
            id: "ses_1".into(),
        };
        let expiring = Ordering {
            key: OrderKey::ExpiresAt,
            descending: false,
        };
        let text = cursor.encode(expiring);
        assert_eq!(Cursor::decode(&text, expiring, "after").unwrap(), cursor);
        assert!(Cursor::decode(&text, NEWEST, "after").is_err());
        let reversed = Ordering {
            descending: true,
            ..expiring
        };
        let refused = Cursor::decode(&text, reversed, "after").unwrap_err();
        assert!(format!("{refused:?}").contains("expires_at ASC, not expires_at DESC"));
        assert!(Cursor::decode("not a cursor", NEWEST, "after").is_err());
        let null_key = Cursor {
            key: None,
            id: "a|b".into(),
        };
        assert_eq!(
            Cursor::decode(&null_key.encode(NEWEST), NEWEST, "after").unwrap(),
            null_key
        );
    }

    #[test]
    fn window_rules() {
        let order = NEWEST;
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
