//! Prepared operations: everything admission and execution learn from a
//! document's text that does not depend on the request's variables or
//! caller, found once per (text, operation name) and kept.
//!
//! Clients send the same few documents over and over. A [`PreparedDocument`]
//! is what one text yields: its parse (copying it is several times cheaper
//! than parsing again; parsing was 5% of a nested query's CPU), its
//! [`DocumentValidation`] (once one request has passed validation, later
//! ones run only the rule that reads their variables; validation was 19% of
//! a point lookup's instructions), and what one walk of every operation and
//! fragment finds: the columns its fields read, whether it selects
//! introspection, and any fragment cycle. A [`PreparedOperation`] adds what
//! the operation a request names decides: its type, whether it may mutate,
//! and its cost, kept whole when no page size reads a variable.
//!
//! Texts a request sends (its own or an automatic persisted query's) are
//! prepared into [`PreparedOperations`], one bounded cache per process; a
//! trusted document is prepared when it is loaded (`trusted_documents.rs`).
//! Only documents that parse are kept: a parse failure is reported afresh
//! each time.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::DocumentValidation;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{ServerResult, Variables};
use lru::LruCache;
use rustc_hash::FxHashSet;

use super::limits::{self, LimitExceeded, Limits, Measured};
use super::operation::{may_mutate, selected_operation};
use crate::store::Projection;

/// Query texts remembered per process.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(256) {
    Some(capacity) => capacity,
    None => unreachable!(),
};
/// Longer texts are prepared every time, which bounds the cache to about
/// 4 MiB of text and its documents.
const MAX_REMEMBERED_BYTES: usize = 16 * 1024;
/// Operations of one text remembered by name; a text with more is
/// prepared again for the others (a document's operations are few).
const MAX_OPERATIONS_PER_TEXT: usize = 8;

/// What one parsed text is, whichever of its operations runs.
pub struct PreparedDocument {
    pub text: Arc<str>,
    document: ExecutableDocument,
    /// Marked passed after the first request that passes validation (or at
    /// load, for a trusted document).
    validation: DocumentValidation,
    /// The columns the fields named anywhere in it read.
    pub projection: Projection,
    /// Whether it selects `__schema` or `__type` anywhere, fragments
    /// included, so a server with introspection off can say so instead of
    /// answering null.
    pub selects_introspection: bool,
    /// A fragment that spreads itself, directly or through others, as the
    /// path `A → B → A`.
    pub fragment_cycle: Option<String>,
}

impl PreparedDocument {
    /// Walks a parsed document once.
    pub fn new(text: Arc<str>, document: ExecutableDocument) -> Self {
        let walked = Walked::of(&document);
        let projection = Projection::for_fields(|field| walked.field_names.contains(field));
        let selects_introspection = walked.introspection;
        let fragment_cycle = walked.fragment_cycle();
        PreparedDocument {
            text,
            document,
            validation: DocumentValidation::default(),
            projection,
            selects_introspection,
            fragment_cycle,
        }
    }

    pub fn document(&self) -> &ExecutableDocument {
        &self.document
    }

    pub fn validation(&self) -> &DocumentValidation {
        &self.validation
    }
}

/// One operation of a prepared document, as a request names it.
pub struct PreparedOperation {
    pub document: Arc<PreparedDocument>,
    /// The `operationName` requests name it by (`None`: they name none).
    pub requested_name: Option<String>,
    /// `None` when the document does not say which operation runs (an
    /// unknown name, or several operations and no name): validation
    /// reports it.
    pub operation_type: Option<OperationType>,
    /// Whether the request could run a mutation (see [`may_mutate`]).
    pub may_mutate: bool,
    /// The name of the operation that runs, when the document has it: a
    /// name the client did not make up.
    pub known_name: Option<String>,
    cost: Cost,
    /// The limits it is measured against.
    limits: Limits,
}

/// An operation's size against the limits.
enum Cost {
    /// No page size reads a variable: the same for every request.
    Fixed(Result<Measured, LimitExceeded>),
    /// Measured per request, with its variables.
    PerRequest,
}

