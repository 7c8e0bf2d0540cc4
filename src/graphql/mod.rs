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
pub mod projection;
pub mod query;
pub mod scalars;
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

use async_graphql::{Response, SDLExportOptions, Schema, ServerError};
use chrono::Utc;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::admission::screening;
use crate::auth::Access;
use crate::codes::Code;
use crate::live::EventHub;
use crate::store::replicas::ReadConnection;
use crate::store::{Clock, Reader};
use context::RequestState;
use dataloader::{IdleSignal, StreamUntilIdle, UntilIdle};
use errors::RequestId;
use loaders::LazyDataLoaders;
use mutation::Mutation;
use projection::projection_of;
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
    builder.finish()
}

/// The schema in SDL, as `sessiongraph schema` prints it.
pub fn sdl() -> String {
    // `@specifiedBy` included: introspection serves each custom scalar's
    // specification URL, and the committed SDL must say the same.
    build_schema(None, None, true).sdl_with_options(SDLExportOptions::new().include_specified_by())
}

/// Runs one admitted request with its own dataloaders, so batches never
/// span requests; see [`dataloader`] for when they load.
pub async fn execute(
    schema: &SessionGraphSchema,
    db: ReadConnection,
    request: async_graphql::Request,
    request_id: RequestId,
    access: Arc<Access>,
) -> Response {
    let (request, idle) = match with_request_state(request, db, request_id, access) {
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
    request: async_graphql::Request,
    request_id: RequestId,
    access: Arc<Access>,
) -> BoxStream<'static, Response> {
    let (request, idle) = match with_request_state(request, db, request_id, access) {
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
    mut request: async_graphql::Request,
    db: ReadConnection,
    request_id: RequestId,
    access: Arc<Access>,
) -> Result<(async_graphql::Request, IdleSignal), Response> {
    let projection = match request.parsed_query() {
        Ok(document) => projection_of(document),
        Err(error) => {
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
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}
