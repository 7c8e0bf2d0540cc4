//! Admission: what every request passes before it runs, whatever the
//! transport. [`Admission::admit`] turns a raw request (query text or a
//! persisted query's hash, variables, operation name) and its caller into
//! an [`Admitted`] operation, within every limit and allowed by the
//! caller's token, or a [`Refusal`].
//!
//! In order: a trusted document named by id ([`trusted_documents`],
//! prepared when it was loaded, so it skips the screen and the parse), or
//! else the text, from automatic persisted queries ([`persisted_queries`])
//! or the request, and the screen of the raw text ([`screening`]); the
//! database's readiness, the operation prepared from the text
//! ([`prepared`]: parsed, walked and measured once per text and operation
//! name) checked for introspection and fragment cycles, its size
//! ([`limits`]), the caller's
//! cost budget ([`rate_limit`]), a slot among the requests executing at
//! once, and last the token's scope for the operation ([`operation`]
//! picks it).

pub mod limits;
pub mod operation;
pub mod persisted_queries;
pub mod prepared;
pub mod rate_limit;
pub mod refusal;
pub mod screening;
mod socket_limits;
pub mod trusted_documents;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_graphql::parser::types::OperationType;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::auth::{Access, AuthError, Authenticator, READ_SCOPE, WRITE_SCOPE};
use crate::metrics::Metrics;
use crate::shared_state::SharedState;
use crate::store::db::DatabaseState;
use limits::Limits;
use operation::{omitted_variable_defaults, selected_operation};
use persisted_queries::{PersistedQueries, PersistedQueryError};
pub use prepared::PreparedOperation;
use prepared::PreparedOperations;
use rate_limit::{CostRateLimiter, RateLimitSettings};
pub use refusal::{Refusal, RefusalKind};
pub use socket_limits::SocketLimits;
use trusted_documents::{IdError, TrustedDocuments};

/// What one request may ask for; each is a flag (see `cli.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Depth, cost, aliases and root fields of the document.
    pub query: Limits,
    /// Length of the query text.
    pub max_query_bytes: usize,
    /// Length of a POST body.
    pub max_body_bytes: usize,
    /// Requests in one POSTed array (a batch); 0 refuses arrays.
    pub max_batch_size: usize,
    /// Wall time of one request, from parsing to the last resolver.
    pub timeout: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            query: Limits::default(),
            max_query_bytes: 64 * 1024,
            max_body_bytes: 1024 * 1024,
            max_batch_size: 10,
            timeout: Duration::from_secs(10),
        }
    }
}

/// How admission is configured (see `ServerConfig`).
pub struct AdmissionSettings {
    pub limits: RequestLimits,
    /// Serve `__schema`/`__type` (see `--disable-introspection`).
    pub introspection: bool,
    /// Per-caller cost budget; `None` is unlimited.
    pub rate_limit: Option<RateLimitSettings>,
    /// GraphQL requests executed at once (see `--max-concurrent-requests`).
    pub max_concurrent_requests: usize,
    /// Token verification; `None` runs open.
    pub authenticator: Option<Arc<Authenticator>>,
    /// Where the rate limit's budgets and the persisted queries are shared
    /// with other processes (see `--redis-url`); `None` keeps them here.
    pub shared_state: Option<Arc<SharedState>>,
    /// The documents requests may name by id (see `--trusted-documents`).
    pub trusted_documents: TrustedDocuments,
    /// Run only documents named by id, except for tokens with the
    /// `documents:any` scope (see `--trusted-documents-only`).
    pub trusted_documents_only: bool,
    /// Where refused requests are counted.
    pub metrics: Arc<Metrics>,
}

/// Whether the transport lets the request change data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutations {
    Allowed,
    /// GET must not change data.
    Refused,
}

/// An operation that may run: its request (the document parsed, omitted
/// variable defaults filled in), its caller, and its execution slot, held
/// until it is dropped.
pub struct Admitted {
    pub request: async_graphql::Request,
    pub access: Arc<Access>,
    /// What its text and operation name decide, prepared once for all the
    /// requests that send them; `None` when the document does not parse
    /// (execution reports it).
    pub operation: Option<Arc<PreparedOperation>>,
    /// Whether it runs a trusted document's operation: then its name is
    /// one the server knows, which metrics may label with.
    pub trusted: bool,
    slot: Option<OwnedSemaphorePermit>,
}