impl PreparedOperation {
    pub fn new(
        document: Arc<PreparedDocument>,
        requested_name: Option<&str>,
        limits: &Limits,
    ) -> Self {
        let parsed = &document.document;
        let operation = selected_operation(parsed, requested_name);
        let known_name = match (&parsed.operations, requested_name) {
            (DocumentOperations::Multiple(operations), Some(name)) => operations
                .keys()
                .any(|known| known.as_str() == name)
                .then(|| name.to_owned()),
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
                operations.keys().next().map(|name| name.to_string())
            }
            _ => None,
        };
        let (measured, read_variables) =
            limits::measure(parsed, requested_name, &Variables::default(), limits);
        let cost = if read_variables {
            Cost::PerRequest
        } else {
            Cost::Fixed(measured)
        };
        PreparedOperation {
            requested_name: requested_name.map(str::to_owned),
            operation_type: operation.map(|operation| operation.ty),
            may_mutate: may_mutate(parsed, requested_name),
            known_name,
            cost,
            limits: *limits,
            document,
        }
    }

    /// The operation's figures against the limits it was prepared with,
    /// for a request with `variables`.
    pub fn measure(&self, variables: &Variables) -> Result<Measured, LimitExceeded> {
        match &self.cost {
            Cost::Fixed(measured) => measured.clone(),
            Cost::PerRequest => {
                limits::measure(
                    &self.document.document,
                    self.requested_name.as_deref(),
                    variables,
                    &self.limits,
                )
                .0
            }
        }
    }

    /// Puts the parsed document and its validation into `request`, as if
    /// its text had been parsed there.
    pub fn install(&self, request: &mut async_graphql::Request) {
        request.set_parsed_query(self.document.document.clone());
        request.set_document_validation(self.document.validation.clone());
    }
}

/// The prepared operations of recently seen texts.
pub struct PreparedOperations {
    limits: Limits,
    cache: Mutex<LruCache<String, Remembered>>,
}

struct Remembered {
    document: Arc<PreparedDocument>,
    operations: Vec<Arc<PreparedOperation>>,
}

impl PreparedOperations {
    /// `limits` are the ones operations are measured against.
    pub fn new(limits: Limits) -> Self {
        PreparedOperations {
            limits,
            cache: Mutex::new(LruCache::new(CAPACITY)),
        }
    }

    /// The prepared operation of the request's text and operation name,
    /// from the cache or prepared now, installed in the request for the
    /// engine. A parse is a `graphql.parse` span under `span`.
    pub fn prepare(
        &self,
        request: &mut async_graphql::Request,
        span: &tracing::Span,
    ) -> ServerResult<Arc<PreparedOperation>> {
        let name = request.operation_name.as_deref();
        let (document, operation) = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            match cache.get(&request.query) {
                Some(remembered) => (
                    Some(remembered.document.clone()),
                    remembered
                        .operations
                        .iter()
                        .find(|operation| operation.requested_name.as_deref() == name)
                        .cloned(),
                ),
                None => (None, None),
            }
        };
        if let Some(operation) = operation {
            operation.install(request);
            return Ok(operation);
        }
        let document = match document {
            Some(document) => document,
            None => {
                let parsed = {
                    let _parsing =
                        crate::telemetry::step_span_under(span, "graphql.parse").entered();
                    async_graphql::parser::parse_query(&request.query)
                        .map_err(async_graphql::ServerError::from)?
                };
                Arc::new(PreparedDocument::new(
                    Arc::from(request.query.as_str()),
                    parsed,
                ))
            }
        };
        let operation = Arc::new(PreparedOperation::new(document.clone(), name, &self.limits));
        operation.install(request);
        if request.query.len() <= MAX_REMEMBERED_BYTES {
            // Only the names the document has (and no name) are kept: any
            // other name is the client's own, unbounded in number and in
            // length, and only ever answers that it names no operation.
            let keep = operation.requested_name.is_none() || operation.known_name.is_some();
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            // Looked up again: another request may have prepared the same
            // text or name meanwhile.
            match cache.get_mut(&request.query) {
                Some(entry) => {
                    let known = entry
                        .operations
                        .iter()
                        .any(|kept| kept.requested_name == operation.requested_name);
                    if keep && !known && entry.operations.len() < MAX_OPERATIONS_PER_TEXT {
                        entry.operations.push(operation.clone());
                    }
                }
                None => {
                    let operations = if keep {
                        vec![operation.clone()]
                    } else {
                        Vec::new()
                    };
                    cache.put(
                        request.query.clone(),
                        Remembered {
                            document,
                            operations,
                        },
                    );
                }
            }
        }
        Ok(operation)
    }
}

