//! What a rota edit reaches: the services whose chains it can change, and
//! who may take the slot an override fills.
//!
//! A rotation can answer for several services (the senior clinician on call
//! stands behind every service), and an override "for a person, everywhere"
//! follows them onto every level they are on, the trust-wide fallback
//! included. So an edit made on one service's page can change another's
//! chain. [`Rota::services_changed`] says which, so that only someone who
//! manages every one of them may make it (docs/adr/0019), and so that the
//! audit line is shown to each of their managers.
//!
//! An override's `covering` must be fit for the slot: a turn on a rotation
//! is taken by one of its members or someone with a member's role, and a
//! person's place on a level that names them by someone with their role
//! ([`Rota::unfit_cover`]). The rota files may say otherwise (a manager
//! writing `overrides.toml` answers for it); an edit made on the web may not.

use super::cover::RotationIx;
use super::layer::EditBody;
use super::rotation::PersonIx;
use super::{Level, Rota, ServiceIx, Who};

/// The slot an override fills: what the person covering must be fit for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A turn on this rotation.
    Rotation(RotationIx),
    /// This person's place on a level that names them.
    Named(PersonIx),
}

/// What an edit changes: a rotation, or a person wherever they are on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Rotation(RotationIx),
    Person(PersonIx),
}

impl Rota {
    fn rotation_ix(&self, id: &str) -> Option<RotationIx> {
        self.rotations
            .iter()
            .position(|r| r.id.as_str() == id)
            .map(|i| i as RotationIx)
    }

    /// What `body` changes; `None` when it names a rotation or person the
    /// rota does not know (the loader refuses it, with a suggestion).
    fn target(&self, body: &EditBody) -> Option<Target> {
        match body {
            EditBody::Override {
                rotation: Some(r), ..
            }
            | EditBody::Swap { rotation: r, .. } => self.rotation_ix(r).map(Target::Rotation),
            EditBody::Override {
                rotation: None,
                replacing: Some(p),
                ..
            } => self
                .people_by_id
                .get(p.as_str())
                .copied()
                .map(Target::Person),
            EditBody::Override { .. } => None,
        }
    }

    fn reaches(&self, level: &Level, target: Target) -> bool {
        match (&level.who, target) {
            (Who::Rotation(r), Target::Rotation(t)) => *r == t,
            (Who::Rotation(r), Target::Person(p)) => {
                self.rotations[*r as usize].members.contains(&p)
            }
            (Who::People(ps), Target::Person(p)) => ps.contains(&p),
            (Who::People(_), Target::Rotation(_)) => false,
        }
    }

    /// The services whose chain `body` can change, in id order: those with a
    /// level (in or out of hours) on its rotation, or naming its person or a
    /// rotation they are on; every service when it reaches the trust-wide
    /// fallback. Empty when it names something the rota does not know.
    pub fn services_changed(&self, body: &EditBody) -> Vec<ServiceIx> {
        let Some(target) = self.target(body) else {
            return Vec::new();
        };
        let everywhere = self.reaches(&self.fallback, target);
        (0..self.services.len() as ServiceIx)
            .filter(|&ix| {
                let s = &self.services[ix as usize];
                everywhere
                    || s.in_hours
                        .iter()
                        .chain(&s.out_of_hours)
                        .any(|level| self.reaches(level, target))
            })
            .collect()
    }

    /// The slots an override fills: its rotation's turns, or, for a person
    /// everywhere, each rotation they are on and their place on any level
    /// that names them. A swap fills none (its two holders trade turns).
    pub fn slots(&self, body: &EditBody) -> Vec<Slot> {
        if matches!(body, EditBody::Swap { .. }) {
            return Vec::new();
        }
        match self.target(body) {
            Some(Target::Rotation(r)) => vec![Slot::Rotation(r)],
            Some(Target::Person(p)) => {
                let mut slots: Vec<Slot> = (0..self.rotations.len() as RotationIx)
                    .filter(|&r| self.rotations[r as usize].members.contains(&p))
                    .map(Slot::Rotation)
                    .collect();
                let named = self
                    .services
                    .iter()
                    .flat_map(|s| s.in_hours.iter().chain(&s.out_of_hours))
                    .chain(std::iter::once(&self.fallback))
                    .any(|level| matches!(&level.who, Who::People(ps) if ps.contains(&p)));
                if named {
                    slots.push(Slot::Named(p));
                }
                slots
            }
            None => Vec::new(),
        }
    }

    /// Whether `person` may fill `slot`: a member of the rotation or someone
    /// with a member's role; for a named person's place, someone with their
    /// role. Roles are compared as written in `people.toml`, ignoring case.
    pub fn may_cover(&self, person: PersonIx, slot: Slot) -> bool {
        let role = |p: PersonIx| self.people[p as usize].role.trim().to_lowercase();
        let same_role = |other: PersonIx| !role(person).is_empty() && role(person) == role(other);
        match slot {
            Slot::Rotation(r) => {
                let members = &self.rotations[r as usize].members;
                members.contains(&person) || members.iter().any(|&m| same_role(m))
            }
            Slot::Named(p) => person == p || same_role(p),
        }
    }

