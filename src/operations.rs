//! The operations the outside world asks of Nightingale, as domain calls:
//! record an inbound message, enrol a patient, show a concern. The HTTP
//! layer translates requests into these; they hold the store access so
//! handlers never do.

use std::sync::Arc;

use chrono::TimeDelta;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::calendar::LONDON;
use crate::clock::{Clock, Instant};
use crate::concern::{Concern, ConcernId, TimelineEntry};
use crate::directory::{Enrolment, EnrolmentId, EnrolmentRequest, FieldError, Id, PhoneNumber};
use crate::engine::Engine;
use crate::rota::Rota;
use crate::store::{self, Change, Inbound, NewOutbox, Purpose, Store, StoreError};
use crate::templates::Templates;

/// The shared parts every operation uses.
#[derive(Clone)]
pub struct Operations {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The rota.
    pub rota: Arc<Rota>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The engine, woken when there is new work.
    pub engine: Arc<Engine>,
    /// Message texts.
    pub templates: Arc<Templates>,
    /// How long an enrolment lasts after discharge.
    pub enrolment_window: TimeDelta,
}

/// Why an enrolment was not made.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The request had bad fields.
    #[error("invalid enrolment")]
    Invalid(Vec<FieldError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render.
    #[error(transparent)]
    Template(#[from] anyhow::Error),
}

impl Operations {
    /// Record an inbound message durably (idempotent on its key) and wake the engine.
    pub async fn record_inbound(&self, item: Inbound) -> Result<bool, StoreError> {
        let new = store::blocking(&self.store, move |s| s.record_inbound(&item)).await?;
        if new {
            self.engine.wake();
        }
        Ok(new)
    }

    /// Enrol a patient: store the enrolment and the welcome texts together.
    pub async fn enrol(&self, request: EnrolmentRequest) -> Result<Enrolment, EnrolError> {
        let now = self.clock.now();
        let rota = Arc::clone(&self.rota);
        let enrolment = request
            .parse(
                |id| {
                    rota.service(id)
                        .map(|ix| rota.services()[ix as usize].id.clone())
                },
                now,
                self.enrolment_window,
            )
            .map_err(EnrolError::Invalid)?;
        let service = self
            .rota
            .service(enrolment.service.as_str())
            .map(|ix| self.rota.services()[ix as usize].patient_name.clone())
            .unwrap_or_default();
        let mut outbox = Vec::new();
        let people = std::iter::once((&enrolment.patient, "patient".to_owned())).chain(
            enrolment.carers.iter().map(|c| {
                (
                    &c.contact,
                    c.relationship
                        .clone()
                        .map_or("carer".to_owned(), |r| format!("carer ({r})")),
                )
            }),
        );
        // A landline is enrolled for calls but never texted (`Enrolment::notes` says so).
        for (contact, label) in people.filter(|(contact, _)| contact.phone.can_text()) {
            let body = self.templates.render(
                "sms/welcome.txt",
                minijinja::context! { first_name => contact.first_name(), service },
            )?;
            outbox.push(NewOutbox {
                concern: None,
                to: contact.phone.clone(),
                body,
                purpose: Purpose::Welcome,
                staff: None,
                recipient: label,
            });
        }
        let change = Change {
            at: now,
            enrolment: Some(enrolment.clone()),
            outbox,
            ..Change::default()
        };
        store::blocking(&self.store, move |s| s.apply(change)).await?;
        self.engine.wake();
        Ok(enrolment)
    }

    /// End an enrolment now; `false` if there was no active one.
    pub async fn end_enrolment(&self, id: EnrolmentId) -> Result<bool, StoreError> {
        let now = self.clock.now();
        store::blocking(&self.store, move |s| s.end_enrolment(id, now)).await
    }

    /// A concern with its timeline.
    pub async fn concern(
        &self,
        id: ConcernId,
    ) -> Result<Option<(Concern, Vec<TimelineEntry>, Option<Enrolment>)>, StoreError> {
        store::blocking(&self.store, move |s| {
            let Some(concern) = s.concern(id)? else {
                return Ok(None);
            };
            let timeline = s.timeline(id)?;
            let enrolment = match concern.enrolment {
                Some(e) => s.enrolment(e)?,
                None => None,
            };
            Ok(Some((concern, timeline, enrolment)))
        })
        .await
    }

    /// The code a clinician was given for a concern, if they were paged for it.
    pub async fn code_for(
        &self,
        concern: ConcernId,
        staff: &Id,
    ) -> Result<Option<u16>, StoreError> {
        let staff = staff.clone();
        Ok(
            store::blocking(&self.store, move |s| s.page(concern, &staff))
                .await?
                .map(|p| p.code),
        )
    }

    /// The name of the API key presented, if it is one of ours.
    pub async fn api_key(&self, presented: &str) -> Result<Option<String>, StoreError> {
        let hash = hash_key(presented);
        store::blocking(&self.store, move |s| s.api_key(hash)).await
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<(), StoreError> {
        store::blocking(&self.store, |s| s.ping()).await
    }

    /// Everything `/metrics` shows, as Prometheus text.
    pub async fn metrics(&self) -> Result<String, StoreError> {
        let now = self.clock.now();
        let (unresolved, backlog) = store::blocking(&self.store, move |s| {
            Ok((s.unresolved_concerns()?, s.backlog(now)?))
        })
        .await?;
        let (count, p50, p99) = self.engine.lateness_summary();
        let gauge = |name: &str, help: &str, value: u64| {
            format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n")
        };
        Ok([
            gauge("nightingale_unresolved_concerns", "Concerns not yet resolved.", unresolved),
            gauge("nightingale_inbound_pending", "Stored webhooks not yet processed.", backlog.inbound_pending),
            gauge("nightingale_outbox_due", "Texts due to be sent now.", backlog.outbox_due),
            gauge("nightingale_timers_overdue", "Deadlines, handovers and reminders past due.", backlog.timers_overdue),
            format!(
                "# HELP nightingale_timer_lateness_seconds How late recent timers fired.\n# TYPE nightingale_timer_lateness_seconds summary\n\
                 nightingale_timer_lateness_seconds{{quantile=\"0.5\"}} {}\nnightingale_timer_lateness_seconds{{quantile=\"0.99\"}} {}\nnightingale_timer_lateness_seconds_count {count}\n",
                p50.as_secs_f64(),
                p99.as_secs_f64()
            ),
        ]
        .concat())
    }
}

/// The hash under which an API key is stored. Keys are 256 random bits, so
/// a fast hash is enough: nothing can be guessed from it.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Make a new API key: returns the key (to show once) and its hash (to store).
pub fn new_api_key() -> anyhow::Result<(String, [u8; 32])> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = format!(
        "ng_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let hash = hash_key(&key);
    Ok((key, hash))
}

/// An instant as people in the UK read it, RFC 3339 with the local offset.
pub fn local_time(t: Instant) -> String {
    t.with_timezone(&LONDON).to_rfc3339()
}

/// The API's view of a concern.
#[derive(Debug, Serialize)]
pub struct ConcernView {
    id: ConcernId,
    status: &'static str,
    urgent: bool,
    service: Option<Id>,
    from: String,
    sender: PhoneNumber,
    opened_at: String,
    text: String,
    accepted_by: Option<Person>,
    resolved_by: Option<Person>,
    enrolment: Option<EnrolmentId>,
    timeline: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct Person {
    id: Id,
    name: String,
    role: String,
    at: String,
}

impl ConcernView {
    /// Build the view; times in Europe/London.
    pub fn new(concern: &Concern, timeline: &[TimelineEntry]) -> Self {
        use crate::escalation::Status;
        let (status, accepted_by, resolved_by) = match &concern.escalation.status {
            Status::Open => ("open", None, None),
            Status::Accepted { by, at } => (
                "accepted",
                Some(Person {
                    id: by.id.clone(),
                    name: by.name.clone(),
                    role: by.role.clone(),
                    at: local_time(*at),
                }),
                None,
            ),
            Status::Resolved { by, at, .. } => (
                "resolved",
                None,
                by.as_ref().map(|b| Person {
                    id: b.id.clone(),
                    name: b.name.clone(),
                    role: b.role.clone(),
                    at: local_time(*at),
                }),
            ),
        };
        let timeline = timeline
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(&e.event).unwrap_or_default();
                if let Some(map) = v.as_object_mut() {
                    map.insert("at".to_owned(), serde_json::Value::String(local_time(e.at)));
                }
                v
            })
            .collect();
        Self {
            id: concern.id,
            status,
            urgent: concern.escalation.urgent,
            service: concern.service.clone(),
            from: concern.party.label(),
            sender: concern.sender.clone(),
            opened_at: local_time(concern.opened_at),
            text: concern.text.clone(),
            accepted_by,
            resolved_by,
            enrolment: concern.enrolment,
            timeline,
        }
    }
}
