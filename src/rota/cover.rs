//! Overrides and swaps: one person covering another for an interval.
//!
//! Three kinds of cover, most specific first:
//!
//! 1. on one rotation, for one person (a swap of shifts, or "Chen covers
//!    Ben's registrar shifts this week");
//! 2. on one rotation, whoever would hold it ("Chen holds the registrar rota
//!    over Christmas");
//! 3. for one person, wherever they would be on call ("Ben is off sick; Chen
//!    covers him").
//!
//! The first that applies wins; cover is not chained (if Chen is covered too,
//! write the cover for the person actually on the rota). Cover with nobody
//! covering marks an absence: the slot is empty, the fallback steps in, and
//! `rota check` reports the gap. Intervals of one kind and key never overlap
//! (the loader rejects that), so each lookup is a binary search.

use crate::clock::Instant;

use super::rotation::PersonIx;

/// Index of a rotation in the compiled rota.
pub type RotationIx = u32;

/// One interval of cover, `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    /// Start, inclusive.
    pub from: Instant,
    /// End, exclusive.
    pub until: Instant,
    /// Who covers; `None` when nobody does (an absence).
    pub covering: Option<PersonIx>,
    /// Who is covered, when the cover is for a person.
    pub replacing: Option<PersonIx>,
    /// Where it was written, e.g. `rota/overrides.toml:12`.
    pub source: String,
    /// Why, as the rota manager wrote it.
    pub reason: Option<String>,
}

/// Sorted, non-overlapping intervals.
#[derive(Debug, Clone, Default)]
pub struct Intervals(Vec<Cover>);

impl Intervals {
    /// Build from intervals, sorted by start; the caller guarantees no overlap.
    pub fn new(mut covers: Vec<Cover>) -> Self {
        covers.sort_by_key(|c| c.from);
        Self(covers)
    }

    /// The first overlapping pair, if any.
    pub fn first_overlap(&self) -> Option<(&Cover, &Cover)> {
        self.0
            .windows(2)
            .find(|w| w[1].from < w[0].until)
            .map(|w| (&w[0], &w[1]))
    }

    /// The cover active at `t`, and lowers `horizon` to the next instant the answer changes.
    pub fn at(&self, t: Instant, horizon: &mut Option<Instant>) -> Option<&Cover> {
        let i = self.0.partition_point(|c| c.from <= t);
        let active = i.checked_sub(1).map(|j| &self.0[j]).filter(|c| c.until > t);
        let next = match active {
            Some(c) => Some(c.until),
            None => self.0.get(i).map(|c| c.from),
        };
        if let Some(next) = next {
            *horizon = Some(horizon.map_or(next, |h| h.min(next)));
        }
        active
    }

    /// All intervals, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Cover> {
        self.0.iter()
    }
}

/// Every override and swap in the trust, indexed for lookup.
#[derive(Debug, Clone, Default)]
pub struct CoverBook {
    /// Per rotation: per replaced person (few), their intervals.
    on_rotation_for: Vec<Vec<(PersonIx, Intervals)>>,
    /// Per rotation: whoever would hold it.
    on_rotation: Vec<Intervals>,
    /// Per person: wherever they would be on call.
    for_person: Vec<Intervals>,
}

/// Where a slot's holder came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    /// The rota as planned.
    Planned(Option<PersonIx>),
    /// An override or swap.
    Covered(&'a Cover),
}

impl Holder<'_> {
    /// The person holding the slot, if anyone.
    pub fn person(&self) -> Option<PersonIx> {
        match self {
            Holder::Planned(p) => *p,
            Holder::Covered(c) => c.covering,
        }
    }
}

impl CoverBook {
    /// Index covers for `rotations` rotations and `people` people.
    pub fn new(
        rotations: usize,
        people: usize,
        on_rotation_for: Vec<(RotationIx, PersonIx, Cover)>,
        on_rotation: Vec<(RotationIx, Cover)>,
        for_person: Vec<(PersonIx, Cover)>,
    ) -> Self {
        let mut grouped_for: Vec<Vec<(PersonIx, Vec<Cover>)>> = vec![Vec::new(); rotations];
        for (r, p, c) in on_rotation_for {
            let slot = &mut grouped_for[r as usize];
            match slot.iter_mut().find(|(q, _)| *q == p) {
                Some((_, v)) => v.push(c),
                None => slot.push((p, vec![c])),
            }
        }
        let mut grouped_rot: Vec<Vec<Cover>> = vec![Vec::new(); rotations];
        for (r, c) in on_rotation {
            grouped_rot[r as usize].push(c);
        }
        let mut grouped_person: Vec<Vec<Cover>> = vec![Vec::new(); people];
        for (p, c) in for_person {
            grouped_person[p as usize].push(c);
        }
        Self {
            on_rotation_for: grouped_for
                .into_iter()
                .map(|v| v.into_iter().map(|(p, c)| (p, Intervals::new(c))).collect())
                .collect(),
            on_rotation: grouped_rot.into_iter().map(Intervals::new).collect(),
            for_person: grouped_person.into_iter().map(Intervals::new).collect(),
        }
    }

