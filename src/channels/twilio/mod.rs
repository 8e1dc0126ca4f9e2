//! Twilio: webhook signatures, and the REST client for sending.

pub mod client;
pub mod signature;

pub use client::TwilioClient;
