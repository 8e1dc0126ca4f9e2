//! The operations the outside world asks of Nightingale, as domain calls:
//! record an inbound message (also as the SMTP listener's sink), enrol a
//! patient, show or list concerns, sign staff in (`staff`), act on the
//! EPR's HL7 messages (`hl7`, the MLLP listener's sink). The HTTP
//! layer translates requests into these; they hold the store access so
//! handlers never do.

mod hl7;
mod staff;

use std::sync::Arc;

use chrono::TimeDelta;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::api_keys::{ApiKey, Reach};
use crate::calendar::LONDON;
use crate::channels::email::{EmailBody, EmailIdentity};
use crate::clock::{Clock, Instant};
use crate::concern::{Concern, ConcernId};
use crate::concern::{ConcernFilter, ConcernKey, ConcernStatus};
use crate::directory::{
    Address, Enrolment, EnrolmentId, EnrolmentRequest, FieldError, Id, PhoneNumber,
};
use crate::engine::EngineHandle;
use crate::inbox::Inbound;
use crate::outbox::NewOutbox;
use crate::rota::LiveRota;
use crate::store::{self, Store};
use crate::store_error::StoreError;
use crate::templates::{TemplateError, Templates};
use crate::timeline::Purpose;
use crate::timeline::TimelineEntry;
use crate::work::Change;

/// How long after a call-back is asked for before another for the same
/// concern is made: long enough for the clinician's phone to ring out.
pub const CALL_BACK_GAP: TimeDelta = TimeDelta::minutes(2);

/// How many call-backs one concern may ask for in an hour.
pub const CALL_BACKS_AN_HOUR: u32 = 4;

/// What became of a press of "Call them back".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallBack {
    /// The clinician's phone will ring.
    Ringing,
    /// One was asked for less than [`CALL_BACK_GAP`] ago: no second call.
    AlreadyRinging,
    /// [`CALL_BACKS_AN_HOUR`] have been made this hour: no more.
    TooMany,
}

