//! Process metrics at `/metrics`, in the Prometheus text format: what an
//! operator graphs and alerts on, and what the benchmark divides by
//! (statements per request). Each gateway process reports its own; a
//! Prometheus server sums them across processes.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    /// Rate limit checks and persisted query lookups served from this
    /// process's memory because Redis did not answer.
    pub redis_fallbacks: Counter,
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
        registry.register(
            "redis_fallbacks",
            "Rate limit checks and persisted query lookups served from this process's memory because Redis did not answer",
            redis_fallbacks.clone(),
        );
        Arc::new(Metrics {
            registry,
            sql_statements,
            sql_failures,
            graphql_requests,
            graphql_failures,
            graphql_duration,
            redis_fallbacks,
        })
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
