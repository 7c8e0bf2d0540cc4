//! GraphQL over WebSocket: the `graphql-transport-ws` protocol (npm
//! `graphql-ws`) at `/graphql`, beside POST and GET.
//!
//! The bearer token comes in `connection_init` (`{"Authorization": "Bearer
//! <token>"}`) and is checked as HTTP checks the header; every operation is
//! admitted exactly like an HTTP request ([`crate::admission`]). The socket
//! closes with 4403 when the token expires, and with 1001 when the server
//! stops. The protocol itself (messages, acknowledgement, ids) is
//! async-graphql's, with the close codes of the protocol (see
//! `vendor/async-graphql/PATCHES.md`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::stream::{BoxStream, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt, future, stream};
use serde_json::json;
use tracing::Instrument;

use crate::admission::{Mutations, Refusal, RefusalKind};
use crate::auth::Access;
use crate::gateway::Gateway;
use crate::graphql::errors::RequestId;
use crate::store::consistency::WalPosition;

/// The close code for a token that expired (the protocol's "Forbidden").
const TOKEN_EXPIRED: u16 = 4403;
/// The protocol's "Connection initialisation timeout".
const INIT_TIMEOUT: u16 = 4408;
/// Bytes a socket's read and write buffers start at. An idle socket keeps
/// its read buffer; what clients send (subscribe, pong) is a few hundred
/// bytes, and a longer message grows the buffer while it is read.
const SOCKET_BUFFER: usize = 1024;
/// RFC 6455: the server is going away.
const GOING_AWAY: u16 = 1001;
/// How long a socket stays open after the server sent its close frame. A
/// socket dropped with input still unread (the rest of an oversized
/// message, say) is reset, and the reset can discard the close frame
/// before the client reads it.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

/// The upgrade of `GET /graphql` to a socket, or 503 when this process has
/// as many sockets open as it may.
pub async fn upgrade(
    gateway: Arc<Gateway>,
    upgrade: WebSocketUpgrade,
    protocol: GraphQLProtocol,
    request_id: RequestId,
) -> HttpResponse {
    let Ok(permit) = gateway.socket_slots.clone().try_acquire_owned() else {
        let limit = gateway.socket_limits.max_sockets;
        let body = json!({ "errors": [Refusal::new(
            RefusalKind::NotReady,
            format!("this server has {limit} sockets open, its limit (--max-websocket-connections); try again later or another replica"),
        ).with_details(json!({ "limit": "websocketConnections", "maximum": limit })).error("")] });
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    };
    let max_message = gateway.admission.limits().max_body_bytes;
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        // tungstenite's defaults (128 KiB each way) made an idle socket
        // cost about 150 KiB; events are small, and a larger message only
        // grows the buffer while it passes.
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |socket| async move {
            let _open = gateway.metrics.websocket_opened();
            // Split here, not in `serve`: a socket moved into the
            // socket's future keeps its size there after the split.
            let (sink, incoming) = socket.split();
            serve(gateway, sink, incoming, protocol, request_id).await;
            drop(permit);
        })
}

/// The socket's caller once `connection_init` verified, and its open
/// operations.
struct Connection {
    access: Arc<Access>,
    open: Arc<AtomicUsize>,
    /// The upgrade request's id; each operation's is derived from it.
    request_id: RequestId,
    /// Operations started so far: the next one's index.
    started: Arc<AtomicUsize>,
    /// The W3C `traceparent` of `connection_init`'s payload: the trace
    /// the socket's operations continue unless one names its own.
    traceparent: Option<Arc<str>>,
}

