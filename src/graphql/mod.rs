//! The GraphQL schema of SPEC §1, as a library: built once per process,
//! executed per request with a fresh [`RequestState`].

pub mod application;
pub mod application_session;
pub mod arguments;
pub mod context;
pub mod dataloader;
pub mod enums;
pub mod errors;
pub mod joins;
pub mod loaders;
pub mod mutation;
pub mod objects;
pub mod pagination;
pub mod query;
pub mod scalars;
#[cfg(test)]
mod schema_facts;
pub mod session_connection;
pub mod session_fields;
pub mod session_stats;
pub mod subscription;
pub mod user;
pub mod user_agent;
pub mod user_session;
pub mod zone_connections;

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{Response, SDLExportOptions, Schema, ServerError, ValidationResult};
use chrono::Utc;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tracing::Instrument;

use crate::admission::screening;
use crate::auth::Access;
use crate::codes::Code;
use crate::live::EventHub;
use crate::store::replicas::ReadConnection;
use crate::store::{Clock, Projection, Reader};
use context::RequestState;
use dataloader::{IdleSignal, StreamUntilIdle, UntilIdle};
use errors::RequestId;
use loaders::LazyDataLoaders;
use mutation::Mutation;
use query::Query;
use subscription::Subscription;

pub type SessionGraphSchema = Schema<Query, Mutation, Subscription>;

/// The schema; `introspection: false` hides `__schema` and `__type`.
/// Subscriptions wait on `hub`.
pub fn build_schema(
    db: Option<sea_orm::DatabaseConnection>,
    hub: Option<Arc<EventHub>>,
    introspection: bool,
) -> SessionGraphSchema {
    // No extensions: with none registered, async-graphql resolves each field
    // directly instead of through the extension chain (about 7% of the CPU
    // of a nested query). Error codes are assigned in `execute` instead.
    // The engine's own nesting limit (32 by default) refused valid
    // documents within the documented limits; the bracket screen before
    // parsing already bounds nesting, so this one only backs it up.
    let mut builder = Schema::build(Query, Mutation, Subscription)
        .register_output_type::<objects::IdentitySessionType>()
        .limit_recursive_depth(screening::MAX_NESTING);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    if let Some(hub) = hub {
        builder = builder.data(hub);
    }
    if !introspection {
        builder = builder.disable_introspection();
    }
    if crate::telemetry::tracing_on() {
        // Only then: any extension sends every field through the
        // extension chain (see above).
        builder = builder.extension(ValidationSpans);
    }
    builder.finish()
}

/// The engine's validation as a `graphql.validate` span under the
/// operation's span.
struct ValidationSpans;

impl ExtensionFactory for ValidationSpans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationSpans)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ValidationSpans {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let span = match ctx.data_opt::<RequestState>() {
            Some(state) => {
                crate::telemetry::step_span_under(&state.operation_span, "graphql.validate")
            }
            None => crate::telemetry::step_span("graphql.validate"),
        };
        next.run(ctx).instrument(span).await
    }
}

/// The schema in SDL, as `sessiongraph schema` prints it.
pub fn sdl() -> String {
    // `@specifiedBy` included: introspection serves each custom scalar's
    // specification URL, and the committed SDL must say the same.
    build_schema(None, None, true).sdl_with_options(SDLExportOptions::new().include_specified_by())
}

/// An admitted request, with what admission learnt of it that execution
/// uses.
pub struct Prepared {
    pub request: async_graphql::Request,
    pub access: Arc<Access>,
    /// The columns its document reads; `None` when it does not parse.
    pub projection: Option<Projection>,
    /// See [`RequestState::operation_span`].
    pub operation_span: tracing::Span,
}

/// Runs one admitted request with its own dataloaders, so batches never
/// span requests; see [`dataloader`] for when they load.
pub async fn execute(
    schema: &SessionGraphSchema,
    db: ReadConnection,
    request: Prepared,
    request_id: RequestId,
) -> Response {
    let (request, idle) = match with_request_state(request, db, request_id) {
        Ok(prepared) => prepared,
        Err(parse_failure) => return parse_failure,
    };
    let response = UntilIdle::new(schema.execute(request), idle).await;
    code_engine_errors(response)
}

/// Runs one admitted request over a socket: a subscription's events, or
/// the one response of a query or mutation. The request's dataloaders and
/// clock last as long as the stream.
pub fn execute_stream(
    schema: &SessionGraphSchema,
    db: ReadConnection,
    request: Prepared,
    request_id: RequestId,
) -> BoxStream<'static, Response> {
    let (request, idle) = match with_request_state(request, db, request_id) {
        Ok(prepared) => prepared,
        Err(parse_failure) => {
            return futures_util::stream::once(async move { parse_failure }).boxed();
        }
    };
    let responses = schema.execute_stream(request).map(code_engine_errors);
    StreamUntilIdle::new(responses, idle).boxed()
}

/// The request with its own [`RequestState`] (dataloaders, reader, clock)
/// and the signal its dataloaders wait on; the answer instead when the
/// document does not parse. Parsed at admission and kept in the request for
/// the engine, so a parse failure is reported here, apart from the
/// validation failures that follow.
#[allow(clippy::result_large_err)] // the error is the finished answer
fn with_request_state(
    prepared: Prepared,
    db: ReadConnection,
    request_id: RequestId,
) -> Result<(async_graphql::Request, IdleSignal), Response> {
    let Prepared {
        mut request,
        access,
        projection,
        operation_span,
    } = prepared;
    let projection = match (projection, request.parsed_query()) {
        (Some(projection), _) => projection,
        // Admission prepares every document that parses.
        (None, Ok(_)) => Projection::ALL,
        (None, Err(error)) => {
            return Err(Response::from_request_errors(vec![with_code(
                error,
                Code::GraphqlParseFailed,
            )]));
        }
    };
    let idle = IdleSignal::default();
    let clock = Clock::at(Utc::now());
    let reader = Arc::new(Reader::new(db, access.clone(), clock.clone(), projection));
    let state = RequestState {
        loaders: LazyDataLoaders::new(&reader, &idle),
        reader,
        request_id,
        clock,
        access,
        operation_span,
        connection_selections: Default::default(),
    };
    Ok((request.data(state), idle))
}

/// Resolvers code their own errors. What is left came from the engine:
/// without a path, the document failed validation before running; with
/// one, a field's arguments could not be coerced.
///
/// The engine runs each copy of a field selected twice on its own (see
/// vendor/async-graphql/PATCHES.md); a failure inside both copies is one
/// failure of one field to the client, as the spec merges the copies.
fn code_engine_errors(mut response: Response) -> Response {
    let mut seen_paths = HashSet::new();
    response
        .errors
        .retain(|error| error.path.is_empty() || seen_paths.insert(format!("{:?}", error.path)));
    response.errors = response
        .errors
        .into_iter()
        .map(|error| {
            let code = if error.path.is_empty() {
                Code::GraphqlValidationFailed
            } else {
                Code::BadUserInput
            };
            with_code(error, code)
        })
        .collect();
    response
}

fn with_code(mut error: ServerError, code: Code) -> ServerError {
    code.on(&mut error);
    error
}
