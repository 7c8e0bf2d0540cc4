//! How every record is addressed: zone first, then id (SPEC §4). The
//! readers, the joins and the dataloaders all key by it.

use rustc_hash::FxHashMap;

use super::SessionRow;
use crate::entities::{application, user, user_agent};

/// The `zone_id` and `id` every record starts with.
pub trait Keyed {
    fn zone_id(&self) -> &str;
    fn id(&self) -> &str;
}

macro_rules! keyed {
    ($($model:ty),*) => {
        $(impl Keyed for $model {
            fn zone_id(&self) -> &str {
                &self.zone_id
            }
            fn id(&self) -> &str {
                &self.id
            }
        })*
    };
}

keyed!(
    user::Model,
    application::Model,
    user_agent::Model,
    SessionRow
);

/// A record addressed the way every table is keyed: zone first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZonedId {
    pub zone_id: String,
    pub id: String,
}

impl ZonedId {
    pub fn new(zone_id: &str, id: &str) -> Self {
        ZonedId {
            zone_id: zone_id.to_owned(),
            id: id.to_owned(),
        }
    }

    /// The key of a record.
    pub fn of(record: &impl Keyed) -> Self {
        ZonedId::new(record.zone_id(), record.id())
    }
}

/// Groups keys by zone so each statement stays within one zone (SPEC §4).
pub(super) fn ids_by_zone(keys: &[ZonedId]) -> FxHashMap<&str, Vec<String>> {
    let mut groups: FxHashMap<&str, Vec<String>> = FxHashMap::default();
    for key in keys {
        groups.entry(&key.zone_id).or_default().push(key.id.clone());
    }
    groups
}
