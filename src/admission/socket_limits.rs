//! What the long-lived transports may hold open: operations per
//! WebSocket, WebSockets and event streams per process, and how they keep
//! alive. The gateway holds them; `crate::websocket` and `crate::sse`
//! apply them.

use std::time::Duration;

/// What one socket may do, and how many the process keeps open; each is
/// a flag (see `cli.rs`). Event streams keep to the same
/// keep-alive and have their own cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketLimits {
    /// Operations open at once on one socket.
    pub max_operations_per_socket: usize,
    /// Sockets open at once in this process.
    pub max_sockets: usize,
    /// Event streams (SSE) open at once in this process.
    pub max_event_streams: usize,
    /// How often the server pings an idle socket, and writes a comment on
    /// an idle event stream.
    pub keepalive: Duration,
    /// How long a socket may wait before `connection_init`.
    pub init_timeout: Duration,
}

impl Default for SocketLimits {
    fn default() -> Self {
        SocketLimits {
            max_operations_per_socket: 100,
            max_sockets: 10_000,
            max_event_streams: 10_000,
            keepalive: Duration::from_secs(30),
            init_timeout: Duration::from_secs(10),
        }
    }
}
