//! Process metrics at `/metrics`, in the Prometheus text format: what an
//! operator graphs and alerts on, and what the benchmark divides by
//! (statements per request). Each gateway process reports its own; a
//! Prometheus server sums them across processes.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::admission::refusal::{Refusal, RefusalKind};

pub struct Metrics {
    registry: Registry,
    /// Every SQL statement the connection pool runs.
    pub sql_statements: Counter,
    /// SQL statements that failed.
    pub sql_failures: Counter,
    /// GraphQL requests executed (each operation of a batch counts once).
    pub graphql_requests: Counter,
    /// GraphQL responses that carried at least one error.
    pub graphql_failures: Counter,
    /// Time to execute a GraphQL request, serialisation excluded.
    pub graphql_duration: Histogram,
    /// Read statements on the primary and on replicas.
    reads_on_primary: Counter,
    reads_on_replica: Counter,
    /// Rate limit checks and persisted query lookups served from this
    /// process's memory because Redis did not answer.
    pub redis_fallbacks: Counter,
    /// Requests refused because the caller's cost budget could not pay.
    pub rate_limited: Counter,
    /// Subscription events queued for their subscribers, and those a full
    /// queue refused (its subscription then ends).
    pub events_delivered: Counter,
    pub events_dropped: Counter,
    /// RESYNC notices sent (each reaches every subscription).
    pub resyncs: Counter,
    /// Keys per dataloader batch, by loader.
    batch_keys: Family<BatchLabels, Histogram, fn() -> Histogram>,
    /// Statements each GraphQL request sent, transaction control included.
    statements_per_request: Histogram,
    /// Server-sent event streams open now.
    sse_streams: Gauge,
    /// Subscriptions running now, over either transport.
    subscriptions: Gauge,
    /// WebSockets open now.
    websockets: Gauge,
    /// Operations by type, name and outcome code.
    operations: Family<OperationLabels, Counter>,
    /// HTTP responses by status.
    http_responses: Family<StatusLabels, Counter>,
    /// The pool's connections, running a statement and idle.
    pool_in_use: Gauge,
    pool_idle: Gauge,
    /// Statements waiting for one of the primary pool's connections.
    pool_waiting: Gauge,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation_type: &'static str,
    // Borrowed in the common case (`other`, `OK`): a lookup of a series
    // that exists allocates nothing.
    operation_name: Cow<'static, str>,
    code: Cow<'static, str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BatchLabels {
    /// The loader's type name: a fixed set.
    kind: &'static str,
}

fn batch_keys_histogram() -> Histogram {
    // 1 to 1,024 keys.
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

tokio::task_local! {
    /// The request whose task (or dataloader batch) is running.
    static REQUEST: Arc<RequestTally>;
}

/// What one GraphQL request sent, counted where statements are counted
/// (the pool's callback, which knows no request) through the task it runs
/// in: the request's own task and its dataloader batches' tasks.
pub struct RequestTally {
    metrics: Arc<Metrics>,
    statements: AtomicU64,
}

impl RequestTally {
    /// Runs `request` with its statements tallied; observes the count in
    /// `statements_per_request` when it ends (or is dropped, on a timeout).
    pub async fn count<F: Future>(metrics: &Arc<Metrics>, request: F) -> F::Output {
        let tally = Arc::new(RequestTally {
            metrics: metrics.clone(),
            statements: AtomicU64::new(0),
        });
        let _observe = ObserveOnDrop(tally.clone());
        REQUEST.scope(tally, request).await
    }

    /// The running request's tally, for a task it spawns to carry on.
    pub fn current() -> Option<Arc<RequestTally>> {
        REQUEST.try_with(Arc::clone).ok()
    }

    /// Runs `task`, spawned by the request, as part of it.
    pub async fn within<F: Future>(tally: Option<Arc<RequestTally>>, task: F) -> F::Output {
        match tally {
            Some(tally) => REQUEST.scope(tally, task).await,
            None => task.await,
        }
    }

    /// Counts a statement for the running request, if one runs.
    pub fn statement_sent() {
        let _ = REQUEST.try_with(|tally| tally.statements.fetch_add(1, Ordering::Relaxed));
    }

    /// Records a dataloader batch of `keys` keys of the running request.
    pub fn batch_loaded(kind: &'static str, keys: usize) {
        let _ = REQUEST.try_with(|tally| {
            tally
                .metrics
                .batch_keys
                .get_or_create(&BatchLabels { kind })
                .observe(keys as f64);
        });
    }
}

struct ObserveOnDrop(Arc<RequestTally>);

impl Drop for ObserveOnDrop {
    fn drop(&mut self) {
        let statements = self.0.statements.load(Ordering::Relaxed);
        self.0
            .metrics
            .statements_per_request
            .observe(statements as f64);
    }
}

/// The `operation_name` label of an operation. Names are the client's to
/// choose, so only the operations of documents the server knows (trusted
/// documents, SPEC §9; the caller passes a name only for those) have their
/// own series; every other document, automatic persisted queries
/// included, shares `other`, which keeps `/metrics` bounded whatever names
/// clients send.
pub fn operation_name_label(trusted_operation: Option<&str>) -> Cow<'static, str> {
    match trusted_operation {
        Some(name) => Cow::Owned(name.to_owned()),
        None => Cow::Borrowed("other"),
    }
}

