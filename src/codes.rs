//! The public error codes of SPEC §2 (`extensions.code`), shared by every
//! layer that answers: admission's refusals, the resolvers' errors and the
//! transports.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ServerError};

/// The public error codes (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    GraphqlParseFailed,
    GraphqlValidationFailed,
    BadUserInput,
    NotFound,
    Unauthenticated,
    Forbidden,
    QueryTooComplex,
    PersistedQueryNotFound,
    TrustedDocumentRequired,
    ServiceUnavailable,
    InternalServerError,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::TrustedDocumentRequired => "TRUSTED_DOCUMENT_REQUIRED",
            Code::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl Code {
    /// Gives `error` this code unless it has one: `extensions.code` for
    /// the client and, as the error's source, the typed code [`Code::of`]
    /// reads, so that what an answer's status, frame or metric says is
    /// decided from the code itself and never from its text. Every coded
    /// error is coded here or by [`Code::error`].
    pub fn on(self, error: &mut ServerError) {
        if Code::of(error).is_some() {
            return;
        }
        error.source = Some(Arc::new(self));
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", self.as_str());
    }

    /// A resolver's error with this code, `extend` adding the rest of its
    /// `extensions`; the engine keeps the typed code as it places the
    /// error in the answer.
    pub fn error(
        self,
        message: impl Into<String>,
        extend: impl FnOnce(&mut ErrorExtensionValues),
    ) -> async_graphql::Error {
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", self.as_str());
        extend(&mut extensions);
        async_graphql::Error {
            message: message.into(),
            source: Some(Arc::new(self)),
            extensions: Some(extensions),
        }
    }

    /// The code [`Code::on`] or [`Code::error`] gave `error`.
    pub fn of(error: &ServerError) -> Option<Code> {
        error.source::<Code>().copied()
    }

    /// Whether an error with this code means the document never ran.
    pub fn is_request_error(self) -> bool {
        matches!(
            self,
            Code::GraphqlParseFailed | Code::GraphqlValidationFailed
        )
    }
}
