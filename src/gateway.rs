//! What every transport shares: the schema over the database, admission,
//! and running an admitted operation within the request timeout, a panic
//! in it answered as that request's failure.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt, future};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use async_graphql::parser::types::OperationType;
use axum::http::HeaderValue;

use crate::admission::{
    Admission, Admitted, Refusal, RefusalKind, SocketLimits, operation_type_name,
};
use crate::auth::Access;
use crate::codes::Code;
use crate::graphql::errors::{RequestId, finish_server_error};
use crate::graphql::{self, SessionGraphSchema};
use crate::metrics::{Metrics, RequestTally};
use crate::store::consistency::{self, WalPosition};
use crate::store::db::DatabaseState;
use crate::store::replicas::{Freshness, ReadConnection, ReadRouter};

pub struct Gateway {
    /// The primary: writes, readiness.
    pub db: DatabaseConnection,
    /// Where reads run (replicas, or the primary).
    pub reads: Arc<ReadRouter>,
    pub schema: SessionGraphSchema,
    pub admission: Admission,
    pub metrics: Arc<Metrics>,
    /// Until the database is migrated, `/readyz` answers 503.
    pub database: DatabaseState,
    /// What one socket may do.
    pub socket_limits: SocketLimits,
    /// Sockets this process may still open.
    pub socket_slots: Arc<Semaphore>,
    /// Event streams (SSE) this process may still open.
    pub stream_slots: Arc<Semaphore>,
    /// Turns true when the server stops: sockets close, event streams end.
    pub stop: watch::Sender<bool>,
}

