//! What operators see of the server, in one place: the log format and
//! filter, and the scope every HTTP request runs in (its id and span).

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::graphql::errors::RequestId;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people reading a terminal.
    #[default]
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// The span field that names the request a log line belongs to.
const REQUEST_ID: &str = "requestId";

/// Logs to stderr in `format`, filtered by `RUST_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm_migration=warn"));
    let output = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            // Colour codes would garble logs written to files and pipes.
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(JsonFields::new())
            .event_format(JsonLine {
                inner: tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false),
            })
            .and_then(RequestIds)
            .boxed(),
    };
    // A second init (tests start several apps) is harmless and ignored.
    let _ = tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .try_init();
}

/// Every HTTP request runs inside this: it gets its id (the only place
/// one is made; batch entries and socket operations derive theirs), the
/// span its log lines and trace hang under, and the `x-request-id` answer
/// header. A panic anywhere in the request is answered here, coded 500
/// with that id, while the server keeps serving.
pub async fn request_scope(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let request_id = RequestId::new(given);
    let span = tracing::info_span!("request", requestId = request_id.0.as_str());
    request.extensions_mut().insert(request_id.clone());
    let outcome = AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let mut response = match outcome {
        Ok(response) => response,
        Err(panic) => span.in_scope(|| crate::http::panic_response(&request_id, panic)),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The request id a span carries, kept where the JSON lines find it.
struct SpanRequestId(String);

/// Keeps each span's `requestId` in the span's extensions.
struct RequestIds;

impl<S> Layer<S> for RequestIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().fields().field(REQUEST_ID).is_none() {
            return;
        }
        let mut found = FindRequestId(None);
        attrs.record(&mut found);
        if let (Some(value), Some(span)) = (found.0, ctx.span(id)) {
            span.extensions_mut().insert(SpanRequestId(value));
        }
    }
}

struct FindRequestId(Option<String>);

impl Visit for FindRequestId {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == REQUEST_ID {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == REQUEST_ID {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// tracing-subscriber's JSON line, with the request it belongs to (the
/// nearest span that names one) as top-level fields, where log
/// collectors index them.
struct JsonLine {
    inner: Format<Json>,
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let request_id = ctx.event_scope().and_then(|scope| {
            scope.into_iter().find_map(|span| {
                span.extensions()
                    .get::<SpanRequestId>()
                    .map(|id| id.0.clone())
            })
        });
        match (request_id, line.strip_prefix('{')) {
            (Some(request_id), Some(rest)) => {
                // The id is a plain token or hex (`RequestId`): JSON as it stands.
                write!(writer, "{{\"{REQUEST_ID}\":\"{request_id}\",{rest}")
            }
            _ => writer.write_str(&line),
        }
    }
}
