//! Typed records in the REST API's shape, and their mapping to table rows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::entities::enums::{OwnerType, SessionType, StoredStatus};
use crate::entities::{application, session, user, user_agent};
use crate::timestamp;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dataset {
    pub applications: Vec<Application>,
    pub users: Vec<User>,
    pub user_agents: Vec<UserAgent>,
    pub sessions: Vec<Session>,
}

impl Dataset {
    pub fn record_count(&self) -> usize {
        self.applications.len() + self.users.len() + self.user_agents.len() + self.sessions.len()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    pub id: String,
    pub zone_id: String,
    pub organization_id: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
    pub dependencies_count: i32,
    pub identifier: String,
    pub name: String,
    pub owner_type: OwnerType,
    pub slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ApplicationMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocols: Option<ApplicationProtocols>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationMetadata {
    pub docs_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationProtocols {
    pub oauth2: Option<OAuth2Protocol>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuth2Protocol {
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub zone_id: String,
    pub organization_id: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
    pub email: String,
    pub email_verified: bool,
    #[serde(
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub authenticated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserAgent {
    pub id: String,
    pub zone_id: String,
    pub organization_id: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
    pub identifier: String,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub session_type: SessionType,
    pub id: String,
    pub zone_id: String,
    pub status: StoredStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub authenticated_at: Option<DateTime<Utc>>,
    #[serde(
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(
        serialize_with = "timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<SessionMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_data: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMetadata {
    pub name: String,
}

fn to_json<T: Serialize>(value: &Option<T>) -> Option<Value> {
    // Serialising these plain structs to a Value cannot fail.
    value.as_ref().and_then(|v| serde_json::to_value(v).ok())
}

fn from_json<T: for<'de> Deserialize<'de>>(value: Option<Value>) -> Option<T> {
    value.and_then(|v| serde_json::from_value(v).ok())
}

impl Application {
    pub fn to_model(&self) -> application::Model {
        application::Model {
            zone_id: self.zone_id.clone(),
            id: self.id.clone(),
            organization_id: self.organization_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            dependencies_count: self.dependencies_count,
            identifier: self.identifier.clone(),
            name: self.name.clone(),
            owner_type: self.owner_type,
            slug: self.slug.clone(),
            description: self.description.clone(),
            metadata: to_json(&self.metadata),
            protocols: to_json(&self.protocols),
        }
    }

    pub fn from_model(model: application::Model) -> Self {
        Application {
            id: model.id,
            zone_id: model.zone_id,
            organization_id: model.organization_id,
            created_at: model.created_at,
            updated_at: model.updated_at,
            dependencies_count: model.dependencies_count,
            identifier: model.identifier,
            name: model.name,
            owner_type: model.owner_type,
            slug: model.slug,
            description: model.description,
            metadata: from_json(model.metadata),
            protocols: from_json(model.protocols),
        }
    }
}

impl User {
    pub fn to_model(&self) -> user::Model {
        user::Model {
            zone_id: self.zone_id.clone(),
            id: self.id.clone(),
            organization_id: self.organization_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            email: self.email.clone(),
            email_verified: self.email_verified,
            authenticated_at: self.authenticated_at,
            issuer: self.issuer.clone(),
            provider_id: self.provider_id.clone(),
            subject: self.subject.clone(),
        }
    }

    pub fn from_model(model: user::Model) -> Self {
        User {
            id: model.id,
            zone_id: model.zone_id,
            organization_id: model.organization_id,
            created_at: model.created_at,
            updated_at: model.updated_at,
            email: model.email,
            email_verified: model.email_verified,
            authenticated_at: model.authenticated_at,
            issuer: model.issuer,
            provider_id: model.provider_id,
            subject: model.subject,
        }
    }
}

impl UserAgent {
    pub fn to_model(&self) -> user_agent::Model {
        user_agent::Model {
            zone_id: self.zone_id.clone(),
            id: self.id.clone(),
            organization_id: self.organization_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            identifier: self.identifier.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
        }
    }

    pub fn from_model(model: user_agent::Model) -> Self {
        UserAgent {
            id: model.id,
            zone_id: model.zone_id,
            organization_id: model.organization_id,
            created_at: model.created_at,
            updated_at: model.updated_at,
            identifier: model.identifier,
            name: model.name,
            slug: model.slug,
        }
    }
}

impl Session {
    /// The row for this session, with the tree position the import planned.
    pub fn to_model(&self, root_id: &str, depth: i32) -> session::Model {
        session::Model {
            zone_id: self.zone_id.clone(),
            id: self.id.clone(),
            session_type: self.session_type,
            status: self.status,
            organization_id: self.organization_id.clone(),
            application_id: self.application_id.clone(),
            user_id: self.user_id.clone(),
            user_agent_id: self.user_agent_id.clone(),
            parent_id: self.parent_id.clone(),
            root_id: root_id.to_owned(),
            depth,
            authenticated_at: self.authenticated_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            provider_id: self.provider_id.clone(),
            metadata_name: self.metadata.as_ref().map(|m| m.name.clone()),
            session_data: self.session_data.clone().map(Value::Object),
        }
    }

    pub fn from_model(model: session::Model) -> Self {
        Session {
            session_type: model.session_type,
            id: model.id,
            zone_id: model.zone_id,
            status: model.status,
            organization_id: model.organization_id,
            application_id: model.application_id,
            user_id: model.user_id,
            user_agent_id: model.user_agent_id,
            parent_id: model.parent_id,
            authenticated_at: model.authenticated_at,
            created_at: model.created_at,
            updated_at: model.updated_at,
            expires_at: model.expires_at,
            issuer: model.issuer,
            subject: model.subject,
            provider_id: model.provider_id,
            metadata: model.metadata_name.map(|name| SessionMetadata { name }),
            session_data: match model.session_data {
                Some(Value::Object(map)) => Some(map),
                _ => None,
            },
        }
    }
}
