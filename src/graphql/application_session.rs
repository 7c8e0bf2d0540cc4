//! `ApplicationSession`: a session an application holds on its own behalf.

use async_graphql::{Context, ID, Object};

use super::context::{fail, state};
use super::enums::SessionStatus;
use super::objects::{Application, ApplicationSession};
use super::scalars::{DateTime, Json};
use super::session_fields::{SessionMetadata, session_object};
use crate::store::status::{EffectiveStatus, effective_status};

session_object!(
    /// A session an application holds on its own behalf. It never has a parent.
    ApplicationSession {}
);