/// How long a clinician's tap (Accept, Pass, Resolve) waits for the
/// engine to take it in before their page is shown again: past it, the
/// page shows the concern as it is, and the tap still counts.
pub const TAKE_IN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The shared parts every operation uses.
#[derive(Clone)]
pub struct Operations {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The rota.
    pub rota: LiveRota,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The engine: woken when there is new work; its counters for `/metrics`.
    pub engine: EngineHandle,
    /// Message texts.
    pub templates: Arc<Templates>,
    /// How long an enrolment lasts after discharge.
    pub enrolment_window: TimeDelta,
    /// Who emails come from, when email out is configured.
    pub email: Option<EmailIdentity>,
    /// How many sign-in codes may be asked for and got wrong.
    pub sign_in: crate::access::SignInLimits,
    /// What `/metrics` writes its figures out with: this application's own
    /// registry.
    pub metrics: Arc<crate::metrics::Metrics>,
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
    Template(#[from] TemplateError),
    /// A request built by code rather than sent (the demo's) did not read
    /// as an enrolment request.
    #[error(transparent)]
    Request(#[from] serde_json::Error),
}

/// Where the SMTP listener hands each email it takes: stored as a webhook
/// stores a text, received now, with how it came.
impl crate::email::smtp::InboundSink for Operations {
    type Error = StoreError;

    async fn take(&self, email: crate::email::smtp::Received) -> Result<bool, StoreError> {
        let mail = email.mail;
        let item = Inbound {
            key: mail.key,
            kind: crate::inbox::InboundKind::Email {
                from: mail.from.as_str().to_owned(),
                to: email.recipients,
                subject: mail.subject,
                text: mail.text,
                attachments: mail.attachments,
                delivery: mail.delivery,
                envelope_from: Some(email.envelope_from),
                peer: Some(email.peer),
                authentication_results: mail.authentication_results,
            },
            received_at: self.clock.now(),
        };
        self.record_inbound(item).await
    }
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

    /// Record a clinician's tap and wait until the engine has taken it in
    /// (at most [`TAKE_IN_WAIT`]; a second press of the same tap waits too,
    /// as its page should show the same).
    async fn record_and_wait(&self, item: Inbound) -> Result<bool, StoreError> {
        let new = self.record_inbound(item).await?;
        if !self.engine.taken_in(TAKE_IN_WAIT).await {
            tracing::debug!("a tap was not yet taken in when its page was shown");
        }
        Ok(new)
    }

    /// A clinician's Accept or Pass on a concern, from the page its link
    /// opens or from their staff page: the same stored item either way,
    /// keyed by concern, clinician and action, so a second press (on either
    /// page) is the first one again.
    ///
    /// It returns once the engine has taken the tap in (at most
    /// [`TAKE_IN_WAIT`]), so the page the clinician is sent back to shows
    /// what they did: "You have accepted this", not the page they left.
    pub async fn link_action(
        &self,
        concern: ConcernId,
        staff: &Id,
        action: crate::escalation::reply::LinkAction,
    ) -> Result<bool, StoreError> {
        self.record_and_wait(Inbound {
            key: format!("link:{concern}:{staff}:{action}"),
            kind: crate::inbox::InboundKind::Action {
                concern,
                staff: staff.clone(),
                action: action.as_str().to_owned(),
            },
            received_at: self.clock.now(),
        })
        .await
    }

    /// A clinician's request to call a concern's sender back through our
    /// number. Each press is a new request (they may call twice), within
    /// limits, since each rings a clinician's phone and whoever holds a
    /// page's link may press it: one call-back per concern every
    /// [`CALL_BACK_GAP`] (a second press while the first call rings is
    /// not a second call), and [`CALL_BACKS_AN_HOUR`] an hour.
    pub async fn call_back(&self, concern: ConcernId, staff: &Id) -> Result<CallBack, StoreError> {
        let now = self.clock.now();
        let (gap, hour) = (
            format!("call-back:{concern}"),
            format!("call-backs:{concern}"),
        );
        let (recent, this_hour) = store::blocking(&self.store, move |s| {
            let recent = s.count_hit(&gap, now, CALL_BACK_GAP)?;
            // The hour's count is only spent on a call that will be made.
            let this_hour = if recent > 1 {
                0
            } else {
                s.count_hit(&hour, now, TimeDelta::hours(1))?
            };
            Ok((recent, this_hour))
        })
        .await?;
        if recent > 1 {
            return Ok(CallBack::AlreadyRinging);
        }
        if this_hour > CALL_BACKS_AN_HOUR {
            return Ok(CallBack::TooMany);
        }
        self.record_inbound(Inbound {
            key: format!("link:{concern}:{staff}:call:{}", now.timestamp_millis()),
            kind: crate::inbox::InboundKind::CallBack {
                concern,
                staff: staff.clone(),
            },
            received_at: now,
        })
        .await?;
        Ok(CallBack::Ringing)
    }

    /// A clinician resolving a concern from their staff page, with an
    /// optional note: what `R12 note` does by text. Once per concern and
    /// clinician.
    pub async fn resolve_from_web(
        &self,
        concern: ConcernId,
        staff: &Id,
        note: Option<String>,
    ) -> Result<bool, StoreError> {
        self.record_and_wait(Inbound {
            key: format!("web:{concern}:{staff}:resolve"),
            kind: crate::inbox::InboundKind::Resolve {
                concern,
                staff: staff.clone(),
                note,
            },
            received_at: self.clock.now(),
        })
        .await
    }

    /// The active enrolment whose patient or carer has this number, newest
    /// first: who a caller is.
    pub async fn enrolment_for_phone(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<Enrolment>, StoreError> {
        let (phone, now) = (phone.clone(), self.clock.now());
        store::blocking(&self.store, move |s| {
            Ok(s.enrolments_for_phone(&phone, now)?.into_iter().next())
        })
        .await
    }

    /// An inbound item by its key: what an earlier step of a call recorded.
    pub async fn inbound(&self, key: String) -> Result<Option<Inbound>, StoreError> {
        store::blocking(&self.store, move |s| s.inbound(&key)).await
    }

    /// Enrol a patient: store the enrolment and the welcome texts together.
    /// `client` is the API client whose key asks ([`crate::api_keys`]),
    /// recorded on the enrolment; `None` from the staff pages or the demo.
    pub async fn enrol(
        &self,
        request: EnrolmentRequest,
        client: Option<String>,
    ) -> Result<Enrolment, EnrolError> {
        self.enrol_as(request, client, None).await
    }

    /// [`Operations::enrol`], for the patient with this NHS number when
    /// the EPR feed enrols them (`hl7.rs`): the same checks and welcome.
    async fn enrol_as(
        &self,
        request: EnrolmentRequest,
        client: Option<String>,
        nhs_number: Option<crate::directory::NhsNumber>,
    ) -> Result<Enrolment, EnrolError> {
        let now = self.clock.now();
        let rota = self.rota.current();
        let says_check_ins = request.sets_check_ins();
        let mut enrolment = request
            .parse_with_coordinators(
                |id| {
                    rota.service(id)
                        .map(|ix| rota.services()[ix as usize].id.clone())
                },
                |id| coordinator_in(&rota, id),
                now,
                self.enrolment_window,
            )
            .map_err(EnrolError::Invalid)?;
        enrolment.client = client;
        enrolment.nhs_number = nhs_number;
        // A discharge that does not say when to check in takes its service's times.
        if !says_check_ins
            && enrolment.kind == crate::directory::EnrolmentKind::Discharge
            && let Some(ix) = rota.service(enrolment.service.as_str())
        {
            enrolment.check_ins = rota.services()[ix as usize].check_ins.clone();
        }
        let service = rota
            .service(enrolment.service.as_str())
            .map(|ix| rota.services()[ix as usize].patient_name.clone())
            .unwrap_or_default();
        let mut outbox = Vec::new();
        // A patient who does not take texts (a child) is not welcomed:
        // their carers are.
        let patient = enrolment
            .patient_takes_texts
            .then(|| (&enrolment.patient, "patient".to_owned()));
        let people = patient.into_iter().chain(enrolment.carers.iter().map(|c| {
            (
                &c.contact,
                c.relationship
                    .clone()
                    .map_or("carer".to_owned(), |r| format!("carer ({r})")),
            )
        }));
        // A landline is enrolled for calls but never texted (`Enrolment::notes`
        // says so); someone enrolled with an email and no phone is welcomed
        // by email where email goes out (ADR 15).
        for (contact, label) in people {
            let first_name = contact.first_name();
            let (to, body) = match (&contact.phone, &contact.email, &self.email) {
                (Some(phone), _, _) if phone.can_text() => {
                    let body = self.templates.render_in(
                        enrolment.language,
                        "sms/welcome.txt",
                        minijinja::context! { first_name, service },
                    )?;
                    (Address::Phone(phone.clone()), body)
                }
                (None, Some(email), Some(identity)) => {
                    // Without a listener nothing written back would be read.
                    let Some(address) = identity.reply_address() else {
                        continue;
                    };
                    let context = minijinja::context! {
                        first_name,
                        service,
                        address,
                        trust => rota.trust_name,
                    };
                    let body = EmailBody::render_in(
                        &self.templates,
                        enrolment.language,
                        "welcome",
                        &context,
                        Some(address),
                    )?;
                    (Address::Email(email.clone()), body.to_body())
                }
                _ => continue,
            };
            outbox.push(NewOutbox {
                concern: None,
                to,
                body,
                purpose: Purpose::Welcome,
                staff: None,
                recipient: label,
                step: None,
            });
        }
        let check_in_window = rota
            .service(enrolment.service.as_str())
            .map(|ix| rota.services()[ix as usize].check_in_window)
            .unwrap_or_default();
        let change = Change {
            at: now,
            enrolment: Some(enrolment.clone()),
            outbox,
            // The first check-in and the review reminder, in the same
            // write: they cannot be lost.
            set_notices: crate::checkins::first_notices(&enrolment, now, check_in_window),
            ..Change::default()
        };
        store::blocking(&self.store, move |s| s.apply(change)).await?;
        self.engine.wake();
        Ok(enrolment)
    }

    /// An enrolment by id, active or not (until retention deletes it).
    pub async fn enrolment(&self, id: EnrolmentId) -> Result<Option<Enrolment>, StoreError> {
        store::blocking(&self.store, move |s| s.enrolment(id)).await
    }

    /// End an enrolment now for an API key: `false` if there was no active
    /// one that this key may end ([`ApiKey::may_end`]: its own client's,
    /// never another's), so another client's enrolment is as absent as one
    /// never made. An enrolment's client never changes, so reading it
    /// first is safe.
    pub async fn end_enrolment_for(
        &self,
        key: &ApiKey,
        id: EnrolmentId,
    ) -> Result<bool, StoreError> {
        let key = key.clone();
        let now = self.clock.now();
        store::blocking(&self.store, move |s| match s.enrolment(id)? {
            Some(e) if key.may_end(e.client.as_deref()) => s.end_enrolment(id, now),
            _ => Ok(false),
        })
        .await
    }

    /// Every enrolment of the patient with this NHS number that `reach`
    /// covers, active or not, newest first.
    pub async fn enrolments_for_nhs_number_seen_by(
        &self,
        reach: &Reach,
        nhs: crate::directory::NhsNumber,
    ) -> Result<Vec<Enrolment>, StoreError> {
        let mut list =
            store::blocking(&self.store, move |s| s.enrolments_for_nhs_number(&nhs)).await?;
        list.retain(|e| reach.covers(e.client.as_deref()));
        Ok(list)
    }

    /// An enrolment by id, if `reach` covers it (active or not).
    pub async fn enrolment_seen_by(
        &self,
        reach: &Reach,
        id: EnrolmentId,
    ) -> Result<Option<Enrolment>, StoreError> {
        Ok(self
            .enrolment(id)
            .await?
            .filter(|e| reach.covers(e.client.as_deref())))
    }

    /// A concern with its timeline, if `reach` covers it: a concern about a
    /// patient its client enrolled, or any with `read-all`. A stranger's
    /// concern, or one whose enrolment has been deleted, is `read-all`'s alone.
    pub async fn concern_seen_by(
        &self,
        reach: &Reach,
        id: ConcernId,
    ) -> Result<Option<(Concern, Vec<TimelineEntry>)>, StoreError> {
        Ok(self
            .concern(id)
            .await?
            .filter(|(_, _, enrolment)| {
                reach.covers(enrolment.as_ref().and_then(|e| e.client.as_deref()))
            })
            .map(|(concern, timeline, _)| (concern, timeline)))
    }

    /// As [`Operations::concerns`], narrowed to the concerns `reach` covers.
    pub async fn concerns_seen_by(
        &self,
        reach: &Reach,
        filter: ConcernFilter,
    ) -> Result<ConcernList, StoreError> {
        self.concerns(ConcernFilter {
            client: reach.only_client().map(str::to_owned),
            ..filter
        })
        .await
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

    /// Concerns that match `filter`, newest first, as summaries, and the key
    /// the next page starts after (`None` on the last page).
    pub async fn concerns(&self, filter: ConcernFilter) -> Result<ConcernList, StoreError> {
        let limit = filter.limit;
        // One more than asked for says whether there is a next page.
        let probe = ConcernFilter {
            limit: limit.saturating_add(1),
            ..filter
        };
        let mut found = store::blocking(&self.store, move |s| s.concerns(&probe)).await?;
        let next = (found.len() > limit).then(|| {
            found.truncate(limit);
            found.last().map(ConcernKey::of)
        });
        Ok(ConcernList {
            concerns: found.iter().map(ConcernSummary::new).collect(),
            next: next.flatten(),
        })
    }

    /// The report of `service`'s concerns opened in `week`.
    pub async fn report(
        &self,
        service: Id,
        week: crate::reports::Week,
    ) -> Result<crate::reports::Report, StoreError> {
        let key = service.clone();
        let found = store::blocking(&self.store, move |s| {
            s.concerns_opened(&key, week.start()..week.end())
        })
        .await?;
        Ok(crate::reports::Report::compute(service, week, &found))
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

    /// A clinician's open pages, oldest first, each with its concern and
    /// the enrolment it is about: what they hear when they phone in.
    pub async fn open_pages(
        &self,
        staff: &Id,
    ) -> Result<Vec<(crate::concern::Page, Concern, Option<Enrolment>)>, StoreError> {
        let (staff, now) = (staff.clone(), self.clock.now());
        store::blocking(&self.store, move |s| {
            let mut out = Vec::new();
            for page in s.pages_for(&staff, now)?.into_iter().rev() {
                if !page.open {
                    continue;
                }
                let Some(concern) = s.concern(page.concern)? else {
                    continue;
                };
                if !concern.escalation.is_open() {
                    continue;
                }
                let enrolment = match concern.enrolment {
                    Some(e) => s.enrolment(e)?,
                    None => None,
                };
                out.push((page, concern, enrolment));
            }
            Ok(out)
        })
        .await
    }

    /// The API key presented, if it is one of ours, revoked or expired or
    /// not ([`ApiKey::usable_at`] says which). Looked up in the store on
    /// every request, never cached: a revocation holds at once on every node.
    pub async fn api_key(&self, presented: &str) -> Result<Option<ApiKey>, StoreError> {
        let hash = hash_key(presented);
        store::blocking(&self.store, move |s| s.api_key(hash)).await
    }

    /// When the engine next has something to do (a deadline, a handover,
    /// a reminder, a retry), if anything waits.
    pub async fn next_due(&self) -> Result<Option<Instant>, StoreError> {
        store::blocking(&self.store, |s| s.next_due()).await
    }

    /// When the engine next has a deadline to meet (a timer: an
    /// acknowledgement deadline, a handover, a reminder; or a scheduled
    /// notice), if any waits: what the demo's clock steps through.
    pub async fn next_deadline(&self) -> Result<Option<Instant>, StoreError> {
        store::blocking(&self.store, |s| {
            s.next_due_of(&[crate::work::WorkKind::Timer, crate::work::WorkKind::Notice])
        })
        .await
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<(), StoreError> {
        store::blocking(&self.store, |s| s.ping()).await
    }

    /// Everything `/metrics` shows, as Prometheus text
    /// ([`crate::metrics`]).
    pub async fn metrics(&self) -> Result<String, StoreError> {
        let now = self.clock.now();
        let (unresolved, backlog) = store::blocking(&self.store, move |s| {
            Ok((s.unresolved_concerns()?, s.backlog(now)?))
        })
        .await?;
        let lateness = self.engine.lateness();
        let counted = self.engine.refused_senders();
        let refused = crate::directory::SenderError::ALL
            .map(|r| r.as_str())
            .map(|reason| {
                let n = counted
                    .iter()
                    .find(|(r, _)| *r == reason)
                    .map_or(0, |(_, n)| *n);
                (reason, n)
            });
        let rota = self.rota.current();
        let holidays = rota.calendar().holidays();
        let today = crate::calendar::wall_clock(now).date();
        Ok(self.metrics.encode(crate::metrics::Snapshot {
            unresolved_concerns: unresolved,
            inbound_pending: backlog.inbound_pending,
            timers_overdue: backlog.timers_overdue,
            outbox_retrying: backlog.outbox_retrying,
            outbox_oldest_seconds: backlog
                .outbox_oldest_queued
                .map_or(0, |t| (now - t).num_seconds().max(0) as u64),
            lateness_p50: lateness.p50.as_secs_f64(),
            lateness_p99: lateness.p99.as_secs_f64(),
            lateness_count: lateness.count as u64,
            set_aside: self.engine.set_aside(),
            refused: refused.to_vec(),
            // For each division, how many days from today the published
            // bank-holidays.json covers ([`crate::calendar::Holidays::covered_days`]).
            // Below 365, a one-off holiday in the coming year may be missing.
            bank_holidays_covered_days: crate::calendar::Division::ALL
                .map(|d| (d.as_str(), holidays.covered_days(d, today)))
                .to_vec(),
            outbox_by_priority: crate::outbox::Priority::ALL
                .map(|p| {
                    let lane = backlog.outbox_due_by_priority[usize::from(p.rank())];
                    let waited = lane
                        .oldest_due
                        .map_or(0, |t| (now - t).num_seconds().max(0) as u64);
                    (p.as_str(), lane.due, waited)
                })
                .to_vec(),
            send_budget: self.engine.send_budget_spent(),
        }))
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

/// Whether the person with this id may be named as a patient's care
/// co-ordinator in the live rota (a person with their own working hours):
/// their id, or why not.
pub fn coordinator_in(
    rota: &crate::rota::Rota,
    id: &str,
) -> Result<Id, crate::directory::enrolment::CoordinatorError> {
    use crate::directory::enrolment::CoordinatorError;
    let coordinators = || {
        rota.people()
            .iter()
            .filter(|p| rota.coordinator(p.id.as_str()).is_some())
            .map(|p| p.id.clone())
            .collect()
    };
    match (rota.person(id), rota.coordinator(id)) {
        (Some(person), Some(_)) => Ok(person.id.clone()),
        (Some(_), None) => Err(CoordinatorError::NoWorkingHours {
            coordinators: coordinators(),
        }),
        (None, _) => Err(CoordinatorError::NoSuchPerson {
            coordinators: coordinators(),
        }),
    }
}

/// An instant as people in the UK read it, RFC 3339 with the local offset.
pub fn local_time(t: Instant) -> String {
    t.with_timezone(&LONDON).to_rfc3339()
}

/// The API's view of a concern (`GET /api/v1/concerns/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConcernView {
    /// The concern's id.
    #[schema(value_type = String, format = Uuid)]
    id: ConcernId,
    /// Where it stands.
    #[schema(schema_with = status_schema)]
    status: &'static str,
    /// Whether a red flag made it urgent.
    urgent: bool,
    /// The service it was routed to, if the sender was known.
    #[schema(value_type = Option<String>, example = "cardiology-ward-7")]
    service: Option<Id>,
    /// Who raised it: `patient`, `carer (daughter)`, `unknown sender`…
    #[schema(example = "patient")]
    from: String,
    /// The number (E.164) or `mailto:` address it came from.
    #[schema(value_type = String, example = "+447700900123")]
    sender: crate::directory::Address,
    /// When it was opened, RFC 3339 with the London offset.
    #[schema(format = DateTime)]
    opened_at: String,
    /// What the sender wrote first (removed after the retention period).
    text: String,
    /// Who accepted it, and when.
    accepted_by: Option<Person>,
    /// Who resolved it, and when.
    resolved_by: Option<Person>,
    /// The enrolment of the patient it is about, if the sender was known.
    #[schema(value_type = Option<String>, format = Uuid)]
    enrolment: Option<EnrolmentId>,
    /// Everything that happened, oldest first.
    timeline: Vec<TimelineItem>,
}

/// One entry of a concern's timeline, as the API shows it: what happened
/// (`event` names which kind), and when (`at`), in London time.
#[derive(Debug, Serialize)]
pub struct TimelineItem {
    /// When, RFC 3339 with the London offset.
    at: String,
    #[serde(flatten)]
    event: crate::timeline::TimelineEvent,
}

/// In the API's OpenAPI document: [`crate::timeline::TimelineEvent`]'s
/// schema, one object for each kind of event, each with `at` added. (An
/// `allOf` of the event and `at` would say the same, but client
/// generators cannot take an `allOf` over a `oneOf`.)
impl utoipa::PartialSchema for TimelineItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
        let at: RefOr<Schema> = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("When, RFC 3339 with the London offset."))
            .into();
        let mut schema = <crate::timeline::TimelineEvent as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::OneOf(kinds)) = &mut schema {
            for kind in &mut kinds.items {
                if let RefOr::T(Schema::Object(object)) = kind {
                    object.properties.insert("at".to_owned(), at.clone());
                    object.required.push("at".to_owned());
                    // Named by its kind, for generators to name their types.
                    object.title = object.properties.get("event").and_then(|e| match e {
                        RefOr::T(Schema::Object(e)) => {
                            e.enum_values.as_ref()?.first()?.as_str().map(str::to_owned)
                        }
                        _ => None,
                    });
                }
            }
            kinds.description = Some(
                "One entry of a concern's timeline: what happened (`event` names which kind, one of those below; within v1 more kinds may come, so a client should keep an entry of a kind it does not know) and when (`at`)."
                    .to_owned(),
            );
        }
        schema
    }
}

impl utoipa::ToSchema for TimelineItem {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <crate::timeline::TimelineEvent as utoipa::ToSchema>::schemas(schemas);
    }
}

/// A status as the API writes it: `open`, `accepted` or `resolved`.
fn status_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(ConcernStatus::ALL.map(ConcernStatus::as_str)))
        .examples(["accepted"])
        .build()
}

