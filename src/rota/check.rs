//! Coverage: where, in the days ahead, a service has no reachable level-1
//! person of its own, or only the trust-wide fallback, or nobody at all.
//!
//! The check walks each service's timeline from one `valid_until` to the
//! next, so it visits every instant at which the answer could change and no
//! others: it finds every gap [`Rota::resolve`] would meet, and only those.

use std::fmt;

use super::{Chain, Rota};
use crate::calendar::LONDON;
use crate::clock::Instant;
use crate::directory::Id;

/// How bad a gap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GapKind {
    /// Level 1 has nobody reachable of its own; the fallback stands in at level 1.
    Level1Empty,
    /// No level has anyone of its own: only the trust-wide fallback covers.
    OnlyFallback,
    /// Not even the fallback has anyone reachable.
    Nobody,
}

impl fmt::Display for GapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GapKind::Level1Empty => "no reachable level-1 person: the fallback stands in",
            GapKind::OnlyFallback => "only the trust-wide fallback covers",
            GapKind::Nobody => "NOBODY is reachable, not even the fallback",
        })
    }
}

/// One interval in which a service is not properly covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The service.
    pub service: Id,
    /// Start, inclusive.
    pub from: Instant,
    /// End, exclusive (clipped to the end of the check).
    pub until: Instant,
    /// How bad.
    pub kind: GapKind,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = self.from.with_timezone(&LONDON);
        let until = self.until.with_timezone(&LONDON);
        write!(
            f,
            "{}\t{} → {}\t{}",
            self.service,
            from.format("%a %d %b %Y %H:%M %Z"),
            until.format("%a %d %b %Y %H:%M %Z"),
            self.kind
        )
    }
}

/// How a chain falls short, if it does.
pub fn shortfall(chain: &Chain<'_>) -> Option<GapKind> {
    let level1_empty = chain.levels.first().is_none_or(|l| l.filled_by_fallback);
    if !level1_empty {
        None
    } else if chain.fallback.on_call.is_empty() {
        Some(GapKind::Nobody)
    } else if chain.only_fallback() {
        Some(GapKind::OnlyFallback)
    } else {
        Some(GapKind::Level1Empty)
    }
}

/// Every gap in `[from, until)`, service by service, in time order.
pub fn check(rota: &Rota, from: Instant, until: Instant) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for (ix, service) in rota.services().iter().enumerate() {
        let mut t = from;
        let mut open: Option<Gap> = None;
        while t < until {
            let chain = rota.resolve(ix as u32, t);
            let next = match chain.valid_until {
                Some(v) if v > t => v.min(until),
                // A chain that never changes, or (defensively) one that claims
                // to change now, holds to the end of the check.
                _ => until,
            };
            match (shortfall(&chain), &mut open) {
                (Some(kind), Some(gap)) if gap.kind == kind => gap.until = next,
                (kind, _) => {
                    gaps.extend(open.take());
                    open = kind.map(|kind| Gap {
                        service: service.id.clone(),
                        from: t,
                        until: next,
                        kind,
                    });
                }
            }
            t = next;
        }
        gaps.extend(open);
    }
    gaps
}