#[derive(Clone)]
struct SocketExecutor {
    gateway: Arc<Gateway>,
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        // The protocol only ever streams; a plain execution has no caller.
        let _ = request;
        Response::from_errors(vec![async_graphql::ServerError::new(
            "operations on a socket run after connection_init",
            None,
        )])
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let gateway = self.gateway.clone();
        let connection = session_data.as_ref().and_then(|data| {
            data.get(&std::any::TypeId::of::<Connection>())
                .and_then(|value| value.downcast_ref::<Connection>())
                .map(|c| {
                    let index = c.started.fetch_add(1, Ordering::Relaxed);
                    (
                        c.access.clone(),
                        c.open.clone(),
                        c.request_id.entry(index),
                        c.traceparent.clone(),
                    )
                })
        });
        let Some((access, open, request_id, socket_traceparent)) = connection else {
            return stream::once(future::ready(refused(Refusal::new(
                RefusalKind::Unauthenticated {
                    challenge: String::new(),
                },
                "operations on a socket run after connection_init",
            ))))
            .boxed();
        };
        let limit = gateway.socket_limits.max_operations_per_socket;
        if open.fetch_add(1, Ordering::AcqRel) >= limit {
            open.fetch_sub(1, Ordering::AcqRel);
            return stream::once(future::ready(refused(
                Refusal::new(
                    RefusalKind::OverLimit,
                    format!(
                        "this socket has {limit} operations open, its limit (--max-subscriptions-per-connection); complete one first"
                    ),
                )
                .with_details(json!({ "limit": "socketOperations", "maximum": limit })),
            )))
            .boxed();
        }
        let guard = OpenOperation(open);
        // Boxed so that admission's state (and a query's whole execution)
        // is freed once it is done, instead of staying in the stream for
        // as long as the subscription lives.
        // The subscribe message's `extensions.traceparent`, else the
        // socket's: graphql-ws clients can set either.
        let traceparent = match request.extensions.0.get("traceparent") {
            Some(async_graphql::Value::String(traceparent)) => Some(traceparent.as_str()),
            _ => socket_traceparent.as_deref(),
        };
        let span = crate::telemetry::operation_span_continuing(traceparent);
        stream::once(Box::pin(async move {
            let responses = run(gateway, request, access, request_id)
                .instrument(span)
                .await;
            // The count drops when the operation's stream does.
            responses.map(move |response| {
                let _ = &guard;
                response
            })
        }))
        .flatten()
        .boxed()
    }
}

struct OpenOperation(Arc<AtomicUsize>);

impl Drop for OpenOperation {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Admits and runs one operation of a socket.
async fn run(
    gateway: Arc<Gateway>,
    request: Request,
    access: Arc<Access>,
    request_id: RequestId,
) -> BoxStream<'static, Response> {
    let admitted = match gateway
        .admission
        .admit(request, access, Mutations::Allowed)
        .await
    {
        Ok(admitted) => admitted,
        Err(refusal) => return stream::once(future::ready(refused(refusal))).boxed(),
    };
    if admitted.operation_type() != Some(OperationType::Subscription) {
        let response = match gateway
            .execute(admitted, &request_id, WalPosition::default())
            .await
        {
            Ok(response) => response,
            Err(refusal) => refused(refusal),
        };
        return stream::once(future::ready(response)).boxed();
    }
    gateway
        .subscribe(admitted, request_id, WalPosition::default())
        .await
}

/// A refusal as a response on the socket: one error, no data, sent as
/// graphql-transport-ws `error` (the operation never ran).
fn refused(refusal: Refusal) -> Response {
    refusal.graphql_response(None)
}

