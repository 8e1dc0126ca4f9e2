//! The rota edits layer: overrides and swaps made on the web, kept in the
//! store, over the rota files (docs/adr/0013).
//!
//! Each edit is written out as the `[[overrides]]` or `[[swaps]]` table a
//! manager would have put in `rota/overrides.toml`, and the running rota is
//! compiled by the loader from the files plus those tables: an edit obeys
//! exactly the rules, and fails with exactly the messages, of the files.
//! [`LiveRota`] holds the rota compiled from the files and the layer, and is
//! rebuilt when the store's layer version moves on.

use std::sync::{Arc, RwLock};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::load::{Problems, load_files, read_dir};
use super::{Gap, Rota, check};
use crate::calendar::Calendar;
use crate::clock::Instant;
use crate::directory::Id;
use crate::store_error::StoreResult;

/// An override or a swap, with the fields `rota/overrides.toml` has. Names
/// are kept as written, so that the loader judges them (and suggests the
/// nearest when one is misspelt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EditBody {
    /// `covering` stands in for `replacing` and/or holds `rotation`, over
    /// `[from, until)` in UK local time. No `covering` marks an absence.
    Override {
        /// Who covers (`covering = "…"`).
        covering: Option<String>,
        /// Whom they replace (`for = "…"`).
        replacing: Option<String>,
        /// The rotation they hold (`rotation = "…"`).
        rotation: Option<String>,
        /// Start, local time, inclusive.
        from: NaiveDateTime,
        /// End, local time, exclusive.
        until: NaiveDateTime,
    },
    /// Two shifts of a rotation, by the days they start, trade holders.
    Swap {
        /// The rotation.
        rotation: String,
        /// The days the two shifts start.
        shifts: [NaiveDate; 2],
    },
}

impl EditBody {
    /// The table as it would be written in `rota/overrides.toml`, headed by a
    /// comment (e.g. who made it and when), that the loader reads back.
    pub fn to_toml(&self, reason: &str, comment: &str) -> String {
        let mut table = toml::Table::new();
        let text = |s: &str| toml::Value::String(s.to_owned());
        let stamp =
            |s: String| toml::Value::Datetime(s.parse().expect("a formatted date parses as TOML"));
        let key = match self {
            EditBody::Override {
                covering,
                replacing,
                rotation,
                from,
                until,
            } => {
                for (name, value) in [
                    ("covering", covering),
                    ("for", replacing),
                    ("rotation", rotation),
                ] {
                    if let Some(v) = value {
                        table.insert(name.to_owned(), text(v));
                    }
                }
                table.insert(
                    "from".to_owned(),
                    stamp(from.format("%Y-%m-%dT%H:%M:%S").to_string()),
                );
                table.insert(
                    "until".to_owned(),
                    stamp(until.format("%Y-%m-%dT%H:%M:%S").to_string()),
                );
                "overrides"
            }
            EditBody::Swap { rotation, shifts } => {
                table.insert("rotation".to_owned(), text(rotation));
                table.insert(
                    "shifts".to_owned(),
                    toml::Value::Array(shifts.iter().map(|d| stamp(d.to_string())).collect()),
                );
                "swaps"
            }
        };
        if !reason.trim().is_empty() {
            table.insert("reason".to_owned(), text(reason.trim()));
        }
        let mut outer = toml::Table::new();
        outer.insert(
            key.to_owned(),
            toml::Value::Array(vec![toml::Value::Table(table)]),
        );
        let mut out = String::new();
        for line in comment.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&toml::to_string(&outer).expect("a table of strings and dates serialises"));
        out
    }

    /// In a few words, for the audit trail and the pages.
    pub fn summary(&self) -> String {
        match self {
            EditBody::Override {
                covering,
                replacing,
                rotation,
                from,
                until,
            } => {
                let who = covering.as_deref().unwrap_or("nobody");
                let whom = match (replacing, rotation) {
                    (Some(p), Some(r)) => format!("{p} on {r}"),
                    (Some(p), None) => p.clone(),
                    (None, Some(r)) => format!("rotation {r}"),
                    (None, None) => "nobody".to_owned(),
                };
                format!(
                    "{who} covers {whom}, {} to {}",
                    from.format("%a %d %b %H:%M"),
                    until.format("%a %d %b %H:%M")
                )
            }
            EditBody::Swap { rotation, shifts } => format!(
                "{rotation}: the shifts starting {} and {} swap",
                shifts[0].format("%a %d %b"),
                shifts[1].format("%a %d %b")
            ),
        }
    }
}

