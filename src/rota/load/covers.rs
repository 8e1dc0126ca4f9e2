//! Overrides (`[[overrides]]`) and swaps (`[[swaps]]`): who covers whom,
//! when, checked against the rotations and against each other.

use std::ops::Range;

use chrono::Datelike;
use toml::Spanned;

use super::names::{Names, suggest};
use super::raw::{RawOverride, RawSwap};
use super::{Compiler, Problem, Src};
use crate::calendar::instant_of;
use crate::directory::Staff;
use crate::rota::cover::{Cover, CoverBook};
use crate::rota::rotation::Rotation;

impl Compiler<'_> {
    pub(super) fn covers(
        &mut self,
        overrides: Vec<(usize, Spanned<RawOverride>)>,
        swaps: Vec<(usize, Spanned<RawSwap>)>,
        names: &Names<'_>,
        rotations: &[Rotation],
        staff: &[Staff],
    ) -> CoverBook {
        let mut on_rotation_for = Vec::new();
        let mut on_rotation = Vec::new();
        let mut for_person = Vec::new();
        for (file, o) in overrides {
            let src = Src::of(file, &o);
            let o = o.into_inner();
            let s = |span: Range<usize>| Src { file, span };
            let covering = match &o.covering {
                Some(c) => self.resolve_person(names, file, c).map(Some),
                None => Some(None),
            };
            let replacing = match &o.replacing {
                Some(p) => self.resolve_person(names, file, p).map(Some),
                None => Some(None),
            };
            let rotation = match &o.rotation {
                Some(r) => match names.rotations.get(r.get_ref()) {
                    Some(&ix) => Some(Some(ix)),
                    None => {
                        let message = format!(
                            "no rotation {:?}{}",
                            r.get_ref(),
                            suggest(r.get_ref(), names.rotations.keys())
                        );
                        self.report(&s(r.span()), message);
                        None
                    }
                },
                None => Some(None),
            };
            let from = self.moment(&s(o.from.span()), o.from.get_ref(), "from");
            let until = self.moment(&s(o.until.span()), o.until.get_ref(), "until");
            let (Some(covering), Some(replacing), Some(rotation), Some(from), Some(until)) =
                (covering, replacing, rotation, from, until)
            else {
                continue;
            };
            if until <= from {
                self.report(&s(o.until.span()), "until is not after from: an override covers [from, until), so write an until later than from");
                continue;
            }
            if rotation.is_none() && replacing.is_none() {
                self.report(&src, "an override names whom it replaces (for = \"…\"), the rotation it holds (rotation = \"…\"), or both");
                continue;
            }
            if covering.is_some() && covering == replacing {
                self.report(
                    &src,
                    "covering and for name the same person: nothing changes; delete this override",
                );
                continue;
            }
            let cover = Cover {
                from,
                until,
                covering,
                replacing,
                source: self.place(&src),
                reason: o.reason,
            };
            match (rotation, replacing) {
                (Some(r), Some(p)) => on_rotation_for.push((r, p, cover)),
                (Some(r), None) => on_rotation.push((r, cover)),
                (None, Some(p)) => for_person.push((p, cover)),
                (None, None) => unreachable!("rejected above"),
            }
        }
        for (file, swap) in swaps {
            let src = Src::of(file, &swap);
            let swap = swap.into_inner();
            let Some(&r) = names.rotations.get(swap.rotation.get_ref()) else {
                let message = format!(
                    "no rotation {:?}{}",
                    swap.rotation.get_ref(),
                    suggest(swap.rotation.get_ref(), names.rotations.keys())
                );
                self.report(&Src::of(file, &swap.rotation), message);
                continue;
            };
            let Some(rotation) = rotations
                .iter()
                .find(|rot| rot.id.as_str() == swap.rotation.get_ref())
            else {
                continue; // the rotation itself has problems, already reported
            };
            if swap.shifts.get_ref().len() != 2 {
                self.report(&Src { file, span: swap.shifts.span() }, "a swap trades exactly two shifts: write shifts = [2026-12-21, 2027-01-04], the days they start");
                continue;
            }
            let mut shifts = Vec::new();
            for shift in swap.shifts.get_ref() {
                let s = Src::of(file, shift);
                let Some(date) = self.date(&s, shift.get_ref(), "shift") else {
                    continue;
                };
                match rotation.shift_starting_on(date) {
                    Some(k) => shifts.push(k),
                    None => {
                        let (before, after) = rotation.nearest_shift_starts(date);
                        self.report(
                            &s,
                            format!(
                                "no {} shift starts on {date} ({}): write {}",
                                rotation.id,
                                date.weekday(),
                                match before {
                                    Some(b) => format!("{b} or {after}"),
                                    None => after.to_string(),
                                }
                            ),
                        );
                    }
                }
            }
            let [a, b] = shifts[..] else { continue };
            let holder = |k: u64| rotation.members[(k % rotation.members.len() as u64) as usize];
            let (pa, pb) = (holder(a), holder(b));
            if pa == pb {
                self.report(
                    &src,
                    format!(
                        "both shifts are held by {}: a swap needs two people; pick another shift",
                        staff[pa as usize].id
                    ),
                );
                continue;
            }
            for (k, holder, covering) in [(a, pa, pb), (b, pb, pa)] {
                let cover = Cover {
                    from: instant_of(rotation.shift_start(k)),
                    until: instant_of(rotation.shift_start(k + 1)),
                    covering: Some(covering),
                    replacing: Some(holder),
                    source: self.place(&src),
                    reason: swap.reason.clone().or_else(|| Some("swap".to_owned())),
                };
                on_rotation_for.push((r, holder, cover));
            }
        }
        let book = CoverBook::new(
            rotations.len().max(names.rotations.len()),
            staff.len().max(names.people.len()),
            on_rotation_for,
            on_rotation,
            for_person,
        );
        let overlaps: Vec<(String, String)> = book
            .all_intervals()
            .filter_map(|i| i.first_overlap())
            .map(|(a, b)| (a.source.clone(), b.source.clone()))
            .collect();
        for (a, b) in overlaps {
            let (file, line) = b
                .rsplit_once(':')
                .map(|(f, l)| (f.to_owned(), l.parse().ok()))
                .unwrap_or((b.clone(), None));
            self.problems.push(Problem {
                file,
                line,
                message: format!("this cover overlaps the one at {a}, which covers the same person or rotation: end one before the other starts"),
            });
        }
        book
    }
}
