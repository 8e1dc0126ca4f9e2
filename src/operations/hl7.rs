//! The EPR feed acted on: each HL7 ADT message the MLLP listener takes is
//! checked, acted on and kept, and only then answered (docs/adr/0032).
//!
//! - `AR` (fix it or send it again): not HL7, no MSH-10, not ADT, an event
//!   or version not taken, too large, or the store could not be written.
//! - `AE` (kept, shown to the trust, not acted on): no usable NHS number,
//!   a merge with nothing to merge, nobody an enrolment could reach.
//! - `AA`: stored and acted on. A message with the MSH-10 of one already
//!   answered `AA` or `AE` by the same sender is answered as it was then,
//!   and not acted on again.
//!
//! A death (PID-29, PID-30 `Y`, a PV1-36 meaning death, in any message)
//! is kept on the person: they are never enrolled again, and what is
//! active ends at once, silently. Every step is written before the ACK,
//! and each is safe to repeat, so a message whose ACK was lost and is
//! sent again does no harm: a repeat discharge renews, never welcomes twice.
//!
//! Logs name a message by its MSH-10 and type, never a patient.

use crate::directory::{EndReason, EnrolmentRequest, NhsNumber};
use crate::hl7::ack::{self, AckCode, ErrDetail, Rejection};
use crate::hl7::adt::{Adt, ContentError, Header, Trigger, VERSIONS};
use crate::hl7::er7::{Encoding, Message};
use crate::hl7::{FeedMessage, Outcome, Person};
use crate::store::{self};
use crate::store_error::StoreError;

use super::{EnrolError, Operations};

/// Why acting on a message stopped.
enum Stop {
    /// Its content cannot be used: `AE`.
    Content(ContentError),
    /// The store failed: `AR`, send it again.
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

/// An id for an ACK's own MSH-10: 20 characters at most, as v2.4's ST allows.
fn ack_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("NG{}", &id[..18])
}

/// Which event a message is, or why it is rejected.
fn accepted(header: &Header) -> Result<Trigger, Rejection> {
    if header.control_id.trim().is_empty() {
        return Err(Rejection::NoControlId);
    }
    if header.message_type != "ADT" {
        return Err(Rejection::UnsupportedType);
    }
    if !VERSIONS.contains(&header.version.as_str()) {
        return Err(Rejection::UnsupportedVersion);
    }
    Trigger::parse(&header.trigger).ok_or(Rejection::UnsupportedEvent)
}

fn rejected_detail(why: Rejection) -> ErrDetail {
    ErrDetail {
        location: if why == Rejection::NoControlId {
            "MSH^1^10".to_owned()
        } else {
            String::new()
        },
        code: why.code().to_owned(),
        text: why.to_string(),
    }
}

fn content_detail(why: ContentError) -> ErrDetail {
    ErrDetail {
        location: why.location().to_owned(),
        code: why.code().to_owned(),
        text: why.to_string(),
    }
}

impl crate::mllp::MessageSink for Operations {
    async fn take(&self, message: String) -> String {
        self.take_hl7(message).await
    }

    fn too_large(&self, head: String) -> String {
        let now = self.clock.now();
        let (header, encoding) = match Message::parse(&head) {
            Ok(m) => (Header::read(&m), m.encoding),
            Err(_) => (Header::default(), Encoding::default()),
        };
        let detail = rejected_detail(Rejection::TooLarge);
        ack::ack(
            &header,
            encoding,
            AckCode::AR,
            Some(&detail),
            now,
            &ack_id(),
        )
    }
}

