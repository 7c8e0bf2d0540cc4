//! What operators see of the server, in one place: the log format and
//! filter, and the OpenTelemetry traces (SPEC §8) with their spans.
//!
//! Traces are on only when an OTLP endpoint is configured
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`);
//! otherwise no exporter, no OpenTelemetry layer and none of the spans
//! below the request's are made.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Empty, Field, Visit};
use tracing::{Event, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

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

/// The tracer, once traces are on.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// The subscriber, for the OpenTelemetry ids of a log line's span: inside
/// an event the current dispatcher is not reachable.
static DISPATCH: OnceLock<WeakDispatch> = OnceLock::new();

/// Whether spans are exported: the spans below the request's are made
/// only then.
pub fn tracing_on() -> bool {
    TRACER.get().is_some()
}

/// Ends telemetry when dropped: the spans still queued are exported.
pub struct Telemetry(Option<SdkTracerProvider>);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "exporting the last spans");
        }
    }
}

/// The OTLP/HTTP exporter the standard variables configure, when one is.
fn tracer_provider() -> Option<SdkTracerProvider> {
    let configured = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let endpoint = configured("OTEL_EXPORTER_OTLP_ENDPOINT")
        || configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v.eq_ignore_ascii_case("none"));
    if !endpoint || disabled {
        return None;
    }
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Ok(protocol) = std::env::var(name)
            && protocol != "http/protobuf"
        {
            eprintln!("{name}={protocol}: only http/protobuf is supported; sending http/protobuf");
        }
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            // Logging is not set up yet: this is the one line it can write.
            eprintln!("OpenTelemetry: no exporter ({error}); traces are off");
            return None;
        }
    };
    let mut resource = opentelemetry_sdk::Resource::builder();
    // OTEL_SERVICE_NAME, or service.name in OTEL_RESOURCE_ATTRIBUTES, win.
    let named = opentelemetry_sdk::Resource::builder()
        .build()
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if !named {
        resource = resource.with_service_name("sessiongraph");
    }
    // The sampler (OTEL_TRACES_SAMPLER, _ARG) and the batch's schedule
    // (OTEL_BSP_*) are the SDK's own reading of the standard variables.
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    )
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` (default `info`),
/// and exports traces when an OTLP endpoint is configured.
pub fn init(format: LogFormat) -> Telemetry {
    let provider = tracer_provider();
    let traces = provider.as_ref().map(|provider| {
        let tracer = provider.tracer("sessiongraph");
        let _ = TRACER.set(tracer.clone());
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            // The server's own spans; the libraries' would be noise.
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sessiongraph", tracing::Level::INFO),
            )
    });
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
    let installed = tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .with(traces)
        .try_init()
        .is_ok();
    if installed && tracing_on() {
        // Log lines look their span's ids up through it (below).
        let _ = DISPATCH.set(tracing::dispatcher::get_default(|dispatch| {
            dispatch.downgrade()
        }));
    }
    Telemetry(provider)
}

/// The server span of one HTTP request when spans are exported, with its
/// id (`requestId`), continuing the caller's W3C `traceparent`; none
/// otherwise.
pub fn request_span(request_id: &str, method: &str, path: &str, headers: &HeaderMap) -> Span {
    if !tracing_on() {
        // No span: log lines find the request's id in a task-local
        // ([`with_request_id`]). A span costs its creation and an enter
        // and exit through every layer on each poll of the request (a
        // tenth of a point lookup's instructions with no exporter set).
        return Span::none();
    }
    let span = tracing::info_span!(
        "request",
        requestId = request_id,
        otel.name = if path == "/graphql" {
            "POST /graphql"
        } else {
            method
        },
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        url.path = path,
        http.response.status_code = Empty,
    );
    if path == "/graphql" && method != "POST" {
        span.record("otel.name", format!("{method} /graphql"));
    }
    let parent =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span
}

/// Records the answer on the request's span and, when traced, names the
/// trace in a `traceresponse` header (W3C Trace Context Level 2), for a
/// client to log beside its own.
pub fn answered(span: &Span, response: &mut Response) {
    if !tracing_on() {
        return;
    }
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    if let Some(traced) = traceparent_of(span)
        && let Ok(value) = HeaderValue::from_str(&traced)
    {
        response.headers_mut().insert("traceresponse", value);
    }
}

/// `span`'s exported ids as a W3C `traceparent` (and `traceresponse`)
/// value, when it is exported.
fn traceparent_of(span: &Span) -> Option<String> {
    let context = span.context();
    let traced = context.span().span_context().clone();
    traced.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            traced.trace_id(),
            traced.span_id(),
            traced.trace_flags().to_u8()
        )
    })
}

/// The span of one GraphQL operation (admission to answer); its type,
/// name and outcome are recorded as they become known. Its own name stays
/// "GraphQL operation": operation names are the client's to choose, and
/// span names must stay a bounded set for the backends that group by them.
pub fn operation_span() -> Span {
    if !tracing_on() {
        return Span::none();
    }
    tracing::info_span!(
        "graphql.operation",
        otel.name = "GraphQL operation",
        otel.status_code = Empty,
        graphql.operation.type = Empty,
        graphql.operation.name = Empty,
        error.type = Empty,
    )
}

/// An operation span that continues the trace `traceparent` names (a
/// W3C `traceparent` value, as a socket's messages carry it); a root of
/// its own without one.
pub fn operation_span_continuing(traceparent: Option<&str>) -> Span {
    let span = operation_span();
    if let Some(parent) = traceparent.filter(|_| tracing_on()).map(context_of)
        && parent.span().span_context().is_valid()
    {
        let _ = span.set_parent(parent);
    }
    span
}