impl Admitted {
    /// `None` when the document does not parse or names no operation
    /// (execution reports it).
    pub fn operation_type(&self) -> Option<OperationType> {
        self.operation.as_ref()?.operation_type
    }

    /// The operation's name when it is one of a trusted document's
    /// operations.
    pub fn trusted_operation(&self) -> Option<&str> {
        self.operation
            .as_ref()
            .filter(|_| self.trusted)?
            .known_name
            .as_deref()
    }

    /// Gives the execution slot back: a subscription waits for events most
    /// of its life and must not hold one of the slots queries run in.
    pub fn release_slot(&mut self) {
        self.slot = None;
    }
}

pub struct Admission {
    limits: RequestLimits,
    introspection: bool,
    persisted_queries: PersistedQueries,
    /// Swapped whole on a reload; a request keeps the set it started with.
    trusted_documents: ArcSwap<TrustedDocuments>,
    trusted_documents_only: bool,
    prepared: PreparedOperations,
    rate_limiter: Option<Arc<CostRateLimiter>>,
    metrics: Arc<Metrics>,
    /// Permits to execute; bounds the memory and database connections that
    /// requests in flight hold.
    execution_slots: Arc<Semaphore>,
    authenticator: Option<Arc<Authenticator>>,
    /// Until the database is migrated, requests are refused as not ready.
    database: DatabaseState,
}

impl Admission {
    pub fn new(settings: AdmissionSettings, database: DatabaseState) -> Self {
        Admission {
            limits: settings.limits,
            introspection: settings.introspection,
            persisted_queries: PersistedQueries::new(settings.shared_state.clone()),
            trusted_documents: ArcSwap::from_pointee(settings.trusted_documents),
            trusted_documents_only: settings.trusted_documents_only,
            prepared: PreparedOperations::new(settings.limits.query),
            rate_limiter: settings
                .rate_limit
                .map(|rate_limit| CostRateLimiter::new(rate_limit, settings.shared_state.clone())),
            metrics: settings.metrics,
            execution_slots: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
            authenticator: settings.authenticator,
            database,
        }
    }

    pub fn limits(&self) -> &RequestLimits {
        &self.limits
    }

    /// Replaces the trusted documents; requests already admitted keep the
    /// documents they were given.
    pub fn replace_trusted_documents(&self, documents: TrustedDocuments) {
        self.trusted_documents.store(Arc::new(documents));
    }

