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

/// A [`ZonedId`] made of borrowed parts, to look one up in a [`ByZonedId`]
/// map without building the owned key. Hashes as the `ZonedId` of the
/// same parts does (both hash their two strings in order).
#[derive(Debug, Clone, Copy, Hash)]
pub struct ZonedIdRef<'a> {
    pub zone_id: &'a str,
    pub id: &'a str,
}

impl<'a> ZonedIdRef<'a> {
    pub fn new(zone_id: &'a str, id: &'a str) -> Self {
        ZonedIdRef { zone_id, id }
    }
}

impl hashbrown::Equivalent<ZonedId> for ZonedIdRef<'_> {
    fn equivalent(&self, key: &ZonedId) -> bool {
        self.zone_id == key.zone_id && self.id == key.id
    }
}

impl From<&ZonedIdRef<'_>> for ZonedId {
    fn from(key: &ZonedIdRef<'_>) -> Self {
        ZonedId::new(key.zone_id, key.id)
    }
}

/// Records by their key, found by a [`ZonedIdRef`] as well.
pub type ByZonedId<V> = hashbrown::HashMap<ZonedId, V, rustc_hash::FxBuildHasher>;

/// Groups keys by zone so each statement stays within one zone (SPEC §4).
pub(super) fn ids_by_zone(keys: &[ZonedId]) -> FxHashMap<&str, Vec<String>> {
    let mut groups: FxHashMap<&str, Vec<String>> = FxHashMap::default();
    for key in keys {
        groups.entry(&key.zone_id).or_default().push(key.id.clone());
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_key_finds_its_owned_twin() {
        let mut map = ByZonedId::default();
        map.insert(ZonedId::new("zone_a", "ses_1"), 1);
        map.insert(ZonedId::new("zone_b", "ses_1"), 2);
        map.insert(ZonedId::new("zone_a", "ses_2"), 3);
        assert_eq!(map.get(&ZonedIdRef::new("zone_a", "ses_1")), Some(&1));
        assert_eq!(map.get(&ZonedIdRef::new("zone_b", "ses_1")), Some(&2));
        assert_eq!(map.get(&ZonedIdRef::new("zone_a", "ses_2")), Some(&3));
        // The parts are hashed apart: moving a byte across them is another key.
        assert_eq!(map.get(&ZonedIdRef::new("zone_a", "ses_")), None);
        assert_eq!(map.get(&ZonedIdRef::new("zone_", "ases_1")), None);
    }
}
