use sea_orm::entity::prelude::*;

use super::enums::{SessionType, StoredStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub zone_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub session_type: SessionType,
    pub status: StoredStatus,
    pub organization_id: Option<String>,
    pub application_id: Option<String>,
    pub user_id: Option<String>,
    pub user_agent_id: Option<String>,
    pub parent_id: Option<String>,
    /// The top-level session of this session's tree (itself without a parent),
    /// kept by the importer so `root` is one index lookup.
    pub root_id: String,
    /// 0 without a parent, parent's depth + 1 otherwise; `includeNested: false`
    /// lists depth 0 and 1 only.
    pub depth: i32,
    pub authenticated_at: Option<DateTimeUtc>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub provider_id: Option<String>,
    /// `metadata.name`; the whole `metadata` object is null when this is.
    pub metadata_name: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub session_data: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::application::Entity",
        from = "(Column::ZoneId, Column::ApplicationId)",
        to = "(super::application::Column::ZoneId, super::application::Column::Id)"
    )]
    Application,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "(Column::ZoneId, Column::UserId)",
        to = "(super::user::Column::ZoneId, super::user::Column::Id)"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::user_agent::Entity",
        from = "(Column::ZoneId, Column::UserAgentId)",
        to = "(super::user_agent::Column::ZoneId, super::user_agent::Column::Id)"
    )]
    UserAgent,
    #[sea_orm(
        belongs_to = "Entity",
        from = "(Column::ZoneId, Column::ParentId)",
        to = "(Column::ZoneId, Column::Id)"
    )]
    Parent,
}

impl Related<super::application::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Application.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::user_agent::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserAgent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
