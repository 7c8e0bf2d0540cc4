//! GraphQL over HTTP (the GraphQL-over-HTTP spec): `POST /graphql` with a
//! JSON body, `GET /graphql` with query parameters, answered as
//! `application/graphql-response+json` when the client accepts it (request
//! errors then get status 400) and as legacy `application/json` otherwise.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use rand::Rng;
use serde_json::json;

use crate::auth::{Access, AuthError};
use crate::graphql;
use crate::graphql::errors::{Code, RequestId, finish_server_error};
use crate::graphql::limits::{Limits, check as check_limits};
use crate::graphql::screening;
use crate::persisted_queries::PersistedQueryError;
use crate::server::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// What one request may ask for; each is a flag (see `cli.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Depth, cost, aliases and root fields of the document.
    pub query: Limits,
    /// Length of the query text.
    pub max_query_bytes: usize,
    /// Length of a POST body.
    pub max_body_bytes: usize,
    /// Wall time of one request, from parsing to the last resolver.
    pub timeout: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            query: Limits::default(),
            max_query_bytes: 64 * 1024,
            max_body_bytes: 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response media type from `Accept`; `None` when the client
/// accepts neither (406). No `Accept` means legacy JSON.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let ranges: Vec<&str> = accept
        .split(',')
        .map(|range| range.split(';').next().unwrap_or("").trim())
        .collect();
    if ranges.contains(&GRAPHQL_RESPONSE) {
        Some(MediaType::GraphqlResponse)
    } else if ranges
        .iter()
        .any(|r| *r == JSON || *r == "application/*" || *r == "*/*")
    {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// A request id: the caller's `x-request-id` when it is a plain token,
/// otherwise a fresh random one.
fn request_id(headers: &HeaderMap) -> RequestId {
    let given = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    RequestId(match given {
        Some(id) => id.to_owned(),
        None => format!("{:016x}", rand::rng().random::<u64>()),
    })
}

fn respond(
    status: StatusCode,
    media: MediaType,
    request_id: &RequestId,
    body: Vec<u8>,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        headers.insert("x-request-id", value);
    }
    response
}

/// An error the HTTP layer answers before GraphQL runs.
fn http_error(
    status: StatusCode,
    media: MediaType,
    request_id: &RequestId,
    message: &str,
) -> Response {
    coded_error(status, media, request_id, Code::BadUserInput, message)
}

fn coded_error(
    status: StatusCode,
    media: MediaType,
    request_id: &RequestId,
    code: Code,
    message: &str,
) -> Response {
    limit_error(status, media, request_id, code, message, json!({}))
}

/// An error with extra `extensions` (the limit and the measured value).
fn limit_error(
    status: StatusCode,
    media: MediaType,
    request_id: &RequestId,
    code: Code,
    message: &str,
    extra: serde_json::Value,
) -> Response {
    let mut extensions = json!({ "code": code.as_str(), "requestId": request_id.0 });
    if let (Some(extensions), serde_json::Value::Object(extra)) =
        (extensions.as_object_mut(), extra)
    {
        extensions.extend(extra);
    }
    let body = json!({ "errors": [{ "message": message, "extensions": extensions }] });
    respond(status, media, request_id, body.to_string().into_bytes())
}

/// The status of a document refused before it ran: 400 under the
/// graphql-response media type, 200 for legacy JSON clients.
fn request_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

/// A panic that escaped a request: logged with its own id, answered 500.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let request_id = RequestId(format!("{:016x}", rand::rng().random::<u64>()));
    log_panic(&request_id, panic.as_ref());
    internal_error(MediaType::Json, &request_id)
}

fn log_panic(request_id: &RequestId, panic: &(dyn Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(request_id = %request_id.0, panic = %message, "a request panicked");
}

fn internal_error(media: MediaType, request_id: &RequestId) -> Response {
    coded_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        media,
        request_id,
        Code::InternalServerError,
        "internal error",
    )
}