    /// Everyone who may fill `slot`, in id order.
    pub fn fit_for(&self, slot: Slot) -> Vec<PersonIx> {
        (0..self.people.len() as PersonIx)
            .filter(|&p| self.may_cover(p, slot))
            .collect()
    }

    /// The slots of `service`'s levels, in or out of hours: a turn on each
    /// of its rotations, the place of each person a level names.
    fn slots_on(&self, service: ServiceIx) -> Vec<Slot> {
        let s = &self.services[service as usize];
        s.in_hours
            .iter()
            .chain(&s.out_of_hours)
            .flat_map(|level| match &level.who {
                Who::Rotation(r) => vec![Slot::Rotation(*r)],
                Who::People(ps) => ps.iter().map(|&p| Slot::Named(p)).collect(),
            })
            .collect()
    }

    /// Everyone fit to cover some slot on `service`'s levels (a turn on one
    /// of its rotations, or the place of someone a level names), in id
    /// order: whom its page offers as cover.
    pub fn fit_on(&self, service: ServiceIx) -> Vec<PersonIx> {
        let slots = self.slots_on(service);
        (0..self.people.len() as PersonIx)
            .filter(|&p| slots.iter().any(|&slot| self.may_cover(p, slot)))
            .collect()
    }

    /// Whom `service`'s page offers as cover, best first: its own people
    /// (members of its rotations, people its levels name), then those fit
    /// through a role they share, each by name. Someone fit only for their
    /// own place (a team phone named on a level) covers nobody and is left out.
    pub fn cover_choices(&self, service: ServiceIx) -> (Vec<PersonIx>, Vec<PersonIx>) {
        let slots = self.slots_on(service);
        let own = |p: PersonIx| {
            slots.iter().any(|&slot| match slot {
                Slot::Rotation(r) => self.rotations[r as usize].members.contains(&p),
                Slot::Named(n) => n == p,
            })
        };
        let fit_for_another = |p: PersonIx| {
            slots
                .iter()
                .any(|&slot| slot != Slot::Named(p) && self.may_cover(p, slot))
        };
        let by_name = |mut v: Vec<PersonIx>| {
            v.sort_by(|&a, &b| {
                self.people[a as usize]
                    .name
                    .cmp(&self.people[b as usize].name)
            });
            v
        };
        let (mine, others): (Vec<PersonIx>, Vec<PersonIx>) = (0..self.people.len() as PersonIx)
            .filter(|&p| fit_for_another(p))
            .partition(|&p| own(p));
        (by_name(mine), by_name(others))
    }

    /// Whether `body` changes `service`'s chain.
    pub fn changes(&self, body: &EditBody, service: ServiceIx) -> bool {
        self.services_changed(body).contains(&service)
    }

