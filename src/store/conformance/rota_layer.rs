//! The rota edits layer and the audit trail, and gap alerts.

use super::*;

// ---- the rota edits layer and the audit trail ------------------------------

pub(super) fn cover_edit(by: &str, at: &str) -> NewRotaEdit {
    NewRotaEdit {
        service: Id::parse("cardiology-ward-7").unwrap(),
        body: crate::rota::layer::EditBody::Override {
            covering: Some("amara-okafor".into()),
            replacing: Some("chen-li".into()),
            rotation: None,
            from: "2026-12-05T17:00:00".parse().unwrap(),
            until: "2026-12-06T09:00:00".parse().unwrap(),
        },
        reason: "Chen's daughter is ill".into(),
        made_by: Id::parse(by).unwrap(),
        made_at: t(at),
    }
}

pub(super) fn audit_line(
    who: &str,
    at: &str,
    action: &str,
    before: &str,
    after: &str,
) -> AuditRecord {
    AuditRecord {
        at: t(at),
        who: Id::parse(who).unwrap(),
        service: Some(Id::parse("cardiology-ward-7").unwrap()),
        also: Vec::new(),
        action: action.into(),
        before: before.into(),
        after: after.into(),
    }
}

pub(super) fn rota_edits_are_kept_in_order_and_an_undone_one_stays_as_history(
    store: Arc<dyn Store>,
) {
    assert_eq!(store.rota_layer_version().unwrap(), 0, "no edits yet");
    assert!(store.rota_edits().unwrap().is_empty());
    let first = cover_edit("grace-hall", "2026-12-04T16:55:00Z");
    let a = store
        .add_rota_edit(LayerWrite {
            change: &first,
            audit: &audit_line(
                "grace-hall",
                "2026-12-04T16:55:00Z",
                "override added",
                "",
                "[[overrides]]",
            ),
            judged_at: 0,
        })
        .unwrap();
    let v1 = store.rota_layer_version().unwrap();
    assert!(v1 > 0, "an edit moves the layer's version on");
    let mut second = cover_edit("grace-hall", "2026-12-04T17:01:00Z");
    second.reason = "and the next night".into();
    let line = audit_line(
        "grace-hall",
        "2026-12-04T17:01:00Z",
        "override added",
        "",
        "[[overrides]]",
    );
    // Judged against the layer before the first edit: refused whole.
    assert!(matches!(
        store.add_rota_edit(LayerWrite {
            change: &second,
            audit: &line,
            judged_at: 0
        }),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.rota_layer_version().unwrap(), v1, "nothing written");
    assert_eq!(store.rota_edits().unwrap().len(), 1);
    assert_eq!(store.audit_trail(0, 100).unwrap().len(), 1);
    let b = store
        .add_rota_edit(LayerWrite {
            change: &second,
            audit: &line,
            judged_at: v1,
        })
        .unwrap();
    assert!(b > a, "edits are numbered in the order they are made");
    let v2 = store.rota_layer_version().unwrap();
    assert_ne!(v2, v1);

    let undone = Undone {
        by: Id::parse("omar-farouk").unwrap(),
        at: t("2026-12-04T18:00:00Z"),
    };
    let undo_line = audit_line(
        "omar-farouk",
        "2026-12-04T18:00:00Z",
        "edit undone",
        "[[overrides]]",
        "",
    );
    // An undo judged before the second edit was made is judged again.
    let stale = store.undo_rota_edit(
        a,
        LayerWrite {
            change: &undone,
            audit: &undo_line,
            judged_at: v1,
        },
    );
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.rota_layer_version().unwrap(), v2, "nothing written");
    assert!(
        store
            .undo_rota_edit(
                a,
                LayerWrite {
                    change: &undone,
                    audit: &undo_line,
                    judged_at: v2
                }
            )
            .unwrap()
    );
    let v3 = store.rota_layer_version().unwrap();
    assert_ne!(v3, v2, "an undo moves the version on too");
    assert!(
        !store
            .undo_rota_edit(
                a,
                LayerWrite {
                    change: &undone,
                    audit: &undo_line,
                    judged_at: v3
                }
            )
            .unwrap(),
        "an edit is undone once"
    );
    assert!(
        !store
            .undo_rota_edit(
                b + 100,
                LayerWrite {
                    change: &undone,
                    audit: &undo_line,
                    judged_at: v3
                }
            )
            .unwrap(),
        "no such edit"
    );
    assert_eq!(
        store.rota_layer_version().unwrap(),
        v3,
        "a refused undo changes nothing"
    );

    let edits = store.rota_edits().unwrap();
    assert_eq!(edits.len(), 2, "the undone edit stays, as history");
    assert_eq!((edits[0].id, &edits[0].edit), (a, &first));
    assert_eq!(edits[0].undone.as_ref(), Some(&undone));
    assert_eq!(
        (edits[1].id, &edits[1].edit, &edits[1].undone),
        (b, &second, &None)
    );

    let trail = store.audit_trail(0, 100).unwrap();
    let edits_of: Vec<Option<u64>> = trail.iter().map(|e| e.edit).collect();
    assert_eq!(
        edits_of,
        vec![Some(a), Some(b), Some(a)],
        "each edit and undo is audited with it"
    );
    assert_eq!(trail[2].record, undo_line);
}