/// The caller's access, or the 401 answer (RFC 6750) when the token is
/// missing or does not verify.
#[allow(clippy::result_large_err)] // the error is the finished answer, built once per refusal
fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    request_id: &RequestId,
) -> Result<Arc<Access>, Response> {
    let Some(authenticator) = &state.authenticator else {
        return Ok(Arc::new(Access::unrestricted()));
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    authenticator
        .authenticate(authorization)
        .map(Arc::new)
        .map_err(|error: AuthError| {
            tracing::info!(request_id = %request_id.0, %error, "request refused: not authenticated");
            let mut response = coded_error(
                StatusCode::UNAUTHORIZED,
                media,
                request_id,
                Code::Unauthenticated,
                &error.to_string(),
            );
            if let Ok(challenge) = HeaderValue::from_str(&error.challenge()) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            response
        })
}

/// Refuses what must not reach the parser: no query at all, a query over
/// the size limit or nested deep enough to exhaust the parser's stack, and
/// NUL characters (no id holds one; PostgreSQL refuses them in text).
fn screen(
    state: &AppState,
    request: &async_graphql::Request,
    media: MediaType,
    request_id: &RequestId,
) -> Option<Response> {
    let limits = state.limits;
    let query = &request.query;
    if query.trim().is_empty() {
        return Some(http_error(
            StatusCode::BAD_REQUEST,
            media,
            request_id,
            "the request has no `query`: send the GraphQL document to run (or a persisted query's hash)",
        ));
    }
    if query.contains('\0') {
        return Some(coded_error(
            request_error_status(media),
            media,
            request_id,
            Code::GraphqlParseFailed,
            "the query text holds a NUL character (U+0000), which GraphQL source text cannot contain",
        ));
    }
    if query.len() > limits.max_query_bytes {
        return Some(limit_error(
            request_error_status(media),
            media,
            request_id,
            Code::QueryTooComplex,
            &format!(
                "the query text is {} bytes, above the limit of {} bytes (--max-query-bytes)",
                query.len(),
                limits.max_query_bytes
            ),
            json!({ "limit": "queryBytes", "maximum": limits.max_query_bytes, "actual": query.len() }),
        ));
    }
    let nesting = screening::bracket_nesting(query, screening::MAX_NESTING);
    if nesting > screening::MAX_NESTING {
        return Some(limit_error(
            request_error_status(media),
            media,
            request_id,
            Code::QueryTooComplex,
            &format!(
                "the query nests brackets ({{, [, () at least {nesting} deep, above the limit of {}",
                screening::MAX_NESTING
            ),
            json!({ "limit": "nesting", "maximum": screening::MAX_NESTING, "actual": nesting }),
        ));
    }
    if screening::holds_nul(query, &request.variables) {
        return Some(http_error(
            StatusCode::BAD_REQUEST,
            media,
            request_id,
            "the request holds a NUL character (U+0000) in the query or a variable; no id or value can contain one",
        ));
    }
    None
}

/// Replaces a persisted query's hash by its text; the answer when that fails.
fn refuse_persisted(
    state: &AppState,
    request: &mut async_graphql::Request,
    media: MediaType,
    request_id: &RequestId,
) -> Option<Response> {
    state
        .persisted_queries
        .resolve(request)
        .err()
        .map(|error| match error {
            // Status 200: the client's next step is to resend with the text.
            PersistedQueryError::NotFound => coded_error(
                StatusCode::OK,
                media,
                request_id,
                Code::PersistedQueryNotFound,
                &error.to_string(),
            ),
            _ => http_error(
                StatusCode::BAD_REQUEST,
                media,
                request_id,
                &error.to_string(),
            ),
        })
}

pub async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request_id = request_id(&headers);
    let Some(media) = negotiate(&headers) else {
        return not_acceptable(&request_id);
    };
    let access = match authenticate(&state, &headers, media, &request_id) {
        Ok(access) => access,
        Err(response) => return response,
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = state.limits.max_body_bytes;
            let size = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .map(|length| format!("{length} bytes"))
                .unwrap_or_else(|| format!("over {limit} bytes"));
            return limit_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                &request_id,
                Code::BadUserInput,
                &format!(
                    "the request body is {size}, above the limit of {limit} bytes (--max-body-bytes)"
                ),
                json!({ "limit": "bodyBytes", "maximum": limit }),
            );
        }
        Err(rejection) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                media,
                &request_id,
                &format!("the request body could not be read: {rejection}"),
            );
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != JSON {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            &request_id,
            &format!("POST /graphql takes Content-Type: application/json (got {content_type:?})"),
        );
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                media,
                &request_id,
                &format!(
                    "the body is not a GraphQL request ({{\"query\": ..., \"variables\": ..., \"operationName\": ...}}): {error}"
                ),
            );
        }
    };
    if let Some(response) = refuse_persisted(&state, &mut request, media, &request_id) {
        return response;
    }
    if let Some(response) = screen(&state, &request, media, &request_id) {
        return response;
    }
    execute(&state, request, media, request_id, access).await
}

