//! The renderer as the people who read its texts meet it, on the demo
//! trust: no store, no clock, no network. Each story asks the state
//! machine what follows an event, hands the renderer what the engine would
//! have read first, and reads the change it makes.

use std::path::Path;

use chrono::TimeDelta;

use super::*;
use crate::concern::{ConcernId, Party};
use crate::directory::{EnrolmentRequest, Id};
use crate::escalation::{self, ChainSnapshot, Escalation, Event, Policy};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const MARGARET: &str = "+447700900801";
const SIAN: &str = "+447700900802";

/// The demo trust, with one concern whose story a test tells.
struct Story {
    rota: Rota,
    templates: Templates,
    links: LinkSigner,
    enrolment: Enrolment,
    concern: Concern,
    /// What the engine would have read from the store first.
    read: Read,
}

impl Story {
    /// Margaret's enrolment, and a concern `from` one of its numbers opened
    /// with `text` at `when`; each clinician in `codes` has that code for it.
    fn new(from: &str, text: &str, when: &str, codes: &[(&str, u16)]) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let enrolment = margaret();
        let sender = phone(from);
        let concern = Concern {
            id: ConcernId::new(),
            enrolment: Some(enrolment.id),
            service: Some(enrolment.service.clone()),
            party: Party::of(Some(&enrolment), &sender.clone().into()),
            sender: sender.into(),
            opened_at: at(when),
            text: text.to_owned(),
            escalation: Escalation::new(false),
            pictures_explained: false,
            recognised: None,
            calls: Vec::new(),
            version: 0,
        };
        Self {
            rota: crate::rota::load_dir(&root.join("rota")).expect("the demo rota loads"),
            templates: Templates::load(&root.join("templates")).expect("the templates load"),
            links: LinkSigner::new(b"a secret for the stories".to_vec(), "https://n.test"),
            enrolment,
            concern,
            read: Read {
                codes: codes.iter().map(|(s, c)| (id(s), *c)).collect(),
                timeline: Vec::new(),
            },
        }
    }

    fn renderer(&self) -> Renderer<'_> {
        Renderer {
            rota: Arc::new(self.rota.clone()),
            templates: &self.templates,
            links: &self.links,
            email: None,
        }
    }

    fn staff(&self, id: &str) -> StaffRef {
        self.rota.person(id).expect("on the demo rota").into()
    }

    /// `event` happens at `when`: the state machine on the demo chain says
    /// what follows, and the renderer makes it one change.
    fn step(&mut self, event: Event, when: &str) -> EngineResult<Change> {
        let now = at(when);
        let chain = ChainSnapshot::at(&self.rota, self.concern.service.as_ref(), None, now);
        let (next, effects) = escalation::step(
            &self.concern.escalation,
            event,
            now,
            &chain,
            &Policy::default(),
        );
        self.concern.escalation = next;
        self.render(effects, when, Change::default())
    }

    /// Render `effects` at `when` into `change`.
    fn render(&self, effects: Vec<Effect>, when: &str, mut change: Change) -> EngineResult<Change> {
        let renderer = self.renderer();
        let enrolment = Some(&self.enrolment);
        renderer.effects(
            &self.concern,
            enrolment,
            effects,
            at(when),
            &self.read,
            &mut change,
        )?;
        Ok(change)
    }
}

fn at(s: &str) -> Instant {
    crate::calendar::parse_instant(s).unwrap()
}

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

/// Margaret Evans, discharged at 17:30 on Friday to community nursing,
/// with her daughter Siân as carer.
fn margaret() -> Enrolment {
    let request: EnrolmentRequest = serde_json::from_str(
        r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "carers": [{"name": "Sian Evans", "phone": "07700 900802", "relationship": "daughter"}],
            "service": "community-nursing-north", "discharged_at": "2026-11-27T17:30:00Z"}"#,
    )
    .unwrap();
    request
        .parse(
            |s| Id::parse(s).ok(),
            at("2026-11-27T18:00"),
            TimeDelta::days(30),
        )
        .unwrap()
}

fn texts_to<'c>(change: &'c Change, to: &str) -> Vec<&'c NewOutbox> {
    change.outbox.iter().filter(|o| o.to.key() == to).collect()
}

fn received(at: Instant, text: &str) -> TimelineEntry {
    TimelineEntry {
        at,
        event: TimelineEvent::Received {
            from: "patient".to_owned(),
            text: text.to_owned(),
            voicemail: false,
        },
    }
}

