//! GraphQL over HTTP (the GraphQL-over-HTTP spec): `POST /graphql` with a
//! JSON body, `GET /graphql` with query parameters, answered as
//! `application/graphql-response+json` when the client accepts it (request
//! errors then get status 400) and as legacy `application/json` otherwise.
//!
//! This module is the transport only: media types, bodies and status codes.
//! What a request must pass is [`crate::admission`]'s; running it is
//! [`Gateway::execute`]'s.

use std::any::Any;
use std::sync::Arc;

use async_graphql_axum::GraphQLProtocol;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;

use crate::admission::{Mutations, Refusal, RefusalKind};
use crate::codes::Code;
use crate::gateway::{Gateway, internal_error, log_panic};
use crate::graphql::errors::RequestId;
use crate::store::consistency::{self, WalPosition};

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

/// A refusal as HTTP answers it.
struct Refused {
    refusal: Refusal,
    media: MediaType,
    request_id: RequestId,
}

impl Refused {
    /// A document refused before it ran is 400 under the graphql-response
    /// media type and 200 for legacy JSON clients.
    fn status(&self) -> StatusCode {
        let request_error = match self.media {
            MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        };
        match self.refusal.kind {
            RefusalKind::Malformed => StatusCode::BAD_REQUEST,
            RefusalKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RefusalKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RefusalKind::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            RefusalKind::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            RefusalKind::Forbidden => match self.media {
                MediaType::GraphqlResponse => StatusCode::FORBIDDEN,
                MediaType::Json => StatusCode::OK,
            },
            RefusalKind::ParseFailed | RefusalKind::Invalid | RefusalKind::OverLimit => {
                request_error
            }
            // The client's next step is to resend with the text.
            RefusalKind::PersistedQueryNotFound => StatusCode::OK,
            RefusalKind::MutationNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RefusalKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            RefusalKind::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            RefusalKind::TimedOut => match self.media {
                MediaType::GraphqlResponse => StatusCode::GATEWAY_TIMEOUT,
                MediaType::Json => StatusCode::OK,
            },
            RefusalKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match &self.refusal.kind {
            RefusalKind::Internal => {}
            kind => {
                tracing::info!(request_id = %self.request_id.0, ?kind, reason = %self.refusal.message, "request refused");
            }
        }
        let body = json!({ "errors": [self.refusal.error(&self.request_id.0)] });
        let mut response = respond(
            self.status(),
            self.media,
            &self.request_id,
            body.to_string().into_bytes(),
        );
        let headers = response.headers_mut();
        match &self.refusal.kind {
            RefusalKind::Unauthenticated { challenge } => {
                if let Ok(challenge) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, challenge);
                }
            }
            RefusalKind::MutationNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            // The rest of the body was never read, so the connection cannot
            // carry another request: say so, or a client that reuses it
            // fails its next request.
            RefusalKind::BodyTooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            RefusalKind::RateLimited {
                retry_after_seconds,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}

/// A panic that escaped a request: logged with its own id, answered 500.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let request_id = RequestId(format!("{:016x}", rand::rng().random::<u64>()));
    log_panic(&request_id, panic.as_ref());
    Refused {
        refusal: internal_error(),
        media: MediaType::Json,
        request_id,
    }
    .into_response()
}

/// The pieces of an HTTP request every GraphQL request starts from.
struct Incoming {
    media: MediaType,
    request_id: RequestId,
    /// How fresh the caller's reads must be: the `Sessiongraph-Consistency`
    /// of a mutation's answer, sent back.
    written: WalPosition,
}

impl Incoming {
    fn refuse(&self, refusal: Refusal) -> Response {
        Refused {
            refusal,
            media: self.media,
            request_id: self.request_id.clone(),
        }
        .into_response()
    }
}

fn malformed(message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalKind::Malformed, message)
}

/// The POST body as a GraphQL request.
fn decode_body(
    gateway: &Gateway,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<async_graphql::Request, Refusal> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = gateway.admission.limits().max_body_bytes;
            let size = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .map(|length| format!("{length} bytes"))
                .unwrap_or_else(|| format!("over {limit} bytes"));
            return Err(Refusal::new(
                RefusalKind::BodyTooLarge,
                format!(
                    "the request body is {size}, above the limit of {limit} bytes (--max-body-bytes)"
                ),
            )
            .with_details(json!({ "limit": "bodyBytes", "maximum": limit })));
        }
        Err(rejection) => {
            return Err(malformed(format!(
                "the request body could not be read: {rejection}"
            )));
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
        return Err(Refusal::new(
            RefusalKind::UnsupportedMediaType,
            format!("POST /graphql takes Content-Type: application/json (got {content_type:?})"),
        ));
    }
    serde_json::from_slice(&body).map_err(|error| {
        malformed(format!(
            "the body is not a GraphQL request ({{\"query\": ..., \"variables\": ..., \"operationName\": ...}}): {error}"
        ))
    })
}

