//! GraphQL over Server-Sent Events, the protocol of npm `graphql-sse` in
//! its "distinct connections mode": a request to `/graphql` (POST, or GET
//! with the query string) that accepts `text/event-stream` is answered as
//! an event stream of one operation, each result a `next` event, then
//! `complete`.
//!
//! `http.rs` reads, authenticates and admits the request as it does any
//! other, and answers what it refuses before a stream starts as HTTP does
//! (a status and a JSON body). This module is the stream itself, within
//! the limits a WebSocket keeps: a slot among the streams the process
//! keeps open (`--max-sse-streams`), a keep-alive comment on an idle
//! stream (`--websocket-keepalive`), the end of the stream when the token
//! expires, and when the server stops.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::SystemTime;

use async_graphql::Response;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Sleep;

use crate::admission::{Refusal, RefusalKind};
use crate::gateway::{Gateway, internal_error};
use crate::graphql::errors::RequestId;
use crate::metrics::Open;

/// The media type of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// A stream's place among those the process keeps open, held until its
/// body is dropped: when it ends, or when the client goes away.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    _open: Open,
}

/// A slot for one more stream, or the refusal (503) when the process has
/// as many open as it may.
pub fn slot(gateway: &Gateway) -> Result<Slot, Refusal> {
    let Ok(permit) = gateway.stream_slots.clone().try_acquire_owned() else {
        let limit = gateway.socket_limits.max_event_streams;
        return Err(Refusal::new(
            RefusalKind::NotReady,
            format!(
                "this server has {limit} event streams open, its limit (--max-sse-streams); try again later or another replica"
            ),
        )
        .with_details(json!({ "limit": "sseStreams", "maximum": limit })));
    };
    Ok(Slot {
        _permit: permit,
        _open: gateway.metrics.sse_stream_opened(),
    })
}

/// The stream of a query or a mutation, already answered: its one result,
/// then `complete`.
pub fn answered(slot: Slot, result: String) -> HttpResponse {
    let events = stream::iter([next(result), complete()]).map(move |event| {
        let _ = &slot;
        Ok::<_, Infallible>(event)
    });
    respond(Sse::new(events))
}

/// A refusal that HTTP answers 200 (a persisted query the server does not
/// know, which the client resends with its text), in the stream the
/// client reads: a 200 with a JSON body would read as a broken stream.
pub fn refused(body: String) -> HttpResponse {
    let events = stream::iter([next(body), complete()]).map(Ok::<_, Infallible>);
    respond(Sse::new(events))
}

/// The stream of a subscription: a `next` per result, and `complete` once
/// the results end. When the token expires, a last `next` says so
/// (`UNAUTHENTICATED`) before `complete`; when the server stops, the
/// stream ends without `complete`, which tells a graphql-sse client to
/// connect again, to another process.
pub fn subscription(
    gateway: &Gateway,
    slot: Slot,
    results: BoxStream<'static, Response>,
    expires_at: Option<SystemTime>,
    request_id: RequestId,
) -> HttpResponse {
    let live = Live {
        results,
        expiry: expires_at.map(|at| {
            Box::pin(tokio::time::sleep(
                at.duration_since(SystemTime::now()).unwrap_or_default(),
            ))
        }),
        stopping: gateway.stop.subscribe(),
        request_id,
    };
    let events = stream::unfold(Phase::Live(live), advance).map(move |event| {
        let _ = &slot;
        Ok::<_, Infallible>(event)
    });
    respond(Sse::new(events).keep_alive(KeepAlive::new().interval(gateway.socket_limits.keepalive)))
}

fn respond<S>(sse: Sse<S>) -> HttpResponse
where
    Sse<S>: IntoResponse,
{
    let mut response = sse.into_response();
    // Proxies that buffer answers (nginx does by default) would hold the
    // events back until the buffer fills.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

struct Live {
    results: BoxStream<'static, Response>,
    expiry: Option<Pin<Box<Sleep>>>,
    stopping: watch::Receiver<bool>,
    request_id: RequestId,
}

enum Phase {
    Live(Live),
    /// The last `next` is sent: `complete` follows.
    Completing,
    Done,
}

// Built and matched at once, on the stack: boxing the result would cost
// an allocation per event to save bytes that are never kept.
#[allow(clippy::large_enum_variant)]
enum Turn {
    Result(Option<Response>),
    Expired,
    Stopped,
}

async fn advance(phase: Phase) -> Option<(Event, Phase)> {
    let mut live = match phase {
        Phase::Live(live) => live,
        Phase::Completing => return Some((complete(), Phase::Done)),
        Phase::Done => return None,
    };
    let turn = tokio::select! {
        result = live.results.next() => Turn::Result(result),
        () = expired(&mut live.expiry) => Turn::Expired,
        () = stopped(&mut live.stopping) => Turn::Stopped,
    };
    match turn {
        Turn::Result(Some(response)) => {
            let event = next(result_text(&response, &live.request_id));
            Some((event, Phase::Live(live)))
        }
        Turn::Result(None) => Some((complete(), Phase::Done)),
        Turn::Expired => {
            let expired = Refusal::new(
                RefusalKind::Unauthenticated {
                    challenge: String::new(),
                },
                "the token expired: the subscription ended; subscribe again with a fresh token",
            )
            .graphql_response(Some(&live.request_id.0));
            // The subscription ends here, not once `complete` is read.
            let text = result_text(&expired, &live.request_id);
            drop(live);
            Some((next(text), Phase::Completing))
        }
        Turn::Stopped => None,
    }
}

async fn expired(expiry: &mut Option<Pin<Box<Sleep>>>) {
    match expiry {
        Some(expiry) => expiry.as_mut().await,
        None => std::future::pending().await,
    }
}

async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// A result as the JSON of a `next` event, shaped as HTTP shapes it.
fn result_text(response: &Response, request_id: &RequestId) -> String {
    match crate::gateway::result_body(response) {
        Ok((text, _)) => text,
        Err(error) => {
            tracing::error!(request_id = %request_id.0, %error, "serialising a result");
            json!({ "errors": [internal_error().error(&request_id.0)] }).to_string()
        }
    }
}

fn next(result: String) -> Event {
    Event::default().event("next").data(result)
}

fn complete() -> Event {
    Event::default().event("complete")
}
