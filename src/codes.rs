//! The public error codes of SPEC §2 (`extensions.code`), shared by every
//! layer that answers: admission's refusals, the resolvers' errors and the
//! transports.

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
