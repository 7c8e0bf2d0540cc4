//! The GraphQL enums of SPEC §1.

use async_graphql::Enum;

use crate::entities::enums::{OwnerType, SessionType as StoredSessionType};
use crate::store::keyset::OrderKey;
use crate::store::status::EffectiveStatus;

/// The effective status of a session.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// The session is valid: not revoked and, if it has an expiry, not past it.
    Active,
    /// The session's expiry has passed (whatever status it was stored with, unless revoked).
    Expired,
    /// The session was revoked and can no longer be used.
    Revoked,
}

impl From<EffectiveStatus> for SessionStatus {
    fn from(status: EffectiveStatus) -> Self {
        match status {
            EffectiveStatus::Active => SessionStatus::Active,
            EffectiveStatus::Expired => SessionStatus::Expired,
            EffectiveStatus::Revoked => SessionStatus::Revoked,
        }
    }
}

impl From<SessionStatus> for EffectiveStatus {
    fn from(status: SessionStatus) -> Self {
        match status {
            SessionStatus::Active => EffectiveStatus::Active,
            SessionStatus::Expired => EffectiveStatus::Expired,
            SessionStatus::Revoked => EffectiveStatus::Revoked,
        }
    }
}

/// The kind of a session.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionType {
    /// A session a user holds, possibly refreshed or delegated from another user session.
    User,
    /// A session an application holds on its own behalf (client credentials).
    Application,
}

impl From<SessionType> for StoredSessionType {
    fn from(kind: SessionType) -> Self {
        match kind {
            SessionType::User => StoredSessionType::User,
            SessionType::Application => StoredSessionType::Application,
        }
    }
}

/// Who owns an application.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationOwnerType {
    /// An application of the identity platform itself.
    Platform,
    /// An application a customer registered.
    Customer,
}

impl From<OwnerType> for ApplicationOwnerType {
    fn from(owner: OwnerType) -> Self {
        match owner {
            OwnerType::Platform => ApplicationOwnerType::Platform,
            OwnerType::Customer => ApplicationOwnerType::Customer,
        }
    }
}

/// A sort direction.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// Ascending: oldest first. Sessions without the ordering timestamp come last.
    Asc,
    /// Descending: newest first. Sessions without the ordering timestamp come last.
    Desc,
}

/// The timestamp sessions are ordered by; ties are broken by id.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOrderField {
    /// When the session was created.
    CreatedAt,
    /// When the session expires.
    ExpiresAt,
    /// When the session's subject last authenticated.
    AuthenticatedAt,
}

impl From<SessionOrderField> for OrderKey {
    fn from(field: SessionOrderField) -> Self {
        match field {
            SessionOrderField::CreatedAt => OrderKey::CreatedAt,
            SessionOrderField::ExpiresAt => OrderKey::ExpiresAt,
            SessionOrderField::AuthenticatedAt => OrderKey::AuthenticatedAt,
        }
    }
}
