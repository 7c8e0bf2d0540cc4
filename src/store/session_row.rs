//! A session as the graph reads it: the stored columns, with the claims kept
//! as the JSON text the database sent. Only the `sessionData` field parses
//! them; parsing (and later freeing) the claims of every row of every page
//! was 5% of a nested query's CPU, for a field most queries never select.

use chrono::{DateTime, Utc};

use super::decode::by_position;
use crate::entities::enums::{SessionType, StoredStatus};

/// The fields mirror [`crate::entities::session::Model`]; see there for their meaning.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub zone_id: String,
    pub id: String,
    pub session_type: SessionType,
    pub status: StoredStatus,
    pub organization_id: Option<String>,
    pub application_id: Option<String>,
    pub user_id: Option<String>,
    pub user_agent_id: Option<String>,
    pub parent_id: Option<String>,
    pub root_id: String,
    pub depth: i32,
    pub authenticated_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub provider_id: Option<String>,
    pub metadata_name: Option<String>,
    /// The claims as JSON text (`CAST(session_data AS TEXT)`).
    pub session_data: Option<String>,
}

impl SessionRow {
    /// The claims, parsed.
    pub fn session_data(&self) -> Option<serde_json::Value> {
        let text = self.session_data.as_deref()?;
        match serde_json::from_str(text) {
            Ok(value) => Some(value),
            Err(error) => {
                // Both databases only store valid JSON here (jsonb, or text
                // the importer serialised), so this is a damaged database.
                tracing::error!(session = %self.id, %error, "stored session_data is not JSON");
                None
            }
        }
    }
}

by_position!(SessionRow {
    zone_id,
    id,
    session_type,
    status,
    organization_id,
    application_id,
    user_id,
    user_agent_id,
    parent_id,
    root_id,
    depth,
    authenticated_at,
    created_at,
    updated_at,
    expires_at,
    issuer,
    subject,
    provider_id,
    metadata_name,
    session_data,
});