#[test]
fn margarets_friday_text_pages_kiran_with_her_words_her_service_and_a_link() {
    let text = "My leg dressing is soaked through and smells. Should I change it?";
    let mut story = Story::new(MARGARET, text, "2026-11-27T19:05", &[("kiran-patel", 12)]);
    let change = story.step(Event::Open, "2026-11-27T19:05").unwrap();
    let c = &story.concern;

    let pages = texts_to(&change, KIRAN);
    assert_eq!(pages.len(), 1, "{:#?}", change.outbox);
    let page = pages[0];
    assert_eq!(page.purpose, Purpose::Page);
    assert_eq!(
        page.step,
        Some(c.escalation.seq),
        "dropped if the concern moves on"
    );
    assert!(
        page.body.starts_with(
            "Margaret - Community nursing, north locality, discharged 27 Nov: \"My leg dressing is soaked through"
        ),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("https://n.test/l/kiran-patel/"),
        "the short link, for Kiran: {}",
        page.body
    );
    assert!(
        page.body.ends_with("Reply A12 to accept, P12 to pass."),
        "{}",
        page.body
    );
    assert_eq!(
        change.open_pages,
        [Page {
            concern: c.id,
            staff: id("kiran-patel"),
            code: 12,
            open: true,
            opened_at: at("2026-11-27T19:05"),
        }]
    );
    assert!(change.timeline.iter().any(|(_, e)| matches!(
        &e.event,
        TimelineEvent::Paged { code: 12, level, .. } if level == "level 1"
    )));
    let deadline = change
        .set_timers
        .iter()
        .find(|t| t.kind == TimerKind::AckDeadline)
        .expect("an acknowledgement deadline");
    assert_eq!(
        deadline.due_at,
        at("2026-11-27T19:15"),
        "ten minutes to accept"
    );
    assert_eq!(
        change.concern.as_ref(),
        Some(c),
        "the concern in its new state"
    );
}

#[test]
fn when_kiran_accepts_a_concern_sian_raised_both_sian_and_margaret_hear_who_has_it() {
    let text = "Mum's leg looks redder tonight";
    let mut story = Story::new(SIAN, text, "2026-11-27T19:05", &[("kiran-patel", 12)]);
    story.step(Event::Open, "2026-11-27T19:05").unwrap();
    let by = story.staff("kiran-patel");
    let change = story
        .step(Event::Accept { by }, "2026-11-27T19:09")
        .unwrap();

    let told = "Kiran Patel, Community staff nurse, has the message and will be in touch.";
    let to_sian = texts_to(&change, SIAN);
    let to_margaret = texts_to(&change, MARGARET);
    assert_eq!(to_sian.len(), 1);
    assert_eq!(to_sian[0].body, told);
    assert_eq!(to_sian[0].recipient, "carer (daughter)");
    assert_eq!(to_margaret.len(), 1, "the patient is told too");
    assert_eq!(to_margaret[0].body, told);
    assert_eq!(to_margaret[0].recipient, "patient");
    let to_kiran = texts_to(&change, KIRAN);
    assert_eq!(to_kiran.len(), 1);
    assert_eq!(to_kiran[0].purpose, Purpose::StaffNotice);
    assert!(
        to_kiran[0]
            .body
            .starts_with("You have concern 12 for Margaret (via daughter Sian), Community nursing"),
        "{}",
        to_kiran[0].body
    );
    let id = story.concern.id;
    assert_eq!(change.cancel_timers, [id], "no more deadlines");
    assert_eq!(
        change.close_pages,
        [id],
        "the codes may be reused after quarantine"
    );
}

#[test]
fn a_forward_quotes_what_came_after_the_page_as_far_as_fits_and_counts_the_rest() {
    let now = "2026-11-27T19:10";
    let mut story = Story::new(
        MARGARET,
        "message 1: my leg hurts",
        now,
        &[("kiran-patel", 12)],
    );
    story.read.timeline = (1..=12)
        .map(|i| {
            received(
                at(now),
                &format!("message {i}: it is getting worse, please call me back"),
            )
        })
        .collect();
    let forward = Effect::Forward {
        staff: story.staff("kiran-patel"),
        skip: 1,
    };
    let change = story.render(vec![forward], now, Change::default()).unwrap();

    let to_kiran = texts_to(&change, KIRAN);
    assert_eq!(to_kiran.len(), 1, "one text, however many messages");
    let body = &to_kiran[0].body;
    assert!(
        body.starts_with("Margaret wrote again about concern 12: \"message 2:"),
        "{body}"
    );
    assert!(
        !body.contains("message 1:"),
        "the page already quoted it: {body}"
    );
    assert!(
        body.contains("more messages. See them all at https://n.test/l/kiran-patel/"),
        "{body}"
    );
    assert!(body.ends_with("Reply A12 to accept."), "{body}");
    assert!(change.timeline.iter().any(|(_, e)| matches!(
        e.event,
        TimelineEvent::Forwarded {
            messages: Some(11),
            ..
        }
    )));
}

