//! Test support shared by the integration tests: a fake Twilio and a
//! running Nightingale wired to it.

pub mod fake_twilio;
pub mod nightingale;
