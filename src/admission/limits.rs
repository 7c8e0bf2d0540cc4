//! Abuse limits on a parsed document, checked before it is validated or
//! run: how deep it nests, how many rows it can ask for (its cost), how many
//! aliases it uses and how many root fields it selects.
//!
//! The analysis is static (no schema, no database) and bounded whatever the
//! document: each fragment is analysed once and its figures reused at every
//! later spread, so fragments that spread each other twice over many levels
//! cost time linear in the document, not in its expansion; the walk keeps its
//! own stack instead of recursing, so neither deep nesting nor long chains of
//! fragments can overflow the thread's stack; and it stops as soon as a
//! running total goes over its limit or [`MAX_SELECTIONS`] selections have
//! been visited.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fmt;
use std::sync::LazyLock;

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, Selection, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{Name, Value, Variables};

use super::operation::selected_operation;
use crate::store::keyset::{DEFAULT_PAGE, MAX_PAGE};

/// The limits a document must keep within; each is inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_depth: u64,
    pub max_cost: u64,
    pub max_aliases: u64,
    pub max_root_fields: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // Depth 15 is what GraphiQL's introspection query needs (its
        // `__schema.types.fields.args.type` nests `ofType` nine times).
        Self {
            max_depth: 15,
            max_cost: 25_000,
            max_aliases: 30,
            max_root_fields: 20,
        }
    }
}

impl Limits {
    fn maximum(&self, limit: Limit) -> u64 {
        match limit {
            Limit::Depth => self.max_depth,
            Limit::Cost => self.max_cost,
            Limit::Aliases => self.max_aliases,
            Limit::RootFields => self.max_root_fields,
        }
    }
}

/// Past this many visited selections (fields, spreads and inline fragments,
/// each fragment's body counted once) the document is refused as too costly,
/// whatever its cost so far.
pub const MAX_SELECTIONS: u64 = 100_000;

/// The fields costed by their page, read from the schema itself, so that a
/// connection or a top list added to it is costed as one with nothing to
/// update here. By name, whatever the type they are selected on: the walk
/// does not follow types.
struct PagedFields {
    /// Fields that return a connection: costed at their `first`/`last`, or
    /// at the page their resolver returns when given neither.
    connections: HashSet<String>,
    /// Lists, not connections, whose `first` has a default (`sessionStats`'
    /// top lists): costed at it when not given.
    default_sized: HashMap<String, u64>,
}

static PAGED_FIELDS: LazyLock<PagedFields> =
    LazyLock::new(|| PagedFields::of_schema(&crate::graphql::sdl()));

impl PagedFields {
    fn of_schema(sdl: &str) -> Self {
        let mut paged = PagedFields {
            connections: HashSet::new(),
            default_sized: HashMap::new(),
        };
        // The program's own schema; `paged_fields_are_read_from_the_schema`
        // checks that it parses and what it yields.
        let document =
            async_graphql::parser::parse_schema(sdl).expect("the schema's own SDL parses");
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            let fields = match &definition.node.kind {
                TypeKind::Object(object) => &object.fields,
                TypeKind::Interface(interface) => &interface.fields,
                _ => continue,
            };
            for field in fields {
                let field = &field.node;
                let name = field.name.node.to_string();
                let mut ty = &field.ty.node;
                let mut list = false;
                while let BaseType::List(item) = &ty.base {
                    list = true;
                    ty = item;
                }
                let BaseType::Named(type_name) = &ty.base else {
                    continue;
                };
                if type_name.ends_with("Connection") {
                    paged.connections.insert(name);
                    continue;
                }
                let default_first = field
                    .arguments
                    .iter()
                    .find(|argument| argument.node.name.node == "first")
                    .and_then(|argument| argument.node.default_value.as_ref())
                    .and_then(|value| match &value.node {
                        Value::Number(number) => number.as_u64(),
                        _ => None,
                    });
                if let (true, Some(size)) = (list, default_first) {
                    paged.default_sized.insert(name, size);
                }
            }
        }
        paged
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Depth,
    Cost,
    Aliases,
    RootFields,
}

impl Limit {
    /// Checked in this order: the first one exceeded is the one reported.
    const ORDER: [Limit; 4] = [Limit::Depth, Limit::RootFields, Limit::Aliases, Limit::Cost];

