//! A bounded fuzz target over request handling. proptest generates
//!
//! - GraphQL documents built from the real schema's types, fields and
//!   arguments (queries and mutations, nested selections, named and inline
//!   fragments on `UserSession`/`ApplicationSession`, aliases, directives,
//!   variables, and argument values that fit or are wild: odd unicode, huge
//!   and negative ints, wrong types), and
//! - request envelopes: random bytes, random JSON for `query`, `variables`,
//!   `operationName` and `extensions`, mangled and deeply nested JSON, GET
//!   parameters,
//!
//! and POSTs (or GETs) each to one real server per database: the
//! `sessiongraph` binary in its own process, started once per run (and
//! again after a crash, which fails the case without aborting the test
//! binary). Every answer must come within 15 s, never with a 5xx, always as
//! a JSON GraphQL response whose errors carry a code of SPEC §2 other than
//! `INTERNAL_SERVER_ERROR`/`SERVICE_UNAVAILABLE` (the database is healthy,
//! so either would be a server bug); parse and validation failures must get
//! 400 under `application/graphql-response+json` and 200 under legacy JSON.
//! After each case the server must still answer `/healthz`; after the run,
//! a plain query too.
//!
//! `FUZZ_CASES` (default 64) sets the cases per run; `FUZZ_SEED` (a number,
//! or `random`) the seed, fixed by default so CI runs are reproducible.
//! Failures found by fuzzing are kept as regression tests at the end.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::LazyLock;
use std::time::Instant;

use async_graphql::parser::types::{
    BaseType, Type, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Map, Value, json};

use crate::helpers::probe::{LEGACY, MODERN, Probe, SPEC_CODES, clip, literal};
use crate::helpers::{Backend, TestDb};

// ---------------------------------------------------------------------------
// The schema, as far as the generator needs it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    Id,
    Ids,
    ZoneId,
    Int,
    Cursor,
    Filter,
    Order,
    Input,
}

type Args = &'static [(&'static str, Arg)];

struct FieldDef {
    name: &'static str,
    /// The object, interface or union type it returns; `None` for scalars
    /// and enums.
    ty: Option<&'static str>,
    args: Args,
}

/// The schema's output types as the generator needs them, read from the
/// SDL the server itself prints, so every field the schema gains is fuzzed
/// without a hand-kept copy.
struct SchemaTable {
    fields: HashMap<&'static str, &'static [FieldDef]>,
    members: HashMap<&'static str, &'static [&'static str]>,
}

static SCHEMA: LazyLock<SchemaTable> = LazyLock::new(SchemaTable::read);

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

/// How the generator fills an argument, by its name and type; `None` for
/// an argument it leaves out.
fn arg_kind(name: &str, ty: &Type) -> Option<Arg> {
    Some(match (name, named(ty)) {
        ("id", _) => Arg::Id,
        ("ids", _) => Arg::Ids,
        ("zoneId", _) => Arg::ZoneId,
        ("after" | "before", _) => Arg::Cursor,
        (_, "Int") => Arg::Int,
        (_, "SessionFilter") => Arg::Filter,
        (_, "SessionOrder") => Arg::Order,
        (_, "UpdateSessionInput") => Arg::Input,
        _ => return None,
    })
}

impl SchemaTable {
    fn read() -> SchemaTable {
        let document = async_graphql::parser::parse_schema(sessiongraph::graphql::sdl())
            .expect("the server's SDL parses");
        let types: Vec<TypeDefinition> = document
            .definitions
            .into_iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some(ty.node),
                _ => None,
            })
            .collect();
        let composite: HashSet<&str> = types
            .iter()
            .filter(|ty| {
                matches!(
                    ty.kind,
                    TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)
                )
            })
            .map(|ty| ty.name.node.as_str())
            .collect();
        let mut fields = HashMap::new();
        let mut members: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for ty in &types {
            let name = leak(ty.name.node.as_str());
            let TypeKind::Object(object) = &ty.kind else {
                if let TypeKind::Union(union) = &ty.kind {
                    members
                        .entry(name)
                        .or_default()
                        .extend(union.members.iter().map(|m| leak(m.node.as_str())));
                }
                continue;
            };
            for interface in &object.implements {
                members
                    .entry(leak(interface.node.as_str()))
                    .or_default()
                    .push(name);
            }
            let defs: Vec<FieldDef> = object
                .fields
                .iter()
                .map(|field| {
                    let field = &field.node;
                    let returns = named(&field.ty.node);
                    let args: Vec<(&'static str, Arg)> = field
                        .arguments
                        .iter()
                        .filter_map(|arg| {
                            let arg = &arg.node;
                            let kind = arg_kind(arg.name.node.as_str(), &arg.ty.node)?;
                            Some((leak(arg.name.node.as_str()), kind))
                        })
                        .collect();
                    FieldDef {
                        name: leak(field.name.node.as_str()),
                        ty: composite.contains(returns).then(|| leak(returns)),
                        args: Box::leak(args.into_boxed_slice()),
                    }
                })
                .collect();
            fields.insert(name, &*Box::leak(defs.into_boxed_slice()));
        }
        SchemaTable {
            fields,
            members: members
                .into_iter()
                .map(|(name, list)| (name, &*Box::leak(list.into_boxed_slice())))
                .collect(),
        }
    }
}

fn fields(ty: &str) -> &'static [FieldDef] {
    // Abstract types and type conditions that name no object have none.
    SCHEMA.fields.get(ty).copied().unwrap_or(&[])
}

/// The object types an abstract type's selections are made on.
fn members(ty: &str) -> &'static [&'static str] {
    SCHEMA.members.get(ty).copied().unwrap_or(&[])
}

/// Type conditions for fragments: mostly the session types, some others,
/// some that do not fit where they are spread, one that does not exist.
const TYPE_CONDITIONS: [&str; 12] = [
    "UserSession",
    "ApplicationSession",
    "UserSession",
    "ApplicationSession",
    "Session",
    "Node",
    "User",
    "Application",
    "UserAgent",
    "PageInfo",
    "Query",
    "Bogus",
];

