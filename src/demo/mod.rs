//! `nightingale serve --demo`: the demo trust with simulated phones.
//!
//! The whole service runs as in production — the same intake, engine
//! loop, escalation, outbox and link pages — with its providers and its
//! clock swapped at their seams:
//!
//! - the SMS provider is [`DemoPhones`], which puts each text in a phone
//!   on the demo page, and whose phones send texts through the same
//!   intake a signed Twilio webhook reaches;
//! - the voice provider is [`DemoCalls`], both ways: a phone's call plays
//!   the real voice webhooks' TwiML in the phone as text, with a keypad,
//!   and a call page rings the clinician's phone;
//! - the email provider is [`DemoMailbox`], where SMTP sits: each email
//!   the outbox sends lands in an inbox on the page, from an address at
//!   [`OUR_DOMAIN`] (reserved, so nothing can leave), which is also where
//!   replies come back to; an email written in a patient's or carer's
//!   inbox is stored as the SMTP listener stores one (`InboundKind::Email`,
//!   keyed `email:MESSAGE-ID`) and goes through the same intake;
//! - the clock is a [`DemoClock`], real time that a viewer can move on,
//!   so escalation can be watched without waiting.
//!
//! It never uses a real provider: with Twilio (or SMTP) settings present
//! it refuses to start ([`refuse_real_providers`]). Its store is an
//! embedded SQLite file, a fresh one in a temporary directory unless a
//! path is given. A few demo patients and carers are enrolled at start
//! (through the same enrolment as the API), and a viewer can enrol more.
//! The page itself is in `routes`; the demo builds the application with
//! its providers, its clock and those routes plugged in at the
//! application's seams, so without `--demo` none of its routes exist and
//! the application itself knows nothing of the demo. One seeded carer,
//! Arthur Davies's son, is enrolled with an email and no phone, so the
//! demo shows email both ways: he is welcomed, paged for and answered by
//! email.

mod calls;
mod clock;
mod mailbox;
mod phones;
mod routes;

pub use calls::{Act, Call, CallKind, CallState, DemoCalls, Heard, Refused, TYPED};
pub use clock::DemoClock;
pub use mailbox::{DemoMailbox, Email, OUR_DOMAIN};
pub use phones::{DemoPhones, Direction, Text};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use chrono::{Datelike, NaiveTime, TimeDelta, Weekday};
use serde::Serialize;

use crate::app::Application;
use crate::calendar::LONDON;
use crate::clock::{Clock, Instant};
use crate::concern::Concern;
use crate::concern::ConcernFilter;
use crate::config::Config;
use crate::directory::{Enrolment, EnrolmentRequest, PhoneNumber};
use crate::operations::{EnrolError, Operations};
use crate::rota::Rota;
use crate::store::sqlite::ServeLock;
use crate::timeline::TimelineEntry;

/// The number Nightingale texts from in the demo (an Ofcom drama number).
pub const OUR_NUMBER: &str = "+447700900000";