    pub fn name(self) -> &'static str {
        match self {
            Limit::Depth => "depth",
            Limit::Cost => "cost",
            Limit::Aliases => "aliases",
            Limit::RootFields => "rootFields",
        }
    }

    /// The command-line option that sets this limit.
    pub fn flag(self) -> &'static str {
        match self {
            Limit::Depth => "--max-query-depth",
            Limit::Cost => "--max-query-cost",
            Limit::Aliases => "--max-aliases",
            Limit::RootFields => "--max-root-fields",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    pub limit: Limit,
    pub maximum: u64,
    /// The measured value; only a lower bound when `stopped_early`.
    pub actual: u64,
    /// The analysis stopped before the end of the operation (a limit was
    /// already exceeded, or [`MAX_SELECTIONS`] was reached).
    pub stopped_early: bool,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            limit,
            maximum,
            actual,
            stopped_early,
        } = *self;
        let flag = limit.flag();
        let at_least = if stopped_early { "at least " } else { "" };
        match limit {
            Limit::Depth => write!(
                f,
                "query depth is {at_least}{actual}, above the limit of {maximum} ({flag})"
            ),
            Limit::RootFields => write!(
                f,
                "query has {at_least}{actual} root fields, above the limit of {maximum} ({flag})"
            ),
            Limit::Aliases => write!(
                f,
                "query has {at_least}{actual} aliases, above the limit of {maximum} ({flag})"
            ),
            // Only the selection cap stops the walk while the cost is still
            // within its limit: saying "above the limit" would be false.
            Limit::Cost if actual <= maximum => write!(
                f,
                "query is too large to cost: analysis stopped after {MAX_SELECTIONS} \
                 selections with a cost of {at_least}{actual} so far, against a limit of \
                 {maximum} ({flag})"
            ),
            Limit::Cost => write!(
                f,
                "query cost is {at_least}{actual}, above the limit of {maximum} ({flag}); \
                 a connection costs its `first`/`last` ({DEFAULT_PAGE} when neither is \
                 given) times the cost of its selection"
            ),
        }
    }
}

impl std::error::Error for LimitExceeded {}

/// What [`measure`] measured of an operation within its limits. Also the
/// figures of any selection set taken as if it were an operation's root,
/// which is how fragments are memoised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measured {
    pub depth: u64,
    pub cost: u64,
    pub aliases: u64,
    pub root_fields: u64,
}

impl Measured {
    fn value(&self, limit: Limit) -> u64 {
        match limit {
            Limit::Depth => self.depth,
            Limit::Cost => self.cost,
            Limit::Aliases => self.aliases,
            Limit::RootFields => self.root_fields,
        }
    }

    fn add(&mut self, other: &Measured) {
        self.depth = self.depth.max(other.depth);
        self.cost = self.cost.saturating_add(other.cost);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.root_fields = self.root_fields.saturating_add(other.root_fields);
    }

    fn first_exceeded(&self, limits: &Limits) -> Option<Limit> {
        Limit::ORDER
            .into_iter()
            .find(|&limit| self.value(limit) > limits.maximum(limit))
    }
}

/// [`measure`]'s figures alone.
#[cfg(test)]
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
) -> Result<Measured, LimitExceeded> {
    measure(document, operation_name, variables, limits).0
}

/// Measures the operation that would run and checks it against `limits`;
/// also says whether the figures read a variable (a page size given by
/// one). When none was read, they hold for every request of the
/// operation, which is how a prepared operation keeps them.
///
/// An operation that cannot be determined (an unknown name, several
/// operations and no name) measures as [`Measured::default`]: validation
/// reports it. So do unknown fragments and fragment cycles, which count for
/// nothing here.
pub fn measure(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
) -> (Result<Measured, LimitExceeded>, bool) {
    let Some(operation) = selected_operation(document, operation_name) else {
        return (Ok(Measured::default()), false);
    };
    let mut walk = Walk {
        document,
        operation,
        variables,
        limits,
        fragments: HashMap::new(),
        expanding: HashSet::new(),
        running: Measured::default(),
        visited: 0,
        read_variables: false,
        defaults: operation
            .variable_definitions
            .iter()
            .filter_map(|definition| {
                let definition = &definition.node;
                let value = &definition.default_value.as_ref()?.node;
                Some((&definition.name.node, value))
            })
            .collect(),
    };
    let measured = walk.run();
    (measured, walk.read_variables)
}

enum Kind<'a> {
    Operation,
    /// A field with a selection set; `page` multiplies the selection's cost.
    Field {
        alias: bool,
        page: u64,
    },
    Inline,
    Fragment(&'a Name),
}

/// A selection set being walked.
struct Frame<'a> {
    kind: Kind<'a>,
    items: &'a [Positioned<Selection>],
    next: usize,
    /// The depth of the fields directly in `items`.
    level: u64,
    /// How many times each unit of cost here counts in the operation: the
    /// product of the pages of the connections it is nested in.
    weight: u64,
    /// No field between `items` and the operation's root.
    at_root: bool,
    /// The figures of `items` walked so far, as if they were a root.
    measured: Measured,
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    limits: &'a Limits,
    /// Fragments already walked. Their figures do not depend on where they
    /// are spread (variables are the request's), except inside a cycle, which
    /// validation rejects anyway.
    fragments: HashMap<&'a Name, Measured>,
    /// Fragments on the walk's stack: spreading one again would never end.
    expanding: HashSet<&'a Name>,
    /// The operation's figures so far, counting the parts of the selection
    /// sets on the stack walked so far. Each only grows, so any of them over
    /// its limit is final.
    running: Measured,
    visited: u64,
    /// Whether a page size was read from a variable.
    read_variables: bool,
    /// The operation's variable defaults, for variables the request omits.
    defaults: HashMap<&'a Name, &'a Value>,
}

