//! Test support shared by the integration tests: a fake Twilio, a running
//! Nightingale wired to it, and a redis-server of a test's own.

pub mod browser;
pub mod fake_twilio;
pub mod mllp;
pub mod nightingale;
pub mod phone;
pub mod redis_server;
pub mod serve_process;
pub mod smtp;
pub mod staff;
