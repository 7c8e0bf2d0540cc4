//! GraphQL over HTTP (the GraphQL-over-HTTP spec): `POST /graphql` with a
//! JSON body, `GET /graphql` with query parameters, answered as
//! `application/graphql-response+json` when the client accepts it (request
//! errors then get status 400) and as legacy `application/json` otherwise.
//! A POSTed JSON array is a batch (Apollo's `BatchHttpLink`, Relay's
//! batching layers): its requests run in order and answer an array. A
//! client that accepts `text/event-stream` gets its subscriptions (and,
//! when it accepts nothing else, every operation) as an event stream
//! ([`crate::sse`]).
//!
//! This module is the transport only: media types, bodies and status codes.
//! What a request must pass is [`crate::admission`]'s; running it is
//! [`Gateway::execute`]'s.

use std::any::Any;
use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql_axum::GraphQLProtocol;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde_json::json;
use serde_json::value::RawValue;
use tracing::Instrument;

use crate::admission::{Admitted, Mutations, Refusal, RefusalKind, after_unpaid_entry};
use crate::gateway::{Gateway, internal_error, log_panic};
use crate::graphql::errors::RequestId;
use crate::store::consistency::{self, WalPosition};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
    /// `text/event-stream` and no JSON type: every operation streams.
    EventStream,
}

impl MediaType {
    /// The type of a JSON body: an answer, or the refusal of a request
    /// that asked for a stream.
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json | MediaType::EventStream => "application/json; charset=utf-8",
        }
    }
}

/// What a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Accepted {
    /// How an answer that is not a stream is written.
    media: MediaType,
    /// It reads event streams: a subscription streams.
    event_stream: bool,
}

/// Reads `Accept`; `None` when the client accepts no type this server
/// answers in (406). No `Accept` means legacy JSON. A JSON type listed
/// beside `text/event-stream` (urql's fetch lists both) keeps queries and
/// mutations in JSON: only subscriptions stream then.
fn negotiate(headers: &HeaderMap) -> Option<Accepted> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Accepted {
            media: MediaType::Json,
            event_stream: false,
        });
    };
    let ranges: Vec<&str> = accept
        .split(',')
        .map(|range| range.split(';').next().unwrap_or("").trim())
        .collect();
    let lists = |wanted: &str| ranges.iter().any(|r| r.eq_ignore_ascii_case(wanted));
    let event_stream = lists(crate::sse::EVENT_STREAM);
    let media = if lists(GRAPHQL_RESPONSE) {
        MediaType::GraphqlResponse
    } else if lists(JSON) || lists("application/*") || lists("*/*") {
        MediaType::Json
    } else if event_stream {
        MediaType::EventStream
    } else {
        return None;
    };
    Some(Accepted {
        media,
        event_stream,
    })
}

/// Whether a request asks for an event stream: the requests whose origin
/// the CORS layer checks as it does a socket's.
pub fn asks_for_event_stream(headers: &HeaderMap) -> bool {
    negotiate(headers).is_some_and(|accepted| accepted.event_stream)
}

