use sea_orm::entity::prelude::*;

use super::enums::OwnerType;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub zone_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub dependencies_count: i32,
    pub identifier: String,
    pub name: String,
    pub owner_type: OwnerType,
    pub slug: String,
    pub description: Option<String>,
    /// `{ "docs_url": ... }` as the REST API returns it.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    /// `{ "oauth2": { "redirect_uris": [...], ... } }` as the REST API returns it.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub protocols: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::session::Entity")]
    Sessions,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