impl<'a> Walk<'a> {
    fn run(&mut self) -> Result<Measured, LimitExceeded> {
        let mut stack = vec![Frame {
            kind: Kind::Operation,
            items: &self.operation.selection_set.node.items,
            next: 0,
            level: 1,
            weight: 1,
            at_root: true,
            measured: Measured::default(),
        }];
        loop {
            let Some(frame) = stack.last_mut() else {
                // The root frame returns below before it is popped.
                return Ok(self.running);
            };
            let items = frame.items;
            let Some(item) = items.get(frame.next) else {
                let Some(done) = stack.pop() else {
                    return Ok(self.running);
                };
                let Some(parent) = stack.last_mut() else {
                    return self.finish(done.measured);
                };
                self.close(done, parent);
                continue;
            };
            frame.next += 1;
            self.visited += 1;
            if self.visited > MAX_SELECTIONS {
                return Err(self.exceeded(Limit::Cost, true));
            }
            let (level, weight, at_root) = (frame.level, frame.weight, frame.at_root);
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let alias = field.alias.is_some();
                    let items = &field.selection_set.node.items;
                    if items.is_empty() {
                        let leaf = Measured {
                            depth: 1,
                            cost: 1,
                            aliases: u64::from(alias),
                            root_fields: 1,
                        };
                        frame.measured.add(&leaf);
                        self.count(level, weight, at_root, &leaf);
                    } else {
                        // The field's own share now; its selection's as it is
                        // walked, and both added to `frame` when it closes.
                        self.count(
                            level,
                            weight,
                            at_root,
                            &Measured {
                                depth: 1,
                                cost: 1,
                                aliases: u64::from(alias),
                                root_fields: 1,
                            },
                        );
                        let page = self.page(field);
                        stack.push(Frame {
                            kind: Kind::Field { alias, page },
                            items,
                            next: 0,
                            level: level.saturating_add(1),
                            weight: weight.saturating_mul(page),
                            at_root: false,
                            measured: Measured::default(),
                        });
                    }
                }
                Selection::InlineFragment(inline) => {
                    stack.push(Frame {
                        kind: Kind::Inline,
                        items: &inline.node.selection_set.node.items,
                        next: 0,
                        level,
                        weight,
                        at_root,
                        measured: Measured::default(),
                    });
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(measured) = self.fragments.get(name).copied() {
                        frame.measured.add(&measured);
                        self.count(level, weight, at_root, &measured);
                    } else if let Some((name, fragment)) =
                        self.document.fragments.get_key_value(name)
                        && self.expanding.insert(name)
                    {
                        stack.push(Frame {
                            kind: Kind::Fragment(name),
                            items: &fragment.node.selection_set.node.items,
                            next: 0,
                            level,
                            weight,
                            at_root,
                            measured: Measured::default(),
                        });
                    }
                }
            }
            // Totals that expansion inflates stop the walk. Depth does not:
            // the walk is bounded without it, and finishing gives the exact
            // depth; but if it is already over, it is still reported first.
            let over = |limit| self.running.value(limit) > self.limits.maximum(limit);
            let stopping = [Limit::RootFields, Limit::Aliases, Limit::Cost];
            if let Some(limit) = stopping.into_iter().find(|&limit| over(limit)) {
                let limit = if over(Limit::Depth) {
                    Limit::Depth
                } else {
                    limit
                };
                // Closing the frames left adds nothing to the running totals.
                let unwalked = stack.iter().any(|frame| frame.next < frame.items.len());
                return Err(self.exceeded(limit, unwalked));
            }
        }
    }

    /// Adds to the running totals the figures of `measured`, found in a
    /// selection set whose fields are at `level`.
    fn count(&mut self, level: u64, weight: u64, at_root: bool, measured: &Measured) {
        let running = &mut self.running;
        if measured.depth > 0 {
            running.depth = running
                .depth
                .max((level - 1).saturating_add(measured.depth));
        }
        running.cost = running
            .cost
            .saturating_add(weight.saturating_mul(measured.cost));
        running.aliases = running.aliases.saturating_add(measured.aliases);
        if at_root {
            running.root_fields = running.root_fields.saturating_add(measured.root_fields);
        }
    }

    /// Adds a walked selection set to its parent's figures. The running
    /// totals already count it.
    fn close(&mut self, done: Frame<'a>, parent: &mut Frame<'a>) {
        let measured = match done.kind {
            Kind::Field { alias, page } => Measured {
                depth: done.measured.depth.saturating_add(1),
                cost: page.saturating_mul(done.measured.cost).saturating_add(1),
                aliases: done.measured.aliases.saturating_add(u64::from(alias)),
                root_fields: 1,
            },
            Kind::Fragment(name) => {
                self.expanding.remove(name);
                self.fragments.insert(name, done.measured);
                done.measured
            }
            Kind::Inline | Kind::Operation => done.measured,
        };
        parent.measured.add(&measured);
    }

    fn finish(&self, measured: Measured) -> Result<Measured, LimitExceeded> {
        match measured.first_exceeded(self.limits) {
            None => Ok(measured),
            Some(limit) => Err(LimitExceeded {
                limit,
                maximum: self.limits.maximum(limit),
                actual: measured.value(limit),
                stopped_early: false,
            }),
        }
    }

    fn exceeded(&self, limit: Limit, stopped_early: bool) -> LimitExceeded {
        LimitExceeded {
            limit,
            maximum: self.limits.maximum(limit),
            actual: self.running.value(limit),
            stopped_early,
        }
    }

    /// How many times a field's selection counts: its page if it is a
    /// connection, else once.
    fn page(&mut self, field: &Field) -> u64 {
        let argument = |name: &str| field.get_argument(name).map(|value| &value.node);
        let (first, last) = (argument("first"), argument("last"));
        let name = field.name.node.as_str();
        if first.is_none() && last.is_none() {
            let paged = &*PAGED_FIELDS;
            if let Some(size) = paged.default_sized.get(name) {
                return *size;
            }
            if !paged.connections.contains(name) {
                return 1;
            }
        }
        [first, last]
            .into_iter()
            .flatten()
            .find_map(|value| {
                // async-graphql does not export the parser's value type, so
                // the argument is made const instead of matched. The clone
                // is of a literal in the document, and each field of the
                // document is visited at most once.
                let Ok(value) = value
                    .clone()
                    .into_const_with(|variable| Ok::<_, Infallible>(self.variable(&variable)));
                page_size(&value)
            })
            .unwrap_or(DEFAULT_PAGE)
    }

    /// A variable's value as far as [`page_size`] needs it. Not a clone: a
    /// large variable used by many fields would be copied each time.
    fn variable(&mut self, name: &Name) -> Value {
        self.read_variables = true;
        let value = match self.variables.get(name.as_str()) {
            Some(value) => value,
            None => match self.defaults.get(name) {
                Some(value) => *value,
                None => return Value::Null,
            },
        };
        match value {
            Value::Null => Value::Null,
            Value::Number(number) => Value::Number(number.clone()),
            _ => Value::Boolean(false),
        }
    }
}