    /// The caller of a request, from its `Authorization` value (an HTTP
    /// header, or the `connection_init` payload of a socket); everyone is
    /// unrestricted in open mode.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Arc<Access>, Refusal> {
        let Some(authenticator) = &self.authenticator else {
            return Ok(Arc::new(Access::unrestricted()));
        };
        authenticator
            .authenticate(authorization)
            .map(Arc::new)
            .map_err(|error: AuthError| {
                Refusal::new(
                    RefusalKind::Unauthenticated {
                        challenge: error.challenge(),
                    },
                    error.to_string(),
                )
            })
    }

    /// Admits `request` for `access`, or says why not.
    pub async fn admit(
        &self,
        request: async_graphql::Request,
        access: Arc<Access>,
        mutations: Mutations,
    ) -> Result<Admitted, Refusal> {
        let operation = crate::telemetry::current_span();
        let span = crate::telemetry::step_span("graphql.admission");
        let mut admitted = self
            .admit_untraced(request, access, mutations, &operation)
            .instrument(span)
            .await;
        if crate::telemetry::tracing_on() {
            match &mut admitted {
                Ok(admitted) => crate::telemetry::record_operation(
                    admitted.operation_type().map(operation_type_name),
                    operation_name(admitted).as_deref(),
                ),
                Err(refusal) => crate::telemetry::record_error(refusal.code().as_str()),
            }
        }
        if let Err(refusal) = &admitted {
            self.metrics.count_refused(refusal);
        }
        admitted
    }

    /// `operation` is the operation's span: parsing is a step of its own
    /// under it, beside admission.
    async fn admit_untraced(
        &self,
        mut request: async_graphql::Request,
        access: Arc<Access>,
        mutations: Mutations,
        operation: &tracing::Span,
    ) -> Result<Admitted, Refusal> {
        let trusted_document = self
            .trusted_documents
            .load()
            .named(&request)
            .map_err(trusted_document_refusal)?;
        let trusted = trusted_document.is_some();
        let prepared = match trusted_document {
            Some(document) => {
                let prepared = document.install(&mut request, &self.limits.query);
                if screening::holds_nul("", &request.variables) {
                    return Err(holds_nul());
                }
                Some(prepared)
            }
            None => self.resolve_text(&mut request, &access, operation).await?,
        };
        if let Some(prepared) = &prepared
            && prepared.may_mutate
            && mutations == Mutations::Refused
        {
            return Err(Refusal::new(
                RefusalKind::MutationNotAllowed,
                "mutations are only accepted with POST",
            ));
        }
        if !self.database.is_ready() {
            return Err(Refusal::new(
                RefusalKind::NotReady,
                "the database is not ready yet (unreachable or migrating); try again",
            ));
        }
        let cost = match &prepared {
            Some(prepared) => self.measure(prepared, &request.variables)?,
            None => 0,
        };
        if let Some(limiter) = &self.rate_limiter {
            let caller = access.subject().unwrap_or("anonymous");
            if let Err(limited) = limiter.check(caller, cost).await {
                return Err(
                    over_budget(limited.to_string(), limited.retry_after.as_secs().max(1))
                        .with_details(json!({ "cost": limited.cost })),
                );
            }
        }
        // The semaphore is never closed, so acquiring only waits.
        let slot = self.execution_slots.clone().acquire_owned().await.ok();
        if let Some(prepared) = &prepared {
            authorise(prepared, &mut request, &access)?;
        }
        Ok(Admitted {
            request,
            access,
            operation: prepared,
            trusted,
            slot,
        })
    }

    /// The text of a request that names no trusted document: its own, or
    /// the automatic persisted query its hash names; screened and prepared.
    /// `None` when it does not parse.
    async fn resolve_text(
        &self,
        request: &mut async_graphql::Request,
        access: &Access,
        operation: &tracing::Span,
    ) -> Result<Option<Arc<PreparedOperation>>, Refusal> {
        if self.trusted_documents_only {
            // A persisted query's hash alone names a document by id, which
            // this set does not hold.
            if trusted_documents::names_an_id(request) {
                return Err(Refusal::new(
                    RefusalKind::PersistedQueryNotFound,
                    "PersistedQueryNotFound: no trusted document has this hash",
                ));
            }
            if !access.may_send_any_document() {
                return Err(Refusal::new(
                    RefusalKind::TrustedDocumentRequired,
                    "this server runs only trusted documents (--trusted-documents-only): name one by `documentId`",
                ));
            }
        }
        self.persisted_queries
            .resolve(request, !self.trusted_documents_only)
            .await
            .map_err(persisted_query_refusal)?;
        screen(&self.limits, request)?;
        // A document that does not parse is reported when it runs, and is
        // neither checked for mutations nor measured.
        Ok(self.prepared.prepare(request, operation).ok())
    }

    /// Checks the prepared operation before validation, so a hostile
    /// document costs its parse and one walk, never a validation or an
    /// execution; returns its cost.
    fn measure(
        &self,
        prepared: &PreparedOperation,
        variables: &async_graphql::Variables,
    ) -> Result<u64, Refusal> {
        if !self.introspection && prepared.document.selects_introspection {
            return Err(Refusal::new(
                RefusalKind::Invalid,
                "introspection (`__schema`, `__type`) is disabled on this server (--disable-introspection)",
            ));
        }
        if let Some(cycle) = &prepared.document.fragment_cycle {
            return Err(Refusal::new(
                RefusalKind::Invalid,
                format!("fragments must not spread themselves: {cycle}"),
            ));
        }
        prepared
            .measure(variables)
            .map(|measured| measured.cost)
            .map_err(|exceeded| {
                Refusal::new(RefusalKind::OverLimit, exceeded.to_string()).with_details(
                    json!({ "limit": exceeded.limit.name(), "maximum": exceeded.maximum, "actual": exceeded.actual }),
                )
            })
    }
}

/// A request the caller's cost budget cannot pay now.
fn over_budget(message: String, retry_after_seconds: u64) -> Refusal {
    Refusal::new(
        RefusalKind::RateLimited {
            retry_after_seconds,
        },
        message,
    )
    .with_details(json!({ "limit": "rateLimit", "retryAfterSeconds": retry_after_seconds }))
}