pub(super) fn the_audit_trail_only_grows_and_reads_in_pages(store: Arc<dyn Store>) {
    let mut seqs = Vec::new();
    for i in 0..5 {
        let line = audit_line(
            "grace-hall",
            "2026-12-04T16:55:00Z",
            &format!("step {i}"),
            "before, \"quoted\"",
            "after\nline",
        );
        seqs.push(store.append_audit(&line).unwrap());
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "places follow on: {seqs:?}"
    );
    let page = store.audit_trail(seqs[1], 2).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].seq, seqs[2]);
    assert_eq!(page[0].record.action, "step 2");
    assert_eq!(page[0].record.before, "before, \"quoted\"");
    assert_eq!(page[1].record.after, "after\nline");
    assert_eq!(page[1].edit, None);
    assert!(store.audit_trail(seqs[4], 10).unwrap().is_empty());
    assert_eq!(store.audit_trail(0, 100).unwrap().len(), 5);
}

/// A trust manager's cover on the senior clinician rotation changes three
/// services' chains: its audit line names them all, on the edit and on its
/// undo, and an older line without them still reads.
pub(super) fn an_edit_of_a_shared_rotation_is_audited_under_every_service_it_changes(
    store: Arc<dyn Store>,
) {
    let services =
        |ids: &[&str]| -> Vec<Id> { ids.iter().map(|s| Id::parse(s).unwrap()).collect() };
    let mut line = audit_line(
        "tara-singh",
        "2026-12-04T16:55:00Z",
        "override added",
        "",
        "[[overrides]]",
    );
    line.also = services(&["childrens-assessment-unit", "community-nursing-north"]);
    let edit = cover_edit("tara-singh", "2026-12-04T16:55:00Z");
    let id = store
        .add_rota_edit(LayerWrite {
            change: &edit,
            audit: &line,
            judged_at: 0,
        })
        .unwrap();
    let mut undo = audit_line(
        "tara-singh",
        "2026-12-04T17:30:00Z",
        "override undone",
        "[[overrides]]",
        "",
    );
    undo.also = services(&["childrens-assessment-unit"]);
    let version = store.rota_layer_version().unwrap();
    let undone = Undone {
        by: Id::parse("tara-singh").unwrap(),
        at: t("2026-12-04T17:30:00Z"),
    };
    assert!(
        store
            .undo_rota_edit(
                id,
                LayerWrite {
                    change: &undone,
                    audit: &undo,
                    judged_at: version
                }
            )
            .unwrap()
    );
    let plain = audit_line("tara-singh", "2026-12-04T18:00:00Z", "signed in", "", "");
    store.append_audit(&plain).unwrap();

    let trail = store.audit_trail(0, 10).unwrap();
    let records: Vec<&AuditRecord> = trail.iter().map(|e| &e.record).collect();
    assert_eq!(records, [&line, &undo, &plain]);
    assert_eq!(trail[0].edit, Some(id));
    assert!(trail[2].record.also.is_empty());
}