const IDS: [&str; 9] = [
    "ses_root01",
    "ses_child01",
    "ses_app01",
    "usr_81aa0e",
    "app_2f9c1d",
    "ua_7d2c44",
    "zone_demo",
    "no_such_id",
    "",
];
const INTS: [i64; 12] = [0, 1, 2, 3, 5, 10, 20, 50, 100, -1, 101, 1_000_000];
const STATUSES: [&str; 4] = ["ACTIVE", "EXPIRED", "REVOKED", "BOGUS"];
const INPUT_FIELDS: [&str; 9] = [
    "type",
    "status",
    "userId",
    "applicationId",
    "userAgentId",
    "includeNested",
    "field",
    "direction",
    "bogus",
];
const ENUMS: [&str; 10] = [
    "ACTIVE",
    "REVOKED",
    "USER",
    "APPLICATION",
    "CREATED_AT",
    "EXPIRES_AT",
    "ASC",
    "DESC",
    "PLATFORM",
    "NOPE",
];
const VARIABLE_TYPES: [&str; 14] = [
    "ID!",
    "ID",
    "Int",
    "Int!",
    "String",
    "[ID!]!",
    "SessionFilter",
    "SessionOrder",
    "UpdateSessionInput!",
    "Boolean!",
    "SessionStatus",
    "[Int]",
    "Bogus",
    "JSON",
];

/// A cursor in the server's format (`column|direction|micros|id`), or not.
fn cursor(n: u16) -> String {
    let id = IDS[usize::from(n) % IDS.len()];
    let micros = [
        "1772611500250000",
        "0",
        "",
        "-1",
        "x",
        "99999999999999999999",
    ][usize::from(n / 9) % 6];
    let order = [
        "created_at|desc",
        "created_at|asc",
        "expires_at|desc",
        "bogus|up",
    ][usize::from(n / 54) % 4];
    match n % 7 {
        0 => "garbage".to_owned(),
        1 => "%%%".to_owned(),
        _ => URL_SAFE_NO_PAD.encode(format!("{order}|{micros}|{id}")),
    }
}

/// A literal that fits an argument of `kind` (mostly valid, sometimes not).
fn fitting(kind: Arg, n: u16) -> String {
    let n_us = usize::from(n);
    let id = || literal(IDS[n_us % IDS.len()]);
    match kind {
        Arg::Id => id(),
        Arg::ZoneId => {
            if n.is_multiple_of(4) {
                id()
            } else {
                literal("zone_demo")
            }
        }
        Arg::Ids => {
            let ids: Vec<String> = (0..n_us % 4)
                .map(|i| literal(IDS[(n_us + i * 3) % IDS.len()]))
                .collect();
            format!("[{}]", ids.join(", "))
        }
        Arg::Int => INTS[n_us % INTS.len()].to_string(),
        Arg::Cursor => literal(&cursor(n)),
        Arg::Filter => {
            let mut parts = Vec::new();
            if n & 1 != 0 {
                parts.push(format!("includeNested: {}", n & 2 != 0));
            }
            if n & 4 != 0 {
                parts.push(format!(
                    "type: {}",
                    if n & 8 != 0 { "USER" } else { "APPLICATION" }
                ));
            }
            if n & 16 != 0 {
                let statuses: Vec<&str> = (0..(n_us >> 5) % 4)
                    .map(|i| STATUSES[(n_us + i) % STATUSES.len()])
                    .collect();
                parts.push(format!("status: [{}]", statuses.join(", ")));
            }
            if n & 128 != 0 {
                parts.push(format!("userId: {}", id()));
            }
            if n & 256 != 0 {
                parts.push(format!("applicationId: {}", id()));
            }
            format!("{{{}}}", parts.join(", "))
        }
        Arg::Order => format!(
            "{{field: {}, direction: {}}}",
            ["CREATED_AT", "EXPIRES_AT", "AUTHENTICATED_AT"][n_us % 3],
            ["ASC", "DESC"][(n_us / 3) % 2]
        ),
        Arg::Input => format!(
            "{{status: {}}}",
            ["REVOKED", "REVOKED", "REVOKED", "ACTIVE", "EXPIRED"][n_us % 5]
        ),
    }
}

// ---------------------------------------------------------------------------
// Generated documents.
//
// The generator draws shapes (a tree of numbers) and the printer lays them
// over the schema: a number picks a field of the type in hand, an argument
// it declares, a value that fits it or not. Most documents are valid and
// run; some parts are wild on purpose (wrong types, odd strings, huge ints,
// unknown fields, arguments and directives).

#[derive(Debug, Clone)]
enum Val {
    /// A value that fits the argument, chosen by the number.
    Fit(u16),
    /// Literal source text: ints, floats, strings, enums.
    Text(String),
    Bool(bool),
    Null,
    Var(u8),
    List(Vec<Val>),
    Object(Vec<(u8, Val)>),
}

#[derive(Debug, Clone)]
enum Sel {
    Field {
        pick: u16,
        alias: Option<u8>,
        args: Vec<(u8, Val)>,
        directive: Option<(u8, Val)>,
        children: Vec<Sel>,
    },
    Inline {
        on: Option<u8>,
        children: Vec<Sel>,
    },
    Spread(u8),
}

#[derive(Debug, Clone)]
struct Doc {
    operation: u8,
    selections: Vec<Sel>,
    fragments: Vec<(u8, Vec<Sel>)>,
    /// `$v0`..`$v4`: a seed for a value that fits the variable's use, or a
    /// wild value.
    variables: Vec<(u16, Option<Value>)>,
}

/// What a variable is used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Arg(Arg),
    Condition,
    Anything(u8),
}

