//! The crate's modules form no import cycle: a reader (and a change) can
//! take each module with only what it uses beneath it. A cycle between two
//! files means neither can be understood, or replaced, without the other.
//!
//! The graph is read from the source: every `crate::`, `super::` and
//! `self::` path in a file (in `use` trees and in code) is an edge to the
//! module file it names. A module's own ancestors are its context, not its
//! dependencies (a child names what its parent declares, and the parent
//! declares the child), so edges along one line of descent are left out.
//! The SeaORM entities are one schema split by table: SeaORM declares a
//! relation on both of its ends, so they may name each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from the crate root, e.g. `["store", "joins"]`.
type ModulePath = Vec<String>;

#[test]
fn the_crate_has_no_import_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = module_files(&root);
    let mut graph: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let targets = graph.entry(module.clone()).or_default();
        for path in referenced_paths(&strip_comments(&text)) {
            let Some(absolute) = resolve(module, &path) else {
                continue;
            };
            let Some(target) = longest_module(&modules, &absolute) else {
                continue;
            };
            if !is_ancestor(&target, module) && !is_ancestor(module, &target) {
                targets.insert(target);
            }
        }
    }
    let cycles: Vec<Vec<String>> = strongly_connected(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .filter(|component| {
            !component
                .iter()
                .all(|m| m.first().is_some_and(|top| top == "entities"))
        })
        .map(|component| component.iter().map(display).collect())
        .collect();
    assert!(
        cycles.is_empty(),
        "modules that import each other (directly or through others): {cycles:?}"
    );
}

/// Every module file under `src/`, by module path.
fn module_files(root: &Path) -> BTreeMap<ModulePath, PathBuf> {
    let mut modules = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(root).expect("under src");
            let mut parts: ModulePath = relative
                .iter()
                .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            match parts.last().map(String::as_str) {
                Some("lib" | "main") if parts.len() == 1 => parts.clear(),
                Some("mod") => {
                    parts.pop();
                }
                _ => {}
            }
            modules.insert(parts, path);
        }
    }
    modules
}

/// Removes `//` and `/* */` comments, so docs that name modules add no edge.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |end| &after[end..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else if let Some(after) = rest.strip_prefix("'\"'") {
            // The character literal of a quote opens no string.
            rest = after;
        } else if let Some(after) = rest.strip_prefix("r#\"") {
            rest = after.find("\"#").map_or("", |end| &after[end + 2..]);
            out.push_str("\"\"");
        } else if let Some(after) = rest.strip_prefix('"') {
            // Skip string literals (SQL and messages may contain `::`).
            let mut chars = after.char_indices();
            let mut end = after.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            out.push_str("\"\"");
            rest = &after[end.min(after.len())..];
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

/// Every path that starts at `crate`, `super` or `self`, with `use` trees
/// expanded (`use super::{a::B, c}` gives `super::a::B` and `super::c`).
fn referenced_paths(text: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(text);
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts = matches!(tokens[i].as_str(), "crate" | "super" | "self")
            && (i == 0 || tokens[i - 1] != "::");
        if starts {
            let (end, mut found) = path_tree(&tokens, i, Vec::new());
            paths.append(&mut found);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = c.to_string();
            while let Some(&next) = chars.peek() {
                if next.is_alphanumeric() || next == '_' {
                    word.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            tokens.push("::".to_owned());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// Reads one path (or use tree) from `tokens[start]`; returns where it
/// ended and the full paths it names.
fn path_tree(tokens: &[String], start: usize, prefix: Vec<String>) -> (usize, Vec<Vec<String>>) {
    let mut path = prefix;
    let mut i = start;
    loop {
        let Some(token) = tokens.get(i) else {
            return (i, vec![path]);
        };
        if token == "{" {
            let mut found = Vec::new();
            i += 1;
            while i < tokens.len() && tokens[i] != "}" {
                let (end, mut inner) = path_tree(tokens, i, path.clone());
                found.append(&mut inner);
                i = end;
                while i < tokens.len() && tokens[i] != "," && tokens[i] != "}" {
                    i += 1;
                }
                if tokens.get(i).map(String::as_str) == Some(",") {
                    i += 1;
                }
            }
            return (i + 1, found);
        }
        if token.chars().all(|c| c.is_alphanumeric() || c == '_') {
            path.push(token.clone());
            i += 1;
            if tokens.get(i).map(String::as_str) == Some("::") {
                i += 1;
                continue;
            }
        }
        return (i, vec![path]);
    }
}

/// The absolute module path `path` names from inside `module`.
fn resolve(module: &ModulePath, path: &[String]) -> Option<ModulePath> {
    let mut base: ModulePath = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self" | "super") => module.clone(),
        _ => return None,
    };
    let mut rest = &path[1..];
    if path[0] == "super" {
        base.pop()?;
    }
    while rest.first().map(String::as_str) == Some("super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The deepest module file that `path` lies in.
fn longest_module(
    modules: &BTreeMap<ModulePath, PathBuf>,
    path: &ModulePath,
) -> Option<ModulePath> {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|candidate| modules.contains_key(candidate))
}

fn is_ancestor(ancestor: &ModulePath, of: &ModulePath) -> bool {
    of.starts_with(ancestor)
}

fn display(module: &ModulePath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

/// Tarjan's strongly connected components.
fn strongly_connected(graph: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    struct Search<'g> {
        graph: &'g BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        index: BTreeMap<&'g ModulePath, usize>,
        low: BTreeMap<&'g ModulePath, usize>,
        stack: Vec<&'g ModulePath>,
        on_stack: BTreeSet<&'g ModulePath>,
        components: Vec<Vec<ModulePath>>,
    }
    impl<'g> Search<'g> {
        fn visit(&mut self, node: &'g ModulePath) {
            let next = self.index.len();
            self.index.insert(node, next);
            self.low.insert(node, next);
            self.stack.push(node);
            self.on_stack.insert(node);
            for target in self.graph.get(node).into_iter().flatten() {
                let Some((target, _)) = self.graph.get_key_value(target) else {
                    continue;
                };
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[node].min(self.low[target]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[node].min(self.index[target]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.clone());
                    if member == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !search.index.contains_key(node) {
            search.visit(node);
        }
    }
    search.components
}
