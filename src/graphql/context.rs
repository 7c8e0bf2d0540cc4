//! What each request carries into the resolvers.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::Field;
use async_graphql::{Context, Positioned};
use rustc_hash::FxHashMap;

use super::errors::{ApiError, RequestId};
use super::joins::ConnectionSelection;
use super::loaders::LazyDataLoaders;
use crate::auth::Access;
use crate::store::{Clock, Reader};

/// Per-request state: fresh dataloaders (so batches and caches never span
/// requests) and the reads of the root fields, the request id for errors
/// and logs, and the request's clock.
pub struct RequestState {
    pub loaders: LazyDataLoaders,
    /// The reads that are not batched: root lookups, lists and counts.
    pub reader: Arc<Reader>,
    pub request_id: RequestId,
    /// The request's "now", shared with its reader.
    pub clock: Arc<Clock>,
    /// Who is asking: every statement is limited to these zones.
    pub access: Arc<Access>,
    /// The operation's span, for the steps the engine runs inside its
    /// execution (validation); none when spans are not exported.
    pub operation_span: tracing::Span,
    /// What each connection field of the document reads: a nested list
    /// resolves one field on every parent (Q2's `children`, 50 times).
    pub connection_selections: FieldMemo<ConnectionSelection>,
}

/// Facts about a field of the request's document that hold wherever it is
/// resolved, found once. Keyed by the field's place in the document the
/// engine runs, which lives as long as the request.
pub struct FieldMemo<T>(Mutex<FxHashMap<usize, Arc<T>>>);

impl<T> Default for FieldMemo<T> {
    fn default() -> Self {
        FieldMemo(Mutex::default())
    }
}

impl<T> FieldMemo<T> {
    pub fn get_or_insert_with(
        &self,
        field: &Positioned<Field>,
        make: impl FnOnce() -> T,
    ) -> Arc<T> {
        let place = std::ptr::from_ref(field) as usize;
        let mut memo = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        memo.entry(place)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

impl RequestState {
    /// A zone-wide list is `FORBIDDEN` outside the caller's zones; asking
    /// is not an existence oracle because every zone id answers alike.
    pub fn require_zone(&self, zone_id: &str) -> Result<(), ApiError> {
        if self.access.permits_zone(zone_id) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the token does not grant zone {zone_id:?}"
            )))
        }
    }
}

pub fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestState> {
    ctx.data::<RequestState>()
}

/// Maps a failure to the client's error, logging internal causes once.
pub fn fail<T>(state: &RequestState, result: Result<T, ApiError>) -> async_graphql::Result<T> {
    result.map_err(|error| error.into_graphql(&state.request_id))
}
