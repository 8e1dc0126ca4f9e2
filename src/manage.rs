//! What rota managers do: overrides and swaps made on the web (the edits
//! layer over the rota files, docs/adr/0013), undoing them, the audit trail
//! that records both, and alerts about gaps that open in the days ahead.
//!
//! An edit or undo is made only by someone who manages every service whose
//! chain it changes (a shared rotation, a person everywhere), and an
//! override's cover must be fit for the slot (docs/adr/0019). Its audit
//! line names every service it changes, so each one's managers see it.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use serde::Serialize;

use crate::clock::Instant;
use crate::directory::{ContactMethod, Id};
use crate::operations::Operations;
use crate::outbox::NewOutbox;
use crate::rota::layer::{AuditRecord, LayerWrite, NewRotaEdit, RotaEdit, Undone};
use crate::rota::layer::{EditBody, Refusal};
use crate::rota::scope::Slot;
use crate::rota::{Gap, PersonIx, Rota, Who, check};
use crate::store;
use crate::store_error::StoreError;
use crate::timeline::Purpose;
use crate::work::Change;

/// Why an edit was not made or undone.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// It breaks a rule of the files, or would open a gap unconfirmed.
    #[error("the edit was refused")]
    Refused(Refusal),
    /// A field of the form is wrong: the form's field name, and what to
    /// write instead, in plain words with people's names.
    #[error("{message}")]
    Field {
        /// The field, as the form names it (`until`, `for`, `shift_a`…).
        field: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// It changes the chains of services its editor does not manage.
    #[error("the edit changes services its editor does not manage")]
    NotYourServices(Box<OtherServices>),
    /// Its `covering` is not fit for a slot it fills.
    #[error("the person covering is not fit for the slot")]
    NotFit(Box<NotFit>),
    /// No such edit on this service, or it is undone already.
    #[error("no such edit standing")]
    NoSuchEdit,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusal> for EditError {
    fn from(r: Refusal) -> Self {
        EditError::Refused(r)
    }
}

fn field(field: &'static str, message: String) -> EditError {
    EditError::Field { field, message }
}

fn person_name(rota: &Rota, id: &str) -> String {
    rota.person(id)
        .map_or_else(|| id.to_owned(), |p| p.name.clone())
}

fn rotation_name(rota: &Rota, id: &str) -> String {
    rota.rotations()
        .iter()
        .find(|r| r.id.as_str() == id)
        .map_or_else(|| id.to_owned(), |r| r.name.clone())
}

/// The rules of `rota/overrides.toml` a form can break, checked first so
/// that a manager reads them in plain words against the field they are
/// about, rather than in the files' syntax. What is left is the loader's.
fn plain_rules(rota: &Rota, body: &EditBody) -> Result<(), EditError> {
    match body {
        EditBody::Override {
            covering,
            replacing,
            rotation,
            from,
            until,
        } => {
            if replacing.is_none() && rotation.is_none() {
                return Err(field(
                    "for",
                    "Choose whom they cover, or the rotation they hold, or both".to_owned(),
                ));
            }
            if covering.is_some() && covering == replacing {
                let name = person_name(rota, covering.as_deref().unwrap_or_default());
                return Err(field(
                    "covering",
                    format!(
                        "{name} cannot cover themselves: choose someone else to cover, or nobody if they are away"
                    ),
                ));
            }
            if until <= from {
                return Err(field(
                    "until",
                    format!(
                        "The end must be after the start ({}): a cover from 20:00 to 08:00 the next morning ends on the next day",
                        from.format(crate::calendar::london::LONG)
                    ),
                ));
            }
            Ok(())
        }
        EditBody::Swap { rotation, shifts } => {
            if shifts[0] == shifts[1] {
                return Err(field(
                    "shift_b",
                    "Choose two different shifts: both days are the same".to_owned(),
                ));
            }
            let Some(r) = rota.rotations().iter().find(|r| r.id.as_str() == rotation) else {
                return Ok(()); // the loader names it, with a suggestion
            };
            for (name, day) in [("shift_a", shifts[0]), ("shift_b", shifts[1])] {
                if r.shift_starting_on(day).is_none() {
                    let (before, after) = r.nearest_shift_starts(day);
                    let day_words = |d: chrono::NaiveDate| d.format("%A %-d %B %Y").to_string();
                    let choose = match before {
                        Some(b) => format!("{} or {}", day_words(b), day_words(after)),
                        None => day_words(after),
                    };
                    return Err(field(
                        name,
                        format!(
                            "No shift of “{}” starts on {}: choose a day a shift starts, {choose}",
                            r.name,
                            day_words(day)
                        ),
                    ));
                }
            }
            let holders: Vec<Option<PersonIx>> = shifts
                .iter()
                .map(|d| r.shift_starting_on(*d).and_then(|k| r.holder(k)))
                .collect();
            if let [Some(a), Some(b)] = holders[..]
                && a == b
            {
                return Err(field(
                    "shift_b",
                    format!(
                        "{} holds both shifts: choose a shift someone else holds",
                        rota.people()[a as usize].name
                    ),
                ));
            }
            Ok(())
        }
    }
}

/// Whether an edit made on `service`'s page is about that service: the
/// rotation it names is one of the service's, or the person it replaces is
/// on one of its levels. A manager edits their own services' rotas only.
fn on_service(rota: &Rota, edit: &NewRotaEdit) -> Result<(), EditError> {
    let Some(ix) = rota.service(edit.service.as_str()) else {
        return Err(field(
            "rotation",
            format!("There is no service {:?}", edit.service.as_str()),
        ));
    };
    let service = &rota.services()[ix as usize];
    let levels = service.in_hours.iter().chain(&service.out_of_hours);
    let mut rotations = Vec::new();
    let mut people = Vec::new();
    for level in levels {
        match &level.who {
            Who::Rotation(r) => {
                let rotation = &rota.rotations()[*r as usize];
                rotations.push(rotation.id.as_str());
                people.extend(
                    rotation
                        .members
                        .iter()
                        .map(|&p| rota.people()[p as usize].id.as_str()),
                );
            }
            Who::People(ps) => {
                people.extend(ps.iter().map(|&p| rota.people()[p as usize].id.as_str()))
            }
        }
    }
    let (rotation, replacing) = match &edit.body {
        EditBody::Override {
            rotation,
            replacing,
            ..
        } => (rotation.as_deref(), replacing.as_deref()),
        EditBody::Swap { rotation, .. } => (Some(rotation.as_str()), None),
    };
    // Names the loader does not know are left to it: it says so, with a suggestion.
    let known_rotation = |r: &str| rota.rotations().iter().any(|x| x.id.as_str() == r);
    match (rotation, replacing) {
        (Some(r), _) if known_rotation(r) && !rotations.contains(&r) => Err(field(
            "rotation",
            format!(
                "The {} rotation is not on {}'s rota: make this edit on the page of a service that uses it",
                rotation_name(rota, r),
                service.name
            ),
        )),
        (None, Some(p)) if rota.person(p).is_some() && !people.contains(&p) => Err(field(
            "for",
            format!(
                "{} is not on {}'s rota: make this edit on the page of a service they are on",
                person_name(rota, p),
                service.name
            ),
        )),
        _ => Ok(()),
    }
}

/// A service an edit would change, and the people who manage it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherService {
    /// Its id.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// Its managers' names (empty when only the trust's managers manage it).
    pub managers: Vec<String>,
}

