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
//! as is this cache.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use async_graphql::DocumentValidation;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Query texts remembered per process.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(256) {
    Some(capacity) => capacity,
    None => unreachable!(),
};
/// Longer texts are parsed every time, which bounds the cache to about
/// 4 MiB of text and its documents.
const MAX_REMEMBERED_BYTES: usize = 16 * 1024;

pub struct ParsedDocuments {
    cache: Mutex<LruCache<String, (ExecutableDocument, DocumentValidation)>>,
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
    /// leaves the document in the request for the engine.
    pub fn parse<'r>(
        &self,
        request: &'r mut async_graphql::Request,
    ) -> async_graphql::ServerResult<&'r ExecutableDocument> {
        let remembered = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&request.query)
            .cloned();
        if let Some((document, validation)) = remembered {
            request.set_parsed_query(document);
            request.set_document_validation(validation);
        } else if request.query.len() <= MAX_REMEMBERED_BYTES {
            let document = request.parsed_query()?.clone();
            let validation = DocumentValidation::default();
            request.set_document_validation(validation.clone());
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(request.query.clone(), (document, validation));
        }
        request.parsed_query()
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
        let parsed = format!(
            "{:?}",
            documents
                .parse(&mut first)
                .map(|d| d.operations.iter().count())
        );
        let mut second = async_graphql::Request::new(query);
        let remembered = format!(
            "{:?}",
            documents
                .parse(&mut second)
                .map(|d| d.operations.iter().count())
        );
        assert_eq!(parsed, remembered);
        assert_eq!(documents.cache.lock().map(|c| c.len()).unwrap_or(0), 1);
    }

    #[test]
    fn parse_failures_are_not_remembered() {
        let documents = ParsedDocuments::default();
        let mut request = async_graphql::Request::new("{ session(");
        assert!(documents.parse(&mut request).is_err());
        assert_eq!(documents.cache.lock().map(|c| c.len()).unwrap_or(0), 0);
    }
}