/// One open thing counted in a gauge, until it is dropped: tied to the
/// stream it counts, so whatever ends the stream (its end, the client
/// going away, a panic) takes it off the gauge.
pub struct Open(Gauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Where a read statement ran.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum ReadTarget {
    Primary,
    Replica,
}

impl EncodeLabelValue for ReadTarget {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(match self {
            ReadTarget::Primary => "primary",
            ReadTarget::Replica => "replica",
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadLabels {
    target: ReadTarget,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("sessiongraph");
        let sql_statements = Counter::default();
        let sql_failures = Counter::default();
        let graphql_requests = Counter::default();
        let graphql_failures = Counter::default();
        let redis_fallbacks = Counter::default();
        // 0.25 ms to ~4 s.
        let graphql_duration = Histogram::new(exponential_buckets(0.000_25, 2.0, 15));
        registry.register(
            "sql_statements",
            "SQL statements run by the connection pool",
            sql_statements.clone(),
        );
        registry.register(
            "sql_failures",
            "SQL statements that failed",
            sql_failures.clone(),
        );
        registry.register(
            "graphql_requests",
            "GraphQL requests executed",
            graphql_requests.clone(),
        );
        registry.register(
            "graphql_failures",
            "GraphQL responses carrying errors",
            graphql_failures.clone(),
        );
        registry.register(
            "graphql_duration_seconds",
            "Time to execute a GraphQL request",
            graphql_duration.clone(),
        );
        let reads = Family::<ReadLabels, Counter>::default();
        registry.register(
            "database_reads",
            "Read statements of requests, by where they ran (primary or replica)",
            reads.clone(),
        );
        // Both series exist from the start (a dashboard sees 0, not nothing),
        // and counting is one atomic add, not a label lookup.
        let reads_on_primary = reads
            .get_or_create(&ReadLabels {
                target: ReadTarget::Primary,
            })
            .clone();
        let reads_on_replica = reads
            .get_or_create(&ReadLabels {
                target: ReadTarget::Replica,
            })
            .clone();
        registry.register(
            "redis_fallbacks",
            "Rate limit checks and persisted query lookups served from this process's memory because Redis did not answer",
            redis_fallbacks.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited_requests",
            "GraphQL requests (batch entries included) refused because the caller's rate limit could not pay their cost",
            rate_limited.clone(),
        );
        let events_delivered = Counter::default();
        registry.register(
            "subscription_events_delivered",
            "Session events queued for a subscription that asked for them",
            events_delivered.clone(),
        );
        let events_dropped = Counter::default();
        registry.register(
            "subscription_events_dropped",
            "Session events a subscription's full queue could not take (the subscription ends with an error)",
            events_dropped.clone(),
        );
        let resyncs = Counter::default();
        registry.register(
            "subscription_resyncs",
            "RESYNC notices sent to every subscription, after events may have been missed",
            resyncs.clone(),
        );
        let batch_keys = Family::<BatchLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            batch_keys_histogram,
        );
        registry.register(
            "dataloader_batch_keys",
            "Keys per dataloader batch, by loader",
            batch_keys.clone(),
        );
        let statements_per_request = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        registry.register(
            "graphql_request_statements",
            "SQL statements each GraphQL request sent, transaction control included",
            statements_per_request.clone(),
        );
        let sse_streams = Gauge::default();
        registry.register(
            "sse_streams",
            "Server-sent event streams open",
            sse_streams.clone(),
        );
        let subscriptions = Gauge::default();
        registry.register(
            "subscriptions",
            "Subscriptions running, over WebSocket or server-sent events",
            subscriptions.clone(),
        );
        let websockets = Gauge::default();
        registry.register("websockets", "GraphQL WebSockets open", websockets.clone());
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations executed, by operation type, operation name (`other` outside trusted documents) and outcome code (OK, or the first error's extensions.code)",
            operations.clone(),
        );
        let http_responses = Family::<StatusLabels, Counter>::default();
        registry.register(
            "http_responses",
            "HTTP responses, by status",
            http_responses.clone(),
        );
        let pool_in_use = Gauge::default();
        registry.register(
            "database_connections_in_use",
            "Connections of the primary's pool running a statement",
            pool_in_use.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "database_connections_idle",
            "Connections of the primary's pool open and idle",
            pool_idle.clone(),
        );
        let pool_waiting = Gauge::default();
        registry.register(
            "database_connections_waiting",
            "Statements waiting for a connection of the primary's pool, which is at its limit",
            pool_waiting.clone(),
        );
        Arc::new(Metrics {
            registry,
            sql_statements,
            sql_failures,
            graphql_requests,
            graphql_failures,
            graphql_duration,
            reads_on_primary,
            reads_on_replica,
            redis_fallbacks,
            rate_limited,
            events_delivered,
            events_dropped,
            resyncs,
            batch_keys,
            statements_per_request,
            sse_streams,
            subscriptions,
            websockets,
            operations,
            http_responses,
            pool_in_use,
            pool_idle,
            pool_waiting,
        })
    }

    /// Counts an event stream open until the guard drops.
    pub fn sse_stream_opened(&self) -> Open {
        Self::opened(&self.sse_streams)
    }

    /// Counts a subscription running until the guard drops.
    pub fn subscription_started(&self) -> Open {
        Self::opened(&self.subscriptions)
    }

    /// Counts a WebSocket open until the guard drops.
    pub fn websocket_opened(&self) -> Open {
        Self::opened(&self.websockets)
    }

    /// Counts one operation's outcome: `code` is `OK` or the error's
    /// `extensions.code` (the server's own, a bounded set).
    /// `trusted_operation` is the operation's name when it belongs to a
    /// trusted document, else `None`.
    pub fn count_operation(
        &self,
        operation_type: &'static str,
        trusted_operation: Option<&str>,
        code: &str,
    ) {
        self.operations
            .get_or_create(&OperationLabels {
                operation_type,
                operation_name: operation_name_label(trusted_operation),
                code: match code {
                    "OK" => Cow::Borrowed("OK"),
                    code => Cow::Owned(code.to_owned()),
                },
            })
            .inc();
    }

    /// Counts an operation refused before it ran (by admission, or after
    /// an unpaid entry of its batch): its type is not known there.
    pub fn count_refused(&self, refusal: &Refusal) {
        if matches!(refusal.kind, RefusalKind::RateLimited { .. }) {
            self.rate_limited.inc();
        }
        self.count_operation("unknown", None, refusal.code().as_str());
    }

    pub fn count_response(&self, status: u16) {
        self.http_responses
            .get_or_create(&StatusLabels { status })
            .inc();
    }

    /// The pool's connections now, sampled when `/metrics` is read.
    pub fn set_pool(&self, in_use: u32, idle: u32, waiting: usize) {
        self.pool_in_use.set(i64::from(in_use));
        self.pool_idle.set(i64::from(idle));
        self.pool_waiting
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    fn opened(gauge: &Gauge) -> Open {
        gauge.inc();
        Open(gauge.clone())
    }

    pub fn count_read(&self, target: ReadTarget) {
        match target {
            ReadTarget::Primary => self.reads_on_primary.inc(),
            ReadTarget::Replica => self.reads_on_replica.inc(),
        };
    }

    /// Read statements run so far on `target` (tests and benchmarks).
    pub fn reads(&self, target: ReadTarget) -> u64 {
        match target {
            ReadTarget::Primary => self.reads_on_primary.get(),
            ReadTarget::Replica => self.reads_on_replica.get(),
        }
    }

    pub fn observe_request(&self, elapsed: Duration, failed: bool) {
        self.graphql_requests.inc();
        if failed {
            self.graphql_failures.inc();
        }
        self.graphql_duration.observe(elapsed.as_secs_f64());
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(2048);
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
