//! People in the rota files (`[people.*]`): their contact methods, their
//! own hours when they co-ordinate care, and the names elsewhere that
//! point at them.

use std::time::Duration;

use toml::Spanned;

use super::names::{Names, suggest};
use super::raw::RawPerson;
use super::{Compiler, Defined, Src};
use crate::calendar::WorkingHours;
use crate::directory::{ContactMethod, EmailAddress, Id, PhoneNumber, Staff, clean_line};
use crate::rota::rotation::PersonIx;

impl Compiler<'_> {
    /// A person, and their own working hours and wait for an accept if
    /// they are a care co-ordinator (`hours` on the person).
    pub(super) fn person(
        &mut self,
        d: Defined<RawPerson>,
    ) -> (Staff, Option<(WorkingHours, Duration)>) {
        let Defined { id, src, raw } = d;
        let problems_before = self.problems.len();
        let file = src.file;
        let coordinating = self.coordinating(&id, file, &raw);
        let phone = raw.phone.and_then(|p| {
            let s = Src::of(file, &p);
            PhoneNumber::parse(p.get_ref())
                .map_err(|e| self.report(&s, format!("phone: {e}")))
                .ok()
        });
        let email = raw.email.and_then(|e| {
            let s = Src::of(file, &e);
            EmailAddress::parse(e.get_ref())
                .map_err(|err| self.report(&s, format!("email: {err}")))
                .ok()
        });
        let notify: Vec<Spanned<String>> = match raw.notify {
            Some(n) => n,
            None => {
                let mut n = Vec::new();
                if phone.is_some() {
                    n.push(Spanned::new(src.span.clone(), "sms".to_owned()));
                    n.push(Spanned::new(src.span.clone(), "voice".to_owned()));
                }
                if email.is_some() {
                    n.push(Spanned::new(src.span.clone(), "email".to_owned()));
                }
                n
            }
        };
        let mut contacts = Vec::new();
        let mut after = Vec::new();
        for method in notify {
            let s = Src::of(file, &method);
            // "voice after 3m": the method, and how long after a page it is tried.
            let (name, delay) = match method.get_ref().split_once(" after ") {
                None => (method.get_ref().trim(), None),
                Some((name, delay)) => match humantime::parse_duration(delay.trim()) {
                    Ok(d) if d <= Duration::from_secs(3600) => (name.trim(), Some(d)),
                    _ => {
                        self.report(&s, format!("notify {:?}: write how long after a page to try it, up to an hour, like \"voice after 3m\"", method.get_ref()));
                        continue;
                    }
                },
            };
            if contacts.is_empty() && delay.is_some() {
                self.report(&s, format!("notify {:?}: the first way to reach someone is tried at once; put the delay on a later one, like notify = [\"sms\", \"voice after 3m\"]", method.get_ref()));
                continue;
            }
            let contact = match (name, &phone, &email) {
                ("sms", Some(p), _) => ContactMethod::Sms(p.clone()),
                ("voice", Some(p), _) => ContactMethod::Voice(p.clone()),
                ("email", _, Some(e)) => ContactMethod::Email(e.clone()),
                ("sms" | "voice", None, _) => {
                    self.report(
                        &s,
                        format!(
                            "{id} is to be notified by {name} but has no phone: add phone = \"07…\""
                        ),
                    );
                    continue;
                }
                ("email", _, None) => {
                    self.report(&s, format!("{id} is to be notified by email but has no email: add email = \"…@nhs.net\""));
                    continue;
                }
                (other, _, _) => {
                    self.report(&s, format!("notify {other:?} is not a contact method: write \"sms\", \"voice\" or \"email\""));
                    continue;
                }
            };
            if !contacts.contains(&contact) {
                contacts.push(contact);
                after.push(delay);
            }
        }
        if contacts.is_empty() && self.problems.len() == problems_before {
            self.report(
                &src,
                format!(
                    "{id} has no way to be reached: add phone = \"07…\" or email = \"…@nhs.net\""
                ),
            );
        }
        // Names and roles reach patients' and clinicians' phones: no control characters.
        let staff = Staff {
            id,
            name: clean_line(&raw.name),
            role: clean_line(&raw.role),
            patient_role: raw.patient_role.as_deref().map(clean_line),
            contacts,
            after,
        };
        (staff, coordinating)
    }

    /// A person's `hours` and `ack_within`, which make them someone an
    /// enrolment may name as care co-ordinator.
    pub(super) fn coordinating(
        &mut self,
        id: &Id,
        file: usize,
        raw: &RawPerson,
    ) -> Option<(WorkingHours, Duration)> {
        let Some(h) = &raw.hours else {
            if let Some(a) = &raw.ack_within {
                self.report(
                    &Src { file, span: a.span() },
                    format!("ack_within on {id} is how long to wait for them as a care co-ordinator, but they have no hours: add hours = {{ weekdays = \"09:00-17:00\" }}, or delete ack_within"),
                );
            }
            return None;
        };
        let src = Src::of(file, h);
        let hours = self.hours(&src, h.get_ref())?;
        if !hours.has_in_hours_team() {
            self.report(
                &src,
                format!("hours = \"none\" on {id} would make them a care co-ordinator who is never first contact: give their working hours, like hours = {{ weekdays = \"09:00-17:00\" }}, or delete hours"),
            );
            return None;
        }
        let ack_within = self.ack_within(file, raw.ack_within.as_ref())?;
        Some((hours, ack_within))
    }

    pub(super) fn resolve_person(
        &mut self,
        names: &Names<'_>,
        file: usize,
        p: &Spanned<String>,
    ) -> Option<PersonIx> {
        match names.people.get(p.get_ref()) {
            Some(&ix) => Some(ix),
            None => {
                let message = format!(
                    "no person {:?}{}",
                    p.get_ref(),
                    suggest(p.get_ref(), names.people.keys())
                );
                self.report(&Src::of(file, p), message);
                None
            }
        }
    }
}