pub(super) fn a_gap_is_alerted_once_however_many_nodes_ask(store: Arc<dyn Store>) {
    let key = "cardiology-ward-7|2026-12-05T17:00:00Z|only-fallback";
    let at = t("2026-12-01T17:00:00Z");
    let winners: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.mark_gap_alerted(key, at).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap() as usize)
            .sum()
    });
    assert_eq!(winners, 1, "exactly one caller sends the alert");
    assert!(
        !store
            .mark_gap_alerted(key, t("2026-12-02T17:00:00Z"))
            .unwrap()
    );
    assert!(store.mark_gap_alerted("another-gap", at).unwrap());
}

/// Run every check against stores made by `fresh`.
pub(super) fn a_services_concerns_of_a_week_come_oldest_first_with_their_timelines_and_survive_retention(
    store: Arc<dyn Store>,
) {
    use crate::reports::{Report, Week};
    let ward = Id::parse("cardiology-ward-7").unwrap();
    // 2026-W48 runs from Monday 23 November 00:00 to Monday 30 November 00:00 (GMT).
    let week: Week = "2026-W48".parse().unwrap();
    let first = opened_at(
        "+447700900801",
        "2026-11-23T00:00:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    let last = opened_at(
        "+447700900802",
        "2026-11-29T23:59:59.999Z",
        Some("cardiology-ward-7"),
        None,
    );
    let middle = opened_at(
        "+447700900803",
        "2026-11-27T19:05:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    let before = opened_at(
        "+447700900804",
        "2026-11-22T23:59:59.999Z",
        Some("cardiology-ward-7"),
        None,
    );
    let after = opened_at(
        "+447700900805",
        "2026-11-30T00:00:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    let other = opened_at(
        "+447700900806",
        "2026-11-25T10:00:00Z",
        Some("community-nursing"),
        None,
    );
    let unknown = opened_at("+447700900807", "2026-11-25T11:00:00Z", None, None);
    save(
        &store,
        &[&last, &after, &middle, &other, &before, &unknown, &first],
    );
    let accepted_at = t("2026-11-27T19:09:00Z");
    let entries = vec![
        (
            middle.id,
            TimelineEntry {
                at: middle.opened_at,
                event: TimelineEvent::Received {
                    from: "patient".into(),
                    text: middle.text.clone(),
                    voicemail: false,
                },
            },
        ),
        (
            middle.id,
            TimelineEntry {
                at: middle.opened_at,
                event: TimelineEvent::Paged {
                    staff: Id::parse("chen").unwrap(),
                    name: "Chen Li".into(),
                    level: "level 1".into(),
                    code: 1234,
                },
            },
        ),
        (
            middle.id,
            TimelineEntry {
                at: accepted_at,
                event: TimelineEvent::Accepted {
                    staff: Id::parse("chen").unwrap(),
                    name: "Chen Li".into(),
                },
            },
        ),
    ];
    let mut resolved = stored(&store, middle.id);
    resolved.escalation.status = Status::Resolved {
        by: None,
        at: t("2026-11-27T20:00:00Z"),
        note: Some("Dressing changed at home".into()),
    };
    store
        .apply(Change {
            at: t("2026-11-27T20:00:00Z"),
            concern: Some(resolved),
            timeline: entries,
            ..Change::default()
        })
        .unwrap();

    let found = store
        .concerns_opened(&ward, week.start()..week.end())
        .unwrap();
    let ids: Vec<ConcernId> = found.iter().map(|(c, _)| c.id).collect();
    assert_eq!(
        ids,
        vec![first.id, middle.id, last.id],
        "from Monday 00:00 up to, not including, the next Monday; this service only; oldest first"
    );
    assert_eq!(found[1].1.len(), 3, "each with its timeline");
    assert!(found[0].1.is_empty());
    assert_eq!(found[1].0.version, 2, "as stored, with its version");
    let report = Report::compute(ward.clone(), week, &found);
    assert_eq!(
        (report.raised, report.accepted, report.never_accepted),
        (3, 1, 2)
    );
    assert_eq!(report.median_to_accept, Some(TimeDelta::minutes(4)));

    // Retention removes the words; the figures stay as they were.
    assert_eq!(
        store
            .purge(t("2027-06-01T00:00:00Z"), "[removed]")
            .unwrap()
            .concerns,
        1
    );
    let purged = store
        .concerns_opened(&ward, week.start()..week.end())
        .unwrap();
    assert!(
        matches!(&purged[1].1[0].event, TimelineEvent::Received { text, .. } if text == "[removed]")
    );
    assert_eq!(Report::compute(ward.clone(), week, &purged), report);
    assert!(
        store
            .concerns_opened(&ward, week.end()..week.next().end())
            .unwrap()
            .iter()
            .map(|(c, _)| c.id)
            .eq([after.id]),
        "the next week starts with the concern opened at its first instant"
    );
}

