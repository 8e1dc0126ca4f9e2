//! The patient's story as a clinician paged for a concern sees it: the
//! enrolment's context (which kind of care, their care co-ordinator, the
//! review date) and the concerns they raised before this one, so nobody
//! asks them to tell it all again.
//!
//! Earlier concerns are those of the same enrolment, opened before this
//! one, newest first, whose words retention has not yet removed: once a
//! concern's words are gone ([`REMOVED`]) it is not listed. It is shown on
//! the page behind a page's link and on the staff concern page
//! (`pages/concern_details.html`); none of it is logged.

use super::AppState;
use crate::calendar::london_short;
use crate::concern::Concern;
use crate::concern::{ConcernFilter, ConcernKey};
use crate::directory::{Enrolment, EnrolmentKind};
use crate::engine::REMOVED;
use crate::escalation::Status;
use crate::store;
use crate::store_error::StoreError;

/// How many earlier concerns the page lists.
pub const EARLIER_SHOWN: usize = 10;

/// The enrolment's context and the earlier concerns, as template
/// variables: `care`, `coordinator`, `earlier`.
pub(crate) async fn history(
    state: &AppState,
    concern: &Concern,
    enrolment: Option<&Enrolment>,
) -> Result<minijinja::Value, StoreError> {
    let earlier: Vec<minijinja::Value> = earlier_concerns(state, concern)
        .await?
        .iter()
        .map(|c| {
            minijinja::context! {
                opened => london_short(c.opened_at),
                party => c.party.label(),
                text => c.text.clone(),
                outcome => outcome(c),
            }
        })
        .collect();
    Ok(minijinja::context! {
        care => enrolment.map(care),
        coordinator => enrolment.and_then(|e| coordinator(state, e)),
        earlier,
    })
}

/// Concerns about the same enrolment's patient opened before `concern`,
/// newest first, whose words are still kept.
async fn earlier_concerns(state: &AppState, concern: &Concern) -> Result<Vec<Concern>, StoreError> {
    let Some(enrolment) = concern.enrolment else {
        return Ok(Vec::new());
    };
    let filter = ConcernFilter {
        enrolment: Some(enrolment),
        after: Some(ConcernKey::of(concern)),
        limit: EARLIER_SHOWN,
        ..ConcernFilter::default()
    };
    let found = store::blocking(&state.ops.store, move |s| s.concerns(&filter)).await?;
    Ok(found.into_iter().filter(|c| c.text != REMOVED).collect())
}

/// Which kind of care, and until when.
fn care(e: &Enrolment) -> String {
    match (e.kind, e.ends_at, e.review_at) {
        (EnrolmentKind::Ongoing, _, Some(review)) => format!(
            "Ongoing (long-term condition), review due {}",
            review
                .with_timezone(&crate::calendar::LONDON)
                .format("%-d %b %Y")
        ),
        (EnrolmentKind::Ongoing, _, None) => "Ongoing (long-term condition)".to_owned(),
        (EnrolmentKind::Discharge, Some(ends), _) => {
            format!("After discharge, until {}", london_short(ends))
        }
        (EnrolmentKind::Discharge, None, _) => "After discharge".to_owned(),
    }
}

/// The named care co-ordinator, as colleagues know them.
fn coordinator(state: &AppState, e: &Enrolment) -> Option<String> {
    let id = e.coordinator.as_ref()?;
    let rota = state.rota.current();
    Some(match rota.person(id.as_str()) {
        Some(p) if p.role.is_empty() => p.name.clone(),
        Some(p) => format!("{}, {}", p.name, p.role),
        None => id.to_string(),
    })
}

/// What became of an earlier concern.
fn outcome(c: &Concern) -> String {
    match &c.escalation.status {
        Status::Open => "Not yet accepted".to_owned(),
        Status::Accepted { by, at } => {
            format!(
                "Accepted by {} at {}, not yet resolved",
                by.name,
                london_short(*at)
            )
        }
        Status::Resolved { by, at, note } => {
            let by = by
                .as_ref()
                .map(|b| format!(" by {}", b.name))
                .unwrap_or_default();
            match note.as_deref().map(str::trim) {
                Some(note) if !note.is_empty() => {
                    format!("Resolved{by} at {}: “{note}”", london_short(*at))
                }
                _ => format!("Resolved{by} at {}", london_short(*at)),
            }
        }
    }
}