    /// Every index, for overlap checks: each with a description of its key.
    pub fn all_intervals(&self) -> impl Iterator<Item = &Intervals> {
        self.on_rotation_for
            .iter()
            .flat_map(|v| v.iter().map(|(_, i)| i))
            .chain(self.on_rotation.iter())
            .chain(self.for_person.iter())
    }

    /// Who holds a slot at `t` whose planned holder is `planned` (on
    /// `rotation`, if the slot is a rotation's), lowering `horizon` to the
    /// next instant that could change the answer.
    pub fn holder(
        &self,
        rotation: Option<RotationIx>,
        planned: Option<PersonIx>,
        t: Instant,
        horizon: &mut Option<Instant>,
    ) -> Holder<'_> {
        if let (Some(r), Some(p)) = (rotation, planned)
            && let Some((_, intervals)) = self.on_rotation_for[r as usize]
                .iter()
                .find(|(q, _)| *q == p)
            && let Some(c) = intervals.at(t, horizon)
        {
            return Holder::Covered(c);
        }
        if let Some(r) = rotation
            && let Some(c) = self.on_rotation[r as usize].at(t, horizon)
        {
            return Holder::Covered(c);
        }
        if let Some(p) = planned
            && let Some(c) = self.for_person[p as usize].at(t, horizon)
        {
            return Holder::Covered(c);
        }
        Holder::Planned(planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cover(from: &str, until: &str, covering: Option<PersonIx>) -> Cover {
        Cover {
            from: from.parse().unwrap(),
            until: until.parse().unwrap(),
            covering,
            replacing: None,
            source: "test".into(),
            reason: None,
        }
    }

    /// Who holds the slot of `rotation` planned for `planned` at `at`, and
    /// the horizon [`CoverBook::holder`] sets: when that answer may change.
    fn holder_at(
        book: &CoverBook,
        rotation: Option<RotationIx>,
        planned: Option<PersonIx>,
        at: &str,
    ) -> (Option<PersonIx>, Option<Instant>) {
        let mut horizon = None;
        let person = book
            .holder(rotation, planned, at.parse().unwrap(), &mut horizon)
            .person();
        (person, horizon)
    }

    #[test]
    fn the_most_specific_cover_wins_and_the_horizon_is_the_next_change() {
        let book = CoverBook::new(
            1,
            3,
            vec![(
                0,
                0,
                cover("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", Some(1)),
            )],
            vec![(
                0,
                cover("2026-11-30T00:00:00Z", "2026-12-05T00:00:00Z", Some(2)),
            )],
            vec![],
        );
        let (person, horizon) = holder_at(&book, Some(0), Some(0), "2026-12-01T12:00:00Z");
        assert_eq!(person, Some(1));
        assert_eq!(horizon, Some("2026-12-02T00:00:00Z".parse().unwrap()));
        let (person, horizon) = holder_at(&book, Some(0), Some(0), "2026-12-03T12:00:00Z");
        assert_eq!(person, Some(2));
        assert_eq!(horizon, Some("2026-12-05T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn an_absence_empties_the_slot_and_inactive_cover_leaves_the_plan() {
        let book = CoverBook::new(
            0,
            2,
            vec![],
            vec![],
            vec![(
                0,
                cover("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", None),
            )],
        );
        let (person, _) = holder_at(&book, None, Some(0), "2026-12-01T01:00:00Z");
        assert_eq!(person, None);
        let (person, horizon) = holder_at(&book, None, Some(0), "2026-11-30T01:00:00Z");
        assert_eq!(person, Some(0));
        assert_eq!(horizon, Some("2026-12-01T00:00:00Z".parse().unwrap()));
    }
}