fn respond(status: StatusCode, media: MediaType, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
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
    /// media type and 200 for legacy JSON clients. A client that asked
    /// for a stream gets graphql-response's statuses: it reads a 200 as
    /// the stream.
    fn status(&self) -> StatusCode {
        let request_error = match self.media {
            MediaType::GraphqlResponse | MediaType::EventStream => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        };
        match self.refusal.kind {
            RefusalKind::Malformed => StatusCode::BAD_REQUEST,
            RefusalKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RefusalKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RefusalKind::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            RefusalKind::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            RefusalKind::OriginNotAllowed => StatusCode::FORBIDDEN,
            RefusalKind::Forbidden => match self.media {
                MediaType::GraphqlResponse | MediaType::EventStream => StatusCode::FORBIDDEN,
                MediaType::Json => StatusCode::OK,
            },
            RefusalKind::ParseFailed
            | RefusalKind::Invalid
            | RefusalKind::OverLimit
            | RefusalKind::TrustedDocumentRequired => request_error,
            // The client's next step is to resend with the text.
            RefusalKind::PersistedQueryNotFound => StatusCode::OK,
            RefusalKind::MutationNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RefusalKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            RefusalKind::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            RefusalKind::TimedOut => match self.media {
                MediaType::GraphqlResponse | MediaType::EventStream => StatusCode::GATEWAY_TIMEOUT,
                MediaType::Json => StatusCode::OK,
            },
            RefusalKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of a refused request (or batch entry), logged once here; an
/// internal failure was logged where it happened.
fn refusal_body(refusal: &Refusal, request_id: &RequestId) -> Vec<u8> {
    refusal_text(refusal, request_id).into_bytes()
}

fn refusal_text(refusal: &Refusal, request_id: &RequestId) -> String {
    if refusal.kind != RefusalKind::Internal {
        tracing::info!(request_id = %request_id.0, kind = ?refusal.kind, reason = %refusal.message, "request refused");
    }
    json!({ "errors": [refusal.error(&request_id.0)] }).to_string()
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status = self.status();
        if self.media == MediaType::EventStream && status == StatusCode::OK {
            let body = refusal_text(&self.refusal, &self.request_id);
            return crate::sse::refused(body);
        }
        let body = refusal_body(&self.refusal, &self.request_id);
        let mut response = respond(status, self.media, body);
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

/// Every HTTP request runs inside this: it gets its id (the only place
/// one is made; batch entries and socket operations derive theirs), the
/// span its log lines and trace hang under, and the `x-request-id` answer
/// header. A panic anywhere in the request is answered here, coded 500
/// with that id, while the server keeps serving.
pub async fn request_scope(
    State(metrics): State<Arc<crate::metrics::Metrics>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let request_id = RequestId::new(given);
    let span = crate::telemetry::request_span(
        &request_id.0,
        request.method().as_str(),
        request.uri().path(),
        request.headers(),
    );
    request.extensions_mut().insert(request_id.clone());
    let handled = std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .instrument(span.clone());
    let outcome = crate::telemetry::with_request_id(&request_id.0, handled).await;
    let mut response = match outcome {
        Ok(response) => response,
        Err(panic) => span.in_scope(|| panic_response(&request_id, panic)),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    metrics.count_response(response.status().as_u16());
    crate::telemetry::answered(&span, &mut response);
    response
}

/// A panic that escaped a request: logged with the request's id, answered 500.
pub fn panic_response(request_id: &RequestId, panic: Box<dyn Any + Send + 'static>) -> Response {
    log_panic(request_id, panic.as_ref());
    Refused {
        refusal: internal_error(),
        media: MediaType::Json,
        request_id: request_id.clone(),
    }
    .into_response()
}

/// A request refused before it was read (by the layers in front of the
/// handlers), answered in the media type it accepts.
pub fn refuse(headers: &HeaderMap, request_id: &RequestId, refusal: Refusal) -> Response {
    Refused {
        refusal,
        media: negotiate(headers).map_or(MediaType::Json, |accepted| accepted.media),
        request_id: request_id.clone(),
    }
    .into_response()
}

/// The pieces of an HTTP request every GraphQL request starts from.
struct Incoming {
    media: MediaType,
    /// The client reads event streams.
    event_stream: bool,
    request_id: RequestId,
    /// How fresh the caller's reads must be: the `Sessiongraph-Consistency`
    /// of a mutation's answer, sent back.
    written: WalPosition,
}

impl Incoming {
    /// Whether an operation of this type is answered as an event stream.
    fn streams(&self, operation_type: Option<OperationType>) -> bool {
        self.media == MediaType::EventStream
            || (self.event_stream && operation_type == Some(OperationType::Subscription))
    }

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

/// The POST body, within the size limit and of JSON's media type.
fn read_body(
    gateway: &Gateway,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, Refusal> {
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
    Ok(body)
}

/// What a POST body holds.
// Moved once, out of `parse_body`; boxing the request would cost an
// allocation on every single request, the common case, to save bytes of
// stack on the rare batch.
#[allow(clippy::large_enum_variant)]
enum Posted<'body> {
    One(async_graphql::Request),
    /// The entries of an array, each still to be read as a request.
    Batch(Vec<&'body RawValue>),
}

const REQUEST_SHAPE: &str = "{\"query\": ..., \"variables\": ..., \"operationName\": ...}";

fn parse_body(body: &[u8], max_batch_size: usize) -> Result<Posted<'_>, Refusal> {
    let array = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if !array {
        return serde_json::from_slice(body)
            .map(Posted::One)
            .map_err(|error| {
                malformed(format!(
                    "the body is not a GraphQL request ({REQUEST_SHAPE}): {error}"
                ))
            });
    }
    if max_batch_size == 0 {
        return Err(malformed(
            "this server takes one request per POST (--max-batch-size 0): send a request object, not an array",
        )
        .with_details(json!({ "limit": "batchSize", "maximum": 0 })));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let batch = serde::Deserializer::deserialize_seq(
        &mut reader,
        BatchVisitor {
            keep: max_batch_size,
        },
    )
    .and_then(|batch| reader.end().map(|()| batch))
    .map_err(|error| malformed(format!("the body is not a JSON array of requests: {error}")))?;
    if batch.entries.is_empty() {
        return Err(malformed(
            "the batch is empty: send at least one request object ({\"query\": ...}) in the array",
        ));
    }
    if batch.length > max_batch_size {
        return Err(malformed(format!(
            "the batch holds {} requests, above the limit of {max_batch_size} (--max-batch-size); nothing in it ran",
            batch.length
        ))
        .with_details(json!({ "limit": "batchSize", "maximum": max_batch_size, "actual": batch.length })));
    }
    Ok(Posted::Batch(batch.entries))
}

/// An array's first `keep` entries, unread, and its length: the entries
/// past the limit are only skipped over, so an oversized array costs one
/// pass over its bytes (bounded by `--max-body-bytes`) and no memory.
struct BatchVisitor {
    keep: usize,
}

struct Batch<'body> {
    entries: Vec<&'body RawValue>,
    length: usize,
}

impl<'body> Visitor<'body> for BatchVisitor {
    type Value = Batch<'body>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of GraphQL requests")
    }

    fn visit_seq<A: SeqAccess<'body>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut batch = Batch {
            entries: Vec::new(),
            length: 0,
        };
        loop {
            let more = if batch.length < self.keep {
                seq.next_element::<&RawValue>()?
                    .map(|entry| batch.entries.push(entry))
                    .is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(batch);
            }
            batch.length += 1;
        }
    }
}

/// The `index`th entry of a batch as a request.
fn batch_entry(index: usize, entry: &RawValue) -> Result<async_graphql::Request, Refusal> {
    let is_object = entry.get().trim_start().starts_with('{');
    let request = if is_object {
        serde_json::from_str(entry.get()).map_err(|error| {
            format!(
                "entry {index} of the batch is not a GraphQL request ({REQUEST_SHAPE}): {error}"
            )
        })
    } else {
        Err(format!(
            "entry {index} of the batch is not a GraphQL request object ({REQUEST_SHAPE})"
        ))
    };
    request.map_err(|message| malformed(message).with_details(json!({ "batchIndex": index })))
}

/// Negotiates the answer's media type and authenticates the caller; the
/// 406 or 401 answer when either fails.
#[allow(clippy::result_large_err)] // the error is the finished answer, built once per refusal
fn incoming(
    gateway: &Gateway,
    headers: &HeaderMap,
    request_id: RequestId,
) -> Result<(Incoming, Arc<crate::auth::Access>), Response> {
    let Some(accepted) = negotiate(headers) else {
        return Err(Refused {
            refusal: Refusal::new(
                RefusalKind::NotAcceptable,
                "the response can be application/graphql-response+json, application/json or text/event-stream",
            ),
            media: MediaType::Json,
            request_id,
        }
        .into_response());
    };
    let mut incoming = Incoming {
        media: accepted.media,
        event_stream: accepted.event_stream,
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
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (incoming, access) = match incoming(&gateway, &headers, request_id) {
        Ok(started) => started,
        Err(response) => return response,
    };
    let body = match read_body(&gateway, &headers, body) {
        Ok(body) => body,
        Err(refusal) => return incoming.refuse(refusal),
    };
    match parse_body(&body, gateway.admission.limits().max_batch_size) {
        Ok(Posted::One(request)) => {
            run(&gateway, incoming, request, access, Mutations::Allowed).await
        }
        Ok(Posted::Batch(_)) if incoming.media == MediaType::EventStream => {
            incoming.refuse(Refusal::new(
                RefusalKind::NotAcceptable,
                "a batch is answered as one JSON array, never as an event stream: send Accept: application/json, or one request per stream",
            ))
        }
        Ok(Posted::Batch(entries)) => run_batch(&gateway, incoming, &entries, access).await,
        Err(refusal) => incoming.refuse(refusal),
    }
}

/// `GET /graphql`: a query in the query string, or the upgrade to a
/// GraphQL WebSocket (`crate::websocket`).
pub async fn graphql_get(
    State(gateway): State<Arc<Gateway>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
) -> Response {
    if let (Ok(upgrade), Ok(protocol)) = (upgrade, protocol) {
        return crate::websocket::upgrade(gateway, upgrade, protocol, request_id).await;
    }
    let (incoming, access) = match incoming(&gateway, &headers, request_id) {
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
    let span = crate::telemetry::operation_span();
    run_operation(gateway, incoming, request, access, mutations)
        .instrument(span)
        .await
}

async fn run_operation(
    gateway: &Gateway,
    incoming: Incoming,
    request: async_graphql::Request,
    access: Arc<crate::auth::Access>,
    mutations: Mutations,
) -> Response {
    let written = incoming.written;
    let admitted = match gateway.admission.admit(request, access, mutations).await {
        Ok(admitted) => admitted,
        Err(refusal) => return incoming.refuse(refusal),
    };
    if incoming.streams(admitted.operation_type()) {
        return stream(gateway, incoming, admitted).await;
    }
    match execute(gateway, admitted, &incoming.request_id, written).await {
        Ok(Answer {
            body,
            request_error,
            headers,
        }) => {
            // A request error (the document never ran) is 400 under the
            // graphql-response media type; legacy JSON is always 200.
            let status = match (incoming.media, request_error) {
                (MediaType::GraphqlResponse, true) => StatusCode::BAD_REQUEST,
                _ => StatusCode::OK,
            };
            let mut answer = respond(status, incoming.media, body);
            // Headers the resolvers set (a mutation's consistency token).
            answer.headers_mut().extend(headers);
            answer
        }
        Err(refusal) => incoming.refuse(refusal),
    }
}

/// An admitted operation as an event stream. A query or a mutation runs
/// before the stream starts, so its refusals (a timeout, say) are still
/// HTTP answers; a document that fails validation is a result like any
/// other, in a `next` event, as the protocol asks.
async fn stream(gateway: &Gateway, incoming: Incoming, admitted: Admitted) -> Response {
    let slot = match crate::sse::slot(gateway) {
        Ok(slot) => slot,
        Err(refusal) => return incoming.refuse(refusal),
    };
    let request_id = incoming.request_id.clone();
    if admitted.operation_type() == Some(OperationType::Subscription) {
        let expires_at = admitted.access.expires_at();
        let results = gateway
            .subscribe(admitted, request_id.clone(), incoming.written)
            .await;
        return crate::sse::subscription(gateway, slot, results, expires_at, request_id);
    }
    match execute(gateway, admitted, &request_id, incoming.written).await {
        Ok(answer) => {
            let text = String::from_utf8(answer.body).unwrap_or_default();
            let mut response = crate::sse::answered(slot, text);
            response.headers_mut().extend(answer.headers);
            response
        }
        Err(refusal) => incoming.refuse(refusal),
    }
}

/// The entries of a batch, one after another (each sees what the ones
/// before it wrote), each admitted on its own and answered in its place
/// in the array, refused or not: the batch was read, so it is 200.
async fn run_batch(
    gateway: &Gateway,
    incoming: Incoming,
    entries: &[&RawValue],
    access: Arc<crate::auth::Access>,
) -> Response {
    let mut body = vec![b'['];
    // What every entry after the first one the caller's budget could not
    // pay is refused with.
    let mut unpaid: Option<Refusal> = None;
    // Each entry reads at least as fresh as the writes of the entries
    // before it, and the batch's answer says how fresh a later read must be.
    let mut written = incoming.written;
    let mut consistency = None;
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        let request_id = incoming.request_id.entry(index);
        let answered = match &unpaid {
            Some(refusal) => Err(refusal.clone()),
            None => match batch_entry(index, entry) {
                Ok(request) => {
                    answer(
                        gateway,
                        request,
                        access.clone(),
                        Mutations::Allowed,
                        &request_id,
                        written,
                    )
                    .await
                }
                Err(refusal) => Err(refusal),
            },
        };
        match answered {
            Ok(answered) => {
                if let Some(token) = answered.headers.get(consistency::HEADER) {
                    if let Some(position) = token
                        .to_str()
                        .ok()
                        .and_then(|token| WalPosition::from_token(token).ok())
                    {
                        written = written.max(position);
                    }
                    consistency = Some(token.clone());
                }
                body.extend_from_slice(&answered.body);
            }
            Err(refusal) => {
                if unpaid.is_none() {
                    unpaid = after_unpaid_entry(index, &refusal);
                } else {
                    // Refused after the unpaid entry, outside admission.
                    gateway.metrics.count_refused(&refusal);
                }
                body.extend_from_slice(&refusal_body(&refusal, &request_id));
            }
        }
    }
    body.push(b']');
    let mut response = respond(StatusCode::OK, incoming.media, body);
    if let Some(token) = consistency {
        response.headers_mut().insert(consistency::HEADER, token);
    }
    response
}

/// A request's answer, executed.
struct Answer {
    body: Vec<u8>,
    /// The document never ran (it did not parse or validate).
    request_error: bool,
    /// Headers the resolvers set (a mutation's consistency token).
    headers: HeaderMap,
}

/// Admits, runs and writes one request.
async fn answer(
    gateway: &Gateway,
    request: async_graphql::Request,
    access: Arc<crate::auth::Access>,
    mutations: Mutations,
    request_id: &RequestId,
    written: WalPosition,
) -> Result<Answer, Refusal> {
    let span = crate::telemetry::operation_span();
    async move {
        let admitted = gateway.admission.admit(request, access, mutations).await?;
        execute(gateway, admitted, request_id, written).await
    }
    .instrument(span)
    .await
}

/// Runs and writes one admitted request.
async fn execute(
    gateway: &Gateway,
    admitted: Admitted,
    request_id: &RequestId,
    written: WalPosition,
) -> Result<Answer, Refusal> {
    let response = gateway.execute(admitted, request_id, written).await?;
    match crate::gateway::result_body(&response) {
        Ok((body, request_error)) => Ok(Answer {
            body: body.into_bytes(),
            request_error,
            headers: response.http_headers,
        }),
        Err(error) => {
            tracing::error!(request_id = %request_id.0, %error, "serialising a response");
            Err(internal_error())
        }
    }
}

#[cfg(test)]
mod tests {
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
            .layer(axum::middleware::from_fn_with_state(
                crate::metrics::Metrics::new(),
                super::request_scope,
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