impl Use {
    fn graphql_type(self) -> &'static str {
        match self {
            Use::Arg(Arg::Id | Arg::ZoneId) => "ID!",
            Use::Arg(Arg::Ids) => "[ID!]!",
            Use::Arg(Arg::Int) => "Int",
            Use::Arg(Arg::Cursor) => "String",
            Use::Arg(Arg::Filter) => "SessionFilter",
            Use::Arg(Arg::Order) => "SessionOrder",
            Use::Arg(Arg::Input) => "UpdateSessionInput!",
            Use::Condition => "Boolean!",
            Use::Anything(n) => VARIABLE_TYPES[usize::from(n) % VARIABLE_TYPES.len()],
        }
    }

    /// A JSON value for a variable so used.
    fn fitting_json(self, n: u16) -> Value {
        let n_us = usize::from(n);
        match self {
            Use::Arg(Arg::Id) => json!(IDS[n_us % IDS.len()]),
            Use::Arg(Arg::ZoneId) => json!(if n.is_multiple_of(4) {
                IDS[n_us % IDS.len()]
            } else {
                "zone_demo"
            }),
            Use::Arg(Arg::Ids) => Value::Array(
                (0..n_us % 4)
                    .map(|i| json!(IDS[(n_us + i * 3) % IDS.len()]))
                    .collect(),
            ),
            Use::Arg(Arg::Int) => json!(INTS[n_us % INTS.len()]),
            Use::Arg(Arg::Cursor) => json!(cursor(n)),
            Use::Arg(Arg::Filter) => {
                let mut filter = Map::new();
                if n & 1 != 0 {
                    filter.insert("includeNested".into(), json!(n & 2 != 0));
                }
                if n & 4 != 0 {
                    filter.insert(
                        "type".into(),
                        json!(if n & 8 != 0 { "USER" } else { "APPLICATION" }),
                    );
                }
                if n & 16 != 0 {
                    filter.insert(
                        "status".into(),
                        json!(STATUSES[..3][(n_us >> 5) % 3..].to_vec()),
                    );
                }
                if n & 128 != 0 {
                    filter.insert("userId".into(), json!(IDS[n_us % IDS.len()]));
                }
                Value::Object(filter)
            }
            Use::Arg(Arg::Order) => {
                let field = ["CREATED_AT", "EXPIRES_AT", "AUTHENTICATED_AT"][n_us % 3];
                let direction = ["ASC", "DESC"][(n_us / 3) % 2];
                json!({ "field": field, "direction": direction })
            }
            Use::Arg(Arg::Input) => {
                let status = ["REVOKED", "REVOKED", "REVOKED", "ACTIVE"][n_us % 4];
                json!({ "status": status })
            }
            Use::Condition => json!(!n.is_multiple_of(3)),
            Use::Anything(_) => Value::Null,
        }
    }
}

struct Printer<'a> {
    doc: &'a Doc,
    out: String,
    /// Variables used so far, with their first use.
    variables: std::collections::BTreeMap<u8, Use>,
    /// Fragments spread so far.
    spread: std::collections::BTreeSet<usize>,
    aliases: u32,
}

