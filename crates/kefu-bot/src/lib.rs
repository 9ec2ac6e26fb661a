//! kefu-bot: the self-service bot. Pure decisions over data the caller
//! loads (the shopper, their orders and shipments, the shop's rules); the
//! server applies what it decides (messages, records, hand-offs) through the
//! store. Start at [`rules`].

pub mod agent_actions;
pub mod flow;
pub mod intents;
pub mod knowledge;
pub mod metrics;
pub mod rules;
pub mod stories;