impl Operations {
    /// Take one HL7 message: check it, act on it, keep it with its answer,
    /// and answer its ACK.
    pub async fn take_hl7(&self, text: String) -> String {
        let now = self.clock.now();
        let Ok(message) = Message::parse(&text) else {
            tracing::warn!("HL7 message refused: not HL7 v2 (AR)");
            let detail = rejected_detail(Rejection::NotHl7);
            return ack::ack(
                &Header::default(),
                Encoding::default(),
                AckCode::AR,
                Some(&detail),
                now,
                &ack_id(),
            );
        };
        let header = Header::read(&message);
        let kind = header.kind();
        let control_id = header.control_id.clone();
        let answer = |code: AckCode, detail: Option<ErrDetail>| {
            ack::ack(
                &header,
                message.encoding,
                code,
                detail.as_ref(),
                now,
                &ack_id(),
            )
        };
        // The store failed at some step: nothing is answered AA, and the
        // engine is told to send the message again.
        let not_stored = |e: StoreError| {
            tracing::error!(msh10 = %control_id, kind = %kind, error = %e, "HL7 message not stored (AR)");
            answer(
                AckCode::AR,
                Some(rejected_detail(Rejection::StoreUnavailable)),
            )
        };
        let mut kept = FeedMessage {
            sender: header.sender(),
            control_id: control_id.clone(),
            kind: kind.clone(),
            received_at: now,
            ack: AckCode::AR,
            outcome: Outcome::Rejected,
            reason: None,
            nhs_last_three: None,
            unclaimed_location: None,
            message: text.clone(),
            answer: String::new(),
        };
        let trigger = match accepted(&header) {
            Ok(t) => t,
            Err(why) => {
                tracing::warn!(msh10 = %control_id, kind = %kind, reason = why.as_str(), "HL7 message refused (AR)");
                let ack = answer(AckCode::AR, Some(rejected_detail(why)));
                if why != Rejection::NoControlId {
                    kept.reason = Some(why.as_str().to_owned());
                    kept.answer = ack.clone();
                    // Kept for the trust to see, if the store will have it;
                    // the sender is told to fix it or send it again either way.
                    let _ =
                        store::blocking(&self.store, move |s| s.record_feed_message(&kept)).await;
                }
                return ack;
            }
        };
        let (sender, id) = (kept.sender.clone(), control_id.clone());
        match store::blocking(&self.store, move |s| s.feed_message(&sender, &id)).await {
            Ok(Some(before)) if before.ack != AckCode::AR => {
                tracing::info!(msh10 = %control_id, kind = %kind, ack = before.ack.as_str(), "HL7 message sent again: answered as before, not acted on twice");
                return before.answer;
            }
            Ok(_) => {}
            Err(e) => {
                return not_stored(e);
            }
        }
        let acted = match Adt::read(&message, header.clone(), trigger) {
            Ok(adt) => {
                kept.nhs_last_three = Some(adt.patient.nhs_number.last_three().to_owned());
                self.act(&adt, &mut kept).await
            }
            Err(why) => Err(Stop::Content(why)),
        };
        let (code, detail) = match acted {
            Ok(outcome) => {
                kept.outcome = outcome;
                (AckCode::AA, None)
            }
            Err(Stop::Content(why)) => {
                kept.outcome = Outcome::Unusable;
                kept.reason = Some(why.as_str().to_owned());
                (AckCode::AE, Some(content_detail(why)))
            }
            Err(Stop::Store(e)) => {
                return not_stored(e);
            }
        };
        kept.ack = code;
        let outcome = kept.outcome;
        let ack = answer(code, detail);
        kept.answer = ack.clone();
        if let Err(e) = store::blocking(&self.store, move |s| s.record_feed_message(&kept)).await {
            return not_stored(e);
        }
        tracing::info!(msh10 = %control_id, kind = %kind, ack = code.as_str(), outcome = ?outcome, "HL7 message taken");
        ack
    }

    /// Act on one message: keep what it says of the person, then do what
    /// its event asks.
    async fn act(&self, adt: &Adt, kept: &mut FeedMessage) -> Result<Outcome, Stop> {
        let now = self.clock.now();
        let nhs = adt.patient.nhs_number.clone();
        let mut person = {
            let (nhs, says) = (nhs.clone(), adt.patient.clone());
            store::blocking(&self.store, move |s| {
                Ok(Person::updated(s.person(&nhs)?, &says, now))
            })
            .await?
        };
        if adt.trigger == Trigger::A40 {
            let Some(old) = adt.merged_from.clone() else {
                return Err(Stop::Content(ContentError::NoMergeNumber));
            };
            person = self.merge(old, person).await?;
        } else {
            let p = person.clone();
            store::blocking(&self.store, move |s| s.keep_person(&p)).await?;
        }
        if person.died {
            // Whatever the event, a death ends what is active, silently.
            let ended = self.end_enrolments(&nhs, None, EndReason::Died).await?;
            if adt.trigger == Trigger::A03 || ended > 0 {
                return Ok(Outcome::Died);
            }
        }
        Ok(match adt.trigger {
            Trigger::A01 | Trigger::A04 | Trigger::A08 | Trigger::A28 | Trigger::A31 => {
                Outcome::DetailsKept
            }
            Trigger::A11 => Outcome::NothingToUndo,
            Trigger::A40 => Outcome::Merged,
            Trigger::A13 => {
                let service = adt.location.as_deref().and_then(|l| {
                    self.rota
                        .current()
                        .service_for_location(l)
                        .map(|s| s.id.clone())
                });
                match self
                    .end_enrolments(&nhs, service, EndReason::DischargeCancelled)
                    .await?
                {
                    0 => Outcome::NothingToUndo,
                    _ => Outcome::DischargeCancelled,
                }
            }
            Trigger::A03 => self.discharge(adt, &person, kept).await?,
        })
    }