/// A `first`/`last` value as a page size, or `None` when it is null (which
/// is what a variable with neither a value nor a default becomes): as if not
/// given. Bad values get a size here; the resolver rejects them later, and
/// one above the largest page is counted as the largest page so that the
/// resolver's BAD_USER_INPUT, which names the real mistake, is what the
/// client sees.
fn page_size(value: &Value) -> Option<u64> {
    match value {
        Value::Null => None,
        Value::Number(number) => Some(match (number.as_u64(), number.as_i64()) {
            (Some(n), _) => n.min(MAX_PAGE),
            (None, Some(_)) => 0,
            (None, None) => DEFAULT_PAGE,
        }),
        _ => Some(DEFAULT_PAGE),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use async_graphql::parser::parse_query;
    use serde_json::json;

    use super::*;

    fn measure_with(
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
        limits: Limits,
    ) -> Result<Measured, LimitExceeded> {
        let document = parse_query(query).expect("test query parses");
        check(
            &document,
            operation_name,
            &Variables::from_json(variables),
            &limits,
        )
    }

    fn measure(query: &str) -> Result<Measured, LimitExceeded> {
        measure_with(query, None, json!({}), Limits::default())
    }

    fn cost(query: &str, variables: serde_json::Value) -> u64 {
        measure_with(query, None, variables, Limits::default())
            .expect("within the limits")
            .cost
    }

    fn measured(depth: u64, cost: u64, aliases: u64, root_fields: u64) -> Measured {
        Measured {
            depth,
            cost,
            aliases,
            root_fields,
        }
    }

    fn exceeded(limit: Limit, maximum: u64, actual: u64, stopped_early: bool) -> LimitExceeded {
        LimitExceeded {
            limit,
            maximum,
            actual,
            stopped_early,
        }
    }

    /// `{ f { f { ... id } } }` with `id` at `depth`.
    fn nested(depth: usize) -> String {
        format!(
            "{{ {}id{} }}",
            "f { ".repeat(depth - 1),
            " }".repeat(depth - 1)
        )
    }

    /// Fragment `F{i}` spreads `F{i+1}` twice, `levels` times over, so the
    /// operation expands to 2^levels copies of `leaf`.
    fn bomb(operation: &str, on: &str, levels: usize, leaf: &str) -> String {
        let mut query = format!("{operation}\n");
        for i in 0..levels {
            let next = i + 1;
            query += &format!("fragment F{i} on {on} {{ ...F{next} ...F{next} }}\n");
        }
        query += &format!("fragment F{levels} on {on} {{ {leaf} }}\n");
        query
    }

    #[test]
    fn limit_names_and_flags() {
        let all = [Limit::Depth, Limit::Cost, Limit::Aliases, Limit::RootFields];
        let names: Vec<_> = all.iter().map(|limit| limit.name()).collect();
        let flags: Vec<_> = all.iter().map(|limit| limit.flag()).collect();
        assert_eq!(names, ["depth", "cost", "aliases", "rootFields"]);
        assert_eq!(
            flags,
            [
                "--max-query-depth",
                "--max-query-cost",
                "--max-aliases",
                "--max-root-fields"
            ]
        );
        let limits = Limits::default();
        assert_eq!(
            (
                limits.max_depth,
                limits.max_cost,
                limits.max_aliases,
                limits.max_root_fields
            ),
            (15, 25_000, 30, 20)
        );
    }

    #[test]
    fn display() {
        assert_eq!(
            exceeded(Limit::Depth, 15, 17, false).to_string(),
            "query depth is 17, above the limit of 15 (--max-query-depth)"
        );
        assert_eq!(
            exceeded(Limit::Cost, 25_000, 30_100, true).to_string(),
            "query cost is at least 30100, above the limit of 25000 (--max-query-cost); a \
             connection costs its `first`/`last` (20 when neither is given) times the cost of \
             its selection"
        );
        assert_eq!(
            exceeded(Limit::Cost, 25_000, 30_100, false).to_string(),
            "query cost is 30100, above the limit of 25000 (--max-query-cost); a connection \
             costs its `first`/`last` (20 when neither is given) times the cost of its selection"
        );
        assert_eq!(
            exceeded(Limit::Aliases, 30, 31, false).to_string(),
            "query has 31 aliases, above the limit of 30 (--max-aliases)"
        );
        assert_eq!(
            exceeded(Limit::Aliases, 30, 32, true).to_string(),
            "query has at least 32 aliases, above the limit of 30 (--max-aliases)"
        );
        assert_eq!(
            exceeded(Limit::RootFields, 20, 21, false).to_string(),
            "query has 21 root fields, above the limit of 20 (--max-root-fields)"
        );
        assert_eq!(
            exceeded(Limit::RootFields, 20, 21, true).to_string(),
            "query has at least 21 root fields, above the limit of 20 (--max-root-fields)"
        );
    }

    #[test]
    fn paged_fields_are_read_from_the_schema() {
        let paged = PagedFields::of_schema(&crate::graphql::sdl());
        let mut connections: Vec<&str> = paged.connections.iter().map(String::as_str).collect();
        connections.sort_unstable();
        assert_eq!(
            connections,
            [
                "applications",
                "children",
                "descendants",
                "sessions",
                "userAgents",
                "users"
            ]
        );
        let mut lists: Vec<(&str, u64)> = paged
            .default_sized
            .iter()
            .map(|(name, size)| (name.as_str(), *size))
            .collect();
        lists.sort_unstable();
        assert_eq!(lists, [("byApplication", 10), ("byUserAgent", 10)]);
    }

    #[test]
    fn measures_a_plain_query() {
        assert_eq!(
            measure("{ session(id: 1) { parent { id } } }"),
            Ok(measured(3, 3, 0, 1))
        );
        // `__typename` is a field like any other.
        assert_eq!(measure("{ __typename }"), Ok(measured(1, 1, 0, 1)));
    }

    #[test]
    fn depth_exceeded_is_exact_when_the_walk_finishes() {
        assert_eq!(measure(&nested(15)), Ok(measured(15, 15, 0, 1)));
        let error = measure(&nested(17)).unwrap_err();
        assert_eq!(error, exceeded(Limit::Depth, 15, 17, false));
        assert_eq!(
            error.to_string(),
            "query depth is 17, above the limit of 15 (--max-query-depth)"
        );
    }

    #[test]
    fn fragments_add_no_depth() {
        let query = "{ viewer { ...F ... on Viewer { ... { id } } } } \
                     fragment F on Viewer { ... on Viewer { user { email } } }";
        // viewer(1) user(2) email(3); viewer 1 + id 1 + user 1 + email 1.
        assert_eq!(measure(query), Ok(measured(3, 4, 0, 1)));
    }

    #[test]
    fn benchmark_query_passes_with_room() {
        let query = "query($zone: ID!) { sessions(zoneId: $zone, first: 50, filter: \
                     {includeNested: true}) { nodes { __typename ... on UserSession { id status \
                     createdAt user { email } application { name } userAgent { name } parent { \
                     id status } children(first: 10) { totalCount nodes { ... on UserSession { \
                     id status user { email } } } } } } } }";
        // children(first: 10) = 1 + 10 × (totalCount 1 + nodes (1 + id 1 + status 1
        //   + user (1 + email 1))) = 1 + 10 × 6 = 61
        // the outer UserSession fragment = id 1 + status 1 + createdAt 1 + user 2
        //   + application 2 + userAgent 2 + parent 3 + children 61 = 73
        // nodes = 1 + __typename 1 + 73 = 75
        // sessions(first: 50) = 1 + 50 × 75 = 3751
        // Depth: sessions(1) nodes(2) children(3) nodes(4) user(5) email(6).
        let result = measure_with(query, None, json!({ "zone": "z1" }), Limits::default());
        assert_eq!(result, Ok(measured(6, 3751, 0, 1)));
    }

    /// graphql-js 16.9+ `getIntrospectionQuery` (what GraphiQL 3 and 4 send)
    /// with every option on: descriptions, specifiedByURL, isRepeatable,
    /// schemaDescription and inputValueDeprecation; `TypeRef` nests `ofType`
    /// nine times.
    const INTROSPECTION_QUERY: &str = r#"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                    ofType {
                      kind
                      name
                      ofType {
                        kind
                        name
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    "#;

    #[test]
    fn graphiql_introspection_query_passes_the_defaults() {
        // Depth: __schema(1) types(2) fields(3) args(4) type(5), then TypeRef's
        // ninth ofType at 14 and its kind at 15: exactly the default limit.
        // Cost (no connections, so one per field): TypeRef = 2 + 9 × 3 = 29;
        // InputValue = 5 + type (1 + 29) = 35; FullType = 4 + fields (1 + 4
        // + args 36 + type 30) + inputFields 36 + interfaces 30 + enumValues 5
        // + possibleTypes 30 = 176; __schema = 1 + description 1 + 3 × 3 +
        // types 177 + directives (1 + 4 + args 36) = 229.
        assert_eq!(measure(INTROSPECTION_QUERY), Ok(measured(15, 229, 0, 1)));
        assert_eq!(
            measure_with(
                INTROSPECTION_QUERY,
                Some("IntrospectionQuery"),
                json!({}),
                Limits::default()
            ),
            Ok(measured(15, 229, 0, 1))
        );
    }

    #[test]
    fn connections_cost_their_page_times_their_selection() {
        assert_eq!(cost("{ sessions { id } }", json!({})), 1 + 20);
        for field in [
            "children",
            "descendants",
            "applications",
            "users",
            "userAgents",
        ] {
            assert_eq!(cost(&format!("{{ {field} {{ id }} }}"), json!({})), 21);
        }
        // The statistics' top lists cost their `first`, 10 by default.
        assert_eq!(cost("{ byApplication { count } }", json!({})), 1 + 10);
        assert_eq!(
            cost("{ byUserAgent(first: 3) { count } }", json!({})),
            1 + 3
        );
        // Any field with `first` or `last` is a connection; others are not.
        assert_eq!(cost("{ things(first: 3) { id } }", json!({})), 1 + 3);
        assert_eq!(cost("{ things(last: 4) { id } }", json!({})), 1 + 4);
        assert_eq!(cost("{ things(limit: 4) { a b } }", json!({})), 1 + 2);
        // The name decides, not the alias.
        assert_eq!(cost("{ sessions: viewer { id } }", json!({})), 2);
        assert_eq!(cost("{ v: sessions(first: 2) { id } }", json!({})), 3);
        // Nested pages multiply.
        assert_eq!(
            cost(
                "{ sessions(first: 5) { nodes { children(last: 3) { nodes { id } } } } }",
                json!({})
            ),
            1 + 5 * (1 + (1 + 3 * (1 + 1)))
        );
    }

    #[test]
    fn page_sizes_from_literals() {
        let page =
            |argument: &str| cost(&format!("{{ sessions({argument}) {{ id }} }}"), json!({}));
        assert_eq!(page("first: 7"), 8);
        assert_eq!(page("first: 0"), 1);
        assert_eq!(page("first: -3"), 1);
        assert_eq!(page("first: \"ten\""), 21);
        assert_eq!(page("first: 2.5"), 21);
        assert_eq!(page("first: [1]"), 21);
        assert_eq!(page("first: null"), 21);
        assert_eq!(page("first: null, last: 4"), 5);
        // `first` wins when both are given (the resolver refuses the pair).
        assert_eq!(page("first: 2, last: 9"), 3);
        assert_eq!(page("zoneId: \"z\""), 21);
    }

    #[test]
    fn page_sizes_from_variables() {
        let first = "query($n: Int) { sessions(first: $n) { id } }";
        assert_eq!(cost(first, json!({ "n": 5 })), 6);
        assert_eq!(cost(first, json!({ "n": -2 })), 1);
        assert_eq!(cost(first, json!({ "n": "ten" })), 21);
        assert_eq!(cost(first, json!({ "n": 2.5 })), 21);
        assert_eq!(cost(first, json!({ "n": null })), 21);
        assert_eq!(cost(first, json!({})), 21);
        let with_default = "query($n: Int = 7) { sessions(first: $n) { id } }";
        assert_eq!(cost(with_default, json!({})), 8);
        assert_eq!(cost(with_default, json!({ "n": 3 })), 4);
        let last = "query($n: Int) { sessions(last: $n) { id } }";
        assert_eq!(cost(last, json!({ "n": 2 })), 3);
        // An unset `first` is as if not given, so `last` applies.
        let both = "query($f: Int, $l: Int) { sessions(first: $f, last: $l) { id } }";
        assert_eq!(cost(both, json!({ "l": 4 })), 5);
        // Variables are the request's, so a fragment costs the same anywhere.
        let in_fragment = "query($n: Int) { viewer { ...S } sessions { ...S } } \
                           fragment S on X { children(first: $n) { id } }";
        assert_eq!(cost(in_fragment, json!({ "n": 3 })), (1 + 4) + (1 + 20 * 4));
    }

    #[test]
    fn cost_exceeded() {
        let query = "{ sessions(first: 100) { nodes { children(first: 100) { nodes { id status \
                     } } } } }";
        // 1 + 100 × (1 + (1 + 100 × (1 + 2))) = 30201, reached on the last field.
        let error = measure(query).unwrap_err();
        assert_eq!(error, exceeded(Limit::Cost, 25_000, 30_201, false));
        assert!(error.to_string().starts_with(
            "query cost is 30201, above the limit of 25000 (--max-query-cost); a connection"
        ));
        // With more to walk, the walk stops there and says so.
        let error = measure(&query.replace("} } } } }", "} } } } viewer { id } }")).unwrap_err();
        assert_eq!(error, exceeded(Limit::Cost, 25_000, 30_201, true));
        assert!(
            error
                .to_string()
                .starts_with("query cost is at least 30201, ")
        );

        let limits = Limits {
            max_cost: 100,
            ..Limits::default()
        };
        let query = "query($n: Int) { sessions(first: $n) { id name } }";
        let variables = json!({ "n": 49 });
        assert_eq!(
            measure_with(query, None, variables, limits),
            Ok(measured(2, 99, 0, 1))
        );
        assert_eq!(
            measure_with(query, None, json!({ "n": 50 }), limits),
            Err(exceeded(Limit::Cost, 100, 101, false))
        );
    }

    #[test]
    fn root_fields_counted_through_fragments() {
        let query = "{ a ...F ... on Query { b c } } fragment F on Query { d e }";
        assert_eq!(measure(query), Ok(measured(1, 5, 0, 5)));
        let limits = |max_root_fields| Limits {
            max_root_fields,
            ..Limits::default()
        };
        assert_eq!(
            measure_with(query, None, json!({}), limits(4)),
            Err(exceeded(Limit::RootFields, 4, 5, false))
        );
        let error = measure_with(query, None, json!({}), limits(3)).unwrap_err();
        assert_eq!(error, exceeded(Limit::RootFields, 3, 4, true));
        assert_eq!(
            error.to_string(),
            "query has at least 4 root fields, above the limit of 3 (--max-root-fields)"
        );
        // Fields below the root are not root fields, wherever they come from.
        let nested = "{ viewer { ...F } } fragment F on Viewer { a b c d e }";
        assert_eq!(
            measure_with(nested, None, json!({}), limits(1)),
            Ok(measured(2, 6, 0, 1))
        );
        let default = (0..21).map(|i| format!("f{i} ")).collect::<String>();
        assert_eq!(
            measure(&format!("{{ {default} }}")),
            Err(exceeded(Limit::RootFields, 20, 21, false))
        );
    }

    #[test]
    fn aliases_counted_through_fragments() {
        let query = "{ ...F ...F } fragment F on Query { a: viewer { b: id } }";
        assert_eq!(measure(query), Ok(measured(2, 4, 4, 2)));
        let limits = Limits {
            max_aliases: 3,
            ..Limits::default()
        };
        let error = measure_with(query, None, json!({}), limits).unwrap_err();
        assert_eq!(error, exceeded(Limit::Aliases, 3, 4, false));
        assert_eq!(
            error.to_string(),
            "query has 4 aliases, above the limit of 3 (--max-aliases)"
        );
        let many = (0..31).map(|i| format!("a{i}: id ")).collect::<String>();
        assert_eq!(
            measure(&format!("{{ viewer {{ {many} }} }}")),
            Err(exceeded(Limit::Aliases, 30, 31, false))
        );
    }

    #[test]
    fn reports_the_first_exceeded_in_order() {
        let limits = Limits {
            max_depth: 2,
            max_cost: 3,
            max_aliases: 1,
            max_root_fields: 1,
        };
        // Depth 3 and cost 4 (on the last field): depth comes first.
        assert_eq!(
            measure_with("{ a { b { c } } d }", None, json!({}), limits),
            Err(exceeded(Limit::Depth, 2, 3, false))
        );
        // Two root fields and two aliases at the second field: root fields.
        assert_eq!(
            measure_with("{ x: a y: b z: c }", None, json!({}), limits),
            Err(exceeded(Limit::RootFields, 1, 2, true))
        );
        // Then aliases before cost.
        assert_eq!(
            measure_with("{ v { x: a y: b } }", None, json!({}), limits),
            Err(exceeded(Limit::Aliases, 1, 2, false))
        );
    }

    #[test]
    fn picks_the_operation_that_would_run() {
        let two = "query A { a } query B { b c }";
        let run = |name| measure_with(two, name, json!({}), Limits::default());
        assert_eq!(run(Some("A")), Ok(measured(1, 1, 0, 1)));
        assert_eq!(run(Some("B")), Ok(measured(1, 2, 0, 2)));
        // Left to validation: an unknown name, or no name for several.
        assert_eq!(run(Some("C")), Ok(Measured::default()));
        assert_eq!(run(None), Ok(Measured::default()));

        let one = "query Only { a b }";
        let run = |name| measure_with(one, name, json!({}), Limits::default());
        assert_eq!(run(None), Ok(measured(1, 2, 0, 2)));
        assert_eq!(run(Some("Only")), Ok(measured(1, 2, 0, 2)));
        let anonymous = measure_with("{ a }", Some("A"), json!({}), Limits::default());
        assert_eq!(anonymous, Ok(Measured::default()));

        // Another operation's excess does not matter.
        let deep = format!("query Deep {} query Shallow {{ a }}", nested(20));
        assert!(measure_with(&deep, Some("Shallow"), json!({}), Limits::default()).is_ok());
        assert!(measure_with(&deep, Some("Deep"), json!({}), Limits::default()).is_err());
    }

    #[test]
    fn fragment_cycles_and_unknown_fragments_count_nothing() {
        let cycle = "{ viewer { ...A } } fragment A on V { id ...B } fragment B on V { name ...A }";
        assert_eq!(measure(cycle), Ok(measured(2, 3, 0, 1)));
        let own =
            "{ viewer { ...A } ...R } fragment A on V { id ...A } fragment R on Query { ...R }";
        assert_eq!(measure(own), Ok(measured(2, 2, 0, 1)));
        assert_eq!(
            measure("{ viewer { ...Missing id } ...Gone }"),
            Ok(measured(2, 2, 0, 1))
        );
    }

    #[test]
    fn a_long_chain_of_fragments_does_not_recurse() {
        let mut query = String::from("{ viewer { ...F0 } }\n");
        for i in 0..20_000 {
            query += &format!("fragment F{i} on V {{ ...F{} }}\n", i + 1);
        }
        query += "fragment F20000 on V { id }\n";
        assert_eq!(measure(&query), Ok(measured(2, 2, 0, 1)));
    }

    #[test]
    fn deep_nesting_is_measured_exactly() {
        // The parser refuses nesting past 64 levels in one definition, so
        // only chains of fragments (above) can make the walk itself deep.
        let depth = 40;
        let query = format!(
            "{{ viewer {{ {}id{} }} }}",
            "... on V { ".repeat(depth),
            " }".repeat(depth)
        );
        assert_eq!(measure(&query), Ok(measured(2, 2, 0, 1)));
        assert_eq!(
            measure(&nested(60)).unwrap_err(),
            exceeded(Limit::Depth, 15, 60, false)
        );
    }

    #[test]
    fn fragment_bombs_stop_quickly() {
        let started = Instant::now();
        // 2^30 copies of `id` under one field. Each fragment is walked once;
        // the running cost, 1 + 2^(30 - k) once F{k} has its second spread,
        // first passes 25000 at F15: 1 + 2^15.
        let query = bomb("query { viewer { ...F0 } }", "Viewer", 30, "id");
        let error = measure(&query).unwrap_err();
        assert_eq!(error, exceeded(Limit::Cost, 25_000, 32_769, true));
        assert!(
            error
                .to_string()
                .starts_with("query cost is at least 32769, ")
        );

        // Aliases: 2^(30 - k) first passes 30 at 32.
        let query = bomb("query { viewer { ...F0 } }", "Viewer", 30, "a: id");
        assert_eq!(measure(&query), Err(exceeded(Limit::Aliases, 30, 32, true)));

        // Root fields likewise.
        let query = bomb("query { ...F0 }", "Query", 30, "id");
        assert_eq!(
            measure(&query),
            Err(exceeded(Limit::RootFields, 20, 32, true))
        );

        // Under `first: 0` the expansion costs nothing and no other total
        // grows, so nothing stops the walk early: memoised, it still finishes
        // at once, with exact figures.
        let query = bomb("query { sessions(first: 0) { ...F0 } }", "S", 30, "id");
        assert_eq!(measure(&query), Ok(measured(2, 1, 0, 1)));

        // With no limit to stop it, 2^100 copies saturate instead of wrapping.
        let unlimited = Limits {
            max_depth: u64::MAX,
            max_cost: u64::MAX,
            max_aliases: u64::MAX,
            max_root_fields: u64::MAX,
        };
        let query = bomb("query { viewer { ...F0 } }", "V", 100, "a: id");
        assert_eq!(
            measure_with(&query, None, json!({}), unlimited),
            Ok(measured(2, u64::MAX, u64::MAX, 1))
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn costs_saturate() {
        // Pages count at most 100 each: twelve nested ones pass 2^64.
        let pages = "sessions(first: 4294967295) { ".repeat(12);
        let query = format!("{{ {pages}id{} }}", " }".repeat(12));
        let limits = Limits {
            max_cost: u64::MAX,
            ..Limits::default()
        };
        let result = measure_with(&query, None, json!({}), limits).expect("within u64::MAX");
        assert_eq!(result.cost, u64::MAX);
    }

    #[test]
    fn too_many_selections_is_a_cost_error() {
        // A page of 0 keeps the cost at 1; the selection cap still stops it.
        let fields = "id ".repeat(MAX_SELECTIONS as usize);
        let query = format!("{{ sessions(first: 0) {{ {fields} }} }}");
        let error = measure(&query).unwrap_err();
        assert_eq!(error, exceeded(Limit::Cost, 25_000, 1, true));
        assert_eq!(
            error.to_string(),
            "query is too large to cost: analysis stopped after 100000 selections with a cost \
             of at least 1 so far, against a limit of 25000 (--max-query-cost)"
        );
        // Just under the cap is fine.
        let fields = "id ".repeat(MAX_SELECTIONS as usize - 1);
        let query = format!("{{ sessions(first: 0) {{ {fields} }} }}");
        assert_eq!(measure(&query), Ok(measured(2, 1, 0, 1)));
    }
}