/// The services an edit would change that its editor does not manage, and
/// who could make it instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherServices {
    /// Those services, in id order.
    pub services: Vec<OtherService>,
    /// The trust's managers' names: they manage every service.
    pub trust_managers: Vec<String>,
}

/// Who was to cover, and the slot they are not fit for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotFit {
    /// Their name.
    pub name: String,
    /// Their role, as `people.toml` says.
    pub role: String,
    /// The rotation whose turn it is, by name; or
    pub rotation: Option<String>,
    /// the person, by name, whose place on a level it is.
    pub in_place_of: Option<String>,
    /// Who is fit for it, by name.
    pub fit: Vec<String>,
}

fn names(rota: &Rota, ids: &[Id]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            rota.person(id.as_str())
                .map_or_else(|| id.to_string(), |p| p.name.clone())
        })
        .collect()
}

/// The services `body` changes, by id: only someone who manages all of
/// them may make or undo it (a trust manager manages every service).
/// Refused with the others named, and their managers.
fn may_change(rota: &Rota, by: &Id, body: &EditBody) -> Result<Vec<Id>, EditError> {
    let changed = rota.services_changed(body);
    let others: Vec<OtherService> = changed
        .iter()
        .filter(|&&ix| !rota.manages(by, ix))
        .map(|&ix| {
            let s = &rota.services()[ix as usize];
            OtherService {
                id: s.id.clone(),
                name: s.name.clone(),
                managers: names(rota, &s.managers),
            }
        })
        .collect();
    if !others.is_empty() {
        tracing::info!(staff = %by, services = others.len(), "rota edit refused: it changes services they do not manage");
        return Err(EditError::NotYourServices(Box::new(OtherServices {
            services: others,
            trust_managers: names(rota, rota.trust_managers()),
        })));
    }
    Ok(changed
        .into_iter()
        .map(|ix| rota.services()[ix as usize].id.clone())
        .collect())
}

