//! The GraphQL schema of SPEC §1, as a library: built once per process,
//! executed per request with a fresh [`RequestState`].

pub mod batching;
pub mod connection;
pub mod context;
pub mod documents;
pub mod enums;
pub mod errors;
pub mod limits;
pub mod loader;
pub mod mutation;
pub mod pagination;
pub mod projection;
pub mod query;
pub mod scalars;
pub mod screening;
pub mod session_lists;
pub mod session_row;
pub mod session_stats;
pub mod session_trees;
pub mod sql;
pub mod stats;
pub mod tenancy;
pub mod types;

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{
    EmptySubscription, Name, Response, SDLExportOptions, Schema, ServerError, Value as ConstValue,
    Variables,
};
use chrono::Utc;
use sea_orm::DatabaseConnection;

use crate::auth::{Access, READ_SCOPE, WRITE_SCOPE};
use batching::{IdleSignal, UntilIdle};
pub use context::RequestState;
use errors::{Code, RequestId};
use loader::{Loader, Loaders};
use mutation::Mutation;
use projection::Projection;
use query::Query;

pub type SessionGraphSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema; `introspection: false` hides `__schema` and `__type`.
pub fn build_schema(db: Option<DatabaseConnection>, introspection: bool) -> SessionGraphSchema {
    // No extensions: with none registered, async-graphql resolves each field
    // directly instead of through the extension chain (about 7% of the CPU
    // of a nested query). Error codes are assigned in `execute` instead.
    // The engine's own nesting limit (32 by default) refused valid
    // documents within the documented limits; the bracket screen before
    // parsing already bounds nesting, so this one only backs it up.
    let mut builder = Schema::build(Query, Mutation, EmptySubscription)
        .limit_recursive_depth(screening::MAX_NESTING);
    if let Some(db) = db {
        builder = builder.data(db);
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
    build_schema(None, true).sdl_with_options(SDLExportOptions::new().include_specified_by())
}

/// Runs one request with its own loader, so batches never span requests;
/// see [`batching`] for when they load.
pub async fn execute(
    schema: &SessionGraphSchema,
    db: DatabaseConnection,
    mut request: async_graphql::Request,
    request_id: RequestId,
    access: Arc<Access>,
) -> Response {
    // Parsed here, and kept in the request for the engine, so that a parse
    // failure can be told apart from the validation failures that follow.
    let operation_name = request.operation_name.clone();
    // Taken out while the parsed document borrows the request.
    let mut variables = std::mem::take(&mut request.variables);
    let document = match request.parsed_query() {
        Ok(document) => document,
        Err(error) => {
            return Response::from_errors(vec![with_code(error, Code::GraphqlParseFailed)]);
        }
    };
    let defaults = omitted_variable_defaults(document, operation_name.as_deref(), &variables);
    let required_scope = match operation_type(document, operation_name.as_deref()) {
        Some(OperationType::Mutation) if !access.may_write() => Some(WRITE_SCOPE),
        Some(OperationType::Query) if !access.may_read() => Some(READ_SCOPE),
        _ => None,
    };
    if let Some(scope) = required_scope {
        let error = ServerError::new(format!("the token's scope lacks `{scope}`"), None);
        return Response::from_errors(vec![with_code(error, Code::Forbidden)]);
    }
    let projection = Projection::of(document);
    variables.extend(defaults);
    request.variables = variables;
    let idle = IdleSignal::default();
    let now = Utc::now();
    let loader = Loader {
        db,
        now,
        access: access.clone(),
        projection,
    };
    let state = RequestState {
        loader: Loaders::new(loader, &idle),
        request_id,
        now,
        access,
    };
    let mut response = UntilIdle::new(schema.execute(request.data(state)), idle).await;
    // Resolvers code their own errors. What is left came from the engine:
    // without a path, the document failed validation before running; with
    // one, a field's arguments could not be coerced.
    // The engine runs each copy of a field selected twice on its own (see
    // vendor/async-graphql/PATCHES.md); a failure inside both copies is one
    // failure of one field to the client, as the spec merges the copies.
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

/// The type of the operation a request would run; `None` when the document
/// does not say which (validation reports that).
pub fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    selected_operation(document, operation_name).map(|operation| operation.ty)
}

/// The operation a request runs; `None` when the document does not say which.
fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let mut selected =
        document
            .operations
            .iter()
            .filter(|(name, _)| match (operation_name, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                (None, _) => true,
                (Some(_), None) => false,
            });
    let (_, operation) = selected.next()?;
    if selected.next().is_some() {
        return None;
    }
    Some(&operation.node)
}

/// The default values of the variables the request left out (the spec's
/// CoerceVariableValues). The engine applies defaults in field arguments
/// but evaluates `@skip`/`@include` against the request's variables alone,
/// so an omitted `$v: Boolean = true` read as false there.
fn omitted_variable_defaults(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Vec<(Name, ConstValue)> {
    let Some(operation) = selected_operation(document, operation_name) else {
        return Vec::new();
    };
    operation
        .variable_definitions
        .iter()
        .filter(|definition| !variables.contains_key(&definition.node.name.node))
        .filter_map(|definition| {
            let default = definition.node.default_value.as_ref()?;
            Some((definition.node.name.node.clone(), default.node.clone()))
        })
        .collect()
}

fn with_code(mut error: ServerError, code: Code) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}
