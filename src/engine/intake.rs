//! Intake: inbound items become events.

use super::advance::CODE_QUARANTINE;
use super::{Engine, staff_ref};
use crate::channels::OptOutWord;
use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, Party, TimelineEntry, TimelineEvent};
use crate::directory::{PhoneNumber, Staff, clean_text};
use crate::escalation::{Escalation, Event, reply};
use crate::store::{self, Change, Inbound, InboundKind, NewOutbox, Page, Purpose};
use crate::templates::with_media_note;

impl Engine {
    // ---- intake ---------------------------------------------------------------

    pub(super) async fn intake(&self, item: Inbound, now: Instant) -> anyhow::Result<Change> {
        let mut change = Change {
            at: now,
            inbound_done: Some(item.key.clone()),
            ..Change::default()
        };
        match item.kind {
            InboundKind::Sms {
                from, body, media, ..
            } => {
                // Any E.164 number the provider gives is a sender; only what
                // nobody can be texted back at is refused, and counted.
                let from = match PhoneNumber::from_provider(&from) {
                    Ok(from) => from,
                    Err(why) => {
                        self.count_refused(why.as_str());
                        tracing::warn!(key = %item.key, reason = why.as_str(), "inbound SMS refused: {why}; nobody can be texted back at it");
                        return Ok(change);
                    }
                };
                let body = clean_text(&body);
                if let Some(staff) = self.rota.staff_by_phone(&from) {
                    self.staff_reply(staff, &body, now, &mut change).await?;
                } else {
                    self.sender_message(from, body, media, now, &mut change)
                        .await?;
                }
            }
            InboundKind::Action {
                concern,
                staff,
                action,
            } => {
                let Some(person) = self.rota.person(staff.as_str()) else {
                    return Ok(change);
                };
                let Some(mut c) = store::blocking(&self.store, move |s| s.concern(concern)).await?
                else {
                    return Ok(change);
                };
                let by = staff_ref(person);
                let event = if action == "pass" {
                    Event::Pass { by }
                } else {
                    Event::Accept { by }
                };
                let enrolment = self.enrolment_of(&c).await?;
                self.apply_event(&mut c, enrolment.as_ref(), event, now, &mut change)
                    .await?;
            }
            InboundKind::Status {
                message_id,
                status,
                error_code,
            } => {
                self.delivery_report(&message_id, &status, error_code, now, &mut change)
                    .await?;
            }
        }
        Ok(change)
    }

