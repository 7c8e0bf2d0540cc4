//! Automatic persisted queries, in Apollo's protocol: a client may send a
//! query's SHA-256 (`extensions.persistedQuery.sha256Hash`) instead of its
//! text. An unknown hash is `PERSISTED_QUERY_NOT_FOUND`, and the client
//! resends the hash with the text, which is then remembered.
//!
//! With shared state (`--redis-url`) a query is remembered in Redis, so a
//! query registered through one gateway process answers by hash through
//! every other; each process also keeps the queries it has seen in a
//! bounded cache of its own, which spares Redis the hot ones. Without
//! Redis, or while it is unreachable, that cache is all there is: a miss,
//! on a fresh process or behind a load balancer, costs the client one round
//! trip and never an answer (SPEC §4: nothing a request needs lives only in
//! one process's memory).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::Value;
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::shared_state::SharedState;

/// Queries remembered per process.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(1024).expect("non-zero");
/// Longer queries are run but not remembered, which bounds the cache to
/// 16 MiB.
const MAX_REMEMBERED_BYTES: usize = 16 * 1024;
/// How long Redis keeps a query nobody registers again. It bounds what
/// Redis holds to the queries registered in a day; a client whose query
/// expired registers it again after one `PERSISTED_QUERY_NOT_FOUND`.
const SHARED_SECONDS: u64 = 24 * 60 * 60;

pub struct PersistedQueries {
    cache: Mutex<LruCache<String, Arc<str>>>,
    shared: Option<Arc<SharedState>>,
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
        PersistedQueries::new(None)
    }
}

impl PersistedQueries {
    pub fn new(shared: Option<Arc<SharedState>>) -> Self {
        PersistedQueries {
            cache: Mutex::new(LruCache::new(CAPACITY)),
            shared,
        }
    }

    /// Fills in `request.query` from its hash, or remembers the query under
    /// its hash unless `register` is false (under
    /// `--trusted-documents-only`, where the text runs but is not
    /// remembered); leaves requests without `persistedQuery` alone.
    pub async fn resolve(
        &self,
        request: &mut async_graphql::Request,
        register: bool,
    ) -> Result<(), PersistedQueryError> {
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
        if request.query.is_empty() {
            let query = self
                .recall(hash)
                .await
                .ok_or(PersistedQueryError::NotFound)?;
            request.query = query.to_string();
            return Ok(());
        }
        if sha256_hex(&request.query) != hash {
            return Err(PersistedQueryError::HashMismatch);
        }
        if register && request.query.len() <= MAX_REMEMBERED_BYTES {
            self.remember(hash, Arc::from(request.query.as_str())).await;
        }
        Ok(())
    }

    /// The query registered under `hash`: from this process's cache, else
    /// from Redis (then cached here too).
    async fn recall(&self, hash: String) -> Option<Arc<str>> {
        if let Some(query) = self.lock().get(&hash) {
            return Some(query.clone());
        }
        let shared = self.shared.as_ref()?;
        let key = shared.key("apq", &hash);
        // Boxed: only the requests that reach Redis carry its future.
        let stored = Box::pin(shared.run(|mut connection| async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut connection)
                .await
        }))
        .await
        .flatten()?;
        // Whatever else may write to this Redis, a text runs under a hash
        // only if it is that hash's text.
        let query = String::from_utf8(stored)
            .ok()
            .filter(|query| sha256_hex(query) == hash)?;
        let query: Arc<str> = Arc::from(query);
        self.lock().put(hash, query.clone());
        Some(query)
    }

    /// Registers `query` under its `hash`, here and in Redis.
    async fn remember(&self, hash: String, query: Arc<str>) {
        // A query this process already knew went to Redis when it was
        // learnt (or Redis was down then, and a process that lacks it asks
        // the client for it once): clients that send the text with every
        // request would otherwise cost Redis a write each.
        let known = self.lock().put(hash.clone(), query.clone()).is_some();
        let Some(shared) = self.shared.as_ref().filter(|_| !known) else {
            return;
        };
        let key = shared.key("apq", &hash);
        // Not remembered in Redis is remembered here all the same: the
        // fallback is counted, and other processes ask for the text once.
        let _ = Box::pin(shared.run(|mut connection| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(query.as_bytes())
                .arg("EX")
                .arg(SHARED_SECONDS)
                .query_async::<()>(&mut connection)
                .await
        }))
        .await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<str>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) fn sha256_hex(text: &str) -> String {
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

    #[tokio::test]
    async fn unknown_hashes_are_not_found_until_sent_with_their_query() {
        let queries = PersistedQueries::default();
        let text = "{ __typename }";
        let hash = sha256_hex(text);
        assert_eq!(
            queries.resolve(&mut request("", &hash), true).await,
            Err(PersistedQueryError::NotFound)
        );
        assert_eq!(
            queries.resolve(&mut request(text, &hash), true).await,
            Ok(())
        );
        let mut by_hash = request("", &hash.to_uppercase());
        assert_eq!(queries.resolve(&mut by_hash, true).await, Ok(()));
        assert_eq!(by_hash.query, text);
        assert_eq!(
            queries
                .resolve(&mut request("{ other }", &hash), true)
                .await,
            Err(PersistedQueryError::HashMismatch)
        );
        assert!(
            queries
                .resolve(&mut request("", "abc"), true)
                .await
                .is_err()
        );
        let mut plain = async_graphql::Request::new(text);
        assert_eq!(queries.resolve(&mut plain, true).await, Ok(()));
    }
}
