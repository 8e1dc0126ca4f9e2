//! The state machine, and what its effects mean here.

use chrono::TimeDelta;

use super::Engine;
use crate::calendar::LONDON;
use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, Party, TimelineEntry, TimelineEvent};
use crate::directory::{Enrolment, Id, Staff};
use crate::escalation::{self, ChainSnapshot, Effect, Event, SenderNotice, StaffNotice, StaffRef};
use crate::store::{self, Change, NewOutbox, OutboxItem, Page, Purpose, Timer, TimerKind};
use crate::templates::{quote, who};

/// How much of the sender's later words one forward quotes; the rest is
/// counted ("and 4 more messages") and sits behind the link.
const FORWARD_QUOTE_CHARS: usize = 220;
/// How long a closed page's code stays reserved, so a late reply to it is
/// answered "someone else has it" rather than acting on a newer concern.
pub(super) const CODE_QUARANTINE: TimeDelta = TimeDelta::days(7);

impl Engine {
    /// A page could not be delivered: try the person's next number, or tell
    /// the state machine nobody can reach them.
    pub(super) async fn page_failed(
        &self,
        item: &OutboxItem,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let (Some(concern_id), Some(staff_id)) = (item.message.concern, item.message.staff.clone())
        else {
            return Ok(());
        };
        let Some(staff) = self.rota.person(staff_id.as_str()) else {
            return Ok(());
        };
        let next = staff.next_sms_number_after(&item.message.to);
        if let Some(next) = next {
            change.timeline.push((
                concern_id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Note {
                        text: format!(
                            "page to {} not delivered; trying their next number",
                            staff.name
                        ),
                    },
                },
            ));
            change.outbox.push(NewOutbox {
                to: next.clone(),
                ..item.message.clone()
            });
            return Ok(());
        }
        let Some(mut concern) =
            store::blocking(&self.store, move |s| s.concern(concern_id)).await?
        else {
            return Ok(());
        };
        let enrolment = self.enrolment_of(&concern).await?;
        self.apply_event(
            &mut concern,
            enrolment.as_ref(),
            Event::PageUndeliverable { staff: staff_id },
            now,
            change,
        )
        .await
    }

    // ---- the state machine, and what its effects mean here -----------------------

    pub(super) async fn apply_event(
        &self,
        concern: &mut Concern,
        enrolment: Option<&Enrolment>,
        event: Event,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let chain = self.chain_for(concern, now);
        let (next, effects) =
            escalation::step(&concern.escalation, event, now, &chain, &self.policy);
        concern.escalation = next;
        let mut cancelled = false;
        for effect in effects {
            match effect {
                Effect::Page { staff, step } => {
                    self.page(concern, enrolment, &staff, &step, now, change)
                        .await?
                }
                Effect::Forward { staff, skip } => {
                    self.forward(concern, enrolment, &staff, skip, now, change)
                        .await?;
                }
                Effect::TellSender(notice) => {
                    let body = match notice {
                        SenderNotice::AcceptedBy { name, role } => self
                            .templates
                            .render("sms/accepted.txt", minijinja::context! { name, role })?,
                        SenderNotice::Call111 => self
                            .templates
                            .render("sms/call_111.txt", minijinja::context! {})?,
                        SenderNotice::Resolved { name, role } => self.templates.render(
                            "sms/resolved.txt",
                            minijinja::context! { name, role, service => self.patient_facing_service(concern) },
                        )?,
                    };
                    change.outbox.push(NewOutbox {
                        concern: Some(concern.id),
                        to: concern.sender.clone(),
                        body: body.clone(),
                        purpose: Purpose::Notice,
                        staff: None,
                        recipient: concern.party.label(),
                        step: None,
                    });
                    // When a carer wrote, the patient is told too.
                    if let (Party::Carer { .. }, Some(e)) = (&concern.party, enrolment) {
                        change.outbox.push(NewOutbox {
                            concern: Some(concern.id),
                            to: e.patient.phone.clone(),
                            body,
                            purpose: Purpose::Notice,
                            staff: None,
                            recipient: "patient".to_owned(),
                            step: None,
                        });
                    }
                }
                Effect::TellStaff { staff, notice } => {
                    let code = self.code_for(concern.id, &staff.id, now, change).await?;
                    let who = who(concern, enrolment);
                    let body = match notice {
                        StaffNotice::TakenBy { name } => self
                            .templates
                            .render("sms/taken.txt", minijinja::context! { code, who, name })?,
                        StaffNotice::AlreadyAccepted { name } => self
                            .templates
                            .render("sms/already_accepted.txt", minijinja::context! { name })?,
                        StaffNotice::YouHaveIt => self
                            .templates
                            .render("sms/you_have_it.txt", minijinja::context! { code })?,
                        StaffNotice::Reminder => {
                            let accepted_at = match &concern.escalation.status {
                                escalation::Status::Accepted { at, .. } => {
                                    at.with_timezone(&LONDON).format("%H:%M").to_string()
                                }
                                _ => String::new(),
                            };
                            self.templates.render(
                                "sms/reminder.txt",
                                minijinja::context! { code, who, accepted_at },
                            )?
                        }
                        StaffNotice::ResolvedBy { name } => self.templates.render(
                            "sms/resolved_by.txt",
                            minijinja::context! { code, who, name },
                        )?,
                        StaffNotice::AlreadyResolved => self
                            .templates
                            .render("sms/already_resolved.txt", minijinja::context! {})?,
                        StaffNotice::YouAccepted => self.templates.render(
                            "sms/you_accepted.txt",
                            minijinja::context! { code, who, service => self.staff_facing_service(concern) },
                        )?,
                        StaffNotice::YouResolved => self
                            .templates
                            .render("sms/you_resolved.txt", minijinja::context! { code, who })?,
                    };
                    if let Some(person) = self.rota.person(staff.id.as_str()) {
                        self.to_staff(person, Some(concern.id), body, change);
                    }
                }
                Effect::ArmAckDeadline { at, seq } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::AckDeadline,
                    due_at: at,
                    seq,
                }),
                Effect::ArmHandover { at } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::Handover,
                    due_at: at,
                    seq: 0,
                }),
                Effect::ArmReminder { at } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::Reminder,
                    due_at: at,
                    seq: 0,
                }),
                Effect::ArmForward { at } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::Forward,
                    due_at: at,
                    seq: 0,
                }),
                Effect::CancelTimers => {
                    cancelled = true;
                    change.cancel_timers.push(concern.id);
                }
                Effect::ClosePages => change.close_pages.push(concern.id),
                Effect::Record(event) => change
                    .timeline
                    .push((concern.id, TimelineEntry { at: now, event })),
            }
        }
        if cancelled {
            // A fired timer's own delete must not outlive a cancel in the same change.
            change.fired_timer = None;
        }
        change.concern = Some(concern.clone());
        Ok(())
    }

    async fn page(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        staff: &StaffRef,
        step: &str,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let Some(person) = self.rota.person(staff.id.as_str()) else {
            return Ok(());
        };
        let code = self.code_for(concern.id, &staff.id, now, change).await?;
        if !change
            .open_pages
            .iter()
            .any(|p| p.concern == concern.id && p.staff == staff.id)
        {
            change.open_pages.push(Page {
                concern: concern.id,
                staff: staff.id.clone(),
                code,
                open: true,
                opened_at: now,
            });
        }
        let service = self.staff_facing_service(concern);
        let discharged = enrolment.map(|e| {
            e.discharged_at
                .with_timezone(&LONDON)
                .format("%-d %b")
                .to_string()
        });
        let body = self.templates.render(
            "sms/page.txt",
            minijinja::context! {
                urgent => concern.escalation.urgent,
                who => who(concern, enrolment),
                service,
                discharged,
                text => quote(&concern.text),
                link => self.links.link(concern.id, &staff.id, now),
                code,
            },
        )?;
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Paged {
                    staff: staff.id.clone(),
                    name: staff.name.clone(),
                    level: step.to_owned(),
                    code,
                },
            },
        ));
        match person.sms_numbers().first().copied() {
            Some(to) => change.outbox.push(NewOutbox {
                concern: Some(concern.id),
                to: to.clone(),
                body,
                purpose: Purpose::Page,
                staff: Some(staff.id.clone()),
                recipient: staff.name.clone(),
                step: Some(concern.escalation.seq),
            }),
            None => change.timeline.push((
                concern.id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Note {
                        text: format!("{} has no phone for SMS pages", staff.name),
                    },
                },
            )),
        }
        Ok(())
    }

    /// The code this clinician uses for this concern: the one already given,
    /// or the next one after their last that is not in use (open, or closed
    /// within [`CODE_QUARANTINE`], so a late reply cannot hit a new concern).
    async fn code_for(
        &self,
        concern: ConcernId,
        staff: &Id,
        now: Instant,
        change: &Change,
    ) -> anyhow::Result<u16> {
        if let Some(p) = change
            .open_pages
            .iter()
            .find(|p| p.concern == concern && &p.staff == staff)
        {
            return Ok(p.code);
        }
        let pending: Vec<u16> = change
            .open_pages
            .iter()
            .filter(|p| &p.staff == staff)
            .map(|p| p.code)
            .collect();
        let id = staff.clone();
        let since = now - CODE_QUARANTINE;
        let code = store::blocking(&self.store, move |s| {
            if let Some(p) = s.page(concern, &id)? {
                return Ok(p.code);
            }
            let last = match pending.iter().copied().max() {
                Some(code) => code,
                None => s.last_code(&id)?,
            };
            for i in 1..=9999u32 {
                let candidate = ((u32::from(last) + i - 1) % 9999 + 1) as u16;
                if !pending.contains(&candidate) && !s.code_taken(&id, candidate, since)? {
                    return Ok(candidate);
                }
            }
            // 9,999 open pages for one person: reuse a code rather than fail to page.
            Ok(((u32::from(last) % 9999) + 1) as u16)
        })
        .await?;
        Ok(code)
    }

    pub(super) fn to_staff(
        &self,
        staff: &Staff,
        concern: Option<ConcernId>,
        body: String,
        change: &mut Change,
    ) {
        if let Some(to) = staff.sms_numbers().first().copied() {
            change.outbox.push(NewOutbox {
                concern,
                to: to.clone(),
                body,
                purpose: Purpose::StaffNotice,
                staff: Some(staff.id.clone()),
                recipient: staff.name.clone(),
                step: None,
            });
        }
    }

    fn chain_for(&self, concern: &Concern, now: Instant) -> ChainSnapshot {
        match concern
            .service
            .as_ref()
            .and_then(|s| self.rota.service(s.as_str()))
        {
            Some(ix) => ChainSnapshot::from_chain(&self.rota.resolve(ix, now)),
            None => {
                let (fallback, valid_until) = self.rota.fallback_at(now);
                ChainSnapshot::fallback_only(&fallback, valid_until)
            }
        }
    }

    /// The service's name as staff know it ("Cardiology Ward 7").
    fn staff_facing_service(&self, concern: &Concern) -> String {
        concern
            .service
            .as_ref()
            .and_then(|s| self.rota.service(s.as_str()))
            .map(|ix| self.rota.services()[ix as usize].name.clone())
            .unwrap_or_else(|| "out-of-hours service".to_owned())
    }

    /// Send on to `staff` what the sender wrote after their first `skip`
    /// messages, in one text: as many messages as fit, then how many more
    /// there are and the link, where every message is shown.
    async fn forward(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        staff: &StaffRef,
        skip: u32,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let Some(person) = self.rota.person(staff.id.as_str()) else {
            return Ok(());
        };
        let id = concern.id;
        let stored = store::blocking(&self.store, move |s| s.timeline(id)).await?;
        let pending = change
            .timeline
            .iter()
            .filter(|(c, _)| *c == id)
            .map(|(_, e)| e);
        let mut seen = 0;
        let messages: Vec<String> = stored
            .iter()
            .chain(pending)
            .filter(|e| {
                if matches!(e.event, TimelineEvent::Received { .. }) {
                    seen += 1;
                }
                seen > skip
            })
            .filter_map(|e| match &e.event {
                TimelineEvent::Received { text, .. } => Some(quote(text)),
                TimelineEvent::OptOut { opted_out } => Some(
                    if *opted_out {
                        "(texts to them are now stopped)"
                    } else {
                        "(texts to them are allowed again)"
                    }
                    .to_owned(),
                ),
                _ => None,
            })
            .collect();
        if messages.is_empty() {
            return Ok(());
        }
        let mut quoted = Vec::new();
        let mut used = 0;
        for m in &messages {
            let len = m.chars().count();
            if !quoted.is_empty() && used + len > FORWARD_QUOTE_CHARS {
                break;
            }
            used += len;
            quoted.push(m.clone());
        }
        let more = messages.len() - quoted.len();
        let code = self.code_for(concern.id, &staff.id, now, change).await?;
        let body = self.templates.render(
            "sms/forward.txt",
            minijinja::context! {
                who => who(concern, enrolment),
                code,
                messages => quoted,
                more,
                link => (more > 0).then(|| self.links.link(concern.id, &staff.id, now)),
                accepted => !concern.escalation.is_open(),
            },
        )?;
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Forwarded {
                    staff: staff.id.clone(),
                    name: staff.name.clone(),
                    messages: Some(messages.len() as u32),
                },
            },
        ));
        self.to_staff(person, Some(concern.id), body, change);
        Ok(())
    }

    pub(super) fn patient_facing_service(&self, concern: &Concern) -> String {
        concern
            .service
            .as_ref()
            .and_then(|s| self.rota.service(s.as_str()))
            .map(|ix| self.rota.services()[ix as usize].patient_name.clone())
            .unwrap_or_else(|| self.rota.trust_name.clone())
    }

    pub(super) async fn enrolment_of(
        &self,
        concern: &Concern,
    ) -> anyhow::Result<Option<Enrolment>> {
        match concern.enrolment {
            Some(id) => Ok(store::blocking(&self.store, move |s| s.enrolment(id)).await?),
            None => Ok(None),
        }
    }
}