/// A patient the demo enrols at start, with their carer if they have one.
struct Seed {
    name: &'static str,
    phone: &'static str,
    service: &'static str,
    /// Name, phone and relationship.
    carer: Option<[&'static str; 3]>,
    /// Name, email and relationship of a carer enrolled with an email and
    /// no phone: their inbox is on the page, and they are answered there.
    emailing_carer: Option<[&'static str; 3]>,
    context: &'static str,
}

/// The patients (and carers) enrolled when a demo starts: one for each
/// service of the demo trust.
const SEEDS: [Seed; 3] = [
    Seed {
        name: "Leo Carter",
        phone: "07700 900811",
        service: "childrens-assessment-unit",
        carer: Some(["Jess Carter", "07700 900812", "mother"]),
        emailing_carer: None,
        context: "Age 9; seen for an asthma attack; new inhaler plan",
    },
    Seed {
        name: "Margaret Evans",
        phone: "07700 900801",
        service: "community-nursing-north",
        carer: Some(["Sian Evans", "07700 900802", "daughter"]),
        emailing_carer: None,
        context: "Cellulitis of the left leg; dressings daily",
    },
    Seed {
        name: "Arthur Davies",
        phone: "07700 900821",
        service: "cardiology-ward-7",
        carer: None,
        emailing_carer: Some(["Rhys Davies", "rhys.davies@home.demo.invalid", "son"]),
        context: "Heart failure; new water tablets",
    },
];

/// Numbers given to patients a viewer enrols: 07700 900830 onwards.
const FIRST_NEW_NUMBER: u32 = 900_830;
/// The most patients a viewer may enrol in one demo.
const MAX_NEW: u32 = 60;

/// How a demo is started.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// The store's file; a fresh one in a temporary directory when `None`.
    pub store: Option<PathBuf>,
    /// What the clock reads at start; now when `None`.
    pub start: Option<Instant>,
}

/// A running demo: its clock, its phones and the people it enrolled.
pub struct Demo {
    /// The clock a viewer moves.
    pub clock: DemoClock,
    /// The simulated phones (the SMS provider).
    pub phones: Arc<DemoPhones>,
    /// Their calls (the voice provider, both ways).
    pub calls: Arc<DemoCalls>,
    /// The simulated inboxes (the email provider).
    pub mailbox: Arc<DemoMailbox>,
    enrolled: Mutex<Vec<Enrolment>>,
    /// The engine, which a move of the clock lets do what falls due at
    /// each instant on the way ([`Demo::skip`]).
    engine: std::sync::OnceLock<Arc<crate::engine::Engine>>,
    stopping: tokio::sync::watch::Sender<bool>,
    reset: tokio::sync::watch::Sender<bool>,
    /// The hold on the store's file, and the temporary directory it is
    /// in: kept while the demo serves, removed with it.
    _store: (Option<ServeLock>, Option<tempfile::TempDir>),
}

/// How far the clock moves, as a viewer asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// To the next thing the engine waits for (a deadline, a handover, a reminder).
    NextDeadline,
    /// Ten minutes on.
    TenMinutes,
    /// To the coming Friday at 19:00, UK time: the start of a weekend out of hours.
    FridayEvening,
}

impl Skip {
    /// Parse a form's value: `next`, `10m` or `friday`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::NextDeadline),
            "10m" => Some(Self::TenMinutes),
            "friday" => Some(Self::FridayEvening),
            _ => None,
        }
    }
}

/// A phone on the demo page.
#[derive(Debug, Clone, Serialize)]
pub struct Phone {
    /// Its number, E.164.
    pub number: String,
    /// Whose it is.
    pub name: String,
    /// What they are: "Patient, Children's assessment unit", "Paediatric registrar: on call, level 1".
    pub about: String,
}

/// An inbox on the demo page.
#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    /// Its address, in lower case.
    pub address: String,
    /// Whose it is.
    pub name: String,
    /// What they are: "Son of Arthur, Cardiology Ward 7".
    pub about: String,
    /// Whether a viewer can write an email from it (a patient or carer's).
    pub writes: bool,
}

impl Demo {
    /// A demo on this clock, with these phones and calls.
    pub fn new(clock: DemoClock, phones: Arc<DemoPhones>, calls: Arc<DemoCalls>) -> Self {
        let mailbox = Arc::new(DemoMailbox::new(
            Arc::new(clock.clone()),
            Arc::clone(&phones),
        ));
        Self {
            clock,
            phones,
            calls,
            mailbox,
            enrolled: Mutex::default(),
            engine: std::sync::OnceLock::new(),
            stopping: tokio::sync::watch::Sender::new(false),
            reset: tokio::sync::watch::Sender::new(false),
            _store: (None, None),
        }
    }

    /// The engine of the service this demo runs in: a move of the clock
    /// steps it through each deadline on the way. Set once; a demo with
    /// none (a test's) moves its clock in one jump.
    pub fn attach_engine(&self, engine: Arc<crate::engine::Engine>) {
        let _ = self.engine.set(engine);
    }

