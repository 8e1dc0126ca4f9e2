//! How long someone is on call in a row: the stretch, across every
//! service's levels, that holds an instant. A rota edit that makes one
//! longer than the trust's `max_on_call_in_a_row` is warned about (not
//! refused: a manager may have no one else).
//!
//! Pure: it resolves the rota at instants, stepping by each answer's
//! `valid_until` forwards and by the hour backwards.

use chrono::TimeDelta;

use super::{PersonIx, Rota};
use crate::clock::Instant;

/// How far either way a stretch is followed.
const LOOK: TimeDelta = TimeDelta::days(14);

impl Rota {
    /// Whether `person` is on a level of any service at `at` (the trust-wide
    /// fallback's own turn is not counted), and the first instant that
    /// could change.
    fn on_call_at(&self, person: PersonIx, at: Instant) -> (bool, Instant) {
        let id = &self.people[person as usize].id;
        let mut on = false;
        let mut next = at + TimeDelta::days(1);
        for ix in 0..self.services.len() {
            let chain = self.resolve(ix as super::ServiceIx, at);
            on |= chain
                .levels
                .iter()
                .any(|l| l.on_call.iter().any(|o| &o.person.id == id));
            if let Some(until) = chain.valid_until {
                next = next.min(until);
            }
        }
        (on, next.max(at + TimeDelta::minutes(1)))
    }

    /// The stretch `[from, until)` `person` is on call in a row that holds
    /// `at`, followed at most 14 days either way; `None` when they are not
    /// on call then.
    pub fn stretch_on_call(&self, person: PersonIx, at: Instant) -> Option<(Instant, Instant)> {
        if !self.on_call_at(person, at).0 {
            return None;
        }
        // Back by the hour to a time they are off, then forward exactly.
        let mut back = at;
        while at - back < LOOK && self.on_call_at(person, back - TimeDelta::hours(1)).0 {
            back -= TimeDelta::hours(1);
        }
        let mut from = (back - TimeDelta::hours(1)).max(at - LOOK);
        loop {
            let (on, next) = self.on_call_at(person, from);
            if on || from >= at {
                break;
            }
            from = next.min(at);
        }
        let mut until = at;
        while until - at < LOOK {
            let (on, next) = self.on_call_at(person, until);
            if !on {
                break;
            }
            until = next;
        }
        Some((from, until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::instant_of;

    #[test]
    fn a_twelve_hour_night_is_a_stretch_of_twelve_hours_at_most() {
        let rota =
            super::super::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rota"))
                .unwrap();
        assert_eq!(rota.max_on_call_in_a_row(), TimeDelta::hours(24));
        let dafydd = rota
            .people()
            .iter()
            .position(|p| p.id.as_str() == "dafydd-evans")
            .unwrap() as PersonIx;
        let at = instant_of("2026-11-28T23:00:00".parse().unwrap());
        let (from, until) = rota
            .stretch_on_call(dafydd, at)
            .expect("Dafydd is the registrar on Saturday night");
        assert!(from <= at && at < until);
        assert!(until - from <= TimeDelta::hours(24), "{from} to {until}");
    }
}
