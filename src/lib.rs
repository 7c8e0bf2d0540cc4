//! sessiongraph: a GraphQL gateway over an identity platform's session data.
//!
//! The layout follows the request path: [`server`] is the HTTP edge, [`db`]
//! and [`entities`] the database, [`dataset`] the import format shared by
//! [`import`] and [`seed`].

pub mod auth;
pub mod cli;
pub mod dataset;
pub mod db;
pub mod entities;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod import;
pub mod metrics;
pub mod persisted_queries;
pub mod rate_limit;
pub mod seed;
pub mod server;
pub mod telemetry;
pub mod timestamp;
