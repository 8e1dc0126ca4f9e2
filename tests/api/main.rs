//! Nightingale black-box: a real server on a random port, a fresh store,
//! the demo trust, an injected clock and a fake Twilio on both sides.

#[path = "../support/mod.rs"]
mod support;

mod api_keys;
mod checkins;
mod concerns;
mod coordinator;
mod crash;
mod email;
mod email_out;
mod email_senders;
mod engine_loop;
mod enrolments;
mod errors;
mod hazards;
mod hl7;
mod holidays;
mod night;
mod oncall;
mod openapi;
mod pages;
mod provider_queue;
mod reports;
mod rota_edits;
mod staff;
mod stories;
mod strain;
mod twilio_client;
mod voice;
mod webhooks;
mod welsh;