impl NewRotaEdit {
    /// The edit as TOML for `rota/overrides.toml`, with a comment saying who
    /// made it, when and on which service.
    pub fn to_toml(&self, id: Option<u64>) -> String {
        let number = id.map(|n| format!("edit {n}, ")).unwrap_or_default();
        let comment = format!(
            "{number}made on the web by {} at {} for {}",
            self.made_by,
            self.made_at
                .with_timezone(&crate::calendar::LONDON)
                .format("%Y-%m-%d %H:%M %Z"),
            self.service
        );
        self.body.to_toml(&self.reason, &comment)
    }
}

/// The layer as one TOML text that folds back into `rota/overrides.toml`:
/// every edit still standing (optionally only a service's), in order.
pub fn layer_toml(edits: &[RotaEdit], service: Option<&str>) -> String {
    let mut out = String::from(
        "# Rota edits made on the web, to fold into rota/overrides.toml.\n\
         # Once folded in and deployed, undo them on the web so they do not count twice.\n",
    );
    for edit in edits.iter().filter(|e| e.undone.is_none()) {
        if service.is_some_and(|s| s != edit.edit.service.as_str()) {
            continue;
        }
        out.push('\n');
        out.push_str(&edit.edit.to_toml(Some(edit.id)));
    }
    out
}

/// The name a layer edit goes by in the loader's messages.
pub fn edit_file_name(id: u64) -> String {
    format!("web edit {id}")
}

/// The name a proposed edit goes by in the loader's messages.
pub const PROPOSED: &str = "this edit";

/// Why an edit was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It breaks a rule of the files; the loader's messages say which.
    Invalid(Problems),
    /// It would open these gaps; made only if the manager confirms.
    OpensGaps(Vec<Gap>),
}

/// How far ahead an edit is checked for the gaps it opens.
pub const GAP_HORIZON_DAYS: i64 = 28;

/// The running rota: the files, compiled with the store's layer, rebuilt
/// when the layer changes. Cheap to clone; [`LiveRota::current`] is a read
/// of a pointer.
#[derive(Clone)]
pub struct LiveRota(Arc<Inner>);

struct Inner {
    /// The rota files as read at start, `(name, text)`.
    files: Vec<(String, String)>,
    calendar: Option<Calendar>,
    /// The layer version the current rota was built from, and the rota.
    current: RwLock<(u64, Arc<Rota>)>,
}

impl std::fmt::Debug for LiveRota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRota")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl From<Rota> for LiveRota {
    /// A rota that never changes (no files to recompile).
    fn from(rota: Rota) -> Self {
        Arc::new(rota).into()
    }
}

impl From<Arc<Rota>> for LiveRota {
    fn from(rota: Arc<Rota>) -> Self {
        Self(Arc::new(Inner {
            files: Vec::new(),
            calendar: None,
            current: RwLock::new((0, rota)),
        }))
    }
}

impl LiveRota {
    /// Read the rota directory and compile it alone (layer version 0).
    pub fn load_dir(dir: &std::path::Path) -> Result<Self, Problems> {
        let (files, calendar) = read_dir(dir)?;
        let rota = load_files(&files, calendar.clone())?;
        Ok(Self(Arc::new(Inner {
            files,
            calendar: Some(calendar),
            current: RwLock::new((0, Arc::new(rota))),
        })))
    }

    /// The rota as it stands.
    pub fn current(&self) -> Arc<Rota> {
        Arc::clone(
            &self
                .0
                .current
                .read()
                .expect("the rota lock is never poisoned")
                .1,
        )
    }

    /// The layer version the current rota was built from.
    pub fn version(&self) -> u64 {
        self.0
            .current
            .read()
            .expect("the rota lock is never poisoned")
            .0
    }