    fn enrolled(&self) -> MutexGuard<'_, Vec<Enrolment>> {
        self.enrolled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enrol the demo's own patients, through the same enrolment as the
    /// API; in a store given again (`--demo-store`), those still enrolled
    /// there are shown, not enrolled twice.
    pub async fn enrol_seeds(&self, ops: &Operations) -> anyhow::Result<()> {
        for seed in &SEEDS {
            let phone = PhoneNumber::parse(seed.phone)
                .map_err(|e| anyhow::anyhow!("demo number {}: {e}", seed.phone))?;
            let now = ops.clock.now();
            let found =
                crate::store::blocking(&ops.store, move |s| s.enrolments_for_phone(&phone, now))
                    .await?;
            if let Some(enrolment) = found.into_iter().find(|e| {
                e.patient.phone.as_ref().map(PhoneNumber::as_str)
                    == Some(phone_e164(seed.phone).as_str())
            }) {
                self.enrolled().push(enrolment);
                continue;
            }
            let mut request = serde_json::json!({
                "patient": {"name": seed.name, "phone": seed.phone},
                "service": seed.service,
                "discharged_at": (ops.clock.now() - TimeDelta::hours(3)).to_rfc3339(),
                "context": seed.context,
            });
            let mut carers = Vec::new();
            if let Some([name, phone, relationship]) = seed.carer {
                carers.push(
                    serde_json::json!({"name": name, "phone": phone, "relationship": relationship}),
                );
            }
            if let Some([name, email, relationship]) = seed.emailing_carer {
                carers.push(
                    serde_json::json!({"name": name, "email": email, "relationship": relationship}),
                );
            }
            if !carers.is_empty() {
                request["carers"] = serde_json::Value::Array(carers);
            }
            self.enrol(ops, serde_json::from_value(request)?)
                .await
                .map_err(|e| anyhow::anyhow!("enrolling the demo patients: {e:?}"))?;
        }
        Ok(())
    }

    /// Enrol a patient a viewer named with a service, on the next free
    /// demo number, discharged an hour ago; `Ok(None)` when every demo
    /// number is taken.
    pub async fn enrol_new(
        &self,
        ops: &Operations,
        name: &str,
        service: &str,
    ) -> Result<Option<Enrolment>, EnrolError> {
        let taken = self.enrolled().len() as u32;
        let offset = taken.saturating_sub(SEEDS.len() as u32);
        if offset >= MAX_NEW {
            return Ok(None);
        }
        let request: EnrolmentRequest = serde_json::from_value(serde_json::json!({
            "patient": {"name": name, "phone": format!("07700 {}", FIRST_NEW_NUMBER + offset)},
            "service": service,
            "discharged_at": (ops.clock.now() - TimeDelta::hours(1)).to_rfc3339(),
        }))
        .map_err(EnrolError::Request)?;
        self.enrol(ops, request).await.map(Some)
    }

    async fn enrol(
        &self,
        ops: &Operations,
        request: EnrolmentRequest,
    ) -> Result<Enrolment, EnrolError> {
        let enrolment = ops.enrol(request, None).await?;
        self.enrolled().push(enrolment.clone());
        self.phones.changed();
        Ok(enrolment)
    }