    /// The first slot of `body` its `covering` is not fit for, with who
    /// covers: `None` when there is nobody covering (an absence), when they
    /// are fit for every slot, or when a name is unknown (the loader says so).
    pub fn unfit_cover(&self, body: &EditBody) -> Option<(PersonIx, Slot)> {
        let EditBody::Override {
            covering: Some(covering),
            ..
        } = body
        else {
            return None;
        };
        let person = *self.people_by_id.get(covering.as_str())?;
        self.slots(body)
            .into_iter()
            .find(|&slot| !self.may_cover(person, slot))
            .map(|slot| (person, slot))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;

    fn demo() -> Rota {
        super::super::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rota"))
            .expect("the demo rota loads")
    }

    fn at(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn cover(covering: Option<&str>, replacing: Option<&str>, rotation: Option<&str>) -> EditBody {
        EditBody::Override {
            covering: covering.map(Into::into),
            replacing: replacing.map(Into::into),
            rotation: rotation.map(Into::into),
            from: at("2026-11-28T20:00:00"),
            until: at("2026-11-29T08:00:00"),
        }
    }

    fn names(rota: &Rota, services: Vec<ServiceIx>) -> Vec<&str> {
        services
            .into_iter()
            .map(|ix| rota.services()[ix as usize].id.as_str())
            .collect()
    }

    #[test]
    fn a_rotation_of_one_service_changes_that_service_alone() {
        let rota = demo();
        let body = cover(
            Some("amara-okafor"),
            Some("dafydd-evans"),
            Some("cardiology-registrar"),
        );
        assert_eq!(
            names(&rota, rota.services_changed(&body)),
            ["cardiology-ward-7"]
        );
        let swap = EditBody::Swap {
            rotation: "paediatric-consultant".into(),
            shifts: [
                at("2026-11-30T00:00:00").date(),
                at("2026-12-07T00:00:00").date(),
            ],
        };
        assert_eq!(
            names(&rota, rota.services_changed(&swap)),
            ["childrens-assessment-unit"]
        );
    }

    #[test]
    fn the_senior_clinician_rotation_changes_every_service_that_escalates_to_it() {
        let rota = demo();
        let shared = cover(Some("umar-farooq"), None, Some("senior-clinician"));
        let everywhere = cover(Some("umar-farooq"), Some("tara-singh"), None);
        for body in [shared, everywhere] {
            assert_eq!(
                names(&rota, rota.services_changed(&body)),
                [
                    "cardiology-ward-7",
                    "childrens-assessment-unit",
                    "community-nursing-north"
                ],
                "{body:?}"
            );
        }
    }

    #[test]
    fn the_fallback_reaches_every_service_and_an_unknown_name_none() {
        let rota = demo();
        let duty = cover(Some("sam-okoro"), Some("rosa-martinez"), None);
        assert_eq!(rota.services_changed(&duty).len(), rota.services().len());
        let misspelt = cover(Some("umar-farooq"), None, Some("senior-clinican"));
        assert!(rota.services_changed(&misspelt).is_empty());
    }

    #[test]
    fn only_a_member_or_someone_of_a_members_role_may_cover_a_rotation() {
        let rota = demo();
        // The demo's own overrides: Amara covers Chen, Nia holds the rota.
        assert_eq!(
            rota.unfit_cover(&cover(Some("amara-okafor"), Some("chen-li"), None)),
            None
        );
        assert_eq!(
            rota.unfit_cover(&cover(
                Some("nia-williams"),
                None,
                Some("paediatric-registrar")
            )),
            None
        );
        assert_eq!(
            rota.unfit_cover(&cover(None, Some("chen-li"), None)),
            None,
            "an absence"
        );

        let wendy = *rota.people_by_id.get("wendy-clarke").unwrap();
        let senior = rota.rotation_ix("senior-clinician").unwrap();
        assert_eq!(
            rota.unfit_cover(&cover(Some("wendy-clarke"), None, Some("senior-clinician"))),
            Some((wendy, Slot::Rotation(senior)))
        );
        let fit: Vec<&str> = rota
            .fit_for(Slot::Rotation(senior))
            .into_iter()
            .map(|p| rota.people()[p as usize].id.as_str())
            .collect();
        assert_eq!(fit, ["tara-singh", "umar-farooq"]);
        // A community nurse on the cardiology registrar rota: not fit.
        let isla = cover(
            Some("isla-morgan"),
            Some("dafydd-evans"),
            Some("cardiology-registrar"),
        );
        assert!(rota.unfit_cover(&isla).is_some());
    }

    #[test]
    fn a_wards_page_offers_its_own_people_and_those_of_their_roles_as_cover() {
        let rota = demo();
        let ward = rota.service("cardiology-ward-7").unwrap();
        let offered: Vec<&str> = rota
            .fit_on(ward)
            .into_iter()
            .map(|p| rota.people()[p as usize].id.as_str())
            .collect();
        assert_eq!(
            offered,
            [
                "amara-okafor",
                "ben-hughes",
                "chen-li",
                "dafydd-evans",
                "eleanor-shaw",
                "farid-rahman",
                "tara-singh",
                "umar-farooq",
                "ward-7-nurse-in-charge",
            ]
        );
        assert!(
            !offered.contains(&"wendy-clarke"),
            "the ward's manager is on no level"
        );
    }

    #[test]
    fn a_wards_page_offers_its_own_people_first_and_not_its_team_phone() {
        let rota = demo();
        let ward = rota.service("cardiology-ward-7").unwrap();
        let (own, others) = rota.cover_choices(ward);
        let ids = |v: Vec<PersonIx>| -> Vec<String> {
            v.into_iter()
                .map(|p| rota.people()[p as usize].id.to_string())
                .collect()
        };
        let (own, others) = (ids(own), ids(others));
        assert!(own.contains(&"amara-okafor".to_owned()), "{own:?}");
        assert!(own.contains(&"dafydd-evans".to_owned()), "{own:?}");
        assert!(
            !own.contains(&"ward-7-nurse-in-charge".to_owned())
                && !others.contains(&"ward-7-nurse-in-charge".to_owned()),
            "a team phone can only stand in for itself: {own:?} {others:?}"
        );
        assert!(!others.iter().any(|p| own.contains(p)));
        let fit: Vec<String> = ids(rota.fit_on(ward));
        for p in own.iter().chain(&others) {
            assert!(fit.contains(p), "{p} is offered but not fit");
        }
    }

    #[test]
    fn a_registrar_of_the_same_role_off_the_rotation_may_cover_it() {
        let files =
            super::super::read_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rota"))
                .unwrap();
        let (mut files, calendar) = files;
        // A locum cardiology registrar, on no rotation yet.
        files.push((
            "locum.toml".into(),
            "[people.lucy-locum]\nname = \"Lucy Locum\"\nrole = \"cardiology Registrar\"\nphone = \"07700 900199\"\n".into(),
        ));
        let rota = super::super::load_files(&files, calendar).expect("the locum loads");
        let body = cover(Some("lucy-locum"), Some("dafydd-evans"), None);
        assert_eq!(rota.unfit_cover(&body), None);
        // The ward's team phone is named on a level: only the same role stands in for it.
        let phone = cover(Some("lucy-locum"), Some("ward-7-nurse-in-charge"), None);
        let ward = *rota.people_by_id.get("ward-7-nurse-in-charge").unwrap();
        assert_eq!(
            rota.unfit_cover(&phone).map(|(_, slot)| slot),
            Some(Slot::Named(ward))
        );
    }
}