/// Refused when the override's `covering` is not fit for a slot it fills.
fn fit_cover(rota: &Rota, body: &EditBody) -> Result<(), EditError> {
    let Some((person, slot)) = rota.unfit_cover(body) else {
        return Ok(());
    };
    let name = |p: PersonIx| rota.people()[p as usize].name.clone();
    let (rotation, in_place_of) = match slot {
        Slot::Rotation(r) => (Some(rota.rotations()[r as usize].name.clone()), None),
        Slot::Named(p) => (None, Some(name(p))),
    };
    Err(EditError::NotFit(Box::new(NotFit {
        name: name(person),
        role: rota.people()[person as usize].role.clone(),
        rotation,
        in_place_of,
        fit: rota.fit_for(slot).into_iter().map(name).collect(),
    })))
}

/// The services besides `service` an audit line is shown under.
fn also(changed: Vec<Id>, service: &Id) -> Vec<Id> {
    changed.into_iter().filter(|s| s != service).collect()
}

fn kind(body: &EditBody) -> &'static str {
    match body {
        EditBody::Override { .. } => "override",
        EditBody::Swap { .. } => "swap",
    }
}

impl Operations {
    /// Every rota edit, undone or not, in the order they were made.
    pub async fn rota_edits(&self) -> Result<Vec<RotaEdit>, StoreError> {
        store::blocking(&self.store, |s| s.rota_edits()).await
    }