#[test]
fn a_forward_with_nothing_new_sends_nothing() {
    let now = "2026-11-27T19:10";
    let mut story = Story::new(MARGARET, "my leg hurts", now, &[("kiran-patel", 12)]);
    story.read.timeline = vec![received(at(now), "my leg hurts")];
    let forward = Effect::Forward {
        staff: story.staff("kiran-patel"),
        skip: 1,
    };
    let change = story.render(vec![forward], now, Change::default()).unwrap();
    assert!(change.outbox.is_empty(), "{:#?}", change.outbox);
}

#[test]
fn cancelling_every_timer_cancels_the_concerns_timers() {
    let now = "2026-11-27T19:15";
    let story = Story::new(MARGARET, "my leg hurts", now, &[]);
    let change = story
        .render(vec![Effect::CancelTimers], now, Change::default())
        .unwrap();
    assert_eq!(change.cancel_timers, [story.concern.id]);
}

#[test]
fn a_page_whose_code_was_not_read_is_an_error_not_a_page_without_a_code() {
    let now = "2026-11-27T19:05";
    let mut story = Story::new(MARGARET, "my leg hurts", now, &[]);
    assert!(story.step(Event::Open, now).is_err());
}

#[test]
fn what_must_be_read_first_is_each_clinicians_code_once_and_the_timeline_for_a_forward() {
    let story = Story::new(MARGARET, "my leg hurts", "2026-11-27T19:05", &[]);
    let (kiran, hannah) = (story.staff("kiran-patel"), story.staff("hannah-price"));
    let effects = vec![
        Effect::Page {
            staff: kiran.clone(),
            step: "level 1".to_owned(),
            after: None,
        },
        Effect::TellStaff {
            staff: kiran.clone(),
            notice: StaffNotice::YouHaveIt,
        },
        Effect::TellStaff {
            staff: hannah,
            notice: StaffNotice::AlreadyResolved,
        },
    ];
    assert_eq!(
        Read::needed_for(&effects),
        Needs {
            codes: vec![id("kiran-patel"), id("hannah-price")],
            timeline: false,
        }
    );
    assert!(
        Read::needed_for(&[Effect::Forward {
            staff: kiran,
            skip: 1
        }])
        .timeline
    );
    assert_eq!(Read::needed_for(&[Effect::CancelTimers]), Needs::default());
}

#[test]
fn the_first_reply_is_999_advice_for_a_red_flag_else_names_the_service_or_the_trust() {
    let story = Story::new(MARGARET, "Mum has chest pain", "2026-11-27T19:05", &[]);
    let renderer = story.renderer();
    let c = &story.concern;

    let urgent = renderer
        .first_reply(c, Some(&margaret()), Some("chest pain"))
        .unwrap();
    assert!(
        urgent
            .body
            .starts_with("If this is an emergency, call 999 now.")
    );
    assert!(urgent.body.contains("\"chest pain\""));
    assert_eq!(urgent.to.key(), MARGARET);

    let known = renderer.first_reply(c, Some(&margaret()), None).unwrap();
    assert!(
        known
            .body
            .contains("We are contacting the community nursing team now"),
        "{}",
        known.body
    );

    let stranger = Concern {
        enrolment: None,
        service: None,
        party: Party::Unknown,
        ..c.clone()
    };
    let unknown = renderer.first_reply(&stranger, None, None).unwrap();
    assert!(
        unknown
            .body
            .contains("reached the Riverside NHS Foundation Trust (demo) out-of-hours service"),
        "{}",
        unknown.body
    );
    assert_eq!(unknown.recipient, "unknown sender");
}

#[test]
fn kirans_page_unanswered_for_ten_minutes_reaches_the_next_level_saying_so() {
    let mut story = Story::new(
        MARGARET,
        "My leg dressing is soaked through",
        "2026-11-27T19:05",
        &[("kiran-patel", 12), ("hannah-price", 4)],
    );
    story.step(Event::Open, "2026-11-27T19:05").unwrap();
    let seq = story.concern.escalation.seq;
    let change = story
        .step(Event::AckDeadline { seq }, "2026-11-27T19:15")
        .unwrap();
    let page = &texts_to(&change, "+447700900202")[0].body;
    assert!(
        page.contains("\"My leg dressing is soaked through\" Not accepted by the community staff nurse in 10 min. https://n.test/l/hannah-price/"),
        "{page}"
    );
    assert!(page.ends_with("Reply A4 to accept, P4 to pass."), "{page}");
}

