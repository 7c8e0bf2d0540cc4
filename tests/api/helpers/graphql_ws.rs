//! A graphql-transport-ws client, as the `graphql-ws` library speaks it:
//! enough to init a socket, start operations and read their messages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket to the server at `address` (host:port), acknowledged after
/// `connection_init` with `payload`.
pub async fn connect(address: &str, payload: Value) -> Socket {
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket");
    let init = json!({ "type": "connection_init", "payload": payload });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = message(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// The `connection_init` payload carrying `token`, if any.
pub fn bearer(token: Option<&str>) -> Value {
    token.map_or(
        json!({}),
        |token| json!({ "Authorization": format!("Bearer {token}") }),
    )
}

/// The next message other than a ping, within 10 s.
pub async fn message(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("a message");
        if let Message::Text(text) = frame {
            let message: Value = serde_json::from_str(&text).expect("JSON");
            if message["type"] != "ping" {
                return message;
            }
        }
    }
}

/// Starts an operation with `payload` under a fresh id; returns the id.
pub async fn start(socket: &mut Socket, payload: Value) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed).to_string();
    let subscribe = json!({ "id": id, "type": "subscribe", "payload": payload });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    id
}

/// Closes the socket normally (1000) and waits for the server's close.
pub async fn stop(socket: &mut Socket) {
    let _ = socket.close(None).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}