/// What one walk of every operation and fragment of a document finds.
#[derive(Default)]
struct Walked<'a> {
    /// Fields named anywhere, whatever type they are selected on.
    field_names: FxHashSet<&'a str>,
    introspection: bool,
    /// The fragments each fragment spreads, in the order written.
    spreads: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Walked<'a> {
    fn of(document: &'a ExecutableDocument) -> Self {
        let mut walked = Walked::default();
        for (_, operation) in document.operations.iter() {
            walked.selection_set(&operation.node.selection_set.node, None);
        }
        for (name, fragment) in &document.fragments {
            walked.spreads.entry(name.as_str()).or_default();
            walked.selection_set(&fragment.node.selection_set.node, Some(name.as_str()));
        }
        walked
    }

    /// `fragment`: the fragment whose body `set` is in, if any. Recursion
    /// is bounded: brackets nest at most `screening::MAX_NESTING` deep.
    fn selection_set(&mut self, set: &'a SelectionSet, fragment: Option<&'a str>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    self.introspection |= name == "__schema" || name == "__type";
                    self.field_names.insert(name);
                    self.selection_set(&field.node.selection_set.node, fragment);
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node, fragment)
                }
                // Fragments are walked once, from the document's definitions.
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = fragment {
                        self.spreads
                            .entry(fragment)
                            .or_default()
                            .push(spread.node.fragment_name.node.as_str());
                    }
                }
            }
        }
    }

    /// The first cycle among the fragments' spreads, by an iterative
    /// depth-first search (fragment chains can be long) from each fragment
    /// in name order.
    fn fragment_cycle(&self) -> Option<String> {
        let graph = &self.spreads;
        let mut finished: FxHashSet<&str> = FxHashSet::default();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Table;

    fn prepared(text: &str) -> PreparedDocument {
        let document = async_graphql::parser::parse_query(text).expect("test query parses");
        PreparedDocument::new(Arc::from(text), document)
    }

    #[test]
    fn cycles_are_named() {
        let cyclic = prepared(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { x { ...A } } fragment C on Query { ...B }",
        );
        assert_eq!(cyclic.fragment_cycle.as_deref(), Some("A → B → A"));
        let acyclic =
            prepared("{ ...A ...B } fragment A on Query { ...B } fragment B on Query { x }");
        assert_eq!(acyclic.fragment_cycle, None);
    }

    #[test]
    fn introspection_is_found_in_fragments() {
        assert!(
            prepared("{ ...F } fragment F on Query { a { __type(name: \"X\") { name } } }")
                .selects_introspection
        );
        assert!(prepared("{ ... on Query { __schema { types { name } } } }").selects_introspection);
        assert!(!prepared("{ a { __typename } }").selects_introspection);
    }

    #[test]
    fn unasked_columns_are_left_out() {
        let p =
            prepared("query { session(id: \"s\") { ... on UserSession { id user { email } } } }")
                .projection;
        assert_eq!(&*p.select_list(Table::Users), "zone_id, id, email");
        let sessions = p.select_list(Table::Sessions);
        assert!(!sessions.contains("metadata_name") && !sessions.contains("session_data"));
    }

    #[test]
    fn fields_in_named_fragments_count() {
        let p = prepared(
            "query { node(id: \"s\") { ...Claims } } \
             fragment Claims on UserSession { sessionData createdAt }",
        )
        .projection;
        let sessions = p.select_list(Table::Sessions);
        assert!(sessions.ends_with("CAST(session_data AS TEXT) AS session_data"));
        assert_eq!(&*p.select_list(Table::Users), "zone_id, id, created_at");
    }

    #[test]
    fn a_remembered_operation_is_the_one_prepared() {
        let operations = PreparedOperations::new(Limits::default());
        let query = "query Q($id: ID!) { session(id: $id) { __typename } }";
        let mut first = async_graphql::Request::new(query);
        let prepared = operations.prepare(&mut first, &tracing::Span::none()).ok();
        let mut second = async_graphql::Request::new(query);
        let remembered = operations.prepare(&mut second, &tracing::Span::none()).ok();
        assert!(
            matches!((&prepared, &remembered), (Some(a), Some(b)) if Arc::ptr_eq(a, b)),
            "the second request reuses the first one's operation"
        );
        let operations_in = |request: &mut async_graphql::Request| {
            request
                .parsed_query()
                .map(|d| d.operations.iter().count())
                .ok()
        };
        assert_eq!(operations_in(&mut first), operations_in(&mut second));
        let mut named = async_graphql::Request::new(query).operation_name("Q");
        let by_name = operations.prepare(&mut named, &tracing::Span::none()).ok();
        assert_eq!(
            by_name.and_then(|o| o.known_name.clone()).as_deref(),
            Some("Q")
        );
        let cache = operations.cache.lock().expect("not poisoned");
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.peek(query).map(|r| r.operations.len()), Some(2));
    }

    #[test]
    fn names_the_document_lacks_are_not_kept() {
        let operations = PreparedOperations::new(Limits::default());
        let query = "query Q { __typename }";
        for name in ["Nope", "Other", "x".repeat(10_000).as_str()] {
            let mut request = async_graphql::Request::new(query).operation_name(name);
            let prepared = operations
                .prepare(&mut request, &tracing::Span::none())
                .ok();
            assert!(prepared.is_some_and(|p| p.operation_type.is_none() && p.known_name.is_none()));
        }
        let cache = operations.cache.lock().expect("not poisoned");
        assert_eq!(
            cache.peek(query).map(|r| r.operations.len()),
            Some(0),
            "the text is kept, no name"
        );
    }

    #[test]
    fn parse_failures_are_not_remembered() {
        let operations = PreparedOperations::new(Limits::default());
        let mut request = async_graphql::Request::new("{ session(");
        assert!(
            operations
                .prepare(&mut request, &tracing::Span::none())
                .is_err()
        );
        assert_eq!(operations.cache.lock().map(|c| c.len()).unwrap_or(0), 0);
    }

    #[test]
    fn a_cost_that_reads_no_variable_is_kept_and_one_that_does_is_not() {
        let limits = Limits::default();
        let fixed = PreparedOperation::new(
            Arc::new(prepared(
                "query($z: ID!) { sessions(zoneId: $z, first: 5) { nodes { id } } }",
            )),
            None,
            &limits,
        );
        assert!(matches!(fixed.cost, Cost::Fixed(Ok(_))));
        let per_request = PreparedOperation::new(
            Arc::new(prepared(
                "query($n: Int = 5) { sessions(zoneId: \"z\", first: $n) { nodes { id } } }",
            )),
            None,
            &limits,
        );
        assert!(matches!(per_request.cost, Cost::PerRequest));
        let cost = |variables: serde_json::Value| {
            per_request
                .measure(&Variables::from_json(variables))
                .map(|measured| measured.cost)
        };
        assert_eq!(
            cost(serde_json::json!({})),
            fixed.measure(&Variables::default()).map(|m| m.cost)
        );
        let (large, small) = (
            cost(serde_json::json!({ "n": 50 })),
            cost(serde_json::json!({ "n": 5 })),
        );
        assert!(matches!((large, small), (Ok(large), Ok(small)) if large > small));
    }
}