pub async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request_id = request_id(&headers);
    let Some(media) = negotiate(&headers) else {
        return not_acceptable(&request_id);
    };
    let access = match authenticate(&state, &headers, media, &request_id) {
        Ok(access) => access,
        Err(response) => return response,
    };
    let mut request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or(""))
    {
        Ok(request) => request,
        Err(error) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                media,
                &request_id,
                &format!("invalid GET parameters: {error}"),
            );
        }
    };
    if let Some(response) = refuse_persisted(&state, &mut request, media, &request_id) {
        return response;
    }
    if let Some(response) = screen(&state, &request, media, &request_id) {
        return response;
    }
    if is_mutation(&mut request) {
        let mut response = http_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            &request_id,
            "mutations are only accepted with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, request, media, request_id, access).await
}

fn not_acceptable(request_id: &RequestId) -> Response {
    http_error(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        request_id,
        "the response can be application/graphql-response+json or application/json",
    )
}

/// Whether the operation a GET would run is a mutation (GET must not change data).
///
/// The document is parsed once and kept in the request, which the engine
/// then runs without parsing it again.
fn is_mutation(request: &mut async_graphql::Request) -> bool {
    let wanted = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false; // execution reports the parse error
    };
    // An ambiguous document (several operations, no name) is refused by
    // validation; GET must still never run a mutation in it.
    match graphql::operation_type(document, wanted.as_deref()) {
        Some(ty) => ty == OperationType::Mutation,
        None => {
            wanted.is_none()
                && document
                    .operations
                    .iter()
                    .any(|(_, operation)| operation.node.ty == OperationType::Mutation)
        }
    }
}

