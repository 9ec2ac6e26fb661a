//! Identifiers: UUIDv7 newtypes, so an agent id can never be passed where a
//! conversation id is expected, and ids sort by creation time.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// Something that isn't an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                Uuid::parse_str(text.trim()).map(Self).map_err(|_| InvalidId { kind: $kind })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

define_id!(/// A shop (tenant); every other record belongs to exactly one.
    ShopId, "shop");
define_id!(AgentId, "agent");
define_id!(SkillGroupId, "skill group");
define_id!(CustomerId, "customer");
define_id!(ProductId, "product");
define_id!(OrderId, "order");
define_id!(ShipmentId, "shipment");
define_id!(ConversationId, "conversation");
define_id!(MessageId, "message");
define_id!(KnowledgeId, "knowledge entry");
define_id!(PhraseId, "quick phrase");
define_id!(AttachmentId, "attachment");

/// Where new ids come from; tests substitute a deterministic source.
pub trait IdGen: Send + Sync {
    fn new_uuid(&self) -> Uuid;
}

/// Time-ordered UUIDv7 ids.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7;

impl IdGen for UuidV7 {
    fn new_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Counts up from a seed: reproducible ids for tests and the demo seed.
#[derive(Debug, Default)]
pub struct SequentialIds(std::sync::atomic::AtomicU64);

impl SequentialIds {
    pub fn starting_at(n: u64) -> Self {
        Self(std::sync::atomic::AtomicU64::new(n))
    }
}

impl IdGen for SequentialIds {
    fn new_uuid(&self) -> Uuid {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Version 7 layout with the counter in the timestamp bits keeps ordering.
        Uuid::from_u128(((n as u128) << 80) | (0x7u128 << 76) | (0x8u128 << 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = ConversationId::from_uuid(UuidV7.new_uuid());
        assert_eq!(ConversationId::parse(&id.to_string()), Ok(id));
        assert_eq!(ConversationId::parse("not-an-id"), Err(InvalidId { kind: "conversation" }));
    }

    #[test]
    fn sequential_ids_sort_in_order() {
        let ids = SequentialIds::starting_at(1);
        let a = ids.new_uuid();
        let b = ids.new_uuid();
        assert!(a < b);
    }
}