/// The socket's life: the protocol (async-graphql-axum's
/// `GraphQLWebSocket`) writes into a queue this loop forwards to the
/// socket, beside the server's pings and the closes of its own: when the
/// token expires, when `connection_init` never comes, when the server stops.
///
/// The future lives as long as the socket, so it keeps one timer: the
/// `connection_init` deadline until the ack, then the token's expiry.
async fn serve(
    gateway: Arc<Gateway>,
    mut sink: SplitSink<WebSocket, Message>,
    incoming: SplitStream<WebSocket>,
    protocol: GraphQLProtocol,
    request_id: RequestId,
) {
    let expiry: Arc<std::sync::Mutex<Option<SystemTime>>> = Arc::default();
    let acknowledged = Arc::new(AtomicBool::new(false));
    let on_init = {
        let gateway = gateway.clone();
        let expiry = expiry.clone();
        let acknowledged = acknowledged.clone();
        move |payload: serde_json::Value| async move {
            let authorization = ["Authorization", "authorization"]
                .iter()
                .find_map(|name| payload.get(*name).and_then(|value| value.as_str()))
                .map(str::to_owned);
            let access = gateway
                .admission
                .authenticate(authorization.as_deref().map(str::as_bytes))
                .map_err(|refusal| async_graphql::Error::new(refusal.message))?;
            if let Ok(mut expiry) = expiry.lock() {
                *expiry = access.expires_at();
            }
            acknowledged.store(true, Ordering::Release);
            let traceparent = payload
                .get("traceparent")
                .and_then(|value| value.as_str())
                .map(Arc::from);
            let mut data = Data::default();
            data.insert(Connection {
                access,
                open: Arc::default(),
                request_id: request_id.clone(),
                started: Arc::default(),
                traceparent,
            });
            Ok(data)
        }
    };
    let (outgoing, mut to_send) = futures_channel::mpsc::channel::<Message>(64);
    // A message over --max-body-bytes fails the read: the socket closes
    // with 1009 (RFC 6455: message too big) instead of silently.
    let mut too_big = outgoing.clone();
    let protocol_sink =
        futures_util::sink::unfold(outgoing, |mut outgoing, message: Message| async move {
            outgoing
                .send(message)
                .await
                .map(|()| outgoing)
                .map_err(|_| axum::Error::new("the socket closed"))
        });
    let incoming = incoming.inspect(move |message| {
        if let Err(error) = message
            && is_too_big(error)
        {
            let _ = too_big.try_send(Message::Close(Some(CloseFrame {
                code: 1009,
                reason: "the message is over the size limit (--max-body-bytes)".into(),
            })));
        }
    });
    let serving = GraphQLWebSocket::new_with_pair(
        protocol_sink,
        incoming,
        SocketExecutor {
            gateway: gateway.clone(),
        },
        protocol,
    )
    .on_connection_init(on_init)
    .serve();
    tokio::pin!(serving);
    let limits = gateway.socket_limits;
    let mut pings = tokio::time::interval(limits.keepalive);
    pings.tick().await;
    let deadline = tokio::time::sleep(limits.init_timeout);
    tokio::pin!(deadline);
    let mut deadline_armed = true;
    let mut deadline_is_expiry = false;
    let mut stopping = gateway.stop.subscribe();
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.to_owned().into(),
        }))
    };
    loop {
        if !deadline_is_expiry && acknowledged.load(Ordering::Acquire) {
            deadline_is_expiry = true;
            let expires_in = expiry
                .lock()
                .ok()
                .and_then(|expiry| *expiry)
                .map(|at| at.duration_since(SystemTime::now()).unwrap_or_default());
            match expires_in {
                Some(after) => deadline.as_mut().reset(tokio::time::Instant::now() + after),
                None => deadline_armed = false,
            }
        }
        tokio::select! {
            message = to_send.next() => match message {
                Some(message) => {
                    let message = within_close_limit(message);
                    let closing = matches!(message, Message::Close(_));
                    if sink.send(message).await.is_err() {
                        return;
                    }
                    if closing {
                        // The protocol reads the client's reply and ends.
                        let _ = tokio::time::timeout(CLOSE_LINGER, &mut serving).await;
                        return;
                    }
                }
                None => return,
            },
            () = &mut serving => {
                // The protocol ended: forward what it still queued.
                let mut closed = false;
                while let Ok(message) = to_send.try_recv() {
                    closed |= matches!(message, Message::Close(_));
                    let _ = sink.send(within_close_limit(message)).await;
                }
                if closed {
                    tokio::time::sleep(CLOSE_LINGER).await;
                }
                return;
            }
            () = &mut deadline, if deadline_armed => {
                if deadline_is_expiry {
                    let _ = sink.send(close(TOKEN_EXPIRED, "Forbidden: the token expired")).await;
                    return;
                }
                if !acknowledged.load(Ordering::Acquire) {
                    let _ = sink.send(close(INIT_TIMEOUT, "Connection initialisation timeout")).await;
                    return;
                }
                // Acknowledged as the deadline passed: the next turn
                // switches it to the token's expiry.
            }
            _ = pings.tick() => {
                if acknowledged.load(Ordering::Acquire)
                    && sink.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err()
                {
                    return;
                }
            }
            () = stopped(&mut stopping) => {
                let _ = sink.send(close(GOING_AWAY, "the server is shutting down")).await;
                let _ = sink.close().await;
                return;
            }
        }
    }
}

/// Resolves once the server stops.
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// Whether a read failed because the message was over the size limit.
fn is_too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("too long") || text.contains("Space limit") || text.contains("too big")
}

/// A close frame's reason may take 123 bytes (RFC 6455 §5.5); the
/// protocol's reasons (a JSON parser's message, say) can be longer.
fn within_close_limit(message: Message) -> Message {
    match message {
        Message::Close(Some(frame)) if frame.reason.len() > 123 => {
            let mut end = 120;
            while !frame.reason.is_char_boundary(end) {
                end -= 1;
            }
            let reason = format!("{}...", &frame.reason.as_str()[..end]);
            Message::Close(Some(CloseFrame {
                code: frame.code,
                reason: reason.into(),
            }))
        }
        other => other,
    }
}
