//! Why a request is answered without running: the one refusal type every
//! transport renders (HTTP in `http.rs` as a status and a body).

use serde_json::{Map, Value, json};

use crate::codes::Code;

/// The kind of a refusal: what the client did (or what the server cannot
/// do now). Each transport maps a kind to its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request could not be read as a GraphQL request.
    Malformed,
    /// The request body is over `--max-body-bytes`.
    BodyTooLarge,
    /// The body's media type is not JSON.
    UnsupportedMediaType,
    /// The client accepts none of the response media types.
    NotAcceptable,
    /// No token, or one that does not verify; the RFC 6750 challenge.
    Unauthenticated { challenge: String },
    /// The token's scope does not allow the operation.
    Forbidden,
    /// A browser page from an origin `--cors-origin` does not allow.
    OriginNotAllowed,
    /// The document is not GraphQL.
    ParseFailed,
    /// The document is refused before validation (introspection switched
    /// off, fragment cycles).
    Invalid,
    /// The document is over a limit.
    OverLimit,
    /// A persisted query's hash that this process does not know: the client
    /// resends it with the text.
    PersistedQueryNotFound,
    /// A document sent as text (or by an automatic persisted query's hash)
    /// to a server that runs only trusted documents.
    TrustedDocumentRequired,
    /// A mutation over a transport that must not change data (GET).
    MutationNotAllowed,
    /// The caller's cost budget is spent for now.
    RateLimited { retry_after_seconds: u64 },
    /// The database is not ready (unreachable or migrating).
    NotReady,
    /// The operation ran longer than `--request-timeout` and was cancelled.
    TimedOut,
    /// A bug: the operation panicked or its answer could not be written.
    Internal,
}

/// A request answered with one error and no data.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
    /// More `extensions` of the error (the limit and the measured value).
    pub details: Map<String, Value>,
}

impl Refusal {
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// With more `extensions`; `details` must be a JSON object.
    pub fn with_details(mut self, details: Value) -> Self {
        if let Value::Object(details) = details {
            self.details.extend(details);
        }
        self
    }

    pub fn code(&self) -> Code {
        match self.kind {
            RefusalKind::Malformed
            | RefusalKind::BodyTooLarge
            | RefusalKind::UnsupportedMediaType
            | RefusalKind::NotAcceptable
            | RefusalKind::MutationNotAllowed => Code::BadUserInput,
            RefusalKind::Unauthenticated { .. } => Code::Unauthenticated,
            RefusalKind::Forbidden | RefusalKind::OriginNotAllowed => Code::Forbidden,
            RefusalKind::ParseFailed => Code::GraphqlParseFailed,
            RefusalKind::Invalid => Code::GraphqlValidationFailed,
            RefusalKind::OverLimit | RefusalKind::RateLimited { .. } | RefusalKind::TimedOut => {
                Code::QueryTooComplex
            }
            RefusalKind::PersistedQueryNotFound => Code::PersistedQueryNotFound,
            RefusalKind::TrustedDocumentRequired => Code::TrustedDocumentRequired,
            RefusalKind::NotReady => Code::ServiceUnavailable,
            RefusalKind::Internal => Code::InternalServerError,
        }
    }

    /// The GraphQL error it answers with, `requestId` included, as JSON
    /// (the body `http.rs` writes).
    pub fn error(&self, request_id: &str) -> Value {
        serde_json::to_value(self.graphql_error(Some(request_id)))
            .unwrap_or_else(|_| json!({ "message": self.message }))
    }

    /// The refusal as a GraphQL response of one request error and no data:
    /// how the transports that answer inside a stream (a socket's `error`,
    /// an event stream's `next`) carry it.
    pub fn graphql_response(&self, request_id: Option<&str>) -> async_graphql::Response {
        async_graphql::Response::from_request_errors(vec![self.graphql_error(request_id)])
    }

    /// The one rendering of a refusal as an error, whichever transport
    /// carries it: its message, its code, the request id and the details.
    fn graphql_error(&self, request_id: Option<&str>) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(self.message.clone(), None);
        self.code().on(&mut error);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if let Some(request_id) = request_id {
            extensions.set("requestId", request_id);
        }
        for (name, value) in &self.details {
            if let Ok(value) = async_graphql::Value::from_json(value.clone()) {
                extensions.set(name, value);
            }
        }
        error
    }
}