impl Printer<'_> {
    fn value(&mut self, value: &Val, kind: Option<Arg>) {
        match value {
            Val::Fit(n) => {
                let text = match kind {
                    Some(kind) => fitting(kind, *n),
                    None => INTS[usize::from(*n) % INTS.len()].to_string(),
                };
                self.out.push_str(&text);
            }
            Val::Text(text) => self.out.push_str(text),
            Val::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Val::Null => self.out.push_str("null"),
            Val::Var(n) => {
                let n = n % 5;
                let used = match kind {
                    Some(kind) => Use::Arg(kind),
                    None => Use::Anything(n),
                };
                self.variables.entry(n).or_insert(used);
                self.out.push_str(&format!("$v{n}"));
            }
            Val::List(items) => {
                let inner = match kind {
                    Some(Arg::Ids) => Some(Arg::Id),
                    _ => None,
                };
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.value(item, inner);
                }
                self.out.push(']');
            }
            Val::Object(entries) => {
                self.out.push('{');
                for (i, (key, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out
                        .push_str(INPUT_FIELDS[usize::from(*key) % INPUT_FIELDS.len()]);
                    self.out.push_str(": ");
                    self.value(item, None);
                }
                self.out.push('}');
            }
        }
    }

    fn printed(&mut self, value: &Val, kind: Option<Arg>) -> String {
        let start = self.out.len();
        self.value(value, kind);
        self.out.split_off(start)
    }

    fn selections(&mut self, ty: &str, selections: &[Sel]) {
        self.out.push_str("{ ");
        let mut keys = std::collections::HashMap::new();
        let start = self.out.len();
        self.selection_list(ty, selections, &mut keys);
        if self.out.len() == start {
            self.out.push_str("__typename ");
        }
        self.out.push('}');
    }

    /// Selections that share `keys` (response name to arguments), so that
    /// no two fields with one name but different arguments meet.
    fn selection_list(
        &mut self,
        ty: &str,
        selections: &[Sel],
        keys: &mut std::collections::HashMap<String, String>,
    ) {
        for selection in selections {
            self.selection(ty, selection, keys);
            self.out.push(' ');
        }
    }

    fn selection(
        &mut self,
        ty: &str,
        selection: &Sel,
        keys: &mut std::collections::HashMap<String, String>,
    ) {
        match selection {
            Sel::Field {
                pick,
                alias,
                args,
                directive,
                children,
            } => {
                let members = members(ty);
                if !members.is_empty() {
                    // An abstract type's fields are selected on its members.
                    let member = members[usize::from(*pick) % members.len()];
                    let picked = Sel::Field {
                        pick: pick / members.len() as u16,
                        alias: *alias,
                        args: args.clone(),
                        directive: directive.clone(),
                        children: children.clone(),
                    };
                    if pick % 13 == 12 {
                        self.out.push_str("__typename");
                        return;
                    }
                    self.out.push_str(&format!("... on {member} {{ "));
                    let mut inner = std::collections::HashMap::new();
                    self.selection(member, &picked, &mut inner);
                    self.out.push_str(" }");
                    return;
                }
                let all = fields(ty);
                let field = match pick % 211 {
                    210 => None,
                    _ if all.is_empty() => None,
                    _ => Some(&all[usize::from(*pick) % all.len()]),
                };
                let name = match (field, pick % 211) {
                    (Some(field), _) => field.name,
                    (None, 210) => "bogusField",
                    (None, _) => "__typename",
                };
                let declared: Args = field.map(|f| f.args).unwrap_or(&[]);
                let mut printed: Vec<&str> = Vec::new();
                let mut arguments = String::new();
                for (index, value) in args {
                    let (arg, kind) = if declared.is_empty() {
                        if index % 97 != 96 {
                            continue;
                        }
                        ("bogus", None)
                    } else {
                        let (arg, kind) = declared[usize::from(*index) % declared.len()];
                        (arg, Some(kind))
                    };
                    if printed.contains(&arg) {
                        continue;
                    }
                    printed.push(arg);
                    let value = self.printed(value, kind);
                    arguments.push_str(&format!("{arg}: {value}, "));
                }
                // Required arguments the shape left out, with fitting values.
                for (arg, kind) in declared {
                    let required = matches!(*arg, "id" | "ids" | "zoneId" | "input");
                    if required && !printed.contains(arg) {
                        arguments.push_str(&format!("{arg}: {}, ", fitting(*kind, *pick)));
                    }
                }
                let arguments = arguments.trim_end_matches(", ").to_owned();
                // A unique alias when asked for one, or when the name is
                // taken with other arguments.
                let key = match (alias, keys.get(name)) {
                    (Some(_), _) => None,
                    (None, Some(taken)) if *taken != arguments => None,
                    (None, _) => Some(name.to_owned()),
                };
                match key {
                    Some(key) => {
                        keys.insert(key, arguments.clone());
                    }
                    None => {
                        self.aliases += 1;
                        self.out.push_str(&format!("a{}: ", self.aliases));
                    }
                }
                self.out.push_str(name);
                if !arguments.is_empty() {
                    self.out.push_str(&format!("({arguments})"));
                }
                if let Some((which, value)) = directive {
                    let (directive, argument) = match which % 10 {
                        0..=4 => ("include", "if"),
                        5..=8 => ("skip", "if"),
                        _ => ("bogus", "x"),
                    };
                    self.out.push_str(&format!(" @{directive}({argument}: "));
                    match value {
                        Val::Fit(n) => self.out.push_str(if n % 2 == 0 { "true" } else { "false" }),
                        Val::Var(n) => {
                            let n = n % 5;
                            self.variables.entry(n).or_insert(Use::Condition);
                            self.out.push_str(&format!("$v{n}"));
                        }
                        other => self.value(other, None),
                    }
                    self.out.push(')');
                }
                match field.and_then(|f| f.ty) {
                    Some(child) => {
                        self.out.push(' ');
                        self.selections(child, children);
                    }
                    // A selection on a leaf.
                    None if !children.is_empty() && pick % 61 == 60 => {
                        self.out.push(' ');
                        self.selections("Query", children);
                    }
                    None => {}
                }
            }
            Sel::Inline { on, children } => {
                let members = members(ty);
                let on = match on {
                    None => None,
                    Some(n) if n % 8 == 7 => {
                        Some(TYPE_CONDITIONS[usize::from(n / 8) % TYPE_CONDITIONS.len()])
                    }
                    Some(_) if members.is_empty() => Some(ty),
                    Some(n) => Some(members[usize::from(*n) % members.len()]),
                };
                match on {
                    None => {
                        self.out.push_str("... { ");
                        self.selection_list(ty, children, keys);
                        self.out.push('}');
                    }
                    Some(on) => {
                        self.out.push_str(&format!("... on {on} "));
                        let inner = if on == "Bogus" { ty } else { on };
                        self.selections(inner, children);
                    }
                }
            }
            Sel::Spread(n) => {
                // A fragment that can be spread here, mostly.
                let fits =
                    |on: &str| on == ty || members(ty).contains(&on) || members(on).contains(&ty);
                let candidates: Vec<usize> = (0..self.doc.fragments.len())
                    .filter(|&i| {
                        let on = TYPE_CONDITIONS
                            [usize::from(self.doc.fragments[i].0) % TYPE_CONDITIONS.len()];
                        fits(on) || n % 16 == 15
                    })
                    .collect();
                if candidates.is_empty() {
                    self.out.push_str(if n % 16 == 15 {
                        "...Missing"
                    } else {
                        "__typename"
                    });
                    return;
                }
                let i = candidates[usize::from(*n) % candidates.len()];
                self.spread.insert(i);
                self.out.push_str(&format!("...F{i}"));
            }
        }
    }

    /// The document's text and its variables.
    fn print(doc: &Doc) -> (String, Value) {
        let mut printer = Printer {
            doc,
            out: String::new(),
            variables: Default::default(),
            spread: Default::default(),
            aliases: 0,
        };
        let (keyword, root) = match doc.operation % 32 {
            0..=26 => ("query", "Query"),
            27..=30 => ("mutation", "Mutation"),
            _ => ("subscription", "Query"),
        };
        printer.selections(root, &doc.selections);
        let body = std::mem::take(&mut printer.out);
        // The fragments spread, and those they spread in turn; now and then
        // all of them (unused ones fail validation).
        let mut printed = std::collections::BTreeSet::new();
        let mut fragments = String::new();
        loop {
            let next = if doc.operation % 37 == 36 {
                (0..doc.fragments.len()).find(|i| !printed.contains(i))
            } else {
                printer
                    .spread
                    .iter()
                    .copied()
                    .find(|i| !printed.contains(i))
            };
            let Some(i) = next else { break };
            printed.insert(i);
            let (on, selections) = &doc.fragments[i];
            let on = TYPE_CONDITIONS[usize::from(*on) % TYPE_CONDITIONS.len()];
            printer.out.clear();
            printer.selections(if on == "Bogus" { "UserSession" } else { on }, selections);
            fragments.push_str(&format!("\nfragment F{i} on {on} {}", printer.out));
        }
        let mut header = String::new();
        let shorthand =
            keyword == "query" && printer.variables.is_empty() && !doc.operation.is_multiple_of(3);
        if !shorthand {
            header.push_str(keyword);
            if doc.operation.is_multiple_of(5) {
                header.push_str(" Op");
            }
            if !printer.variables.is_empty() {
                let definitions: Vec<String> = printer
                    .variables
                    .iter()
                    .map(|(n, used)| format!("$v{n}: {}", used.graphql_type()))
                    .collect();
                header.push_str(&format!("({})", definitions.join(", ")));
            }
            header.push(' ');
        }
        let mut variables = Map::new();
        for (n, used) in &printer.variables {
            let (seed, wild) = &doc.variables[usize::from(*n) % doc.variables.len()];
            let value = match wild {
                Some(wild) => wild.clone(),
                None => used.fitting_json(*seed),
            };
            variables.insert(format!("v{n}"), value);
        }
        (
            format!("{header}{body}{fragments}"),
            Value::Object(variables),
        )
    }
}