/// A member of staff who acted on a concern, and when.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Person {
    /// Their id in the rota files.
    #[schema(value_type = String, example = "dr-patel")]
    id: Id,
    /// Their name.
    #[schema(example = "Dr Anika Patel")]
    name: String,
    /// Their role.
    #[schema(example = "Cardiology registrar")]
    role: String,
    /// When they acted, RFC 3339 with the London offset.
    #[schema(format = DateTime)]
    at: String,
}

impl Person {
    fn new(by: &crate::escalation::StaffRef, at: Instant) -> Self {
        Self {
            id: by.id.clone(),
            name: by.name.clone(),
            role: by.role.clone(),
            at: local_time(at),
        }
    }
}

/// A page of concerns, newest first.
#[derive(Debug)]
pub struct ConcernList {
    /// The concerns on this page.
    pub concerns: Vec<ConcernSummary>,
    /// Where the next page starts after; `None` on the last page.
    pub next: Option<ConcernKey>,
}

/// The API's summary of a concern in a list: where it stands and who has
/// it, without what anyone wrote (`GET /api/v1/concerns/{id}` has that).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConcernSummary {
    /// The concern's id.
    #[schema(value_type = String, format = Uuid)]
    id: ConcernId,
    /// Where it stands.
    #[schema(schema_with = status_schema)]
    status: &'static str,
    /// Whether a red flag made it urgent.
    urgent: bool,
    /// The service it was routed to, if the sender was known.
    #[schema(value_type = Option<String>, example = "cardiology-ward-7")]
    service: Option<Id>,
    /// Who raised it: `patient`, `carer (daughter)`, `unknown sender`…
    #[schema(example = "patient")]
    from: String,
    /// When it was opened, RFC 3339 with the London offset.
    #[schema(format = DateTime)]
    opened_at: String,
    /// Who accepted it, and when.
    accepted_by: Option<Person>,
    /// When it was resolved, RFC 3339 with the London offset.
    #[schema(format = DateTime)]
    resolved_at: Option<String>,
}