    /// Compile the files with these edits (those not undone) and a proposed one.
    pub fn compile(
        &self,
        edits: &[RotaEdit],
        proposed: Option<&NewRotaEdit>,
    ) -> Result<Rota, Problems> {
        let Some(calendar) = &self.0.calendar else {
            // A fixed rota (tests, benches) has no files to recompile.
            return Ok((*self.current()).clone());
        };
        let mut files = self.0.files.clone();
        files.extend(
            edits
                .iter()
                .filter(|e| e.undone.is_none())
                .map(|e| (edit_file_name(e.id), e.edit.to_toml(Some(e.id)))),
        );
        files.extend(proposed.map(|p| (PROPOSED.to_owned(), p.to_toml(None))));
        load_files(&files, calendar.clone())
    }

    /// Rebuild from the store's layer if its version moved on. Blocks (store
    /// I/O): call it off the async runtime. True when the rota changed.
    pub fn refresh(&self, store: &dyn RotaLayer) -> StoreResult<bool> {
        let version = store.rota_layer_version()?;
        if version == self.version() || self.0.calendar.is_none() {
            return Ok(false);
        }
        let edits = store.rota_edits()?;
        let rota = match self.compile(&edits, None) {
            Ok(rota) => rota,
            Err(problems) => {
                // The files changed under the layer (a redeploy): keep every
                // edit that still fits, one by one, and say which do not.
                tracing::error!(%problems, "the rota edits no longer fit the files together; keeping those that do");
                let mut kept: Vec<RotaEdit> = Vec::new();
                for edit in edits.iter().filter(|e| e.undone.is_none()) {
                    kept.push(edit.clone());
                    if self.compile(&kept, None).is_err() {
                        tracing::error!(
                            edit = edit.id,
                            "a rota edit no longer fits the files and is left out: undo it or fold it into the files"
                        );
                        kept.pop();
                    }
                }
                match self.compile(&kept, None) {
                    Ok(rota) => rota,
                    Err(_) => return Ok(false),
                }
            }
        };
        *self
            .0
            .current
            .write()
            .expect("the rota lock is never poisoned") = (version, Arc::new(rota));
        Ok(true)
    }

    /// Whether `proposed` may be made: it must compile with the files and
    /// the standing edits, and open no gap in the next [`GAP_HORIZON_DAYS`]
    /// from `now` unless `confirmed`. Returns the rota it would give.
    pub fn judge(
        &self,
        edits: &[RotaEdit],
        proposed: &NewRotaEdit,
        now: Instant,
        confirmed: bool,
    ) -> Result<Rota, Refusal> {
        let before = self.compile(edits, None).map_err(Refusal::Invalid)?;
        let after = self
            .compile(edits, Some(proposed))
            .map_err(Refusal::Invalid)?;
        let opened = opened_gaps(&before, &after, now);
        if opened.is_empty() || confirmed {
            Ok(after)
        } else {
            Err(Refusal::OpensGaps(opened))
        }
    }

    /// Whether undoing edit `id` would open a gap (the same rule as making one).
    pub fn judge_undo(
        &self,
        edits: &[RotaEdit],
        id: u64,
        now: Instant,
        confirmed: bool,
    ) -> Result<Rota, Refusal> {
        let before = self.compile(edits, None).map_err(Refusal::Invalid)?;
        let rest: Vec<RotaEdit> = edits.iter().filter(|e| e.id != id).cloned().collect();
        let after = self.compile(&rest, None).map_err(Refusal::Invalid)?;
        let opened = opened_gaps(&before, &after, now);
        if opened.is_empty() || confirmed {
            Ok(after)
        } else {
            Err(Refusal::OpensGaps(opened))
        }
    }
}

/// The gaps `after` has in the next [`GAP_HORIZON_DAYS`] that `before` does
/// not: any part of a gap of `after` that `before` covered at least as well.
pub fn opened_gaps(before: &Rota, after: &Rota, now: Instant) -> Vec<Gap> {
    let until = now + chrono::TimeDelta::days(GAP_HORIZON_DAYS);
    let old = check(before, now, until);
    check(after, now, until)
        .into_iter()
        .filter(|gap| {
            !old.iter().any(|o| {
                o.service == gap.service
                    && o.kind >= gap.kind
                    && o.from <= gap.from
                    && o.until >= gap.until
            })
        })
        .collect()
}
// ---- the edits and the audit trail, as stored (docs/adr/0013) --------------