async fn execute(
    state: &AppState,
    mut request: async_graphql::Request,
    media: MediaType,
    request_id: RequestId,
    access: Arc<Access>,
) -> Response {
    if !state.database.is_ready() {
        return coded_error(
            StatusCode::SERVICE_UNAVAILABLE,
            media,
            &request_id,
            Code::ServiceUnavailable,
            "the database is not ready yet (unreachable or migrating); try again",
        );
    }
    let limits = state.limits;
    // Measured before validation, so a hostile document costs its parse
    // and this walk, never a validation or an execution. A document that
    // does not parse is left to `graphql::execute` to report.
    // Moved out and back rather than cloned: the parsed document borrows
    // the request while the walk reads the variables.
    let operation_name = request.operation_name.take();
    let variables = std::mem::take(&mut request.variables);
    let measured = match state.parsed_documents.parse(&mut request) {
        Ok(document) if !state.introspection && screening::selects_introspection(document) => {
            return coded_error(
                request_error_status(media),
                media,
                &request_id,
                Code::GraphqlValidationFailed,
                "introspection (`__schema`, `__type`) is disabled on this server (--disable-introspection)",
            );
        }
        Ok(document) => {
            if let Some(cycle) = screening::fragment_cycle(document) {
                return coded_error(
                    request_error_status(media),
                    media,
                    &request_id,
                    Code::GraphqlValidationFailed,
                    &format!("fragments must not spread themselves: {cycle}"),
                );
            }
            check_limits(
                document,
                operation_name.as_deref(),
                &variables,
                &limits.query,
            )
        }
        Err(_) => Ok(Default::default()),
    };
    request.operation_name = operation_name;
    request.variables = variables;
    let measured = match measured {
        Ok(measured) => measured,
        Err(exceeded) => {
            tracing::info!(request_id = %request_id.0, %exceeded, "request refused: over a limit");
            return limit_error(
                request_error_status(media),
                media,
                &request_id,
                Code::QueryTooComplex,
                &exceeded.to_string(),
                json!({ "limit": exceeded.limit.name(), "maximum": exceeded.maximum, "actual": exceeded.actual }),
            );
        }
    };
    if let Some(limiter) = &state.rate_limiter {
        let caller = access.subject().unwrap_or("anonymous");
        if let Err(limited) = limiter.check(caller, measured.cost) {
            let mut response = limit_error(
                StatusCode::TOO_MANY_REQUESTS,
                media,
                &request_id,
                Code::QueryTooComplex,
                &limited.to_string(),
                json!({ "limit": "rateLimit", "cost": limited.cost, "retryAfterSeconds": limited.retry_after.as_secs().max(1) }),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(limited.retry_after.as_secs().max(1)),
            );
            return response;
        }
    }
    // The semaphore is never closed, so acquiring only waits.
    let _slot = state.execution_slots.acquire().await.ok();
    let started = std::time::Instant::now();
    let run = graphql::execute(
        &state.schema,
        state.db.clone(),
        request,
        request_id.clone(),
        access,
    );
    let outcome = tokio::time::timeout(limits.timeout, AssertUnwindSafe(run).catch_unwind()).await;
    let mut response = match outcome {
        Ok(Ok(response)) => response,
        Ok(Err(panic)) => {
            log_panic(&request_id, panic.as_ref());
            state.metrics.observe_request(started.elapsed(), true);
            return internal_error(media, &request_id);
        }
        Err(_) => {
            tracing::warn!(request_id = %request_id.0, timeout = ?limits.timeout, "request timed out");
            state.metrics.observe_request(started.elapsed(), true);
            let status = match media {
                MediaType::GraphqlResponse => StatusCode::GATEWAY_TIMEOUT,
                MediaType::Json => StatusCode::OK,
            };
            return limit_error(
                status,
                media,
                &request_id,
                Code::QueryTooComplex,
                &format!(
                    "the request ran longer than the limit of {} s (--request-timeout) and was cancelled; changes it was making were rolled back",
                    limits.timeout.as_secs_f64()
                ),
                json!({ "limit": "timeoutSeconds", "maximum": limits.timeout.as_secs_f64() }),
            );
        }
    };
    state
        .metrics
        .observe_request(started.elapsed(), !response.errors.is_empty());
    response.errors = response
        .errors
        .into_iter()
        // Resolver and engine errors were coded inside the schema; what is
        // left failed before execution (e.g. an unknown operationName).
        .map(|e| finish_server_error(e, Code::GraphqlValidationFailed, &request_id))
        .collect();
    // A request error (the document never ran) is 400 under the
    // graphql-response media type (403 when the token's scope refused it);
    // legacy JSON is always 200.
    let request_error_code = response
        .errors
        .iter()
        .filter(|e| e.path.is_empty())
        .find_map(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code")).cloned();
            [
                Code::GraphqlParseFailed,
                Code::GraphqlValidationFailed,
                Code::Forbidden,
            ]
            .into_iter()
            .find(|c| code == Some(c.as_str().into()))
        });
    let status = match (media, request_error_code) {
        (MediaType::GraphqlResponse, Some(Code::Forbidden)) => StatusCode::FORBIDDEN,
        (MediaType::GraphqlResponse, Some(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    // A document that never ran has no `data` entry at all (GraphQL spec,
    // "Response Format"; GraphQL over HTTP): `"data": null` would say that
    // execution started and a non-null root field failed.
    let serialized = if request_error_code.is_some() && response.data == async_graphql::Value::Null
    {
        serde_json::to_vec(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_vec(&response)
    };
    match serialized {
        Ok(body) => respond(status, media, &request_id, body),
        Err(error) => {
            tracing::error!(request_id = %request_id.0, %error, "serialising a response");
            internal_error(media, &request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same layer `server::router` installs, around a handler that
    /// panics: the client gets a coded 500 and the next request is served.
    #[tokio::test]
    async fn a_panicking_request_is_answered_500_and_the_server_serves_on() {
        use axum::routing::get;
        async fn boom() -> &'static str {
            panic!("resolver bug")
        }
        let app = axum::Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "ok" }))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let get = |path: &'static str| async move {
            let mut stream = tokio::net::TcpStream::connect(address)
                .await
                .expect("connect");
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            stream
                .write_all(
                    format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await
                .expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("read");
            answer
        };
        let answer = get("/boom").await;
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        assert!(
            answer.contains(r#""code":"INTERNAL_SERVER_ERROR""#),
            "{answer}"
        );
        assert!(answer.contains(r#""requestId""#), "{answer}");
        assert!(!answer.contains("resolver bug"), "{answer}");
        assert!(get("/fine").await.starts_with("HTTP/1.1 200"));
    }
}