pub(super) fn an_ongoing_enrolment_is_found_until_it_is_ended_and_only_then_purged(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T18:00:00Z");
    let e = Enrolment {
        id: EnrolmentId::new(),
        patient: texted("Arthur Price", "07700 900141"),
        carers: vec![carer("Joan Price", "07700 900142", "wife")],
        service: Id::parse("community-nursing-north").unwrap(),
        kind: crate::directory::EnrolmentKind::Ongoing,
        discharged_at: None,
        context: Some("Heart failure, NYHA class III".into()),
        enrolled_at: now,
        ends_at: None,
        ended_at: None,
        review_at: Some(now + TimeDelta::days(365)),
        coordinator: Some(Id::parse("grace-adeyemi").unwrap()),
        check_ins: Default::default(),
        client: None,
        language: Default::default(),
        patient_takes_texts: true,
        nhs_number: None,
        ended_because: None,
    };
    // An older discharge enrolment of the same carer's number, to show the
    // newest care comes first.
    let mut discharge = e.clone();
    discharge.id = EnrolmentId::new();
    discharge.kind = crate::directory::EnrolmentKind::Discharge;
    discharge.discharged_at = Some(now - TimeDelta::days(3));
    discharge.ends_at = Some(now + TimeDelta::days(27));
    discharge.review_at = None;
    discharge.coordinator = None;
    for enrolment in [&discharge, &e] {
        enrol(&store, now, enrolment);
    }
    assert_eq!(store.enrolment(e.id).unwrap(), Some(e.clone()));
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900142"), now)
            .unwrap(),
        [e.clone(), discharge.clone()]
    );
    // Years on, long after any discharge window, it is still found, and
    // retention does not touch it while it runs.
    let later = now + TimeDelta::days(3 * 365);
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900141"), later)
            .unwrap(),
        std::slice::from_ref(&e)
    );
    assert_eq!(enrolments_purged(&store, later), 1);
    assert_eq!(store.enrolment(e.id).unwrap(), Some(e.clone()));
    assert_eq!(store.enrolment(discharge.id).unwrap(), None);
    // Ended, it is no longer found, and retention counts from the end.
    assert!(store.end_enrolment(e.id, later).unwrap());
    assert!(!store.end_enrolment(e.id, later).unwrap());
    assert!(
        store
            .enrolments_for_phone(&phone("07700 900141"), later + TimeDelta::seconds(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.enrolment(e.id).unwrap().unwrap().ended_at,
        Some(later)
    );
    assert_eq!(enrolments_purged(&store, later), 0);
    assert_eq!(enrolments_purged(&store, later + TimeDelta::seconds(1)), 1);
    assert_eq!(store.enrolment(e.id).unwrap(), None);
}