/// Strings that have broken servers before: NUL, surrogates' neighbours,
/// direction overrides, emoji, long ones, and arbitrary unicode.
fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(IDS.to_vec()).prop_map(str::to_owned),
        2 => prop::sample::select(vec![
            "\u{0}",
            "ses_root01\u{0}",
            "\u{202e}evil",
            "😀🔥",
            "\u{feff}",
            "\u{10ffff}",
            "\u{fffd}",
            "'; DROP TABLE sessions; --",
            "%_\\",
            "\r\n",
            "\"",
        ])
        .prop_map(str::to_owned),
        2 => any::<String>(),
        1 => (0usize..12_000).prop_map(|n| "x".repeat(n)),
        1 => vec(any::<char>(), 0..40).prop_map(|chars| chars.into_iter().collect()),
    ]
}

/// GraphQL literal text for odd strings, and raw escapes JSON cannot carry.
fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        14 => odd_string().prop_map(|s| literal(&s)),
        1 => prop::sample::select(vec![
            r#""\ud800""#,
            r#""\udc00\ud800""#,
            r#""\u0000""#,
            r#""\uZZZZ""#,
            r#""\u{1F600}""#,
            r#""""block "" string""""#,
            r#""""""#,
            r#""unterminated"#,
            r#""\x""#,
        ])
        .prop_map(str::to_owned),
    ]
}

fn int_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(INTS.to_vec()).prop_map(|n| n.to_string()),
        2 => prop::sample::select(vec![
            "2147483647",
            "-2147483648",
            "2147483648",
            "-2147483649",
            "99999999999",
            "9223372036854775808",
            "-99999999999999999999999999",
            "007",
            "-0",
        ])
        .prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn float_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["1.5", "-0.0", "1e400", "1e-400", "0.1e1", "3E2"])
            .prop_map(str::to_owned),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:e}")),
    ]
}

fn value_leaf() -> impl Strategy<Value = Val> {
    prop_oneof![
        100 => any::<u16>().prop_map(Val::Fit),
        2 => int_literal().prop_map(Val::Text),
        1 => float_literal().prop_map(Val::Text),
        3 => string_literal().prop_map(Val::Text),
        1 => prop::sample::select(ENUMS.to_vec()).prop_map(|e| Val::Text(e.to_owned())),
        1 => any::<bool>().prop_map(Val::Bool),
        1 => Just(Val::Null),
        10 => any::<u8>().prop_map(Val::Var),
    ]
}

fn value() -> impl Strategy<Value = Val> {
    prop_oneof![
        30 => value_leaf(),
        1 => value_leaf().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Val::List),
                vec((any::<u8>(), inner), 0..4).prop_map(Val::Object),
            ]
        }),
    ]
}

fn selection() -> impl Strategy<Value = Sel> {
    let arguments = || vec((any::<u8>(), value()), 0..4);
    let directive = || prop::option::weighted(0.05, (any::<u8>(), value()));
    let alias = || prop::option::weighted(0.1, any::<u8>());
    let leaf = prop_oneof![
        8 => (any::<u16>(), alias(), arguments(), directive()).prop_map(
            |(pick, alias, args, directive)| Sel::Field {
                pick,
                alias,
                args,
                directive,
                children: Vec::new(),
            }
        ),
        1 => any::<u8>().prop_map(Sel::Spread),
    ];
    leaf.prop_recursive(7, 48, 4, move |inner| {
        prop_oneof![
            6 => (
                any::<u16>(),
                alias(),
                arguments(),
                directive(),
                vec(inner.clone(), 1..4)
            )
                .prop_map(|(pick, alias, args, directive, children)| Sel::Field {
                    pick,
                    alias,
                    args,
                    directive,
                    children,
                }),
            1 => (prop::option::weighted(0.7, any::<u8>()), vec(inner, 1..4))
                .prop_map(|(on, children)| Sel::Inline { on, children }),
        ]
    })
}

fn document() -> impl Strategy<Value = Doc> {
    (
        any::<u8>(),
        vec(selection(), 1..4),
        vec((any::<u8>(), vec(selection(), 1..3)), 0..3),
        vec((any::<u16>(), prop::option::weighted(0.1, json_value())), 5),
    )
        .prop_map(|(operation, selections, fragments, variables)| Doc {
            operation,
            selections,
            fragments,
            variables,
        })
}

