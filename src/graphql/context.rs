//! What each request carries into the resolvers.

use std::sync::Arc;

use async_graphql::Context;

use super::errors::{ApiError, RequestId};
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