/// Negotiates the answer's media type and authenticates the caller; the
/// 406 or 401 answer when either fails.
#[allow(clippy::result_large_err)] // the error is the finished answer, built once per refusal
fn incoming(
    gateway: &Gateway,
    headers: &HeaderMap,
) -> Result<(Incoming, Arc<crate::auth::Access>), Response> {
    let request_id = request_id(headers);
    let Some(media) = negotiate(headers) else {
        return Err(Refused {
            refusal: Refusal::new(
                RefusalKind::NotAcceptable,
                "the response can be application/graphql-response+json or application/json",
            ),
            media: MediaType::Json,
            request_id,
        }
        .into_response());
    };
    let mut incoming = Incoming {
        media,
        request_id,
        written: WalPosition::default(),
    };
    if let Some(token) = headers.get(consistency::HEADER) {
        match token
            .to_str()
            .map_err(|_| String::new())
            .and_then(WalPosition::from_token)
        {
            Ok(written) => incoming.written = written,
            Err(message) => {
                let message = if message.is_empty() {
                    format!("the {} header is not text", consistency::HEADER)
                } else {
                    message
                };
                return Err(incoming.refuse(malformed(message)));
            }
        }
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match gateway.admission.authenticate(authorization) {
        Ok(access) => Ok((incoming, access)),
        Err(refusal) => Err(incoming.refuse(refusal)),
    }
}

pub async fn graphql_post(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (incoming, access) = match incoming(&gateway, &headers) {
        Ok(started) => started,
        Err(response) => return response,
    };
    let request = match decode_body(&gateway, &headers, body) {
        Ok(request) => request,
        Err(refusal) => return incoming.refuse(refusal),
    };
    run(&gateway, incoming, request, access, Mutations::Allowed).await
}

/// `GET /graphql`: a query in the query string, or the upgrade to a
/// GraphQL WebSocket (`crate::websocket`).
pub async fn graphql_get(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
) -> Response {
    if let (Ok(upgrade), Ok(protocol)) = (upgrade, protocol) {
        return crate::websocket::upgrade(gateway, upgrade, protocol).await;
    }
    let (incoming, access) = match incoming(&gateway, &headers) {
        Ok(started) => started,
        Err(response) => return response,
    };
    let request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(error) => {
            return incoming.refuse(malformed(format!("invalid GET parameters: {error}")));
        }
    };
    run(&gateway, incoming, request, access, Mutations::Refused).await
}

async fn run(
    gateway: &Gateway,
    incoming: Incoming,
    request: async_graphql::Request,
    access: Arc<crate::auth::Access>,
    mutations: Mutations,
) -> Response {
    let admitted = match gateway.admission.admit(request, access, mutations).await {
        Ok(admitted) => admitted,
        Err(refusal) => return incoming.refuse(refusal),
    };
    let response = match gateway
        .execute(admitted, &incoming.request_id, incoming.written)
        .await
    {
        Ok(response) => response,
        Err(refusal) => return incoming.refuse(refusal),
    };
    // A request error (the document never ran) is 400 under the
    // graphql-response media type; legacy JSON is always 200.
    let request_error = response
        .errors
        .iter()
        .filter(|e| e.path.is_empty())
        .any(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code")).cloned();
            [Code::GraphqlParseFailed, Code::GraphqlValidationFailed]
                .into_iter()
                .any(|c| code == Some(c.as_str().into()))
        });
    let status = match (incoming.media, request_error) {
        (MediaType::GraphqlResponse, true) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    // A document that never ran has no `data` entry at all (GraphQL spec,
    // "Response Format"; GraphQL over HTTP): `"data": null` would say that
    // execution started and a non-null root field failed.
    let serialized = if request_error && response.data == async_graphql::Value::Null {
        serde_json::to_vec(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_vec(&response)
    };
    match serialized {
        Ok(body) => {
            let mut answer = respond(status, incoming.media, &incoming.request_id, body);
            // Headers the resolvers set (a mutation's consistency token).
            answer.headers_mut().extend(response.http_headers);
            answer
        }
        Err(error) => {
            tracing::error!(request_id = %incoming.request_id.0, %error, "serialising a response");
            incoming.refuse(internal_error())
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