    /// Make an override or swap: refused if it breaks a rule of the files
    /// (with the files' messages) or, unless `confirmed`, opens a gap in the
    /// next 28 days. Audited; every node's rota follows. Returns its number.
    pub async fn make_rota_edit(
        &self,
        edit: NewRotaEdit,
        confirmed: bool,
    ) -> Result<u64, EditError> {
        let live = self.rota.clone();
        let now = self.clock.now();
        let store = Arc::clone(&self.store);
        let id = tokio::task::spawn_blocking(move || -> Result<u64, EditError> {
            let rota = live.current();
            plain_rules(&rota, &edit.body)?;
            on_service(&rota, &edit)?;
            let changed = may_change(&rota, &edit.made_by, &edit.body)?;
            fit_cover(&rota, &edit.body)?;
            let audit = AuditRecord {
                at: now,
                who: edit.made_by.clone(),
                service: Some(edit.service.clone()),
                also: also(changed, &edit.service),
                action: format!("{} added: {}", kind(&edit.body), edit.body.summary()),
                before: String::new(),
                after: edit.to_toml(None),
            };
            // Judged against the layer as it stands, and written only if it
            // still stands so; another manager's edit in between means judging again.
            let mut tries = 0;
            loop {
                let version = store.rota_layer_version()?;
                let edits = store.rota_edits()?;
                live.judge(&edits, &edit, now, confirmed)?;
                let write = LayerWrite {
                    change: &edit,
                    audit: &audit,
                    judged_at: version,
                };
                match store.add_rota_edit(write) {
                    Ok(id) => {
                        live.refresh(store.as_ref())?;
                        return Ok(id);
                    }
                    Err(StoreError::Conflict(_)) if tries < 5 => tries += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("edit task failed: {e}").into()))??;
        Ok(id)
    }

    /// Undo edit `id`, made on `service`'s page or changing its chain:
    /// refused unless `by` manages every service it changes, and, unless
    /// `confirmed`, if that opens a gap. Audited under every service it
    /// changes; the edit stays as history.
    pub async fn undo_rota_edit(
        &self,
        service: &Id,
        id: u64,
        by: &Id,
        confirmed: bool,
    ) -> Result<(), EditError> {
        let live = self.rota.clone();
        let now = self.clock.now();
        let store = Arc::clone(&self.store);
        let (service, by) = (service.clone(), by.clone());
        tokio::task::spawn_blocking(move || -> Result<(), EditError> {
            // As for an edit: judged against the layer as it stands, and
            // written only if it still stands so.
            let mut tries = 0;
            loop {
                let version = store.rota_layer_version()?;
                let edits = store.rota_edits()?;
                // Made on this service's page, or on another's and
                // changing this one's chain too.
                let rota = live.current();
                let here = rota.service(service.as_str());
                let Some(edit) = edits.iter().find(|e| {
                    e.id == id
                        && e.undone.is_none()
                        && (e.edit.service == service
                            || here.is_some_and(|ix| rota.changes(&e.edit.body, ix)))
                }) else {
                    return Err(EditError::NoSuchEdit);
                };
                // Undoing changes the same chains as making it did.
                let changed = may_change(&rota, &by, &edit.edit.body)?;
                live.judge_undo(&edits, id, now, confirmed)?;
                let audit = AuditRecord {
                    at: now,
                    who: by.clone(),
                    service: Some(service.clone()),
                    also: also(changed, &service),
                    action: format!(
                        "{} {id} undone: {}",
                        kind(&edit.edit.body),
                        edit.edit.body.summary()
                    ),
                    before: edit.edit.to_toml(Some(id)),
                    after: String::new(),
                };
                let undone = Undone {
                    by: by.clone(),
                    at: now,
                };
                let write = LayerWrite {
                    change: &undone,
                    audit: &audit,
                    judged_at: version,
                };
                match store.undo_rota_edit(id, write) {
                    Ok(true) => {
                        live.refresh(store.as_ref())?;
                        return Ok(());
                    }
                    Ok(false) => return Err(EditError::NoSuchEdit),
                    Err(StoreError::Conflict(_)) if tries < 5 => tries += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("undo task failed: {e}").into()))?
    }
}

/// A stretch on call in a row longer than the trust's limit, that an edit
/// gave someone: the page after the edit warns of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LongStretch {
    /// Who, by name.
    pub name: String,
    /// When it starts and ends, UK time ("Sat 28 Nov 08:00").
    pub from: String,
    /// See `from`.
    pub until: String,
    /// How long, in hours.
    pub hours: i64,
    /// The trust's limit, in hours.
    pub limit: i64,
}

impl Operations {
    /// The stretches on call longer than the trust's limit that edit `id`
    /// gave someone (the person covering, or a swap's two holders): longer
    /// with it than without it. Empty when it is undone or gave none.
    pub async fn long_stretches(
        &self,
        edits: &[RotaEdit],
        id: u64,
    ) -> Result<Vec<LongStretch>, StoreError> {
        let Some(edit) = edits.iter().find(|e| e.id == id && e.undone.is_none()) else {
            return Ok(Vec::new());
        };
        let live = self.rota.clone();
        let edit = edit.clone();
        let rest: Vec<RotaEdit> = edits.iter().filter(|e| e.id != id).cloned().collect();
        tokio::task::spawn_blocking(move || {
            let after = live.current();
            let Ok(before) = live.compile(&rest, None) else {
                return Vec::new();
            };
            long_stretches(&before, &after, &edit.edit.body)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("stretch task failed: {e}").into()))
    }
}

/// The stretches over the limit that `body` makes: each person it puts on
/// call, at each time it does, on call longer in `after` than in `before`.
fn long_stretches(before: &Rota, after: &Rota, body: &EditBody) -> Vec<LongStretch> {
    use crate::calendar::instant_of;
    let person = |id: &str| {
        after
            .people()
            .iter()
            .position(|p| p.id.as_str() == id)
            .map(|p| p as PersonIx)
    };
    let mut at: Vec<(PersonIx, Instant)> = Vec::new();
    match body {
        EditBody::Override {
            covering: Some(c),
            from,
            ..
        } => at.extend(person(c).map(|p| (p, instant_of(*from)))),
        EditBody::Override { .. } => {}
        EditBody::Swap { rotation, shifts } => {
            if let Some(r) = after.rotations().iter().find(|r| r.id.as_str() == rotation) {
                // Each holder now takes the other's shift.
                let ks: Vec<u64> = shifts
                    .iter()
                    .filter_map(|d| r.shift_starting_on(*d))
                    .collect();
                for &k in &ks {
                    for p in ks.iter().filter_map(|&other| r.holder(other)) {
                        at.push((p, instant_of(r.shift_start(k))));
                    }
                }
            }
        }
    }
    let limit = after.max_on_call_in_a_row();
    let words = crate::calendar::london_short;
    let mut out: Vec<LongStretch> = Vec::new();
    for (p, t) in at {
        let Some((from, until)) = after.stretch_on_call(p, t) else {
            continue;
        };
        let had = before
            .stretch_on_call(p, t)
            .map_or(TimeDelta::zero(), |(a, b)| b - a);
        let name = after.people()[p as usize].name.clone();
        if until - from > limit && until - from > had && !out.iter().any(|s| s.name == name) {
            out.push(LongStretch {
                name,
                from: words(from),
                until: words(until),
                hours: (until - from).num_hours(),
                limit: limit.num_hours(),
            });
        }
    }
    out
}

/// A gap in words, UK time: "Sat 5 Dec 17:00 to Sun 6 Dec 09:00: only
/// the trust-wide fallback covers".
pub fn gap_words(gap: &Gap) -> String {
    format!(
        "{} to {}: {}",
        crate::calendar::london_short(gap.from),
        crate::calendar::london_short(gap.until),
        gap.kind
    )
}

/// How far ahead gap alerts look.
pub const ALERT_HORIZON: TimeDelta = TimeDelta::days(7);

/// Sends gap alerts at the times the trust sets (`gap_alerts` in
/// `rota/trust.toml`). Every node runs one; each gap is alerted once, by
/// whichever node marks it in the store first.
#[derive(Clone)]
pub struct GapAlerter {
    ops: Operations,
    public_url: String,
    /// The next time on the schedule, once known.
    next: Arc<Mutex<Option<Instant>>>,
}

impl GapAlerter {
    /// An alerter whose first run is the first time on the schedule after now.
    pub fn new(ops: Operations, public_url: &str) -> Self {
        let next = ops.rota.current().gap_alerts().next_after(ops.clock.now());
        Self {
            ops,
            public_url: public_url.trim_end_matches('/').to_owned(),
            next: Arc::new(Mutex::new(next)),
        }
    }

    /// If a time on the schedule has come (by the injected clock), send the
    /// alerts for new gaps and set the next time. Returns how many texts
    /// were queued.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let now = self.ops.clock.now();
        let due = {
            let mut next = self.next.lock().expect("never poisoned");
            match *next {
                Some(at) if at <= now => {
                    *next = self.ops.rota.current().gap_alerts().next_after(now);
                    true
                }
                _ => false,
            }
        };
        if !due {
            return Ok(0);
        }
        self.send(now).await
    }

    /// Alert each service's managers to gaps in the next
    /// [`ALERT_HORIZON`] not alerted before. Returns how many texts were queued.
    pub async fn send(&self, now: Instant) -> Result<usize, StoreError> {
        let rota = self.ops.rota.current();
        // From a week back, so that a gap already under way keeps the start
        // it was alerted with.
        let gaps: Vec<Gap> = check(&rota, now - ALERT_HORIZON, now + ALERT_HORIZON)
            .into_iter()
            .filter(|g| g.until > now)
            .collect();
        let mut fresh: Vec<Gap> = Vec::new();
        for gap in gaps {
            let key = format!("{}|{}|{:?}", gap.service, gap.from.to_rfc3339(), gap.kind);
            if store::blocking(&self.ops.store, move |s| s.mark_gap_alerted(&key, now)).await? {
                fresh.push(gap);
            }
        }
        let mut outbox = Vec::new();
        for service in rota.services() {
            let mine: Vec<&Gap> = fresh.iter().filter(|g| g.service == service.id).collect();
            let Some(first) = mine.first() else { continue };
            let managers = if service.managers.is_empty() {
                rota.trust_managers()
            } else {
                &service.managers
            };
            let body = self
                .ops
                .templates
                .render(
                    "sms/gap_alert.txt",
                    minijinja::context! {
                        service => service.name,
                        count => mine.len(),
                        first => gap_words(first),
                        link => format!("{}/staff/gaps", self.public_url),
                    },
                )
                .map_err(|e| StoreError::Unavailable(crate::logs::Report(&e).to_string().into()))?;
            for id in managers {
                let Some(person) = rota.person(id.as_str()) else {
                    continue;
                };
                let phone = person.contacts.iter().find_map(|c| match c {
                    ContactMethod::Sms(n) if n.can_text() => Some(n.clone()),
                    _ => None,
                });
                let Some(to) = phone else {
                    tracing::warn!(manager = %person.id, "a rota manager has no number that takes texts: no gap alert for them");
                    continue;
                };
                outbox.push(NewOutbox {
                    concern: None,
                    to: to.into(),
                    body: body.clone(),
                    purpose: Purpose::GapAlert,
                    staff: Some(person.id.clone()),
                    recipient: person.name.clone(),
                    step: None,
                });
            }
        }
        let sent = outbox.len();
        if sent > 0 {
            let change = Change {
                at: now,
                outbox,
                ..Change::default()
            };
            store::blocking(&self.ops.store, move |s| s.apply(change)).await?;
            self.ops.engine.wake();
        }
        Ok(sent)
    }

    /// Tick every few seconds until dropped.
    pub async fn run(self) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "gap alerts could not be sent; they are tried again at the next time on the schedule");
            }
        }
    }
}

