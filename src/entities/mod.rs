//! SeaORM entities: one module per table, mirroring `migrations/`.

pub mod application;
pub mod enums;
pub mod session;
pub mod user;
pub mod user_agent;
