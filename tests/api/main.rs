//! One integration-test binary, a module per feature area.

mod helpers;

mod auth;
mod bad_input;
mod conformance;
mod cors;
mod faults;
mod fuzz;
mod graphql_batching;
mod graphql_http;
mod graphql_mutations;
mod graphql_pagination;
mod graphql_queries;
mod http_batches;
mod import_rules;
mod import_writes;
mod limits;
mod migrations;
mod observability;
mod pooler;
mod projection;
mod replicas;
mod schema_snapshot;
mod seed;
mod server;
mod session_counts;
mod session_trees;
mod shared_state;
mod sse;
mod trusted_documents;