impl ConcernSummary {
    /// Summarise a concern; times in Europe/London.
    pub fn new(concern: &Concern) -> Self {
        use crate::escalation::Status;
        let (accepted_by, resolved_at) = match &concern.escalation.status {
            Status::Open => (None, None),
            Status::Accepted { by, at } => (Some(Person::new(by, *at)), None),
            Status::Resolved { at, .. } => (
                concern
                    .escalation
                    .accepted
                    .as_ref()
                    .map(|a| Person::new(&a.by, a.at)),
                Some(local_time(*at)),
            ),
        };
        Self {
            id: concern.id,
            status: ConcernStatus::of(concern).as_str(),
            urgent: concern.escalation.urgent,
            service: concern.service.clone(),
            from: concern.party.label(),
            opened_at: local_time(concern.opened_at),
            accepted_by,
            resolved_at,
        }
    }
}

impl ConcernView {
    /// Build the view; times in Europe/London.
    pub fn new(concern: &Concern, timeline: &[TimelineEntry]) -> Self {
        use crate::escalation::Status;
        let (status, accepted_by, resolved_by) = match &concern.escalation.status {
            Status::Open => ("open", None, None),
            Status::Accepted { by, at } => ("accepted", Some(Person::new(by, *at)), None),
            Status::Resolved { by, at, .. } => (
                "resolved",
                concern
                    .escalation
                    .accepted
                    .as_ref()
                    .map(|a| Person::new(&a.by, a.at)),
                by.as_ref().map(|b| Person::new(b, *at)),
            ),
        };
        let timeline = timeline
            .iter()
            .map(|e| TimelineItem {
                at: local_time(e.at),
                event: e.event.clone(),
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
