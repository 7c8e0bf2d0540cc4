//! Parsed documents of recently seen query texts. Clients send the same few
//! queries over and over; copying a parsed document is several times
//! cheaper than parsing its text again (parsing was 5% of a nested
//! query's CPU). Only documents that parsed are kept: a parse failure is
//! reported afresh each time.
//!
//! Each remembered document also carries its [`DocumentValidation`]: once
//! one request with the text has passed validation, later ones run only the
//! rule that reads their variables (validation was 19% of a point lookup's
//! instructions and 5% of a nested query's). The schema is one per process,
//! as is this cache. And its [`Projection`], the columns its fields read,
//! which is a walk of the whole document.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use async_graphql::DocumentValidation;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use crate::graphql::projection::projection_of;
use crate::store::Projection;

/// Query texts remembered per process.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(256) {
    Some(capacity) => capacity,
    None => unreachable!(),
};
/// Longer texts are parsed every time, which bounds the cache to about
/// 4 MiB of text and its documents.
const MAX_REMEMBERED_BYTES: usize = 16 * 1024;

#[derive(Clone)]
struct Remembered {
    document: ExecutableDocument,
    validation: DocumentValidation,
    projection: Projection,
}

pub struct ParsedDocuments {
    cache: Mutex<LruCache<String, Remembered>>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        ParsedDocuments {
            cache: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl ParsedDocuments {
    /// Parses the request's query unless its document is remembered, and
    /// leaves the document in the request for the engine. Returns the
    /// columns the document reads. A parse is a `graphql.parse` span under
    /// `operation`.
    pub fn parse(
        &self,
        request: &mut async_graphql::Request,
        operation: &tracing::Span,
    ) -> async_graphql::ServerResult<Projection> {
        let remembered = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&request.query)
            .cloned();
        if let Some(remembered) = remembered {
            request.set_parsed_query(remembered.document);
            request.set_document_validation(remembered.validation);
            return Ok(remembered.projection);
        }
        let remember = request.query.len() <= MAX_REMEMBERED_BYTES;
        let document = {
            let _parsing = crate::telemetry::step_span_under(operation, "graphql.parse").entered();
            request.parsed_query()?
        };
        let projection = projection_of(document);
        if remember {
            let remembered = Remembered {
                document: document.clone(),
                validation: DocumentValidation::default(),
                projection,
            };
            request.set_document_validation(remembered.validation.clone());
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(request.query.clone(), remembered);
        }
        Ok(projection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_document_equals_a_fresh_parse() {
        let documents = ParsedDocuments::default();
        let query = "query Q($id: ID!) { session(id: $id) { __typename } }";
        let mut first = async_graphql::Request::new(query);
        let parsed = documents.parse(&mut first, &tracing::Span::none()).ok();
        let mut second = async_graphql::Request::new(query);
        let remembered = documents.parse(&mut second, &tracing::Span::none()).ok();
        assert!(parsed.is_some());
        assert_eq!(parsed, remembered);
        let operations = |request: &mut async_graphql::Request| {
            request
                .parsed_query()
                .map(|d| d.operations.iter().count())
                .ok()
        };
        assert_eq!(operations(&mut first), operations(&mut second));
        assert_eq!(documents.cache.lock().map(|c| c.len()).unwrap_or(0), 1);
    }

    #[test]
    fn parse_failures_are_not_remembered() {
        let documents = ParsedDocuments::default();
        let mut request = async_graphql::Request::new("{ session(");
        assert!(
            documents
                .parse(&mut request, &tracing::Span::none())
                .is_err()
        );
        assert_eq!(documents.cache.lock().map(|c| c.len()).unwrap_or(0), 0);
    }
}