/// An entry of a batch after entry `first`, which the caller's budget
/// could not pay (`unpaid`): refused with it, uncharged, so that a cheap
/// entry cannot run ahead of an expensive one it followed.
pub fn after_unpaid_entry(first: usize, unpaid: &Refusal) -> Option<Refusal> {
    let RefusalKind::RateLimited {
        retry_after_seconds,
    } = unpaid.kind
    else {
        return None;
    };
    Some(over_budget(
        format!(
            "not run: entry {first} of this batch was over the caller's rate limit, and every entry after it is refused with it"
        ),
        retry_after_seconds,
    ))
}

/// The token's scope must allow the operation: reading for queries and
/// subscriptions, writing for mutations. Fills in the defaults of omitted
/// variables, which the engine would not apply to directives.
fn authorise(
    prepared: &PreparedOperation,
    request: &mut async_graphql::Request,
    access: &Access,
) -> Result<(), Refusal> {
    let Some(operation_type) = prepared.operation_type else {
        return Ok(());
    };
    let required = match operation_type {
        OperationType::Mutation if !access.may_write() => Some(WRITE_SCOPE),
        OperationType::Query | OperationType::Subscription if !access.may_read() => {
            Some(READ_SCOPE)
        }
        _ => None,
    };
    if let Some(scope) = required {
        return Err(Refusal::new(
            RefusalKind::Forbidden,
            format!("the token's scope lacks `{scope}`"),
        ));
    }
    if let Some(operation) = selected_operation(
        prepared.document.document(),
        prepared.requested_name.as_deref(),
    ) {
        let defaults = omitted_variable_defaults(operation, &request.variables);
        request.variables.extend(defaults);
    }
    Ok(())
}

fn trusted_document_refusal(error: IdError) -> Refusal {
    let kind = match error {
        IdError::NotFound(_) => RefusalKind::PersistedQueryNotFound,
        _ => RefusalKind::Malformed,
    };
    Refusal::new(kind, error.to_string())
}

fn holds_nul() -> Refusal {
    Refusal::new(
        RefusalKind::Malformed,
        "the request holds a NUL character (U+0000) in the query or a variable; no id or value can contain one",
    )
}

fn persisted_query_refusal(error: PersistedQueryError) -> Refusal {
    let kind = match error {
        PersistedQueryError::NotFound => RefusalKind::PersistedQueryNotFound,
        _ => RefusalKind::Malformed,
    };
    Refusal::new(kind, error.to_string())
}

/// Refuses what must not reach the parser: no query at all, a query over
/// the size limit or nested deep enough to exhaust the parser's stack, and
/// NUL characters (no id holds one; PostgreSQL refuses them in text).
fn screen(limits: &RequestLimits, request: &async_graphql::Request) -> Result<(), Refusal> {
    let query = &request.query;
    if query.trim().is_empty() {
        return Err(Refusal::new(
            RefusalKind::Malformed,
            "the request has no `query`: send the GraphQL document to run (or a persisted query's hash)",
        ));
    }
    if query.contains('\0') {
        return Err(Refusal::new(
            RefusalKind::ParseFailed,
            "the query text holds a NUL character (U+0000), which GraphQL source text cannot contain",
        ));
    }
    if query.len() > limits.max_query_bytes {
        return Err(Refusal::new(
            RefusalKind::OverLimit,
            format!(
                "the query text is {} bytes, above the limit of {} bytes (--max-query-bytes)",
                query.len(),
                limits.max_query_bytes
            ),
        )
        .with_details(json!({ "limit": "queryBytes", "maximum": limits.max_query_bytes, "actual": query.len() })));
    }
    let nesting = screening::bracket_nesting(query, screening::MAX_NESTING);
    if nesting > screening::MAX_NESTING {
        return Err(Refusal::new(
            RefusalKind::OverLimit,
            format!(
                "the query nests brackets ({{, [, () at least {nesting} deep, above the limit of {}",
                screening::MAX_NESTING
            ),
        )
        .with_details(json!({ "limit": "nesting", "maximum": screening::MAX_NESTING, "actual": nesting })));
    }
    if screening::holds_nul(query, &request.variables) {
        return Err(holds_nul());
    }
    Ok(())
}

/// An operation type as the GraphQL semantic conventions spell it (and
/// `/metrics` labels it).
pub fn operation_type_name(operation_type: OperationType) -> &'static str {
    match operation_type {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// The name of the operation a request runs, for its span: the one it
/// asks for, or the document's only one.
fn operation_name(admitted: &Admitted) -> Option<String> {
    if let Some(name) = &admitted.request.operation_name {
        return Some(name.clone());
    }
    admitted.operation.as_ref()?.known_name.clone()
}
