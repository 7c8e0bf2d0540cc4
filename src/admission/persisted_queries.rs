//! Automatic persisted queries, in Apollo's protocol: a client may send a
//! query's SHA-256 (`extensions.persistedQuery.sha256Hash`) instead of its
//! text. An unknown hash is `PERSISTED_QUERY_NOT_FOUND`, and the client
//! resends the hash with the text, which is then remembered.
//!
//! Each process remembers on its own, in a bounded cache: a miss, on a
//! fresh process or behind a load balancer, costs the client one round trip
//! and never an answer (SPEC §4: nothing a request needs lives only in one
//! process's memory).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::Value;
use lru::LruCache;
use sha2::{Digest, Sha256};

/// Queries remembered per process.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(1024).expect("non-zero");
/// Longer queries are run but not remembered, which bounds the cache to
/// 16 MiB.
const MAX_REMEMBERED_BYTES: usize = 16 * 1024;

pub struct PersistedQueries {
    cache: Mutex<LruCache<String, Arc<str>>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersistedQueryError {
    /// Apollo clients match this exact message to resend the query text.
    #[error("PersistedQueryNotFound")]
    NotFound,
    #[error("`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`")]
    HashMismatch,
    #[error("`extensions.persistedQuery` {0}")]
    Malformed(&'static str),
}

impl Default for PersistedQueries {
    fn default() -> Self {
        PersistedQueries {
            cache: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl PersistedQueries {
    /// Fills in `request.query` from its hash, or remembers the query under
    /// its hash; leaves requests without `persistedQuery` alone.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> Result<(), PersistedQueryError> {
        let Some(persisted) = request.extensions.get("persistedQuery") else {
            return Ok(());
        };
        let Value::Object(fields) = persisted else {
            return Err(PersistedQueryError::Malformed("must be an object"));
        };
        match fields.get("version") {
            Some(Value::Number(version)) if version.as_u64() == Some(1) => {}
            _ => return Err(PersistedQueryError::Malformed("must have version 1")),
        }
        let hash = match fields.get("sha256Hash") {
            Some(Value::String(hash))
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                hash.to_ascii_lowercase()
            }
            _ => {
                return Err(PersistedQueryError::Malformed(
                    "must have a sha256Hash of 64 hexadecimal digits",
                ));
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if request.query.is_empty() {
            let query = cache.get(&hash).ok_or(PersistedQueryError::NotFound)?;
            request.query = query.to_string();
            return Ok(());
        }
        if sha256_hex(&request.query) != hash {
            return Err(PersistedQueryError::HashMismatch);
        }
        if request.query.len() <= MAX_REMEMBERED_BYTES {
            cache.put(hash, Arc::from(request.query.as_str()));
        }
        Ok(())
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, hash: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        request.extensions.insert(
            "persistedQuery".into(),
            async_graphql::value!({ "version": 1, "sha256Hash": hash }),
        );
        request
    }

    #[test]
    fn unknown_hashes_are_not_found_until_sent_with_their_query() {
        let queries = PersistedQueries::default();
        let text = "{ __typename }";
        let hash = sha256_hex(text);
        assert_eq!(
            queries.resolve(&mut request("", &hash)),
            Err(PersistedQueryError::NotFound)
        );
        assert_eq!(queries.resolve(&mut request(text, &hash)), Ok(()));
        let mut by_hash = request("", &hash.to_uppercase());
        assert_eq!(queries.resolve(&mut by_hash), Ok(()));
        assert_eq!(by_hash.query, text);
        assert_eq!(
            queries.resolve(&mut request("{ other }", &hash)),
            Err(PersistedQueryError::HashMismatch)
        );
        assert!(queries.resolve(&mut request("", "abc")).is_err());
        let mut plain = async_graphql::Request::new(text);
        assert_eq!(queries.resolve(&mut plain), Ok(()));
    }
}
