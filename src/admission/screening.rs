//! Checks on a request's text that must run before the GraphQL parser sees
//! it: bracket nesting (the parser recurses once per level of a value and
//! overflows the stack at a few thousand) and NUL characters (no id holds
//! one, and PostgreSQL refuses them in text). What the parsed document is
//! checked for is found when it is prepared (`prepared.rs`).

use async_graphql::{Value as ConstValue, Variables};

/// Deepest nesting of `{`, `[` and `(` a query may have; far beyond any
/// real query (the depth limit is 15) and far below the parser's breaking point.
pub const MAX_NESTING: usize = 128;

/// How deep `{`, `[` and `(` nest in a GraphQL text, outside strings and
/// comments; stops counting once past `limit`.
pub fn bracket_nesting(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Whether a NUL reaches the request: a raw one or a `\u0000` escape in the
/// text, or one in a variable's string (keys included).
pub fn holds_nul(query: &str, variables: &Variables) -> bool {
    fn in_value(value: &ConstValue) -> bool {
        match value {
            ConstValue::String(text) => text.contains('\0'),
            ConstValue::List(items) => items.iter().any(in_value),
            ConstValue::Object(fields) => fields
                .iter()
                .any(|(key, value)| key.contains('\0') || in_value(value)),
            _ => false,
        }
    }
    // An escape is found from its backslash (a fast search), with no
    // lowercased copy of the whole text: only the `u` of `\u0000` has a case.
    let escapes_nul = query.match_indices('\\').any(|(at, _)| {
        query
            .as_bytes()
            .get(at + 1..at + 6)
            .is_some_and(|escape| escape[0].eq_ignore_ascii_case(&b'u') && &escape[1..] == b"0000")
    });
    query.contains('\0')
        || escapes_nul
        || variables
            .iter()
            .any(|(name, value)| name.contains('\0') || in_value(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a { b(x: [[1]]) } }", 100), 5);
        assert_eq!(bracket_nesting(r#"{ a(s: "{{{{[[[") }"#, 100), 2);
        assert_eq!(bracket_nesting("{ a # {{{{{\n }", 100), 1);
        assert_eq!(bracket_nesting(r#"{ a(s: """ {{{ \""" {{ """) }"#, 100), 2);
        assert_eq!(bracket_nesting(&"[".repeat(10_000), 128), 129);
    }

    #[test]
    fn nul_is_found_in_text_escapes_and_variables() {
        let none = Variables::default();
        assert!(holds_nul("{ session(id: \"\\u0000\") { id } }", &none));
        let nul = Variables::from_json(serde_json::json!({ "id": ["x\u{0}"] }));
        assert!(holds_nul("{ a }", &nul));
        assert!(holds_nul("{ session(id: \"\\U0000\") { id } }", &none));
        assert!(!holds_nul("{ session(id: \"\\u0001\") { id } }", &none));
        assert!(!holds_nul("{ session(id: \"\\u000\") }\\", &none));
        let plain = Variables::from_json(serde_json::json!({ "id": "x" }));
        assert!(!holds_nul("{ a }", &plain));
    }
}
