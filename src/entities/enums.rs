//! The string-valued enums stored in the database, spelled as the REST API spells them.
//! Their defaults only fill columns a statement left out (see
//! `store::decode::cell`); no stored row relies on them.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Who owns an application.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum OwnerType {
    #[default]
    #[sea_orm(string_value = "platform")]
    Platform,
    #[sea_orm(string_value = "customer")]
    Customer,
}

/// Which member of the `Session` union a row is.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum SessionType {
    #[default]
    #[sea_orm(string_value = "user")]
    User,
    #[sea_orm(string_value = "application")]
    Application,
}

/// The status as stored. What clients see is the effective status: a stored
/// `active` session whose expiry has passed reads as expired.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum StoredStatus {
    #[default]
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "revoked")]
    Revoked,
}