// ---------------------------------------------------------------------------
// Random JSON.

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "v0", "v1", "v2", "v3", "id", "query", "persistedQuery", "version", "sha256Hash",
        ])
        .prop_map(str::to_owned),
        1 => odd_string(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => prop::sample::select(INTS.to_vec()).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        3 => odd_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((json_key(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Variables for `$v0`..`$v4`: mostly values of the types the documents
/// declare, sometimes anything.
fn variables() -> impl Strategy<Value = Value> {
    let one = prop_oneof![
        3 => prop::sample::select(IDS.to_vec()).prop_map(Value::from),
        2 => prop::sample::select(INTS.to_vec()).prop_map(Value::from),
        1 => Just(json!({ "status": "REVOKED" })),
        1 => Just(json!({ "includeNested": true, "status": ["ACTIVE"] })),
        1 => Just(json!({ "field": "EXPIRES_AT", "direction": "ASC" })),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => json_value(),
    ];
    prop_oneof![
        8 => vec(prop::option::weighted(0.7, one), 0..5).prop_map(|values| {
            Value::Object(
                values
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| Some((format!("v{i}"), v?)))
                    .collect(),
            )
        }),
        1 => json_value(),
    ]
}

// ---------------------------------------------------------------------------
// Requests.

#[derive(Clone)]
struct FuzzRequest {
    get: bool,
    accept: Option<&'static str>,
    content_type: Option<&'static str>,
    /// The POST body, or the GET's query string.
    body: Vec<u8>,
}

impl fmt::Debug for FuzzRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        let valid = std::str::from_utf8(&self.body).is_ok();
        write!(
            f,
            "{} accept={:?} content-type={:?} body{}={:?}",
            if self.get { "GET" } else { "POST" },
            self.accept,
            self.content_type,
            if valid { "" } else { "(lossy)" },
            clip(&body)
        )?;
        if !valid {
            write!(f, " bytes={:?}", &self.body[..self.body.len().min(200)])?;
        }
        Ok(())
    }
}

fn accept() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some(MODERN)),
        3 => Just(Some(LEGACY)),
        1 => Just(None),
        1 => prop::sample::select(vec![
            Some("text/html"),
            Some("*/*"),
            Some("application/graphql-response+json, application/json;q=0.9"),
            Some(""),
        ]),
    ]
}

fn query_string(params: &[(&str, String)]) -> Vec<u8> {
    let url =
        reqwest::Url::parse_with_params("http://localhost/graphql", params).expect("query string");
    url.query().unwrap_or("").as_bytes().to_vec()
}

/// Schema-shaped documents, with variables, POSTed as JSON (sometimes GET).
fn document_request() -> impl Strategy<Value = FuzzRequest> {
    (
        document(),
        prop::option::weighted(0.05, prop_oneof![Just(json!("Op")), json_value()]),
        accept(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(doc, operation_name, accept, get)| {
            let (query, variables) = Printer::print(&doc);
            if get {
                let mut params = vec![("query", query), ("variables", variables.to_string())];
                if let Some(Value::String(name)) = &operation_name {
                    params.push(("operationName", name.clone()));
                }
                return FuzzRequest {
                    get,
                    accept,
                    content_type: None,
                    body: query_string(&params),
                };
            }
            let mut body = json!({ "query": query, "variables": variables });
            if let Some(name) = operation_name {
                body["operationName"] = name;
            }
            FuzzRequest {
                get,
                accept,
                content_type: Some(LEGACY),
                body: body.to_string().into_bytes(),
            }
        })
}

const VALID_QUERY: &str = r#"query Op($v0: ID!) { session(id: $v0) { __typename ... on UserSession { id parent { id } children(first: 2) { totalCount } } } }"#;

fn extensions() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => json_value(),
        2 => (json_value(), prop_oneof![
            Just(json!("0".repeat(64))),
            Just(json!(sha256_hex(VALID_QUERY))),
            json_value(),
        ])
            .prop_map(|(version, hash)| json!({ "persistedQuery": { "version": version, "sha256Hash": hash } })),
        2 => prop_oneof![
            Just(json!("0".repeat(64))),
            Just(json!(sha256_hex(VALID_QUERY))),
            Just(json!(sha256_hex("{ __typename }"))),
        ]
            .prop_map(|hash| json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })),
    ]
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The envelope: random JSON in every member, raw bytes, mangled and deep
/// JSON, GET parameters, odd media types.
fn envelope_request() -> impl Strategy<Value = FuzzRequest> {
    let member = |strategy: BoxedStrategy<Value>| prop::option::weighted(0.6, strategy);
    let query = prop_oneof![
        3 => Just(json!(VALID_QUERY)),
        2 => document().prop_map(|doc| Value::String(Printer::print(&doc).0)),
        2 => json_value(),
    ]
    .boxed();
    let json_body = (
        member(query.clone()),
        member(variables().boxed()),
        member(prop_oneof![Just(json!("Op")), json_value()].boxed()),
        member(extensions().boxed()),
        vec((json_key(), json_value()), 0..2),
    )
        .prop_map(|(query, variables, operation_name, extensions, extra)| {
            let mut body = Map::new();
            for (key, value) in extra {
                body.insert(key, value);
            }
            for (key, value) in [
                ("query", query),
                ("variables", variables),
                ("operationName", operation_name),
                ("extensions", extensions),
            ] {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            }
            Value::Object(body).to_string().into_bytes()
        });
    let mangled = (
        Just(json!({ "query": VALID_QUERY, "variables": { "v0": "ses_root01" } }).to_string()),
        vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    )
        .prop_map(|(base, edits)| {
            let mut bytes = base.into_bytes();
            for (at, byte, how) in edits {
                let i = at.index(bytes.len() + 1);
                match how {
                    0 => bytes.insert(i, byte),
                    1 if i < bytes.len() => bytes[i] = byte,
                    _ if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ => bytes.push(byte),
                }
            }
            bytes
        });
    let deep = (0usize..20_000, 0u8..3).prop_map(|(depth, which)| {
        let (open, close) = [("[", "]"), ("{\"a\":", "}"), ("[{\"b\":", "}]")][usize::from(which)];
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        format!(r#"{{"query": "{{ __typename }}", "variables": {{"v0": {nested}}}}}"#).into_bytes()
    });
    let deep_document = (0usize..20_000, 0u8..3).prop_map(|(depth, which)| {
        let query = match which {
            0 => format!("{}{}", "{ a ".repeat(depth), "}".repeat(depth)),
            1 => format!(
                r#"{{ session(id: {}"x"{}) {{ __typename }} }}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            ),
            _ => format!(
                r#"{{ sessions(zoneId: "zone_demo", filter: {}1{}) {{ totalCount }} }}"#,
                "{a: ".repeat(depth),
                "}".repeat(depth)
            ),
        };
        json!({ "query": query }).to_string().into_bytes()
    });
    let body = prop_oneof![
        6 => json_body,
        2 => mangled,
        1 => vec(any::<u8>(), 0..300),
        1 => deep,
        1 => deep_document,
    ];
    let content_type = prop_oneof![
        12 => Just(Some(LEGACY)),
        1 => prop::sample::select(vec![
            None,
            Some("text/plain"),
            Some("application/json; charset=latin1"),
            Some("application/graphql-response+json"),
            Some("application/x-www-form-urlencoded"),
        ]),
    ];
    let get = (
        prop::option::of(prop_oneof![Just(VALID_QUERY.to_owned()), odd_string()]),
        prop::option::of(prop_oneof![
            variables().prop_map(|v| v.to_string()),
            odd_string()
        ]),
        prop::option::of(odd_string()),
        prop::option::of(prop_oneof![
            extensions().prop_map(|v| v.to_string()),
            odd_string()
        ]),
    )
        .prop_map(|(query, variables, operation_name, extensions)| {
            let params: Vec<(&str, String)> = [
                ("query", query),
                ("variables", variables),
                ("operationName", operation_name),
                ("extensions", extensions),
            ]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
            query_string(&params)
        });
    prop_oneof![
        5 => (body, content_type, accept()).prop_map(|(body, content_type, accept)| FuzzRequest {
            get: false,
            accept,
            content_type,
            body,
        }),
        1 => (get, accept()).prop_map(|(body, accept)| FuzzRequest {
            get: true,
            accept,
            content_type: None,
            body,
        }),
    ]
}

// ---------------------------------------------------------------------------
// The properties.

/// Sends one request and checks its answer: `Ok` with the outcome (its
/// status and first error code, or `data`), `Err` with the violation.
async fn check(probe: &Probe, request: &FuzzRequest) -> Result<String, String> {
    let builder = if request.get {
        let query = String::from_utf8_lossy(&request.body);
        probe.http.get(format!("{}?{query}", probe.url("/graphql")))
    } else {
        let mut builder = probe.post().body(request.body.clone());
        if let Some(content_type) = request.content_type {
            builder = builder.header("content-type", content_type);
        }
        builder
    };
    let builder = match request.accept {
        Some(accept) => builder.header("accept", accept),
        None => builder,
    };
    let started = Instant::now();
    let response = builder
        .send()
        .await
        .map_err(|e| format!("no answer after {:?}: {e}", started.elapsed()))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| {
        format!(
            "status {status}, body not read after {:?}: {e}",
            started.elapsed()
        )
    })?;
    if status >= 500 {
        return Err(format!("status {status}: {}", clip(&text)));
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "status {status}, the body is not JSON ({e}): {}",
            clip(&text)
        )
    })?;
    // A POSTed array is a batch: read whole (200), each entry an answer
    // of its own, whose request errors do not change the status.
    let (answers, batch) = match &body {
        Value::Array(entries) if !request.get => {
            if status != 200 {
                return Err(format!("status {status} for a batch: {}", clip(&text)));
            }
            if entries.is_empty() {
                return Err(format!("an empty batch answer: {}", clip(&text)));
            }
            (entries.iter().collect::<Vec<_>>(), true)
        }
        _ => (vec![&body], false),
    };
    let mut outcome = String::new();
    for answer in answers {
        let text = answer.to_string();
        outcome = check_answer(request, status, answer, &text, batch)?;
    }
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        eprintln!("{request:?}\n  -> {status} {}", clip(&text));
    }
    Ok(format!("{status} {outcome}"))
}