    /// A discharge: renew an active enrolment with the service the
    /// location maps to, or enrol as the API does, welcome and all.
    async fn discharge(
        &self,
        adt: &Adt,
        person: &Person,
        kept: &mut FeedMessage,
    ) -> Result<Outcome, Stop> {
        let now = self.clock.now();
        let rota = self.rota.current();
        let location = adt.location.clone().unwrap_or_default();
        let Some(service) = rota.service_for_location(&location).map(|s| s.id.clone()) else {
            kept.unclaimed_location = Some(location);
            return Ok(Outcome::LocationUnclaimed);
        };
        let discharged_at = adt.discharged_at.unwrap_or(now);
        let nhs = person.nhs_number.clone();
        let window = self.enrolment_window;
        let within = service.clone();
        let renewed = store::blocking(&self.store, move |s| {
            let active = s
                .enrolments_for_nhs_number(&nhs)?
                .into_iter()
                .find(|e| e.is_active(now) && e.service == within);
            match active {
                Some(mut e) => {
                    e.discharged_at = Some(discharged_at);
                    e.ends_at = Some(discharged_at + window);
                    s.revise_enrolment(&e)
                }
                None => Ok(false),
            }
        })
        .await?;
        if renewed {
            return Ok(Outcome::Renewed);
        }
        let request = enrolment_request(person, &service, discharged_at, now);
        let request: EnrolmentRequest = match serde_json::from_value(request) {
            Ok(r) => r,
            Err(_) => return Err(Stop::Content(ContentError::NoUsableContact)),
        };
        match self
            .enrol_as(request, None, Some(person.nhs_number.clone()))
            .await
        {
            Ok(_) => Ok(Outcome::Enrolled),
            Err(EnrolError::Invalid(errors)) => {
                let why = if errors.iter().any(|e| e.field == "discharged_at") {
                    ContentError::DischargeTime
                } else if errors.iter().any(|e| e.field == "patient.name") {
                    ContentError::NoName
                } else {
                    ContentError::NoUsableContact
                };
                Err(Stop::Content(why))
            }
            Err(EnrolError::Store(e)) => Err(Stop::Store(e)),
            Err(EnrolError::Template(e)) => {
                Err(Stop::Store(StoreError::Invalid(e.to_string().into())))
            }
            Err(EnrolError::Request(_)) => Err(Stop::Content(ContentError::NoUsableContact)),
        }
    }

    /// End the active enrolments with this NHS number (with `service`
    /// only, when given), for `why`; how many. Nobody is texted.
    async fn end_enrolments(
        &self,
        nhs: &NhsNumber,
        service: Option<crate::directory::Id>,
        why: EndReason,
    ) -> Result<usize, StoreError> {
        let (nhs, now) = (nhs.clone(), self.clock.now());
        store::blocking(&self.store, move |s| {
            let mut ended = 0;
            for mut e in s.enrolments_for_nhs_number(&nhs)? {
                if !e.is_active(now) || service.as_ref().is_some_and(|id| *id != e.service) {
                    continue;
                }
                e.ended_at = Some(now);
                e.ended_because = Some(why);
                if s.revise_enrolment(&e)? {
                    ended += 1;
                }
            }
            Ok(ended)
        })
        .await
    }

    /// A merge: the old number's enrolments and what was said of it move
    /// to the surviving number; the old record goes.
    async fn merge(&self, old: NhsNumber, survivor: Person) -> Result<Person, StoreError> {
        store::blocking(&self.store, move |s| {
            let person = match s.person(&old)? {
                Some(before) => survivor.merged_with(before),
                None => survivor,
            };
            s.keep_person(&person)?;
            for mut e in s.enrolments_for_nhs_number(&old)? {
                e.nhs_number = Some(person.nhs_number.clone());
                s.revise_enrolment(&e)?;
            }
            if old != person.nhs_number {
                s.forget_person(&old)?;
            }
            Ok(person)
        })
        .await
    }
}

/// The enrolment an API client would send for this person: a child (under
/// 16 by their date of birth) is enrolled without their own phone, with
/// their next of kin as the carers who take the texts.
fn enrolment_request(
    person: &Person,
    service: &crate::directory::Id,
    discharged_at: crate::clock::Instant,
    now: crate::clock::Instant,
) -> serde_json::Value {
    let today = now.with_timezone(&crate::calendar::LONDON).date_naive();
    let child = person.born.is_some_and(|born| {
        today
            .years_since(born)
            .is_some_and(|age| age < crate::directory::enrolment::TEXTS_THEMSELVES_FROM_AGE)
    });
    let mobile = person
        .phones
        .iter()
        .find(|p| p.can_text())
        .or(person.phones.first());
    let mut patient = serde_json::json!({ "name": person.name });
    if !child {
        if let Some(phone) = mobile {
            patient["phone"] = phone.as_str().into();
        }
        if let Some(email) = &person.email {
            patient["email"] = email.as_str().into();
        }
    }
    if let Some(born) = person.born {
        patient["date_of_birth"] = born.format("%Y-%m-%d").to_string().into();
    }
    let carers: Vec<serde_json::Value> = person
        .next_of_kin
        .iter()
        .filter(|k| Some(&k.phone) != mobile || child)
        .take(crate::directory::enrolment::MAX_CARERS)
        .map(|k| {
            serde_json::json!({
                "name": k.name,
                "phone": k.phone.as_str(),
                "relationship": k.relationship,
            })
        })
        .collect();
    serde_json::json!({
        "patient": patient,
        "carers": carers,
        "service": service.as_str(),
        "discharged_at": discharged_at.to_rfc3339(),
        "language": person.language.code(),
    })
}
