//! async-graphql 7.0.19's own tests (the crates.io release's `tests/`,
//! unchanged but where a line says `sessiongraph:`), as modules of one test
//! binary. See ../PATCHES.md, "Upstream tests".

// Some files define types only to see that they compile.
#![allow(dead_code)]

mod batch_request;
mod binary;
mod complex_object;
mod connection;
mod default_value;
mod derived_field;
mod description;
mod directive;
// dynamic_schema.rs: left out, the engine's `dynamic-schema` code does not
// compile with our foldhash change.
mod r#enum;
mod error_ext;
mod export_sdl;
mod extension;
mod federation;
mod field_features;
mod fields_merge;
mod generic_types;
mod guard;
mod hygiene;
mod input_object;
mod input_value;
mod interface;
mod interface_exporting;
mod introspection;
mod introspection_visible;
mod json_type;
mod lifetime;
mod list;
mod maybe_undefined;
mod merged_object;
mod mut_args;
mod mutation;
mod name_conflict;
mod object;
mod oneof_object;
mod optional;
mod preserve_order;
mod proc_macro_in_macro_rules;
mod raw_ident;
// Not upstream: the `#[graphql(ready)]` patch (../PATCHES.md).
mod ready_fields;
mod rename;
mod result;
mod scalar;
mod schema;
mod serializer_uuid;
mod simple_object;
mod subscription;
mod subscription_websocket_graphql_ws;
mod subscription_websocket_subscriptions_transport_ws;
mod type_directive;
mod union;
mod use_type_description;
mod validators;
mod variables;

// async-graphql-value 7.2.1's own test.
#[path = "../../async-graphql-value/tests/test_serde.rs"]
mod value_test_serde;