/// The trace context a W3C `traceparent` value names (invalid if it is
/// not one).
fn context_of(traceparent: &str) -> opentelemetry::Context {
    let carrier =
        std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    TraceContextPropagator::new().extract(&carrier)
}

/// The current span as a W3C `traceparent`, when spans are exported.
pub fn current_traceparent() -> Option<String> {
    if !tracing_on() {
        return None;
    }
    traceparent_of(&Span::current())
}

/// Records a subscription's event handed to its client, under the
/// subscription's `operation` span and linked to the span of the write
/// that sent it (`written_in`, a `traceparent`), which may be another
/// process's.
pub fn event_delivered(operation: &Span, kind: &'static str, written_in: Option<&str>) {
    if !tracing_on() {
        return;
    }
    let span = tracing::info_span!(
        parent: operation,
        "session.event",
        otel.name = "session event delivered",
        otel.kind = "consumer",
        session.event.kind = kind,
    );
    if let Some(written_in) = written_in {
        let write = context_of(written_in).span().span_context().clone();
        if write.is_valid() {
            span.add_link(write);
        }
    }
}

/// Names the current operation span once admission knows the operation.
pub fn record_operation(operation_type: Option<&str>, operation_name: Option<&str>) {
    if !tracing_on() {
        return;
    }
    let span = Span::current();
    if let Some(kind) = operation_type {
        span.record("graphql.operation.type", kind);
    }
    if let Some(name) = operation_name {
        span.record("graphql.operation.name", name);
    }
}

/// Marks the current operation span failed, with the error's
/// `extensions.code`.
pub fn record_error(code: &str) {
    if !tracing_on() {
        return;
    }
    let span = Span::current();
    span.record("otel.status_code", "ERROR");
    span.record("error.type", code);
}

/// A step of an operation (`graphql.admission`, `graphql.execute`),
/// under the current span.
pub fn step_span(name: &'static str) -> Span {
    if !tracing_on() {
        return Span::none();
    }
    tracing::info_span!("graphql.step", otel.name = name)
}

/// A step of an operation that runs inside another step (parsing inside
/// admission, the engine's validation inside execution), hung under the
/// operation itself.
pub fn step_span_under(operation: &Span, name: &'static str) -> Span {
    if !tracing_on() {
        return Span::none();
    }
    tracing::info_span!(parent: operation, "graphql.step", otel.name = name)
}

/// The current span when spans are exported (a request's operation span,
/// read where it is current); otherwise none.
pub fn current_span() -> Span {
    if !tracing_on() {
        return Span::none();
    }
    Span::current()
}

/// One dataloader batch, under `parent` (the span that queued its first key).
pub fn dataloader_span(parent: &Span, kind: &str, keys: usize) -> Span {
    if !tracing_on() {
        return Span::none();
    }
    tracing::info_span!(
        parent: parent,
        "dataloader.batch",
        otel.name = format!("dataloader {kind}"),
        dataloader.kind = kind,
        dataloader.keys = keys as i64,
    )
}

/// A statement's span, from what the pool's metric callback saw of it
/// (the one place statements are counted, so spans and `/metrics`
/// always agree): its text with placeholders, never the bound values.
pub fn record_statement(
    system: &'static str,
    sql: &str,
    elapsed: std::time::Duration,
    failed: bool,
) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let parent = Span::current().context();
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let operation = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let mut span = tracer
        .span_builder(format!("{operation} {system}"))
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", operation),
            KeyValue::new("db.query.text", Value::from(sql.to_owned())),
        ])
        .start_with_context(tracer, &parent);
    if failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

tokio::task_local! {
    /// The id of the HTTP request whose task is running, for log lines.
    static CURRENT_REQUEST_ID: Arc<str>;
}

/// Runs an HTTP request's handling with its id where its log lines find
/// it (the JSON lines' `requestId`), whether or not spans are exported.
pub async fn with_request_id<F: Future>(request_id: &str, request: F) -> F::Output {
    CURRENT_REQUEST_ID
        .scope(Arc::from(request_id), request)
        .await
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
        let mut request_id = None;
        let mut leaf = None;
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                leaf.get_or_insert_with(|| span.id());
                if let Some(id) = span.extensions().get::<SpanRequestId>() {
                    request_id = Some(id.0.clone());
                    break;
                }
            }
        }
        // Outside a span that names one (spans are not exported, or the
        // line is not in one), the request whose task writes it.
        let request_id =
            request_id.or_else(|| CURRENT_REQUEST_ID.try_with(|id| id.to_string()).ok());
        let (Some(request_id), Some(rest)) = (request_id, line.strip_prefix('{')) else {
            return writer.write_str(&line);
        };
        // Read with no span's extensions held: the lookup locks them.
        let ids = leaf
            .zip(DISPATCH.get().and_then(WeakDispatch::upgrade))
            .and_then(|(id, dispatch)| tracing_opentelemetry::get_otel_context(&id, &dispatch))
            .map(|context| context.span().span_context().clone())
            .filter(|traced| traced.is_valid());
        writer.write_char('{')?;
        if let Some(traced) = ids {
            write!(
                writer,
                "\"trace_id\":\"{}\",\"span_id\":\"{}\",",
                traced.trace_id(),
                traced.span_id()
            )?;
        }
        // The id is a plain token or hex (`RequestId`): JSON as it stands.
        write!(writer, "\"{REQUEST_ID}\":\"{request_id}\",{rest}")
    }
}