#[test]
fn a_page_quotes_the_symptoms_not_the_greeting_and_stays_within_two_segments() {
    let words = "Hi, Dad (Arthur Davies) was discharged last week and since this afternoon he has \
                 been very confused, he doesn\u{2019}t know where he is and his breathing is fast \
                 and shallow. He has not eaten all day and is not drinking much either. Should I \
                 bring him back in or wait for the morning? Many thanks, Jess";
    let mut story = Story::new(SIAN, words, "2026-11-27T19:05", &[("kiran-patel", 12)]);
    let change = story.step(Event::Open, "2026-11-27T19:05").unwrap();
    let page = &texts_to(&change, KIRAN)[0].body;
    assert!(
        page.contains(": \"Dad (Arthur Davies) was discharged last week and since this afternoon he has been very confused, he doesn't"),
        "the greeting goes and the curly apostrophe is made plain: {page}"
    );
    assert!(!page.contains("Many thanks"), "{page}");
    assert_eq!(
        crate::templates::sms_segments(page),
        (2, true),
        "{} characters: {page}",
        page.chars().count()
    );
}

#[test]
fn a_voicemail_left_on_an_open_concern_is_forwarded_as_a_call_with_its_link_then_its_words() {
    let now = "2026-11-27T19:20";
    let mut story = Story::new(
        SIAN,
        "Mum's leg is red",
        "2026-11-27T19:05",
        &[("kiran-patel", 12)],
    );
    let entry = |event| TimelineEntry { at: at(now), event };
    story.read.timeline = vec![
        received(at("2026-11-27T19:05"), "Mum's leg is red"),
        entry(TimelineEvent::Call {
            call: "CA1".to_owned(),
            outcome: "voicemail".to_owned(),
            name: None,
            came_in: None,
            level: None,
        }),
        entry(TimelineEvent::Received {
            from: "carer (daughter)".to_owned(),
            text: "(phoned and left a voicemail: listen on the concern's page)".to_owned(),
            voicemail: false,
        }),
    ];
    let kiran = story.staff("kiran-patel");
    let forward = || Effect::Forward {
        staff: kiran.clone(),
        skip: 1,
    };
    let change = story
        .render(vec![forward()], now, Change::default())
        .unwrap();
    let body = &texts_to(&change, KIRAN)[0].body;
    assert!(
        body.starts_with("Margaret (via daughter Sian) phoned again about concern 12: Left a voicemail. Listen at https://n.test/l/kiran-patel/"),
        "{body}"
    );
    assert!(!body.contains("wrote"), "{body}");
    assert!(body.ends_with("Reply A12 to accept."), "{body}");

    // Its transcription follows, quoted as what the voicemail says.
    story.read.timeline.push(entry(TimelineEvent::Received {
        from: crate::timeline::transcription_from("carer (daughter)"),
        text: "Hello, it is Sian. Mum's leg is now hot and she has a temperature. Thanks"
            .to_owned(),
        voicemail: false,
    }));
    let change = story
        .render(vec![forward()], now, Change::default())
        .unwrap();
    let body = &texts_to(&change, KIRAN)[0].body;
    assert!(
        body.contains("Left a voicemail. Their voicemail says \"it is Sian. Mum's leg is now hot and she has a temperature.\" Listen at https://n.test/l/kiran-patel/"),
        "{body}"
    );
}

/// The clinical safety report counts failovers by how their note ends
/// (`crate::timeline::FAILED_OVER`), and notes are stored as rendered: the
/// words of `notes/failed_over.txt` must keep that ending and today's words.
#[test]
fn a_failover_note_reads_as_before_and_ends_as_the_report_counts_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let templates = Templates::load(&root.join("templates")).expect("the templates load");
    for (method, how) in [
        ("voice", "calling"),
        ("sms", "texting"),
        ("email", "emailing"),
    ] {
        let note = templates
            .render(
                "notes/failed_over.txt",
                minijinja::context! { name => "Chen Li", method },
            )
            .unwrap();
        assert_eq!(
            note,
            format!("page to Chen Li did not reach them; {how} their next contact")
        );
        assert!(note.ends_with(crate::timeline::FAILED_OVER), "{note}");
    }
}
