//! The operation of a document that a request runs, picked by the spec's
//! rules (GetOperation) in one place for every check that needs it.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};
use async_graphql::{Name, Value, Variables};

/// The operation a request runs; `None` when the document does not say
/// which (an unknown name, or several operations and no name), which
/// validation reports.
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(operation), None) => operation,
        (DocumentOperations::Single(_), Some(_)) => return None,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
        (DocumentOperations::Multiple(operations), None) => {
            let mut all = operations.values();
            match (all.next(), all.next()) {
                (Some(only), None) => only,
                _ => return None,
            }
        }
    };
    Some(&operation.node)
}

/// Whether the request could run a mutation: the selected operation is
/// one, or the document does not say which operation runs and holds one
/// (validation refuses such a document, but a transport that must not
/// change data refuses it first).
pub fn may_mutate(document: &ExecutableDocument, name: Option<&str>) -> bool {
    match selected_operation(document, name) {
        Some(operation) => operation.ty == OperationType::Mutation,
        None => {
            name.is_none()
                && document
                    .operations
                    .iter()
                    .any(|(_, operation)| operation.node.ty == OperationType::Mutation)
        }
    }
}

/// The default values of the variables the request left out (the spec's
/// CoerceVariableValues). The engine applies defaults in field arguments
/// but evaluates `@skip`/`@include` against the request's variables alone,
/// so an omitted `$v: Boolean = true` read as false there.
pub fn omitted_variable_defaults(
    operation: &OperationDefinition,
    variables: &Variables,
) -> Vec<(Name, Value)> {
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