/// One GraphQL response (the body, or an entry of a batch's): data or coded
/// errors, with the status its request errors call for; its outcome.
fn check_answer(
    request: &FuzzRequest,
    status: u16,
    body: &Value,
    text: &str,
    batch: bool,
) -> Result<String, String> {
    let Some(object) = body.as_object() else {
        return Err(format!("status {status}, not an object: {}", clip(text)));
    };
    if !object.contains_key("data") && !object.contains_key("errors") {
        return Err(format!(
            "status {status}, neither data nor errors: {}",
            clip(text)
        ));
    }
    let errors = match object.get("errors") {
        None => &Vec::new(),
        Some(Value::Array(errors)) if !errors.is_empty() => errors,
        Some(_) => {
            return Err(format!("status {status}, malformed errors: {}", clip(text)));
        }
    };
    for error in errors {
        let Some(code) = error["extensions"]["code"].as_str() else {
            return Err(format!("status {status}, an error without a code: {error}"));
        };
        if !SPEC_CODES.contains(&code) {
            return Err(format!(
                "status {status}, code {code} is not in SPEC §2: {error}"
            ));
        }
        if code == "INTERNAL_SERVER_ERROR" || code == "SERVICE_UNAVAILABLE" {
            return Err(format!("status {status}, {code}: {}", clip(text)));
        }
        if !error["message"].is_string() {
            return Err(format!(
                "status {status}, an error without a message: {error}"
            ));
        }
    }
    // Documents that never ran: 400 for graphql-response clients, 200 for
    // legacy JSON ones.
    let request_error = errors.iter().any(|e| {
        matches!(
            e["extensions"]["code"].as_str(),
            Some("GRAPHQL_PARSE_FAILED" | "GRAPHQL_VALIDATION_FAILED")
        )
    });
    let modern = request.accept.is_some_and(|accept| {
        accept
            .split(',')
            .any(|r| r.split(';').next().unwrap_or("").trim() == MODERN)
    });
    if request_error && modern && !batch && status != 400 {
        return Err(format!(
            "a parse or validation failure with status {status} under {MODERN}: {}",
            clip(text)
        ));
    }
    if request_error && !modern && !batch && status != 200 {
        return Err(format!(
            "a parse or validation failure with status {status} under legacy JSON: {}",
            clip(text)
        ));
    }
    let outcome = match errors.first() {
        None => "data".to_owned(),
        Some(error) => error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    Ok(outcome)
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// The run's seed: `FUZZ_SEED` (a number, or `random`), else `default`.
fn seed(default: u64) -> u64 {
    match std::env::var("FUZZ_SEED").ok().as_deref() {
        None | Some("") => default,
        Some("random") => rand_seed(),
        Some(n) => n.parse().expect("FUZZ_SEED is a number or `random`"),
    }
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// Runs `strategy`'s cases against one server over a fresh `backend`
/// database with the example data.
fn fuzz<S>(backend: Backend, name: &'static str, default_seed: u64, strategy: fn() -> S)
where
    S: Strategy<Value = FuzzRequest> + 'static,
{
    // Generating and shrinking nested values recurses through many layers
    // of strategies: more stack than a test thread's 2 MiB in debug builds.
    let run = std::thread::Builder::new()
        .name(format!("fuzz {name} {backend:?}"))
        .stack_size(256 << 20)
        .spawn(move || fuzz_on_this_thread(backend, name, default_seed, strategy()))
        .expect("spawn the fuzz thread");
    if let Err(panic) = run.join() {
        std::panic::resume_unwind(panic);
    }
}

fn fuzz_on_this_thread<S>(backend: Backend, name: &str, default_seed: u64, strategy: S)
where
    S: Strategy<Value = FuzzRequest>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let Some(db) = runtime.block_on(TestDb::new(backend)) else {
        return;
    };
    // The real binary in its own process: a request that crashes it fails
    // the case (and the server is started again for the next one) instead
    // of aborting the whole test binary.
    let probe = tokio::sync::Mutex::new(runtime.block_on(Probe::start_process(db)));
    let seed = seed(default_seed);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 512,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let started = Instant::now();
    let outcomes = std::cell::RefCell::new(std::collections::BTreeMap::<String, usize>::new());
    let result = runner.run(&strategy, |request| {
        runtime.block_on(async {
            let mut probe = probe.lock().await;
            let checked = check(&probe, &request).await;
            if let Some(exit) = probe.revive().await {
                return Err(TestCaseError::fail(format!("the server crashed: {exit}")));
            }
            let outcome = checked.map_err(TestCaseError::fail)?;
            *outcomes.borrow_mut().entry(outcome).or_default() += 1;
            Ok(())
        })
    });
    eprintln!(
        "fuzz {name} on {backend:?}: {} cases, seed {seed}, {:?}; answers: {:?}",
        cases(),
        started.elapsed(),
        outcomes.borrow()
    );
    if let Err(error) = result {
        panic!("fuzz {name} on {backend:?} (FUZZ_SEED={seed}): {error}");
    }
    let probe = probe.into_inner();
    runtime.block_on(async {
        probe.assert_alive().await;
        let answer = probe
            .query(
                r#"{ sessions(zoneId: "zone_demo", first: 1) { totalCount } }"#,
                json!({}),
            )
            .await;
        assert!(
            answer.body["data"]["sessions"]["totalCount"].is_number(),
            "the server stopped answering queries: {}",
            answer.text
        );
    });
}

mod documents {
    use super::*;

    #[test]
    fn sqlite() {
        fuzz(Backend::Sqlite, "documents", 0x5e55_1001, document_request);
    }

    #[test]
    fn postgres() {
        fuzz(
            Backend::Postgres,
            "documents",
            0x5e55_1002,
            document_request,
        );
    }
}

mod envelopes {
    use super::*;

    #[test]
    fn sqlite() {
        fuzz(Backend::Sqlite, "envelopes", 0x5e55_2001, envelope_request);
    }

    #[test]
    fn postgres() {
        fuzz(
            Backend::Postgres,
            "envelopes",
            0x5e55_2002,
            envelope_request,
        );
    }
}

// ---------------------------------------------------------------------------
// Regressions: inputs fuzzing found, as plain tests.

/// Sends `request` and requires it to pass [`check`] and the server to
/// live on.
async fn regression(probe: &mut Probe, request: FuzzRequest) {
    let checked = check(probe, &request).await;
    if let Some(exit) = probe.revive().await {
        panic!("{request:?} crashed the server: {exit}");
    }
    if let Err(violation) = checked {
        panic!("{request:?}: {violation}");
    }
}

fn post(body: &str) -> FuzzRequest {
    FuzzRequest {
        get: false,
        accept: Some(MODERN),
        content_type: Some(LEGACY),
        body: body.as_bytes().to_vec(),
    }
}

/// Fuzzing found it: an id with NUL reached PostgreSQL, which refuses NUL
/// in text, and the lookup failed with INTERNAL_SERVER_ERROR instead of
/// answering null.
async fn nul_in_an_id(db: TestDb) {
    let mut probe = Probe::start_process(db).await;
    for body in [
        r#"{"query":"query Op { session(id: \"\\u0000\") { ... on UserSession { id } } }","variables":{}}"#,
        r#"{"query":"query Op { userAgent(id: \"\\u0000\") { id } }","variables":{}}"#,
        r#"{"query":"query Op { node(id: \"\\u0000\") { ... on UserSession { id } } }","variables":{}}"#,
    ] {
        regression(&mut probe, post(body)).await;
    }
}

/// Fuzzing found it: a list value nested 1,367 deep in an argument (a
/// 2.7 KB body) overflowed the parser's stack and aborted the server. That
/// is near the threshold of a debug build, so the test nests 3,000 deep
/// (6 KB) to cross it every time.
async fn nested_lists_in_an_argument(db: TestDb) {
    let mut probe = Probe::start_process(db).await;
    let query = format!(
        r#"{{ session(id: {}"x"{}) {{ __typename }} }}"#,
        "[".repeat(3000),
        "]".repeat(3000)
    );
    regression(&mut probe, post(&json!({ "query": query }).to_string())).await;
}

/// Fuzzing found it: an input object nested about 1,220 deep in an
/// argument overflowed the parser's stack and aborted the server; 3,000
/// (15 KB) crosses the threshold every time.
async fn nested_objects_in_an_argument(db: TestDb) {
    let mut probe = Probe::start_process(db).await;
    let query = format!(
        r#"{{ sessions(zoneId: "zone_demo", filter: {}1{}) {{ totalCount }} }}"#,
        "{a: ".repeat(3000),
        "}".repeat(3000)
    );
    regression(&mut probe, post(&json!({ "query": query }).to_string())).await;
}

crate::on_both_databases!(
    nul_in_an_id,
    nested_lists_in_an_argument,
    nested_objects_in_an_argument,
);