/// An edit as a manager reads it: people and rotations by name, times in
/// words with their day. The pages word it (`web/staff/edit.html`); the
/// ids stay in the CSV and TOML downloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EditWords {
    /// `override` or `swap`.
    pub kind: &'static str,
    /// Who covers, by name (none: an absence).
    pub covering: Option<String>,
    /// Whom they cover, by name.
    pub replacing: Option<String>,
    /// The rotation, by name.
    pub rotation: Option<String>,
    /// An override's start and end, UK time ("Sat 28 Nov 20:00").
    pub from: Option<String>,
    /// See `from`.
    pub until: Option<String>,
    /// A swap's two shifts: the day each starts, and who holds it in the files.
    pub shifts: Vec<ShiftWords>,
}

/// One shift of a swap, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftWords {
    /// The day it starts ("Mon 30 Nov").
    pub day: String,
    /// Who holds it as the files have it, by name.
    pub holder: Option<String>,
}

/// `body` in words against `rota`.
pub fn edit_words(rota: &Rota, body: &EditBody) -> EditWords {
    let when = |t: &chrono::NaiveDateTime| t.format(crate::calendar::london::SHORT).to_string();
    match body {
        EditBody::Override {
            covering,
            replacing,
            rotation,
            from,
            until,
        } => EditWords {
            kind: "override",
            covering: covering.as_deref().map(|p| person_name(rota, p)),
            replacing: replacing.as_deref().map(|p| person_name(rota, p)),
            rotation: rotation.as_deref().map(|r| rotation_name(rota, r)),
            from: Some(when(from)),
            until: Some(when(until)),
            shifts: Vec::new(),
        },
        EditBody::Swap { rotation, shifts } => {
            let r = rota.rotations().iter().find(|r| r.id.as_str() == rotation);
            EditWords {
                kind: "swap",
                covering: None,
                replacing: None,
                rotation: Some(rotation_name(rota, rotation)),
                from: None,
                until: None,
                shifts: shifts
                    .iter()
                    .map(|d| ShiftWords {
                        day: d.format("%a %-d %b").to_string(),
                        holder: r
                            .and_then(|r| r.shift_starting_on(*d).and_then(|k| r.holder(k)))
                            .map(|p| rota.people()[p as usize].name.clone()),
                    })
                    .collect(),
            }
        }
    }
}
