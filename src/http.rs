//! GraphQL over HTTP (the GraphQL-over-HTTP spec): `POST /graphql` with a
//! JSON body, `GET /graphql` with query parameters, answered as
//! `application/graphql-response+json` when the client accepts it (request
//! errors then get status 400) and as legacy `application/json` otherwise.

use async_graphql::parser::types::OperationType;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;

use crate::graphql;
use crate::graphql::errors::{Code, RequestId, finish_server_error};
use crate::persisted_queries::PersistedQueryError;
use crate::server::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

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
    let body = json!({
        "errors": [{
            "message": message,
            "extensions": { "code": code.as_str(), "requestId": request_id.0 }
        }]
    });
    respond(status, media, request_id, body.to_string().into_bytes())
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
    body: Bytes,
) -> Response {
    let request_id = request_id(&headers);
    let Some(media) = negotiate(&headers) else {
        return not_acceptable(&request_id);
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
    execute(&state, request, media, request_id).await
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
    execute(&state, request, media, request_id).await
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
    document.operations.iter().any(|(name, operation)| {
        let selected = match (wanted.as_deref(), name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && operation.node.ty == OperationType::Mutation
    })
}

async fn execute(
    state: &AppState,
    request: async_graphql::Request,
    media: MediaType,
    request_id: RequestId,
) -> Response {
    // The semaphore is never closed, so acquiring only waits.
    let _slot = state.execution_slots.acquire().await.ok();
    let started = std::time::Instant::now();
    let mut response =
        graphql::execute(&state.schema, state.db.clone(), request, request_id.clone()).await;
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
    // graphql-response media type; legacy JSON is always 200.
    let request_error = response.errors.iter().any(|e| {
        let code = e.extensions.as_ref().and_then(|x| x.get("code")).cloned();
        code == Some(Code::GraphqlParseFailed.as_str().into())
            || code == Some(Code::GraphqlValidationFailed.as_str().into())
    });
    let status = if media == MediaType::GraphqlResponse && request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match serde_json::to_vec(&response) {
        Ok(body) => respond(status, media, &request_id, body),
        Err(error) => {
            tracing::error!(request_id = %request_id.0, %error, "serialising a response");
            http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                &request_id,
                "internal error",
            )
        }
    }
}