    /// Move the clock as a viewer asked; `false` when there was nothing
    /// to skip to (no deadline waiting).
    pub async fn skip(&self, ops: &Operations, skip: Skip) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let to = match skip {
            Skip::TenMinutes => now + TimeDelta::minutes(10),
            Skip::FridayEvening => next_friday_evening(now),
            Skip::NextDeadline => match ops.next_deadline().await? {
                Some(due) if due > now => due,
                _ => return Ok(false),
            },
        };
        let stepped = self.step_to(ops, to).await;
        self.phones.changed();
        stepped.map(|()| true)
    }

    /// Move the clock to `to` through each deadline on the way, in order,
    /// letting the engine do what falls due at each before moving on.
    ///
    /// A jump straight to `to` would wake the engine once, at `to`: every
    /// deadline inside it would fire then, stamped with that time, and a
    /// level-1 deadline of 18:17 would read "18:22 escalated". Stepping
    /// makes the timeline read as it would had nobody touched the clock:
    /// each timer fires at its own time, and the timers it sets (the next
    /// level's deadline) fire at theirs if they too fall inside the jump.
    async fn step_to(&self, ops: &Operations, to: Instant) -> anyhow::Result<()> {
        /// Enough for a week of handovers, reminders and check-ins; past
        /// it, the rest of the jump is one move.
        const MOST_STEPS: usize = 2_000;
        let Some(engine) = self.engine.get() else {
            self.clock.advance_to(to);
            return Ok(());
        };
        for _ in 0..MOST_STEPS {
            engine.settle().await?;
            match ops.next_deadline().await? {
                Some(due) if due <= to => {
                    // A deadline already past that the engine could not
                    // meet (set aside, or held by another claim): move on
                    // a little rather than ask again at once.
                    let at = due.max(self.clock.now() + TimeDelta::milliseconds(1));
                    self.clock.advance_to(at.min(to));
                }
                _ => break,
            }
        }
        self.clock.advance_to(to);
        Ok(engine.settle().await?)
    }

    /// The phones on the page, service by service: each demo patient and
    /// carer, then whoever is on call for their service now, so a
    /// patient's phone and the phone their text reaches are side by side
    /// (on a small screen too); then any other number that has had a
    /// text. With `only` (a service's id), just that service's patients,
    /// carers and people on call.
    pub fn phones(&self, rota: &Rota, now: Instant, only: Option<&str>) -> Vec<Phone> {
        let shown = |service: &str| only.is_none_or(|only| only == service);
        // Services in the order their first patient was enrolled, then the rest.
        let mut services: Vec<String> = Vec::new();
        let enrolled = self.enrolled().clone();
        let rota_services = rota.services().iter().map(|s| s.id.as_str().to_owned());
        for service in enrolled
            .iter()
            .map(|e| e.service.as_str().to_owned())
            .chain(rota_services)
        {
            if shown(&service) && !services.contains(&service) {
                services.push(service);
            }
        }
        // Who is on call, each once, with every duty they hold, under the
        // first service they are on call for.
        struct OnCall {
            number: String,
            name: String,
            role: String,
            duties: Vec<String>,
            service: String,
        }
        let mut on_call: Vec<OnCall> = Vec::new();
        for service in &services {
            let Some(ix) = rota.service(service) else {
                continue;
            };
            let chain = rota.resolve(ix, now);
            let levels = chain
                .levels
                .iter()
                .map(|l| (format!("level {}", l.number), l));
            let levels = levels.chain(std::iter::once(("fallback".to_owned(), &chain.fallback)));
            for (level, resolved) in levels {
                for person in &resolved.on_call {
                    let Some(number) = person.person.sms_numbers().first().map(|n| n.as_str())
                    else {
                        continue;
                    };
                    let duty = format!("{} {level}", chain.service.name);
                    match on_call.iter_mut().find(|o| o.number == number) {
                        Some(o) => {
                            if !o.duties.contains(&duty) {
                                o.duties.push(duty);
                            }
                        }
                        None => on_call.push(OnCall {
                            number: number.to_owned(),
                            name: person.person.name.clone(),
                            role: person.person.role.clone(),
                            duties: vec![duty],
                            service: service.clone(),
                        }),
                    }
                }
            }
        }
        let mut phones: Vec<Phone> = Vec::new();
        for service in &services {
            let name = service_name(rota, service);
            for e in enrolled.iter().filter(|e| e.service.as_str() == service) {
                // Someone enrolled with no phone has no phone to show.
                if let Some(phone) = &e.patient.phone {
                    phones.push(Phone {
                        number: phone.as_str().to_owned(),
                        name: e.patient.name.clone(),
                        about: format!("Patient, {name}"),
                    });
                }
                for c in &e.carers {
                    let Some(phone) = &c.contact.phone else {
                        continue;
                    };
                    let whose = match &c.relationship {
                        Some(r) => format!("{} of {}", capitalise(r), e.patient.first_name()),
                        None => format!("Carer of {}", e.patient.first_name()),
                    };
                    phones.push(Phone {
                        number: phone.as_str().to_owned(),
                        name: c.contact.name.clone(),
                        about: format!("{whose}, {name}"),
                    });
                }
            }
            for o in on_call.iter().filter(|o| &o.service == service) {
                if phones.iter().all(|p| p.number != o.number) {
                    phones.push(Phone {
                        number: o.number.clone(),
                        name: o.name.clone(),
                        about: format!("{}; on call now: {}", o.role, o.duties.join(", ")),
                    });
                }
            }
        }
        let mut numbers = self.phones.numbers();
        numbers.extend(self.calls.numbers());
        numbers.sort();
        numbers.dedup();
        for number in numbers {
            if only.is_some() || phones.iter().any(|p| p.number == number) {
                continue;
            }
            let staff = PhoneNumber::parse(&number)
                .ok()
                .and_then(|n| rota.staff_by_phone(&n).cloned());
            phones.push(match staff {
                Some(s) => Phone {
                    number,
                    name: s.name,
                    about: format!("{}; not on call now", s.role),
                },
                None => Phone {
                    name: "Unknown number".to_owned(),
                    about: "Not enrolled".to_owned(),
                    number,
                },
            });
        }
        phones
    }

    /// The inboxes on the page: each demo patient and carer enrolled with
    /// an email, who can write from it, then any other address that has
    /// had an email (someone on call who is paged by email).
    pub fn inboxes(&self, rota: &Rota, only: Option<&str>) -> Vec<Inbox> {
        let mut inboxes: Vec<Inbox> = Vec::new();
        for e in self
            .enrolled()
            .iter()
            .filter(|e| only.is_none_or(|only| only == e.service.as_str()))
        {
            let service = service_name(rota, e.service.as_str());
            let patient = (&e.patient, format!("Patient, {service}"));
            let carers = e.carers.iter().map(|c| {
                let whose = match &c.relationship {
                    Some(r) => format!("{} of {}", capitalise(r), e.patient.first_name()),
                    None => format!("Carer of {}", e.patient.first_name()),
                };
                (&c.contact, format!("{whose}, {service}"))
            });
            for (contact, about) in std::iter::once(patient).chain(carers) {
                if let Some(email) = &contact.email {
                    inboxes.push(Inbox {
                        address: email.as_str().to_lowercase(),
                        name: contact.name.clone(),
                        about,
                        writes: true,
                    });
                }
            }
        }
        for address in self.mailbox.addresses() {
            if only.is_some() || inboxes.iter().any(|i| i.address == address) {
                continue;
            }
            let staff = rota.people().iter().find(|p| {
                p.contacts.iter().any(|c| {
                    matches!(c, crate::directory::ContactMethod::Email(e) if e.as_str().eq_ignore_ascii_case(&address))
                })
            });
            inboxes.push(match staff {
                Some(s) => Inbox {
                    name: s.name.clone(),
                    about: s.role.clone(),
                    address,
                    writes: false,
                },
                None => Inbox {
                    name: "Unknown address".to_owned(),
                    about: "Not enrolled".to_owned(),
                    address,
                    writes: false,
                },
            });
        }
        inboxes
    }

    /// Whether an inbox a viewer may write from is on the page.
    pub fn writes_from(&self, rota: &Rota, address: &str) -> bool {
        self.inboxes(rota, None)
            .iter()
            .any(|i| i.writes && i.address.eq_ignore_ascii_case(address))
    }

    /// The concerns opened most recently (at most `limit`), newest first,
    /// each with its timeline and the enrolment it is about.
    pub async fn recent_concerns(
        &self,
        ops: &Operations,
        limit: usize,
    ) -> anyhow::Result<Vec<(Concern, Vec<TimelineEntry>, Option<Enrolment>)>> {
        let found = crate::store::blocking(&ops.store, move |s| {
            let concerns = s.concerns(&ConcernFilter {
                limit,
                ..ConcernFilter::default()
            })?;
            concerns
                .into_iter()
                .map(|c| {
                    let timeline = s.timeline(c.id)?;
                    let enrolment = match c.enrolment {
                        Some(e) => s.enrolment(e)?,
                        None => None,
                    };
                    Ok((c, timeline, enrolment))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        Ok(found)
    }

    /// Stop the page's live updates (the server is stopping).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Ask for the demo to start afresh; completes when this one is
    /// stopping (so the page asked for next comes from the fresh one).
    pub async fn reset(&self) {
        self.reset.send_replace(true);
        self.stopping().await;
    }

    /// Completes when a reset is asked for.
    fn reset_requested(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut rx = self.reset.subscribe();
        async move {
            let _ = rx.wait_for(|reset| *reset).await;
        }
    }

    /// Completes when the demo is stopping.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut rx = self.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// Whether a text may be typed on this number's phone: it is on the page.
    pub fn is_on_page(&self, rota: &Rota, now: Instant, number: &str) -> bool {
        self.phones(rota, now, None)
            .iter()
            .any(|p| p.number == number)
    }
}

/// A demo number as E.164 (`07700 900811` → `+447700900811`).
fn phone_e164(national: &str) -> String {
    PhoneNumber::parse(national)
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default()
}

fn service_name(rota: &Rota, id: &str) -> String {
    rota.service(id)
        .map(|ix| rota.services()[ix as usize].name.clone())
        .unwrap_or_else(|| id.to_owned())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The first Friday 19:00, UK time, after `now`.
pub fn next_friday_evening(now: Instant) -> Instant {
    let local = now.with_timezone(&LONDON);
    let seven = NaiveTime::from_hms_opt(19, 0, 0).unwrap_or_default();
    let mut day = local.date_naive();
    loop {
        if day.weekday() == Weekday::Fri {
            // 19:00 exists on every Friday: clocks change at 01:00 on Sundays.
            if let Some(at) = day.and_time(seven).and_local_timezone(LONDON).earliest() {
                let at = at.to_utc();
                if at > now {
                    return at;
                }
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
}

/// Refuse a demo with a real provider configured: a demo must never text
/// a real phone.
pub fn refuse_real_providers(config: &Config) -> anyhow::Result<()> {
    let twilio = [
        (
            "NIGHTINGALE_TWILIO_ACCOUNT_SID",
            config.twilio_account_sid.is_some(),
        ),
        (
            "NIGHTINGALE_TWILIO_AUTH_TOKEN",
            config.twilio_auth_token.is_some(),
        ),
        (
            "NIGHTINGALE_TWILIO_AUTH_TOKEN_PREVIOUS",
            config.twilio_auth_token_previous.is_some(),
        ),
        ("NIGHTINGALE_TWILIO_FROM", config.twilio_from.is_some()),
        ("NIGHTINGALE_SMTP_URL", config.smtp_url.is_some()),
    ];
    let set: Vec<&str> = twilio
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| *name)
        .collect();
    anyhow::ensure!(
        set.is_empty(),
        "--demo never uses a real provider, so it will not start with {} set: a demo must not text or email a real phone or inbox. Unset {} to run the demo, or run `nightingale serve` without --demo to use them",
        set.join(", "),
        if set.len() == 1 { "it" } else { "them" }
    );
    Ok(())
}

/// Serve the demo on `config.listen` until `shutdown` completes.
pub async fn serve(
    config: &Config,
    options: DemoOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    refuse_real_providers(config)?;
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serve_on(listener, config, options, shutdown).await
}

/// Serve the demo on `listener` until `shutdown` completes: the seam
/// tests use.
///
/// Each reset ends the demo being served and starts a fresh one (a new
/// store, the clock back at its start, the demo patients enrolled again)
/// on the same listener: connections that arrive in between wait in its
/// queue rather than being refused.
pub async fn serve_on(
    listener: std::net::TcpListener,
    config: &Config,
    options: DemoOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    refuse_real_providers(config)?;
    listener.set_nonblocking(true)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    loop {
        let session = tokio::net::TcpListener::from_std(listener.try_clone()?)?;
        let (app, demo) = build_on(session, config, options.clone()).await?;
        let mut stopping = stopped.clone();
        let reset = demo.reset_requested();
        let ending = Arc::clone(&demo);
        app.run_until_stopped(async move {
            tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => {}
                () = reset => {}
            }
            // Live updates never end by themselves: end them, so the
            // server's graceful stop does not wait for them.
            ending.stop();
        })
        .await?;
        // The store's file (and a temporary directory) is let go when the
        // last request and task that used this demo has finished with it.
        for _ in 0..50 {
            if Arc::strong_count(&demo) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(demo);
        if *stopped.borrow() {
            return Ok(());
        }
        if let Some(path) = &options.store {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("resetting the demo: cannot remove {}", path.display())
                        });
                    }
                }
            }
        }
        tracing::info!("demo reset: starting afresh");
    }
}

/// Build a demo service on `listener`, with its patients enrolled, not yet
/// serving.
async fn build_on(
    listener: tokio::net::TcpListener,
    config: &Config,
    options: DemoOptions,
) -> anyhow::Result<(Application, Arc<Demo>)> {
    let (store_path, temporary) = match options.store {
        Some(path) => (path, None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("nightingale-demo-")
                .tempdir()
                .context("cannot make a temporary directory for the demo's store")?;
            (dir.path().join("demo.db"), Some(dir))
        }
    };
    let bound = listener.local_addr()?;
    let mut config = config.clone();
    config.store = format!("sqlite://{}", store_path.display());
    if config.public_url == Config::default().public_url {
        config.public_url = format!("http://{}", reachable(bound));
    }
    let serve_lock = crate::store::lock_for_serving(&config.store)?;
    let store = crate::store::open(&config.store)?;
    let clock = DemoClock::starting_at(options.start.unwrap_or_else(chrono::Utc::now));
    let phones = Arc::new(DemoPhones::new(Arc::new(clock.clone())));
    let calls = Arc::new(DemoCalls::new(
        Arc::new(clock.clone()),
        Arc::clone(&phones),
        &format!("http://{}", reachable(bound)),
        &config.public_url,
    )?);
    let demo = Arc::new(Demo {
        _store: (serve_lock, temporary),
        ..Demo::new(clock.clone(), Arc::clone(&phones), Arc::clone(&calls))
    });
    let app = Application::build_on(
        Some(listener),
        &config,
        Arc::new(clock),
        store,
        Some(phones),
        Some(Arc::new(calls)),
        Some((demo_identity(), Arc::clone(&demo.mailbox) as _)),
    )
    .await?
    // Its calls reach the voice webhooks signed as Twilio signs, with the
    // demo's own token, and only it (a demo never has a Twilio token:
    // `refuse_real_providers`).
    .with_webhook_tokens(vec![demo.calls.webhook_token()])
    .with_routes(routes::router(Arc::clone(&demo)))
    .as_demo();
    demo.attach_engine(app.engine());
    demo.enrol_seeds(app.operations()).await?;
    tracing::warn!(
        url = %config.public_url,
        store = %store_path.display(),
        "DEMO MODE: simulated phones, nothing leaves this machine; open the URL in a browser"
    );
    Ok((app, demo))
}

/// Who the demo's emails come from: an address at the demo's own
/// domain, which is also where replies and bounces come back to.
fn demo_identity() -> crate::channels::email::EmailIdentity {
    crate::channels::email::EmailIdentity {
        from: format!("Nightingale <nightingale@{OUR_DOMAIN}>"),
        domain: Some(OUR_DOMAIN.to_owned()),
    }
}

/// Where patients and carers write to us in the demo.
pub fn our_address() -> String {
    format!("nightingale@{OUR_DOMAIN}")
}

/// The address a browser on this machine reaches a listener at.
fn reachable(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
    } else {
        bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friday_evening_is_the_coming_one_in_uk_time() {
        let thursday: Instant = "2026-11-26T17:34:00Z".parse().unwrap();
        assert_eq!(
            next_friday_evening(thursday),
            "2026-11-27T19:00:00Z".parse::<Instant>().unwrap()
        );
        let friday_night: Instant = "2026-11-27T19:30:00Z".parse().unwrap();
        assert_eq!(
            next_friday_evening(friday_night),
            "2026-12-04T19:00:00Z".parse::<Instant>().unwrap()
        );
        let summer: Instant = "2026-06-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            next_friday_evening(summer),
            "2026-06-05T18:00:00Z".parse::<Instant>().unwrap(),
            "19:00 BST"
        );
    }

    #[test]
    fn a_demo_refuses_twilio_settings_and_names_them() {
        let config = Config {
            twilio_account_sid: Some("AC123".to_owned()),
            twilio_from: Some("+447700900000".to_owned()),
            ..Config::default()
        };
        let err = refuse_real_providers(&config).unwrap_err().to_string();
        assert!(
            err.contains("NIGHTINGALE_TWILIO_ACCOUNT_SID, NIGHTINGALE_TWILIO_FROM"),
            "{err}"
        );
        assert!(err.contains("never uses a real provider"), "{err}");
        assert!(refuse_real_providers(&Config::default()).is_ok());
    }
}
