//! Nightingale: one number and one address, any hour, for people discharged
//! from NHS care and their carers; every concern reaches a named person.
//!
//! The shape is in `docs/architecture.md`: which module holds what, who may
//! import whom (no circles; `tests/architecture.rs` checks), the ports by
//! noun that `store` implements, and the walk of one concern through the
//! files. Everything is wired in [`app`].

pub mod access;
pub mod api_keys;
pub mod app;
pub mod assets;
pub mod calendar;
pub mod channels;
pub mod checkins;
pub mod clock;
pub mod concern;
pub mod config;
pub mod demo;
pub mod directory;
pub mod email;
pub mod engine;
pub mod escalation;
pub mod handover;
pub mod hl7;
pub mod http;
pub mod inbox;
pub mod links;
pub mod logs;
pub mod manage;
pub mod metrics;
pub mod mllp;
pub mod operations;
pub mod outbox;
pub mod reports;
pub mod rota;
pub mod safety;
pub mod spreadsheet;
pub mod store;
pub mod store_error;
pub mod templates;
pub mod timeline;
pub mod voice;
pub mod work;