impl Gateway {
    /// Runs an admitted operation. Its errors carry their codes and the
    /// request id; a timeout or a panic is a refusal instead.
    ///
    /// A query reads on a replica at least as fresh as `written` (the
    /// `Sessiongraph-Consistency` the client sent back) and as the
    /// caller's own latest write; a mutation reads and writes on the
    /// primary, and its answer says how far a later read must be.
    pub async fn execute(
        &self,
        admitted: Admitted,
        request_id: &RequestId,
        written: WalPosition,
    ) -> Result<async_graphql::Response, Refusal> {
        let timeout = self.admission.limits().timeout;
        let started = Instant::now();
        let mutation = admitted.operation_type() == Some(OperationType::Mutation);
        let operation_type = admitted
            .operation_type()
            .map_or("unknown", operation_type_name);
        // Labels metrics: only a trusted document's names are bounded.
        let operation_name = admitted.trusted_operation().map(str::to_owned);
        let projection = admitted.operation.as_ref().map(|o| o.document.projection);
        // The execution slot stays in `admitted` until this returns.
        let Admitted {
            request, access, ..
        } = admitted;
        let reads = if mutation {
            self.reads.on_primary()
        } else {
            self.reads_for(&access, written).await
        };
        let prepared = graphql::Prepared {
            request,
            access,
            projection,
            operation_span: crate::telemetry::current_span(),
        };
        // Boxed where it is made: the engine's future is kilobytes, and
        // the tally, the span, the panic guard, the timeout and every
        // future up to axum's handler would otherwise each hold it whole,
        // copying it as they are built and first polled (a tenth of a
        // point lookup's instructions were such copies).
        let run = RequestTally::count(
            &self.metrics,
            Box::pin(graphql::execute(
                &self.schema,
                reads,
                prepared,
                request_id.clone(),
            )),
        )
        .instrument(crate::telemetry::step_span("graphql.execute"));
        let outcome = tokio::time::timeout(timeout, AssertUnwindSafe(run).catch_unwind()).await;
        let mut response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(panic)) => {
                log_panic(request_id, panic.as_ref());
                self.metrics.observe_request(started.elapsed(), true);
                let code = Code::InternalServerError.as_str();
                self.metrics
                    .count_operation(operation_type, operation_name.as_deref(), code);
                crate::telemetry::record_error(code);
                return Err(internal_error());
            }
            Err(_) => {
                tracing::warn!(request_id = %request_id.0, ?timeout, "request timed out");
                self.metrics.observe_request(started.elapsed(), true);
                let refusal = if !self.database_answers().await {
                    Refusal::new(
                        RefusalKind::NotReady,
                        "the database did not answer within the request timeout; retry later",
                    )
                } else {
                    Refusal::new(
                    RefusalKind::TimedOut,
                    format!(
                        "the request ran longer than the limit of {} s (--request-timeout) and was cancelled; changes it was making were rolled back",
                        timeout.as_secs_f64()
                    ),
                )
                .with_details(json!({ "limit": "timeoutSeconds", "maximum": timeout.as_secs_f64() }))
                };
                let code = refusal.code().as_str();
                self.metrics
                    .count_operation(operation_type, operation_name.as_deref(), code);
                crate::telemetry::record_error(code);
                return Err(refusal);
            }
        };
        self.metrics
            .observe_request(started.elapsed(), !response.errors.is_empty());
        if mutation && !response.http_headers.contains_key(consistency::HEADER) {
            // Nothing was written: any read is as fresh as this answer.
            if let Ok(token) = HeaderValue::from_str(&WalPosition::default().token()) {
                response.http_headers.insert(consistency::HEADER, token);
            }
        }
        response.errors = response
            .errors
            .into_iter()
            // Resolver and engine errors were coded inside the schema; what is
            // left failed before execution (e.g. an unknown operationName).
            .map(|e| finish_server_error(e, Code::GraphqlValidationFailed, request_id))
            .collect();
        let code = response
            .errors
            .first()
            .map(|e| Code::of(e).unwrap_or(Code::InternalServerError).as_str());
        if let Some(code) = code {
            crate::telemetry::record_error(code);
        }
        self.metrics.count_operation(
            operation_type,
            operation_name.as_deref(),
            code.unwrap_or("OK"),
        );
        Ok(response)
    }

    /// Runs an admitted subscription: its results, for as long as the
    /// stream is polled, counted in `/metrics` until it is dropped. The
    /// execution slot goes back at once: a subscription waits for events
    /// most of its life and must not hold a slot queries run in. Each
    /// event reads at least as fresh as `written`.
    pub async fn subscribe(
        &self,
        mut admitted: Admitted,
        request_id: RequestId,
        written: WalPosition,
    ) -> BoxStream<'static, async_graphql::Response> {
        admitted.release_slot();
        let running = self.metrics.subscription_started();
        let reads = self.reads_for(&admitted.access, written).await;
        let prepared = graphql::Prepared {
            request: admitted.request,
            access: admitted.access,
            projection: admitted.operation.as_ref().map(|o| o.document.projection),
            operation_span: crate::telemetry::current_span(),
        };
        let events = graphql::execute_stream(&self.schema, reads, prepared, request_id.clone());
        // A panic in a resolver ends the subscription with an internal
        // error, not the connection it runs on.
        AssertUnwindSafe(events)
            .catch_unwind()
            .scan(false, move |failed, item| {
                let _ = &running;
                if *failed {
                    return future::ready(None);
                }
                future::ready(Some(match item {
                    Ok(response) => response,
                    Err(panic) => {
                        *failed = true;
                        log_panic(&request_id, panic.as_ref());
                        internal_error().graphql_response(Some(&request_id.0))
                    }
                }))
            })
            .boxed()
    }

    /// Where a query's (or a subscription's) reads run: a replica at least
    /// as fresh as `written` and as the caller's latest write. The caller's
    /// mark is asked of the primary only while replicas are configured;
    /// when it cannot be read, the reads stay on the primary.
    pub async fn reads_for(&self, access: &Access, written: WalPosition) -> ReadConnection {
        if !self.reads.has_replicas() {
            return self.reads.on_primary();
        }
        match consistency::caller_mark(self.reads.primary(), access).await {
            Ok(mark) => match mark.max(written) {
                WalPosition(0) => self.reads.for_read(Freshness::Bounded),
                needed => self.reads.for_read(Freshness::AtLeast(needed)),
            },
            Err(error) => {
                tracing::debug!(%error, "reading the caller's consistency mark");
                self.reads.on_primary()
            }
        }
    }

    /// Whether the database answers a ping promptly. A request that ran
    /// out of time was either too much work (its statements ran, or waited
    /// on a lock) or waiting on a database that does not answer at all: a
    /// pooler that paused or lost its server, a primary gone. Only the
    /// latter is worth retrying, and only a fresh ping tells them apart.
    async fn database_answers(&self) -> bool {
        const PROMPTLY: Duration = Duration::from_secs(1);
        matches!(
            tokio::time::timeout(PROMPTLY, crate::store::db::ping(&self.db)).await,
            Ok(Ok(()))
        )
    }
}

pub fn internal_error() -> Refusal {
    Refusal::new(RefusalKind::Internal, "internal error")
}

/// Logs a panic that escaped a request, with the request's id.
pub fn log_panic(request_id: &RequestId, panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(request_id = %request_id.0, panic = %message, "a request panicked");
}

/// A result as JSON, and whether it is a request error (the document
/// never ran: it did not parse or validate).
pub fn result_body(
    response: &async_graphql::Response,
) -> Result<(String, bool), serde_json::Error> {
    let request_error = response
        .errors
        .iter()
        .filter(|e| e.path.is_empty())
        .any(|e| Code::of(e).is_some_and(Code::is_request_error));
    // A document that never ran has no `data` entry at all (GraphQL spec,
    // "Response Format"; GraphQL over HTTP): `"data": null` would say that
    // execution started and a non-null root field failed.
    let text = if request_error && response.data == async_graphql::Value::Null {
        serde_json::to_string(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(response)
    }?;
    Ok((text, request_error))
}
