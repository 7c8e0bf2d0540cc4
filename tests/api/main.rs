//! One integration-test binary, a module per feature area.

mod helpers;

mod import_rules;
mod import_writes;
mod migrations;
mod seed;
mod server;
