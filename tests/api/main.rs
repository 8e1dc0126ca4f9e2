//! The HTTP service, black-box: a real server on a random port, the demo
//! trust, and an injected clock.

mod helpers;
mod oncall;
