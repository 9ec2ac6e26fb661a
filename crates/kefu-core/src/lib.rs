//! kefu-core: the domain of a customer-service desk for e-commerce shops.
//!
//! It holds the domain types (shops, agents, customers, orders, shipments,
//! conversations, messages), the rules that act on them (routing, input
//! validation by parsing into newtypes) and the ports the rest of the system
//! plugs into: [`store::Store`], [`event::EventBus`] and [`clock::Clock`].
//!
//! It must never depend on HTTP, SQL, JSON or any other wire format: nothing
//! here derives `Serialize`. `kefu-server` converts to DTOs explicitly and
//! `kefu-store` maps to rows explicitly.
//!
//! Start reading at [`conversation`] and [`store`].

pub mod aftersales;
pub mod agent;
pub mod attachment;
pub mod botturn;
pub mod catalog;
pub mod clock;
pub mod conversation;
pub mod customer;
pub mod desk;
pub mod event;
pub mod id;
pub mod invoice;
pub mod knowledge;
pub mod kpi;
pub mod money;
pub mod order;
pub mod outbound;
pub mod phrase;
pub mod request;
pub mod routing;
pub mod service;
pub mod shop;
pub mod store;