    async fn sender_message(
        &self,
        from: PhoneNumber,
        body: String,
        media: u32,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let word = OptOutWord::parse(&body);
        // What they sent, as clinicians read it: a picture is never shown.
        let body = with_media_note(&body, media);
        let open = {
            let from = from.clone();
            store::blocking(&self.store, move |s| s.open_concern_from(&from)).await?
        };
        // A start word only opts back in a number that opted out: from anyone
        // else, "Yes" is an answer and goes on to whoever has the concern.
        let opting_in = word == Some(OptOutWord::Start) && {
            let from = from.clone();
            store::blocking(&self.store, move |s| s.is_opted_out(&from)).await?
        };
        if word == Some(OptOutWord::Stop) || opting_in {
            let opted_out = !opting_in;
            change.opt_out = Some((from, opted_out));
            if let Some(mut c) = open {
                change.timeline.push((
                    c.id,
                    TimelineEntry {
                        at: now,
                        event: TimelineEvent::Received {
                            from: c.party.label(),
                            text: body.trim().to_owned(),
                        },
                    },
                ));
                change.timeline.push((
                    c.id,
                    TimelineEntry {
                        at: now,
                        event: TimelineEvent::OptOut { opted_out },
                    },
                ));
                // Whoever has the concern should know: "STOP" may mean "I am fine now".
                let enrolment = self.enrolment_of(&c).await?;
                let text = body.trim().to_owned();
                return self
                    .apply_event(
                        &mut c,
                        enrolment.as_ref(),
                        Event::Message { text },
                        now,
                        change,
                    )
                    .await;
            }
            return Ok(());
        }
        let enrolment = {
            let from = from.clone();
            store::blocking(&self.store, move |s| s.enrolments_for_phone(&from, now))
                .await?
                .into_iter()
                .next()
        };
        let party = Party::of(enrolment.as_ref(), &from);
        if let Some(mut concern) = open {
            change.timeline.push((
                concern.id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Received {
                        from: party.label(),
                        text: body.clone(),
                    },
                },
            ));
            if media > 0 {
                self.explain_pictures(&mut concern, change)?;
            }
            return self
                .apply_event(
                    &mut concern,
                    enrolment.as_ref(),
                    Event::Message { text: body },
                    now,
                    change,
                )
                .await;
        }
        let red_flag = self.red_flags.find(&body).map(str::to_owned);
        let mut concern = Concern {
            id: ConcernId::new(),
            enrolment: enrolment.as_ref().map(|e| e.id),
            service: enrolment.as_ref().map(|e| e.service.clone()),
            sender: from.clone(),
            party: party.clone(),
            opened_at: now,
            text: body.clone(),
            escalation: Escalation::new(red_flag.is_some()),
            pictures_explained: false,
        };
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Received {
                    from: party.label(),
                    text: body,
                },
            },
        ));
        let service_name = self.patient_facing_service(&concern);
        let reply = match &red_flag {
            Some(phrase) => {
                change.timeline.push((
                    concern.id,
                    TimelineEntry {
                        at: now,
                        event: TimelineEvent::RedFlag {
                            phrase: phrase.clone(),
                        },
                    },
                ));
                self.templates
                    .render("sms/red_flag.txt", minijinja::context! { phrase })?
            }
            None if enrolment.is_some() => self.templates.render(
                "sms/received.txt",
                minijinja::context! { service => service_name },
            )?,
            None => self.templates.render(
                "sms/received_unknown.txt",
                minijinja::context! { trust => self.rota.trust_name },
            )?,
        };
        change.outbox.push(NewOutbox {
            concern: Some(concern.id),
            to: from,
            body: reply,
            purpose: Purpose::Notice,
            staff: None,
            recipient: party.label(),
            step: None,
        });
        if media > 0 {
            self.explain_pictures(&mut concern, change)?;
        }
        self.apply_event(&mut concern, enrolment.as_ref(), Event::Open, now, change)
            .await
    }

    /// Tell a sender, once for each concern, that pictures cannot be seen
    /// and to say in words what they show.
    fn explain_pictures(&self, concern: &mut Concern, change: &mut Change) -> anyhow::Result<()> {
        if concern.pictures_explained {
            return Ok(());
        }
        concern.pictures_explained = true;
        change.outbox.push(NewOutbox {
            concern: Some(concern.id),
            to: concern.sender.clone(),
            body: self
                .templates
                .render("sms/no_pictures.txt", minijinja::context! {})?,
            purpose: Purpose::Notice,
            staff: None,
            recipient: concern.party.label(),
            step: None,
        });
        Ok(())
    }

    async fn staff_reply(
        &self,
        staff: &Staff,
        body: &str,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let id = staff.id.clone();
        let since = now - CODE_QUARANTINE;
        let pages = store::blocking(&self.store, move |s| s.pages_for(&id, since)).await?;
        let open: Vec<&Page> = pages.iter().filter(|p| p.open).collect();
        let target = match reply::parse(body) {
            None => None,
            Some(r) => {
                let page = match r.code {
                    Some(code) => pages
                        .iter()
                        .filter(|p| p.code == code)
                        .max_by_key(|p| (p.open, p.opened_at)),
                    None if open.len() == 1 => Some(open[0]),
                    None => None,
                };
                page.map(|p| (r, p.concern))
            }
        };
        let Some((r, concern_id)) = target else {
            let codes: Vec<String> = open.iter().map(|p| p.code.to_string()).collect();
            let text = self.templates.render(
                "sms/help.txt",
                minijinja::context! { codes => codes.join(", ") },
            )?;
            self.to_staff(staff, None, text, change);
            return Ok(());
        };
        let Some(mut concern) =
            store::blocking(&self.store, move |s| s.concern(concern_id)).await?
        else {
            return Ok(());
        };
        let enrolment = self.enrolment_of(&concern).await?;
        let by = staff_ref(staff);
        let event = match r.action {
            reply::Action::Accept => Event::Accept { by },
            reply::Action::Pass => Event::Pass { by },
            reply::Action::Resolve => Event::Resolve { by, note: r.note },
        };
        self.apply_event(&mut concern, enrolment.as_ref(), event, now, change)
            .await
    }

    async fn delivery_report(
        &self,
        message_id: &str,
        status: &str,
        error_code: Option<u32>,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let id = message_id.to_owned();
        let Some(item) =
            store::blocking(&self.store, move |s| s.outbox_by_provider_id(&id)).await?
        else {
            tracing::info!(
                message_id,
                status,
                "delivery report for a message we have no record of; ignored"
            );
            return Ok(());
        };
        let Some(concern_id) = item.message.concern else {
            return Ok(());
        };
        change.timeline.push((
            concern_id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Delivery {
                    to: item.message.recipient.clone(),
                    purpose: item.message.purpose.as_str().to_owned(),
                    status: status.to_owned(),
                    error_code,
                },
            },
        ));
        if matches!(status, "undelivered" | "failed") && item.message.purpose == Purpose::Page {
            self.page_failed(&item, now, change).await?;
        }
        Ok(())
    }
}
