//! The GraphQL schema of SPEC §1, as a library: built once per process,
//! executed per request with a fresh [`RequestState`].

pub mod batching;
pub mod connection;
pub mod context;
pub mod enums;
pub mod errors;
pub mod loader;
pub mod mutation;
pub mod pagination;
pub mod query;
pub mod scalars;
pub mod session_lists;
pub mod sql;
pub mod types;

use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, Response, Schema, ServerError};
use chrono::Utc;
use sea_orm::DatabaseConnection;

use batching::{IdleSignal, UntilIdle};
pub use context::RequestState;
use errors::{Code, RequestId};
use loader::Loader;
use mutation::Mutation;
use query::Query;

pub type SessionGraphSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn build_schema(db: Option<DatabaseConnection>) -> SessionGraphSchema {
    // No extensions: with none registered, async-graphql resolves each field
    // directly instead of through the extension chain (about 7% of the CPU
    // of a nested query). Error codes are assigned in `execute` instead.
    let mut builder = Schema::build(Query, Mutation, EmptySubscription);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The schema in SDL, as `sessiongraph schema` prints it.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// Runs one request with its own loader, so batches never span requests;
/// see [`batching`] for when they load.
pub async fn execute(
    schema: &SessionGraphSchema,
    db: DatabaseConnection,
    mut request: async_graphql::Request,
    request_id: RequestId,
) -> Response {
    // Parsed here, and kept in the request for the engine, so that a parse
    // failure can be told apart from the validation failures that follow.
    if let Err(error) = request.parsed_query() {
        return Response::from_errors(vec![with_code(error, Code::GraphqlParseFailed)]);
    }
    let idle = IdleSignal::default();
    let now = Utc::now();
    let state = RequestState {
        loader: DataLoader::new(Loader { db, now }, idle.spawner()).delay(Duration::ZERO),
        request_id,
        now,
    };
    let mut response = UntilIdle::new(schema.execute(request.data(state)), idle).await;
    // Resolvers code their own errors. What is left came from the engine:
    // without a path, the document failed validation before running; with
    // one, a field's arguments could not be coerced.
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