/// A rota edit made on the web, as it is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRotaEdit {
    /// The service whose page it was made on (whose managers may undo it).
    pub service: Id,
    /// The override or swap, with the fields `rota/overrides.toml` has.
    pub body: crate::rota::layer::EditBody,
    /// Why, as the manager wrote it.
    pub reason: String,
    /// Who made it.
    pub made_by: Id,
    /// When.
    pub made_at: Instant,
}

/// Who undid an edit, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    /// Who.
    pub by: Id,
    /// When.
    pub at: Instant,
}

/// A stored rota edit. Undone edits stay, as history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotaEdit {
    /// Its number, from 1, in the order edits were made.
    pub id: u64,
    /// What was asked for.
    pub edit: NewRotaEdit,
    /// Set once it is undone; an undone edit no longer counts.
    pub undone: Option<Undone>,
}

/// One line of the audit trail, as it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub at: Instant,
    /// Who (a member of staff's id).
    pub who: Id,
    /// The service it concerns, if one.
    pub service: Option<Id>,
    /// The other services the change reaches (an edit of a rotation or a
    /// person several services share): the line is shown to their
    /// managers too. Empty for most lines, and for lines written before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Id>,
    /// What was done, in a few words ("override added", "edit undone").
    pub action: String,
    /// What it was before (TOML, or empty).
    pub before: String,
    /// What it is after (TOML, or empty).
    pub after: String,
}

/// One stored line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its place in the trail, from 1.
    pub seq: u64,
    /// The rota edit it records, if one.
    pub edit: Option<u64>,
    /// What was written.
    pub record: AuditRecord,
}

/// A write to the rota edits layer ([`RotaLayer::add_rota_edit`], an
/// edit; [`RotaLayer::undo_rota_edit`], its undoing): the change, its line
/// in the audit trail, and the layer's version it was judged against.
#[derive(Debug, Clone, Copy)]
pub struct LayerWrite<'a, T> {
    /// The edit, or its undoing.
    pub change: &'a T,
    /// Its line in the audit trail.
    pub audit: &'a AuditRecord,
    /// The layer's version the change was judged against: it is written
    /// only while the layer is still there.
    pub judged_at: u64,
}

/// The rota edits layer and the audit trail (docs/adr/0013): edits made
/// on the web, the layer's version, the trail of who changed what, and
/// which gaps were alerted. Every method blocks.
pub trait RotaLayer: Send + Sync + 'static {
    /// Store a rota edit, with its line in the audit trail (which gets the
    /// edit's number), and move the layer's version on: all or nothing, and
    /// only while the layer is still at version [`LayerWrite::judged_at`]
    /// (the one the edit was judged against), else [`StoreError::Conflict`](crate::store_error::StoreError::Conflict): two managers'
    /// edits at once cannot both pass judgement against the same layer.
    /// Returns the edit's number.
    fn add_rota_edit(&self, edit: LayerWrite<'_, NewRotaEdit>) -> StoreResult<u64>;
    /// Undo edit `id`, with its line in the audit trail, and move the layer's
    /// version on, only while the layer is still at version
    /// [`LayerWrite::judged_at`] (as
    /// for [`RotaLayer::add_rota_edit`], else [`StoreError::Conflict`](crate::store_error::StoreError::Conflict)). False
    /// (and nothing written) when there is no such edit or it is undone
    /// already.
    fn undo_rota_edit(&self, id: u64, undo: LayerWrite<'_, Undone>) -> StoreResult<bool>;
    /// Every rota edit, undone or not, in the order they were made.
    fn rota_edits(&self) -> StoreResult<Vec<RotaEdit>>;
    /// A number that changes whenever the layer does (0 before any edit):
    /// nodes compare it to know when to rebuild their rota.
    fn rota_layer_version(&self) -> StoreResult<u64>;
    /// Append a line to the audit trail; returns its place.
    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64>;
    /// The audit trail from place `after + 1`, oldest first, at most `limit` lines.
    fn audit_trail(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
    /// Mark a gap (by its key) as alerted: true for the one caller that marks
    /// it first, false ever after.
    fn mark_gap_alerted(&self, key: &str, at: Instant) -> StoreResult<bool>;
}
