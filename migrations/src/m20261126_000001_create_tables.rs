//! The four tables of the session graph.
//!
//! Everything is partitioned by zone (SPEC §4): every key, foreign key and
//! index leads with `zone_id`, so the schema can be sharded on it unchanged.
//! A plain index on `id` serves `node(id:)` lookups that do not know the zone.
//! `root_id` has no foreign key or index of its own: the root is an ancestor,
//! so the parent key's cascade already covers it, and `root` is a primary-key
//! lookup of `(zone_id, root_id)`.

use sea_orm_migration::prelude::*;

use crate::ddl;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE applications (
    zone_id            {id} NOT NULL,
    id                 {id} NOT NULL,
    organization_id    {id} NOT NULL,
    created_at         {ts} NOT NULL,
    updated_at         {ts} NOT NULL,
    dependencies_count INTEGER NOT NULL CHECK (dependencies_count >= 0),
    identifier         TEXT NOT NULL,
    name               TEXT NOT NULL,
    owner_type         TEXT NOT NULL CHECK (owner_type IN ('platform', 'customer')),
    slug               TEXT NOT NULL,
    description        TEXT,
    metadata           {json},
    protocols          {json},
    CONSTRAINT applications_pkey PRIMARY KEY (zone_id, id),
    CONSTRAINT applications_identifier_key UNIQUE (zone_id, identifier),
    CONSTRAINT applications_slug_key UNIQUE (zone_id, slug)
);
CREATE INDEX applications_id_idx ON applications (id);
CREATE INDEX applications_created_idx ON applications (zone_id, created_at, id);

CREATE TABLE users (
    zone_id          {id} NOT NULL,
    id               {id} NOT NULL,
    organization_id  {id} NOT NULL,
    created_at       {ts} NOT NULL,
    updated_at       {ts} NOT NULL,
    email            TEXT NOT NULL,
    email_verified   BOOLEAN NOT NULL,
    authenticated_at {ts},
    issuer           TEXT,
    provider_id      {id},
    subject          TEXT,
    CONSTRAINT users_pkey PRIMARY KEY (zone_id, id)
);
CREATE INDEX users_id_idx ON users (id);
CREATE INDEX users_created_idx ON users (zone_id, created_at, id);

CREATE TABLE user_agents (
    zone_id         {id} NOT NULL,
    id              {id} NOT NULL,
    organization_id {id} NOT NULL,
    created_at      {ts} NOT NULL,
    updated_at      {ts} NOT NULL,
    identifier      TEXT NOT NULL,
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    CONSTRAINT user_agents_pkey PRIMARY KEY (zone_id, id),
    CONSTRAINT user_agents_slug_key UNIQUE (zone_id, slug)
);
CREATE INDEX user_agents_id_idx ON user_agents (id);
CREATE INDEX user_agents_created_idx ON user_agents (zone_id, created_at, id);

CREATE TABLE sessions (
    zone_id          {id} NOT NULL,
    id               {id} NOT NULL,
    session_type     TEXT NOT NULL CHECK (session_type IN ('user', 'application')),
    status           TEXT NOT NULL CHECK (status IN ('active', 'expired', 'revoked')),
    organization_id  {id},
    application_id   {id},
    user_id          {id},
    user_agent_id    {id},
    parent_id        {id},
    root_id          {id} NOT NULL,
    depth            INTEGER NOT NULL CHECK (depth >= 0),
    authenticated_at {ts},
    created_at       {ts},
    updated_at       {ts},
    expires_at       {ts},
    issuer           TEXT,
    subject          TEXT,
    provider_id      {id},
    metadata_name    TEXT,
    session_data     {json},
    CONSTRAINT sessions_pkey PRIMARY KEY (zone_id, id),
    CONSTRAINT sessions_application_fkey FOREIGN KEY (zone_id, application_id)
        REFERENCES applications (zone_id, id),
    CONSTRAINT sessions_user_fkey FOREIGN KEY (zone_id, user_id)
        REFERENCES users (zone_id, id),
    CONSTRAINT sessions_user_agent_fkey FOREIGN KEY (zone_id, user_agent_id)
        REFERENCES user_agents (zone_id, id),
    CONSTRAINT sessions_parent_fkey FOREIGN KEY (zone_id, parent_id)
        REFERENCES sessions (zone_id, id) ON DELETE CASCADE,
    CONSTRAINT sessions_kind_shape CHECK (
        (session_type = 'user' AND user_id IS NOT NULL)
        OR (session_type = 'application' AND application_id IS NOT NULL
            AND user_id IS NULL AND user_agent_id IS NULL AND parent_id IS NULL)
    ),
    CONSTRAINT sessions_depth_shape CHECK (
        (parent_id IS NULL AND depth = 0 AND root_id = id)
        OR (parent_id IS NOT NULL AND depth > 0)
    )
);
CREATE INDEX sessions_id_idx ON sessions (id);
CREATE INDEX sessions_created_idx ON sessions (zone_id, created_at, id);
CREATE INDEX sessions_expires_idx ON sessions (zone_id, expires_at, id);
CREATE INDEX sessions_authenticated_idx ON sessions (zone_id, authenticated_at, id);
CREATE INDEX sessions_user_idx ON sessions (zone_id, user_id, created_at, id);
CREATE INDEX sessions_application_idx ON sessions (zone_id, application_id, created_at, id);
CREATE INDEX sessions_user_agent_idx ON sessions (zone_id, user_agent_id, created_at, id);
CREATE INDEX sessions_parent_idx ON sessions (zone_id, parent_id, created_at, id)
"#;

const DOWN: &str = r#"
DROP TABLE sessions;
DROP TABLE user_agents;
DROP TABLE users;
DROP TABLE applications
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        ddl::run(manager, DOWN).await
    }

    fn use_transaction(&self) -> Option<bool> {
        // SQLite can roll back DDL too; a half-created schema helps nobody.
        Some(true)
    }
}
