//! sessiongraph: a GraphQL gateway over an identity platform's session data.
//!
//! The layout follows the request path (ARCHITECTURE.md): [`server`] and
//! [`http`] are the HTTP edge ([`cors`] the origins a browser may call it
//! from; [`websocket`] and [`sse`] the transports of subscriptions),
//! [`admission`] what every request passes, [`gateway`] runs it,
//! [`graphql`] is the schema and its dataloaders, [`store`] every SQL
//! statement, over the tables of [`entities`]; [`dataset`] is the import
//! format shared by [`import`] and [`seed`]; [`shared_state`] is what
//! gateway processes share through Redis.

pub mod admission;
pub mod auth;
pub mod cli;
pub mod codes;
pub mod cors;
pub mod dataset;
pub mod entities;
pub mod gateway;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod import;
pub mod live;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod shared_state;
pub mod sse;
pub mod store;
pub mod telemetry;
pub mod timestamp;
pub mod websocket;
