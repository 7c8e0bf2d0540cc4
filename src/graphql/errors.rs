//! What resolvers fail with, and the one place internal causes are logged
//! and masked.

use async_graphql::ServerError;
use std::sync::Arc;

use sea_orm::DbErr;

use crate::codes::Code;
use crate::store::writes::WriteError;

/// What a resolver can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// Shared, because one failed batch answers every field that waited on
    /// it; each keeps the failure's class (unavailable or internal).
    #[error(transparent)]
    Database(Arc<DbErr>),
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        ApiError::Database(Arc::new(error))
    }
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::NotFound(_) => ApiError::NotFound(error.to_string()),
            WriteError::Forbidden(message) => ApiError::Forbidden(message.to_owned()),
            WriteError::Database(error) => ApiError::from(error),
        }
    }
}

impl From<Arc<DbErr>> for ApiError {
    fn from(error: Arc<DbErr>) -> Self {
        ApiError::Database(error)
    }
}

/// Per-request identifier, carried by every error and every log line about it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    /// A request's id: the caller's own (an `x-request-id`) when it is a
    /// plain token, otherwise a fresh random one. Only the request scope
    /// (`crate::http::request_scope`) calls it: every other id is
    /// derived from the one it made ([`RequestId::entry`]).
    pub(crate) fn new(given: Option<&str>) -> Self {
        given.and_then(Self::given).unwrap_or_else(Self::fresh)
    }

    fn fresh() -> Self {
        RequestId(format!("{:016x}", rand::random::<u64>()))
    }

    /// The caller's own id, when it is safe to echo into headers and logs.
    fn given(value: &str) -> Option<Self> {
        let plain = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plain.then(|| RequestId(value.to_owned()))
    }

    /// The id of the `index`th entry of a batch this request carried (or
    /// of the `index`th operation on a socket): the batch's id leads, so
    /// one search of the logs finds the batch and every entry, and the `.`
    /// (which no given id holds) keeps a caller from naming a request
    /// after another's entry.
    pub fn entry(&self, index: usize) -> Self {
        RequestId(format!("{}.{index}", self.0))
    }
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }

    /// Converts to the client's error. Database failures are logged here,
    /// with the request id, and reach the client only as a code.
    pub fn into_graphql(self, request_id: &RequestId) -> async_graphql::Error {
        let (code, message) = match &self {
            ApiError::BadUserInput(message) => (Code::BadUserInput, message.clone()),
            ApiError::NotFound(message) => (Code::NotFound, message.clone()),
            ApiError::Forbidden(message) => (Code::Forbidden, message.clone()),
            ApiError::Database(error) => {
                let unavailable = crate::store::db::is_unavailable(error);
                tracing::error!(request_id = %request_id.0, %error, "database error");
                if unavailable {
                    (
                        Code::ServiceUnavailable,
                        "the database is unavailable; try again".to_owned(),
                    )
                } else {
                    (Code::InternalServerError, "internal error".to_owned())
                }
            }
        };
        code.error(message, |e| e.set("requestId", request_id.0.clone()))
    }
}

/// Adds `code` (when missing) and `requestId` to an error leaving the schema.
pub fn finish_server_error(
    mut error: ServerError,
    default: Code,
    request_id: &RequestId,
) -> ServerError {
    default.on(&mut error);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("requestId").is_none() {
        extensions.set("requestId", request_id.0.clone());
    }
    error
}
