//! Checks on a request's text that must run before the GraphQL parser sees
//! it, or that the parser and validator answer badly: bracket nesting (the
//! parser recurses once per level of a value and overflows the stack at a
//! few thousand), NUL characters (no id holds one, and PostgreSQL refuses
//! them in text), fragment cycles (reported as a cycle, not as
//! async-graphql's unrelated recursion limit), and introspection on a server
//! that has it off (named, where async-graphql would answer null).

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
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
    query.contains('\0')
        || query.to_ascii_lowercase().contains("\\u0000")
        || variables
            .iter()
            .any(|(name, value)| name.contains('\0') || in_value(value))
}

/// Whether a document selects `__schema` or `__type` anywhere (fragments
/// included), so a server with introspection off can say so instead of
/// answering null.
pub fn selects_introspection(document: &ExecutableDocument) -> bool {
    fn walk(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                name == "__schema" || name == "__type" || walk(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    document
        .operations
        .iter()
        .any(|(_, operation)| walk(&operation.node.selection_set.node))
        || document
            .fragments
            .values()
            .any(|fragment| walk(&fragment.node.selection_set.node))
}

/// A fragment that spreads itself, directly or through others, as the path
/// `A → B → A`.
pub fn fragment_cycle(document: &ExecutableDocument) -> Option<String> {
    fn spreads<'a>(set: &'a SelectionSet, into: &mut Vec<&'a str>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => spreads(&field.node.selection_set.node, into),
                Selection::InlineFragment(inline) => spreads(&inline.node.selection_set.node, into),
                Selection::FragmentSpread(spread) => {
                    into.push(spread.node.fragment_name.node.as_str())
                }
            }
        }
    }
    let graph: HashMap<&str, Vec<&str>> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut names = Vec::new();
            spreads(&fragment.node.selection_set.node, &mut names);
            (name.as_str(), names)
        })
        .collect();
    // Iterative depth-first search: fragment chains can be long.
    let mut finished: HashSet<&str> = HashSet::new();
    let mut starts: Vec<&str> = graph.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        if finished.contains(start) {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((name, next)) = path.last().copied() {
            let children = graph.get(name).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(child) = children.get(next) {
                if let Some(last) = path.last_mut() {
                    last.1 += 1;
                }
                if let Some(at) = path.iter().position(|(n, _)| n == child) {
                    let mut cycle: Vec<&str> = path[at..].iter().map(|(n, _)| *n).collect();
                    cycle.push(child);
                    return Some(cycle.join(" → "));
                }
                if !finished.contains(child) && graph.contains_key(child) {
                    path.push((child, 0));
                }
            } else {
                finished.insert(name);
                path.pop();
            }
        }
    }
    None
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
        let plain = Variables::from_json(serde_json::json!({ "id": "x" }));
        assert!(!holds_nul("{ a }", &plain));
    }

    #[test]
    fn cycles_are_named() {
        let document = async_graphql::parser::parse_query(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { x { ...A } } fragment C on Query { ...B }",
        )
        .expect("parses");
        assert_eq!(fragment_cycle(&document).as_deref(), Some("A → B → A"));
        let acyclic = async_graphql::parser::parse_query(
            "{ ...A ...B } fragment A on Query { ...B } fragment B on Query { x }",
        )
        .expect("parses");
        assert_eq!(fragment_cycle(&acyclic), None);
    }
}
