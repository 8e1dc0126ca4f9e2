//! Every text people read, rendered as they will read it: each template
//! under `templates/`, for each service of the demo trust in `rota/`, with
//! the variables the code gives it, checked for the slips a reader notices
//! (a doubled "the the", a leftover `{{`, an empty "()", a stray " ,", an
//! unrendered `none`) and, for texts, for length.
//!
//! [`CONTEXTS`] says, for each template, what it is rendered with; it is
//! kept in step with the `render(` calls in `src/engine/`,
//! `src/operations.rs` and `src/http/`. A template on disk with no entry
//! fails the test, so a new one cannot go unreviewed: add one line.
//!
//! To read every rendering, as a patient and as a clinician at 03:00 would:
//!
//! ```sh
//! cargo nextest run --test templates --no-capture
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nightingale::calendar::parse_instant;
use nightingale::directory::Staff;
use nightingale::rota::{Rota, Service, load_dir};
use nightingale::templates::{Templates, is_gsm7, page_quote, sms_segments};
use serde_json::{Value, json};

/// What one rendering is about: a demo service, its trust, and who is on
/// call for it on a Friday evening.
struct Scene<'a> {
    service: &'a Service,
    trust: &'a str,
    clinician: &'a Staff,
}

/// A call's id, its steps' query and our public URL, as TwiML carries them.
const CALL: &str = "CA0123456789abcdef0123456789abcdef";
const QUERY: &str = "who=carer&started=1764382200000&service=cardiology-ward-7";
const BASE: &str = "https://nightingale.example.nhs.uk";
const PAGE_QUERY: &str = "concern=0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f&staff=chen-li&step=1";

/// A page by email: the sender's words whole, and the reply codes when
/// our listener takes replies (`replies`), else the texted ones.
fn email_page(s: &Scene) -> Vec<Value> {
    let long = "Mum has been more breathless since teatime and her ankles are swollen. She says she is fine but she has not eaten since lunch & won't sit up.";
    vec![
        json!({"urgent": false, "who": "Margaret (via daughter Sian)", "service": s.service.name, "discharged": "27 Nov",
               "text": long, "call": null, "link": link(s), "code": 12, "replies": true}),
        json!({"urgent": true, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
               "text": "Mum has chest pain and is very pale", "call": null, "link": link(s), "code": 12, "replies": false}),
        json!({"urgent": false, "who": "Unknown sender ending 0999", "service": "out-of-hours service",
               "discharged": null, "text": "Is anyone there?", "call": null, "link": link(s), "code": 7, "replies": true}),
        json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
               "text": "", "call": "voicemail", "link": link(s), "code": 12, "replies": true}),
        json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
               "text": "Mum's leg is red and hot", "call": "voicemail", "link": link(s), "code": 12, "replies": true}),
        json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
               "text": "", "call": "call_back", "link": link(s), "code": 12, "replies": false}),
    ]
}

/// Any other message by email: to a clinician who prefers email (a
/// forward, "taken", a reminder…), or to a patient or carer enrolled with
/// no phone (received, who has it, NHS 111): its text's words, as the text
/// says them.
fn email_message(s: &Scene) -> Vec<Value> {
    vec![
        json!({"text": format!("You have concern 12 for Margaret, {}. We have told them you will be in touch. Reply R12 when it is resolved.", s.service.name),
               "trust": s.trust}),
        json!({"text": format!("{} has accepted concern 12 for Margaret (via daughter Sian). No action needed.", s.clinician.name), "trust": s.trust}),
        json!({"text": "Margaret wrote again about concern 12: \"She has been sick twice now.\" Reply A12 to accept.", "trust": s.trust}),
        json!({"text": format!("Thank you, we have your message. We are contacting {} now and will email you when someone has it. In an emergency, call 999.", s.service.patient_name), "trust": s.trust}),
        json!({"text": format!("{}, {}, has the message and will be in touch.", s.clinician.name, s.clinician.role_for_patients()), "trust": s.trust}),
        json!({"text": "We are still trying to reach the on-call team. If you need help now, call NHS 111. In an emergency, call 999.", "trust": s.trust}),
    ]
}

/// A `<Dial>` of one level: the clinician on call.
fn dial(s: &Scene, level: usize, seconds: u32) -> Value {
    json!({"level": level, "seconds": seconds,
           "callees": [{"staff": s.clinician.id.as_str(), "number": "+447700900113"}]})
}

/// A morning handover of `count` concerns, as `nightingale::handover::Summary`
/// serialises: one still open, one being dealt with, the rest closed.
fn handover(s: &Scene, count: usize) -> Value {
    let item = |i: usize| {
        let (status, handled_by, note) = match i {
            0 => (
                "resolved",
                json!(s.clinician.name),
                json!("Changed the dressing at home, will review tomorrow"),
            ),
            1 => ("open", Value::Null, Value::Null),
            2 => ("accepted", json!(s.clinician.name), Value::Null),
            _ => ("resolved", json!(s.clinician.name), Value::Null),
        };
        let who = if i.is_multiple_of(2) {
            "Margaret (patient)"
        } else {
            "Siân, Margaret's daughter"
        };
        // The fifth is a stranger's email, which paged nobody.
        if i == 4 {
            return json!({"id": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "who": "an unknown sender by email",
                   "at": "Wed 05:10", "words": "My neighbour came home from your hospital yesterday and has not...",
                   "status": "open", "handled_by": null, "note": null, "coordinator": null, "not_paged": true});
        }
        json!({"id": "0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f", "who": who, "at": format!("Wed 0{}:10", i + 1),
               "words": "My mum's ankles are more swollen tonight and she is short of breath when she...",
               "status": status, "urgent": i == 0, "handled_by": handled_by, "note": note, "coordinator": null, "not_paged": false})
    };
    let items: Vec<Value> = (0..count).map(item).collect();
    let of = |status: &str| items.iter().filter(|i| i["status"] == status).count();
    // With five, one raised before the period is still not closed.
    let earlier: Vec<Value> = (count == 5)
        .then(|| {
            let mut e = item(1);
            e["at"] = json!("Mon 23 Nov 21:40");
            e
        })
        .into_iter()
        .collect();
    json!({"service": s.service.name, "service_id": s.service.id.as_str(),
           "from": "Tue 24 Nov 18:30", "until": "Wed 25 Nov 08:00",
           "open": of("open"), "accepted": of("accepted"), "resolved": of("resolved"), "items": items,
           "earlier": earlier})
}

/// A morning handover with nothing new, and one concern from before still open.
fn quiet(s: &Scene) -> Value {
    let mut quiet = handover(s, 0);
    quiet["earlier"] = handover(s, 5)["earlier"].clone();
    quiet
}

/// The contexts one template is rendered with: one for each branch a reader may meet.
type Contexts = fn(&Scene) -> Vec<Value>;

/// Every template and what the code renders it with. Values are realistic:
/// a page quotes at most 100 characters of the sender's words, cut at a
/// word and ended with "...", as `nightingale::templates::quote` does.
const CONTEXTS: &[(&str, Contexts)] = &[
    // To patients and carers.
    ("sms/welcome.txt", |s| {
        vec![
            json!({"first_name": "Margaret", "service": s.service.patient_name}),
            json!({"first_name": "Siân", "service": s.service.patient_name}),
        ]
    }),
    ("sms/received.txt", |s| {
        vec![
            json!({"service": s.service.patient_name, "by_email": false}),
            // To someone enrolled with an email and no phone.
            json!({"service": s.service.patient_name, "by_email": true}),
        ]
    }),
    ("sms/received_unknown.txt", |s| {
        vec![
            json!({"trust": s.trust, "by_email": false}),
            json!({"trust": s.trust, "by_email": true}),
        ]
    }),
    ("sms/red_flag.txt", |_| {
        ["chest pain", "can't breathe", "won't wake up", "self harm"]
            .iter()
            .map(|phrase| json!({"phrase": phrase}))
            .collect()
    }),
    ("sms/accepted.txt", |s| {
        vec![
            // Patients read the role written for them.
            json!({"name": s.clinician.name, "role": s.clinician.role_for_patients()}),
            // A team phone: "Cardiology Ward 7 (team phone)" is for colleagues.
            json!({"name": "Ward 7 nurse in charge", "role": "Cardiology Ward 7"}),
            // `role` is optional in rota files.
            json!({"name": s.clinician.name, "role": ""}),
        ]
    }),
    ("sms/call_111.txt", |_| vec![json!({})]),
    // After a call taken live: who they spoke to, never "will be in touch".
    ("sms/spoke_live.txt", |s| {
        vec![
            json!({"name": s.clinician.name, "role": s.clinician.role_for_patients()}),
            json!({"name": s.clinician.name, "role": ""}),
        ]
    }),
    // After a call that reached nobody and left no message.
    ("sms/missed_call.txt", |s| {
        vec![
            json!({"service": s.service.patient_name}),
            json!({"service": s.trust}),
        ]
    }),
    // The answer to STOP, and to START from a number that had stopped.
    ("sms/stopped.txt", |s| {
        vec![
            json!({"service": s.service.patient_name}),
            json!({"service": s.trust}),
        ]
    }),
    ("sms/started.txt", |s| {
        vec![
            json!({"service": s.service.patient_name}),
            json!({"service": s.trust}),
        ]
    }),
    ("sms/no_pictures.txt", |_| vec![json!({})]),
    ("sms/no_attachments.txt", |_| vec![json!({})]),
    ("sms/resolved.txt", |s| {
        vec![
            json!({"name": s.clinician.name, "role": s.clinician.role_for_patients(), "by_email": false}),
            json!({"name": s.clinician.name, "role": "", "by_email": false}),
            json!({"name": s.clinician.name, "role": s.clinician.role_for_patients(), "by_email": true}),
        ]
    }),
    // To clinicians.
    // Emails to staff who prefer email, and to patients and carers with no mobile.
    ("email/notice_subject.txt", |s| {
        vec![json!({"service": s.service.patient_name})]
    }),
    ("email/subject.txt", |s| {
        vec![
            json!({"code": 12, "who": "Margaret (via daughter Sian)", "service": s.service.name}),
            json!({"code": 7, "who": "Unknown sender ending 0999", "service": "out-of-hours service"}),
        ]
    }),
    ("email/page.txt", email_page),
    ("email/page.html", email_page),
    ("email/message.txt", email_message),
    ("email/message.html", email_message),
    ("email/welcome_subject.txt", email_welcome),
    ("email/welcome.txt", email_welcome),
    ("email/welcome.html", email_welcome),
    // The answer to a stranger's email (docs/adr/0022).
    ("email/stranger_subject.txt", email_stranger),
    ("email/stranger.txt", email_stranger),
    ("email/stranger.html", email_stranger),
    ("sms/page.txt", |s| {
        let not_accepted =
            json!({"why": "not_accepted", "by": "the cardiology registrar", "minutes": 10});
        vec![
            json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
                   "text": QUOTE, "call": null, "link": short_link(s), "code": 12, "after": null}),
            json!({"urgent": true, "who": "Margaret (via daughter Sian)", "service": s.service.name,
                   "discharged": "27 Nov", "text": "Mum has chest pain and is very pale", "call": null, "link": short_link(s), "code": 12, "after": null}),
            json!({"urgent": false, "who": "Unknown sender ending 0999", "service": "out-of-hours service",
                   "discharged": null, "text": "Is anyone there?", "call": null, "link": short_link(s), "code": 7, "after": null}),
            // Escalated: the level before did not answer, passed it on, or could not be reached.
            json!({"urgent": false, "who": "Margaret (via daughter Sian)", "service": s.service.name, "discharged": "27 Nov",
                   "text": "Mum has been sick three times tonight and cannot keep her tablets down", "call": null,
                   "link": short_link(s), "code": 12, "after": not_accepted}),
            json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
                   "text": "Is anyone there?", "call": null, "link": short_link(s), "code": 12,
                   "after": {"why": "passed", "by": "the cardiology registrar", "minutes": 0}}),
            json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
                   "text": "Is anyone there?", "call": null, "link": short_link(s), "code": 12,
                   "after": {"why": "unreachable", "by": "Chen Li or Amara Okafor", "minutes": 0}}),
            // Concerns a phone call opened.
            json!({"urgent": false, "who": "Margaret (via daughter Sian)", "service": s.service.name, "discharged": "27 Nov",
                   "text": "", "call": "voicemail", "link": short_link(s), "code": 12, "after": null}),
            json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
                   "text": "Mum's leg is red and hot", "call": "voicemail", "link": short_link(s), "code": 12, "after": null}),
            json!({"urgent": false, "who": "Margaret", "service": s.service.name, "discharged": "27 Nov",
                   "text": "", "call": "call_back", "link": short_link(s), "code": 12, "after": null}),
        ]
    }),
    // What a forward quotes for an opt-out word (src/engine/render.rs).
    ("sms/forward_opt_out.txt", |_| {
        vec![json!({"opted_out": true}), json!({"opted_out": false})]
    }),
    ("sms/forward.txt", |s| {
        let text = |t: &str| json!({"text": t, "call": null});
        let call = |c: &str, t: &str| json!({"text": t, "call": c});
        vec![
            json!({"who": "Margaret", "code": 12, "messages": [text("It is worse now")], "more": 0, "link": null,
                   "accepted": false, "wrote": true, "phoned": false}),
            json!({"who": "Margaret (via daughter Sian)", "code": 12,
                   "messages": [text(QUOTE), text("STOP"), text("(texts to them are now stopped)")],
                   "more": 0, "link": null, "accepted": true, "wrote": true, "phoned": false}),
            // A burst: what fits is quoted, the rest counted behind the link.
            json!({"who": "Unknown sender ending 0999", "code": 7, "messages": [text("Hello?"), text("Is anyone there?"), text(QUOTE)],
                   "more": 27, "link": short_link(s), "accepted": false, "wrote": true, "phoned": false}),
            json!({"who": "Unknown sender ending 0999", "code": 7, "messages": [text("Hello?")],
                   "more": 1, "link": short_link(s), "accepted": false, "wrote": true, "phoned": false}),
            // Calls: a voicemail (heard at the link), then its words; a call that reached nobody.
            json!({"who": "Margaret (via daughter Sian)", "code": 12, "messages": [call("voicemail", "")],
                   "more": 0, "link": short_link(s), "accepted": false, "wrote": false, "phoned": true}),
            json!({"who": "Margaret (via daughter Sian)", "code": 12,
                   "messages": [call("voicemail", ""), call("transcription", "Mum's leg is now hot and she has a temperature.")],
                   "more": 0, "link": short_link(s), "accepted": true, "wrote": false, "phoned": true}),
            json!({"who": "Margaret", "code": 12, "messages": [text("Are you there?"), call("call_back", "")],
                   "more": 0, "link": null, "accepted": false, "wrote": true, "phoned": true}),
        ]
    }),
    ("sms/you_accepted.txt", |s| {
        vec![
            json!({"code": 12, "who": "Margaret", "service": s.service.name, "live": false}),
            json!({"code": 12, "who": "Margaret (via daughter Sian)", "service": s.service.name, "live": false}),
            // They took the call live: nothing was promised to the caller.
            json!({"code": 12, "who": "Margaret (via daughter Sian)", "service": s.service.name, "live": true}),
        ]
    }),
    ("sms/you_resolved.txt", |_| {
        vec![json!({"code": 12, "who": "Margaret (via daughter Sian)"})]
    }),
    ("sms/taken.txt", |s| {
        vec![
            json!({"code": 12, "who": "Margaret", "name": s.clinician.name}),
            json!({"code": 12, "who": "Margaret (via daughter Sian)", "name": s.clinician.name}),
        ]
    }),
    ("sms/already_accepted.txt", |s| {
        vec![json!({"name": s.clinician.name})]
    }),
    ("sms/you_have_it.txt", |_| vec![json!({"code": 12})]),
    ("sms/reminder.txt", |_| {
        vec![
            json!({"code": 12, "who": "Margaret", "accepted_at": "today at 19:09"}),
            json!({"code": 12, "who": "Margaret (via daughter Sian)", "accepted_at": "on Sat 28 Nov at 03:12"}),
        ]
    }),
    ("sms/resolved_by.txt", |s| {
        vec![json!({"code": 12, "who": "Margaret (via daughter Sian)", "name": s.clinician.name})]
    }),
    ("sms/already_resolved.txt", |_| vec![json!({})]),
    ("sms/help.txt", |_| {
        vec![
            json!({"codes": ""}),
            json!({"codes": "12"}),
            json!({"codes": "12, 14"}),
        ]
    }),
    // To Twilio: what a caller hears.
    ("twiml/empty.xml", |_| vec![json!({})]),
    ("twiml/answer.xml", |s| {
        vec![
            json!({"service": s.service.patient_name, "dial": dial(s, 1, 20), "again": false, "call": CALL,
                   "withheld": false,
                   "our_number": "+447700900000", "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35}),
            json!({"service": s.trust, "dial": null, "again": false, "call": CALL, "withheld": false,
                   "our_number": "+447700900000", "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35}),
            json!({"service": s.trust, "dial": dial(s, 1, 20), "again": false, "call": CALL, "withheld": true,
                   "our_number": "+447700900000", "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35}),
        ]
    }),
    ("twiml/next.xml", |s| {
        vec![
            json!({"dial": dial(s, 2, 10), "again": true, "call": CALL, "our_number": "+447700900000",
                   "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35, "withheld": false}),
            json!({"dial": null, "again": true, "call": CALL, "our_number": "+447700900000",
                   "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35, "withheld": false}),
            json!({"dial": null, "again": true, "call": CALL, "our_number": "+447700900000",
                   "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35, "withheld": true}),
        ]
    }),
    ("twiml/still_trying.xml", |s| {
        vec![
            json!({"dial": dial(s, 2, 20), "again": true, "call": CALL, "our_number": "+447700900000",
                   "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35, "withheld": false}),
            json!({"dial": null, "again": true, "call": CALL, "our_number": "+447700900000",
                   "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35, "withheld": false}),
            json!({"dial": null, "again": true, "call": CALL, "our_number": "+447700900000",
                   "query": QUERY, "max_length": 120, "base": BASE, "call_back_minutes": 35, "withheld": true}),
        ]
    }),
    ("twiml/screen.xml", |s| {
        ["patient", "carer", "unknown"]
            .iter()
            .map(|who| json!({"who": who, "service": s.service.name, "query": QUERY, "base": BASE, "again": false}))
            .chain([json!({"who": "carer", "service": s.service.name, "query": QUERY, "base": BASE, "again": true})])
            .collect()
    }),
    ("twiml/connect.xml", |_| vec![json!({})]),
    ("twiml/hang_up.xml", |_| {
        vec![
            json!({"taken_by_another": false}),
            json!({"taken_by_another": true}),
        ]
    }),
    ("twiml/taken.xml", |_| vec![json!({})]),
    ("twiml/message_left.xml", |_| vec![json!({})]),
    ("twiml/no_message.xml", |_| vec![json!({})]),
    ("twiml/unavailable.xml", |_| vec![json!({})]),
    // To a clinician answering a page by phone.
    ("twiml/page.xml", |s| {
        let page = |who: &str, call: Option<&str>, text: &str| {
            json!({"failed": false, "open": true, "taken_by": null, "service": s.service.name, "who": who,
                   "call": call, "text": text, "query": PAGE_QUERY, "base": BASE})
        };
        vec![
            page("Margaret", None, MESSAGE),
            page("Margaret (via daughter Sian)", Some("voicemail"), ""),
            page(
                "Margaret (via daughter Sian)",
                Some("voicemail"),
                "Mum's leg is red and hot",
            ),
            page("Unknown sender ending 0999", Some("call_back"), ""),
            json!({"failed": false, "open": false, "taken_by": s.clinician.name, "service": s.service.name,
                   "who": "Margaret", "call": null, "text": MESSAGE, "query": PAGE_QUERY, "base": BASE}),
            json!({"failed": false, "open": false, "taken_by": null, "service": s.service.name,
                   "who": "Margaret", "call": null, "text": MESSAGE, "query": PAGE_QUERY, "base": BASE}),
            json!({"failed": true, "open": false, "taken_by": null, "service": null, "who": null,
                   "call": null, "text": null, "query": null, "base": BASE}),
        ]
    }),
    ("twiml/page_again.xml", |_| {
        vec![json!({"query": PAGE_QUERY, "base": BASE})]
    }),
    ("twiml/page_done.xml", |_| {
        vec![
            json!({"stored": true, "accepted": true, "query": PAGE_QUERY, "base": BASE}),
            json!({"stored": true, "accepted": false, "query": PAGE_QUERY, "base": BASE}),
            json!({"stored": false, "accepted": true, "query": PAGE_QUERY, "base": BASE}),
        ]
    }),
    ("twiml/clinician.xml", |s| {
        let page = |key: u32, who: &str, call: Option<&str>, text: &str| json!({"key": key, "who": who, "service": s.service.name, "call": call, "text": text});
        vec![
            json!({"name": s.clinician.name, "pages": [page(1, "Margaret", None, QUOTE)], "more": 0, "query": "staff=chen-li", "base": BASE}),
            json!({"name": s.clinician.name, "more": 1, "query": "staff=chen-li", "base": BASE, "pages": [
                page(1, "Margaret (via daughter Sian)", Some("voicemail"), ""),
                page(2, "Unknown sender ending 0999", Some("call_back"), ""),
                page(3, "Margaret", Some("voicemail"), "Mum's leg is red and hot"),
            ]}),
            json!({"name": s.clinician.name, "pages": [], "more": 0, "query": "staff=chen-li", "base": BASE}),
        ]
    }),
    ("twiml/call_back.xml", |s| {
        vec![
            json!({"who": "Margaret (via daughter Sian)", "number": "+447700900802", "our_number": "+447700900000", "taken_by": null}),
            json!({"who": "Margaret", "number": null, "our_number": "+447700900000", "taken_by": s.clinician.name}),
            json!({"who": "Margaret", "number": null, "our_number": "+447700900000", "taken_by": null}),
        ]
    }),
    // Pages behind a page's link, and what the link shows when it cannot.
    ("pages/concern.html", concern_pages),
    ("pages/concern_details.html", concern_pages),
    ("pages/concern_timeline.html", concern_pages),
    ("pages/message.html", |_| {
        // Every message src/http/pages.rs shows.
        [
            ("Link not valid", "This link is not valid. Reply to the page by text instead."),
            (
                "Link not valid",
                "This link has expired. Reply to the page by text instead (A and the number to accept).",
            ),
            (
                "Try again",
                "The page cannot be shown just now. Try again in a minute, or reply to the page by text.",
            ),
            ("Not found", "This concern no longer exists."),
            ("Not understood", "Choose Accept or Pass."),
            (
                "Try again",
                "That did not go through. Try again, or reply to the page by text.",
            ),
        ]
        .iter()
        .map(|(title, message)| json!({"title": title, "message": message}))
        .collect()
    }),
    // The title and words of each of those messages (src/http/pages.rs `Shown`).
    ("pages/message_words.txt", |_| {
        [
            "incomplete",
            "not_valid",
            "expired",
            "bad_signature",
            "gone",
            "unavailable",
            "not_shown",
            "other_site",
            "no_form",
            "unknown_action",
            "call_back_not_stored",
            "not_stored",
            "recording_unavailable",
            "no_recording",
            "recording_not_fetched",
            "ringing",
            "already_ringing",
            "too_many_call_backs",
        ]
        .iter()
        .map(|what| json!({"what": what}))
        .collect()
    }),
    // Where a concern stands, on its page (src/http/pages.rs `concern_view`).
    ("pages/status.txt", |s| {
        let at = "Fri 27 Nov 19:09";
        vec![
            json!({"state": "not_paged", "by": null, "at": null}),
            json!({"state": "accepted_by_you", "by": null, "at": at}),
            json!({"state": "passed_by_you", "by": null, "at": null}),
            json!({"state": "open", "by": null, "at": null}),
            json!({"state": "accepted", "by": s.clinician.name, "at": at}),
            json!({"state": "resolved", "by": null, "at": at}),
        ]
    }),
    // Web pages.
    ("web/base.html", |_| {
        // The layout every page extends; alone, with only a title.
        vec![json!({"title": "Not found"})]
    }),
    ("web/demo.html", |s| {
        // `serve --demo`'s phones page (src/demo/routes.rs), before anything
        // happened and in the middle of a night.
        let page = format!(
            "Margaret - {}, discharged 27 Nov: \"{MESSAGE}\" ",
            s.service.name
        );
        let phone = |id: &str, name: &str, about: &str, texts: Value| json!({"id": id, "number": format!("+{id}"), "name": name, "about": about, "texts": texts});
        let patient = phone(
            "447700900801",
            "Margaret Evans",
            &format!("Patient, {}", s.service.name),
            json!([
                {"sent": false, "at": "Fri 17:30", "parts": [{"text": format!("Hello Margaret. This number reaches {}.", s.service.patient_name)}]},
                {"sent": true, "at": "Fri 19:05", "parts": [{"text": MESSAGE}]},
            ]),
        );
        let clinician = phone(
            "447700900303",
            &s.clinician.name,
            &format!(
                "{}; on call now: {} level 1",
                s.clinician.role, s.service.name
            ),
            json!([{"sent": false, "at": "Fri 19:05", "parts": [
                {"text": page},
                {"text": "http://127.0.0.1:8080/c/0d5f6c1e?s=x&e=1&sig=y", "link": "http://127.0.0.1:8080/c/0d5f6c1e?s=x&e=1&sig=y"},
                {"text": " Reply A1 to accept, P1 to pass."},
            ]}]),
        );
        let quiet = phone(
            "447700900802",
            "Sian Evans",
            "Daughter of Margaret",
            json!([]),
        );
        let chains = json!([{
            "service": s.service.name,
            "period": "out of hours: after 18:30 on Fri (in hours 08:00–18:30), until Mon 30 Nov 2026 08:00",
            "until": "Sat 28 Nov 08:00",
            "levels": [
                {"label": "Level 1", "within": "10m", "people": [format!("{} ({})", s.clinician.name, s.clinician.role)]},
                {"label": "Fallback", "within": "10m", "people": []},
            ],
        }]);
        let services =
            json!([{"id": s.service.id.as_str(), "name": s.service.name, "shown": false}]);
        let common = json!({
            "trust": s.trust, "our_number": "+447700900000", "chains": chains, "services": services,
            "numbers": "+447700900801 +447700900802 +447700900303", "version": 7,
            "our_address": "nightingale@demo.nightingale.invalid",
            "keys": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"],
            "refused": null,
        });
        let mut start = common.clone();
        start["now"] = json!("Friday 27 November 2026, 19:05");
        start["next_due"] = Value::Null;
        start["notice"] = Value::Null;
        start["phones"] = json!([quiet.clone()]);
        start["concerns"] = json!([]);
        let inbox = |emails: Value| {
            json!({"id": "rhys-davies-home-demo-invalid", "address": "rhys.davies@home.demo.invalid",
            "name": "Rhys Davies", "about": format!("Son of Margaret, {}", s.service.name), "writes": true, "emails": emails})
        };
        start["inboxes"] = json!([inbox(json!([]))]);
        let mut night = common;
        night["now"] = json!("Friday 27 November 2026, 19:15");
        night["next_due"] = json!("Fri 19:25:05");
        night["notice"] = json!({"code": "no-deadline", "error": false});
        night["phones"] = json!([patient, quiet, clinician]);
        // An inbox in the demo (src/demo/mailbox.rs): a carer's email out, and the answer.
        night["inboxes"] = json!([inbox(json!([
            {"sent": true, "at": "Fri 19:05", "other": "nightingale@demo.nightingale.invalid", "subject": "Mum's leg",
             "lines": [[{"text": MESSAGE}]]},
            {"sent": false, "at": "Fri 19:05", "other": "Nightingale <nightingale@demo.nightingale.invalid>",
             "subject": "", "lines": [[{"text": "We have your message about Margaret."}], [{"text": "See "}, {"text": "http://127.0.0.1:8080/", "link": "http://127.0.0.1:8080/"}]]},
        ]))]);
        night["concerns"] = json!([{
            "who": "Margaret", "service": s.service.name, "status": "open",
            "entries": [
                {"at": "Fri 19:05:02", "text": format!("Message from the patient: “{MESSAGE}”")},
                {"at": "Fri 19:05:02", "text": format!("Paged {} (level 1), code 1", s.clinician.name)},
            ],
        }]);
        // Every notice a form's redirect can bring (src/demo/routes.rs).
        let mut seen = vec![start, night.clone()];
        for code in [
            "empty",
            "long",
            "unknown-phone",
            "empty-email",
            "long-email",
            "unknown-inbox",
            "name",
            "full",
            "busy",
            "call-over",
        ] {
            let mut after = night.clone();
            after["notice"] = json!({"code": code, "error": true});
            seen.push(after);
        }
        // A text and an email refused, shown again with what was typed
        // (the NHS.UK error pattern): the summary, and the reason by the box.
        for (field, code) in [
            ("text-447700900801", "long"),
            ("email-rhys-davies-home-demo-invalid", "empty-email"),
        ] {
            let mut refused = night.clone();
            refused["notice"] = Value::Null;
            refused["refused"] = json!({"field": field, "code": code});
            if code == "long" {
                refused["phones"][0]["error"] = json!(code);
                refused["phones"][0]["typed"] = json!("wheezy ".repeat(300));
            } else {
                refused["inboxes"][0]["error"] = json!(code);
                refused["inboxes"][0]["typed"] = json!(" ");
                refused["inboxes"][0]["subject"] = json!("Mum's leg");
            }
            seen.push(refused);
        }
        // Calls on the phones (src/demo/calls.rs), at each step: the
        // carer's call at the keypad, then recording, then ended; the
        // clinician's phone ringing, then talking, then at the keypad.
        let said = |t: &str| json!({"kind": "said", "text": t});
        let line = |t: &str| json!({"kind": "line", "text": t});
        let greeting = [
            line("Calling +447700900000…"),
            said("If this is an emergency, hang up now and dial 999."),
            said(&format!("You have reached {}.", s.service.patient_name)),
        ];
        let carer_calls = [
            ("keypad", vec![said("Press 1 to take the call.")]),
            ("dialling", vec![line("Ringing…")]),
            ("waiting", vec![]),
            (
                "recording",
                vec![
                    said(
                        "Nobody can come to the phone just now. Please leave a message after the tone.",
                    ),
                    line("Beep: recording your message."),
                ],
            ),
            (
                "ended",
                vec![
                    json!({"kind": "typed", "text": MESSAGE}),
                    json!({"kind": "pressed", "text": "1"}),
                    line("Call ended."),
                ],
            ),
        ];
        let clinician_calls = ["ringing", "connected", "keypad"];
        for ((state, more), theirs) in carer_calls.into_iter().zip(clinician_calls.iter().cycle()) {
            let mut during = night.clone();
            let mut heard = greeting.to_vec();
            heard.extend(more);
            during["phones"][1]["call"] =
                json!({"id": "CADEMO00000001", "incoming": false, "state": state, "heard": heard});
            during["phones"][2]["call"] = json!({"id": "CADEMO00000002", "incoming": true, "state": theirs, "heard": [
                line("Incoming call from +447700900000 (Nightingale)."),
                said(&format!("This is Nightingale, with a page for {}. Margaret says: {MESSAGE}", s.service.name)),
            ]});
            seen.push(during);
        }
        seen
    }),
    // Staff pages (src/http/web/).
    ("sms/sign_in_code.txt", |_| {
        vec![json!({"code": "042917", "minutes": 10})]
    }),
    ("sms/sign_in_paused.txt", |_| {
        vec![json!({"failures": 10, "until": "00:00 on Saturday 28 November"})]
    }),
    ("web/staff/layout.html", |s| {
        vec![
            json!({"staff": staff(s, false), "nav": "home"}),
            json!({"staff": staff(s, true), "nav": "services"}),
        ]
    }),
    ("web/staff/csrf.html", |s| {
        vec![json!({"staff": staff(s, false)})]
    }),
    ("web/staff/message.html", |_| {
        // Every refusal and notice src/http/web/ shows.
        vec![
            json!({"title": "You do not have access to this service", "message": "Only the service's managers and the trust's managers can see this page. If you should be one, ask your rota manager to add you to the service's managers in the rota files.", "link": "/staff", "link_text": "Go to your home page"}),
            json!({"title": "Page not found", "message": "There is nothing here. Check the address, or start again from your home page.", "link": "/staff", "link_text": "Go to your home page"}),
            json!({"title": "That did not go through", "message": "The form was out of date or did not come from this site. Go back, reload the page and try again.", "link": "/staff", "link_text": "Go to your home page"}),
            json!({"title": "You have signed out", "message": "Your session has ended on this device.", "link": "/staff/sign-in", "link_text": "Sign in again"}),
            json!({"title": "Try again", "message": "The page cannot be shown just now. Try again in a minute.", "link": null, "link_text": null}),
        ]
    }),
    ("web/staff/sign_in.html", |_| {
        vec![
            json!({"next": "/staff", "contact": "", "error": null, "ended": false, "demo": false}),
            json!({"next": "/staff/shifts", "contact": "0770", "error": "Enter a UK mobile phone number, like 07700 900123", "ended": false, "demo": false}),
            json!({"next": "/staff/shifts", "contact": "", "error": null, "ended": true, "demo": true}),
        ]
    }),
    ("web/staff/sign_in_code.html", |_| {
        vec![
            json!({"next": "/staff", "again_url": "/staff/sign-in?next=%2Fstaff", "minutes": 10, "codes": 3, "window": 15, "error": null}),
            json!({"next": "/staff", "again_url": "/staff/sign-in?next=%2Fstaff", "minutes": 10, "codes": 3, "window": 15, "error": "That is not the code. Check the text and try again (4 tries left)"}),
        ]
    }),
    ("web/staff/home.html", |s| {
        vec![
            json!({"staff": staff(s, false), "nav": "home", "services": [{"id": s.service.id.as_str(), "name": s.service.name, "manage": false}]}),
            json!({"staff": staff(s, true), "nav": "home", "services": [{"id": s.service.id.as_str(), "name": s.service.name, "manage": true, "handover": true}]}),
            json!({"staff": staff(s, false), "nav": "home", "services": []}),
        ]
    }),
    ("web/staff/services.html", |s| {
        vec![
            json!({"staff": staff(s, true), "nav": "services", "services": [{"id": s.service.id.as_str(), "name": s.service.name}]}),
        ]
    }),
    ("web/staff/shifts.html", |s| {
        let shift = |holidays: Value| {
            json!({"title": format!("{}, level 1 (out of hours)", s.service.name),
            "from": "Fri 27 Nov 20:00", "until": "Sat 28 Nov 08:00", "via": "Cardiology registrar on call", "bank_holidays": holidays})
        };
        vec![
            json!({"staff": staff(s, false), "nav": "shifts", "days": 28, "until": "Fri 25 Dec 19:05",
                   "shifts": [shift(json!([])), shift(json!(["Christmas Day (Fri 25 Dec)"]))]}),
            json!({"staff": staff(s, false), "nav": "shifts", "days": 28, "until": "Fri 25 Dec 19:05", "shifts": []}),
        ]
    }),
    ("web/staff/calendar.html", |s| {
        let url = "https://nightingale.riverside-nhs.example/calendar/6yurU8fu1mO3L_jqyFCtSImO3RpTM_7oA7e4wh4WbCw.ics";
        let webcal = url.replace("https://", "webcal://");
        vec![
            json!({"staff": staff(s, false), "nav": "shifts", "made": null, "url": null, "webcal": null, "notice": null}),
            json!({"staff": staff(s, false), "nav": "shifts", "made": "Fri 27 Nov 19:05", "url": url, "webcal": webcal, "notice": null}),
            json!({"staff": staff(s, false), "nav": "shifts", "made": "Fri 27 Nov 19:05", "url": null, "webcal": null, "notice": null}),
            json!({"staff": staff(s, false), "nav": "shifts", "made": null, "url": null, "webcal": null,
                   "notice": "Your calendar link no longer works. Calendars that subscribed to it stop updating."}),
        ]
    }),
    ("web/staff/concern.html", |s| {
        concern_pages(s)
            .into_iter()
            .map(|mut c| {
                let open = c["can_act"] == json!(true);
                c["staff"] = staff(s, false);
                c["nav"] = json!("concerns");
                c["action_url"] = json!("/staff/concerns/0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f");
                c["can_resolve"] =
                    json!(open || c["status"].as_str().unwrap_or("").starts_with("Accepted"));
                if !c["recording_url"].is_null() {
                    c["recording_url"] =
                        json!("/staff/concerns/0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f/recording");
                }
                c
            })
            .collect()
    }),
    ("web/staff/concerns.html", |s| {
        let item = |urgent: bool, status: &str| {
            json!({"id": "0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f", "code": 12,
            "patient": "Margaret Evans", "service": s.service.name, "urgent": urgent, "opened": "Fri 27 Nov 19:05", "status": status})
        };
        vec![
            json!({"staff": staff(s, false), "nav": "concerns", "days": 7,
                   "open": [item(true, "Waiting for someone to accept"), item(false, "You have it"), item(false, "Accepted by Ben Hughes")],
                   "closed": [item(false, "Resolved Fri 27 Nov 21:40")]}),
            json!({"staff": staff(s, false), "nav": "concerns", "days": 7, "open": [], "closed": []}),
        ]
    }),
    // Rota managers' pages (src/http/web/rota.rs).
    ("web/staff/edit.html", |_| vec![json!({})]),
    ("web/staff/service.html", |s| {
        let week = json!({"name": "2026-W48", "label": "Mon 23 Nov to Sun 29 Nov 2026", "previous": "2026-W47", "next": "2026-W49"});
        let covered = json!({"from": "20:00", "until": "08:00", "in_hours": false, "all_day": false, "gap": null,
            "levels": [{"number": 1, "names": s.clinician.name, "gap": false}, {"number": 2, "names": "Eleanor Shaw", "gap": false}]});
        let gap = json!({"from": "20:00", "until": "08:00", "in_hours": false, "all_day": false, "gap": "no reachable level-1 person: the fallback stands in",
            "levels": [{"number": 1, "names": "Gap: the fallback (Sam Okoro)", "gap": true}, {"number": 2, "names": "Nobody", "gap": true}]});
        let day = json!({"label": "Saturday 28 November", "holiday": null, "rows": [
            {"from": "00:00", "until": "08:00", "in_hours": true, "all_day": false, "gap": null, "levels": [{"number": 1, "names": s.clinician.name, "gap": false}]}, covered, gap]});
        let holiday =
            json!({"label": "Friday 25 December", "holiday": "Christmas Day", "rows": [covered]});
        let all_day = json!({"label": "Sunday 29 November", "holiday": null, "rows": [
            {"from": "00:00", "until": "00:00", "in_hours": false, "all_day": true, "gap": null, "levels": [{"number": 1, "names": s.clinician.name, "gap": false}]}]});
        let people = json!([{"id": s.clinician.id.as_str(), "name": s.clinician.name}]);
        let rotations =
            json!([{"id": "cardiology-registrar", "name": "Cardiology registrar on call"}]);
        let words = |covering: Value, replacing: Value, rotation: Value| {
            json!({"kind": "override", "covering": covering, "replacing": replacing,
            "rotation": rotation, "from": "Sat 28 Nov 20:00", "until": "Sun 29 Nov 08:00", "shifts": []})
        };
        let swap = json!({"kind": "swap", "covering": null, "replacing": null, "rotation": "Consultant paediatrician of the week", "from": null, "until": null,
            "shifts": [{"day": "Mon 30 Nov", "holder": "Dr Olivia Brown"}, {"day": "Mon 7 Dec", "holder": "Dr Priya Sharma"}]});
        let edits = json!([
            {"id": 2, "words": words(json!("Amara Okafor"), json!("Dafydd Evans"), json!("Cardiology registrar on call")), "reason": "covering Dafydd", "made_by": "Wendy Clarke", "made_at": "Thu 26 Nov 2026 17:01", "made_on": null, "undone": null},
            {"id": 3, "words": words(json!("Umar Farooq"), Value::Null, json!("Senior clinician on call")), "reason": "", "made_by": "Tara Singh", "made_at": "Thu 26 Nov 2026 17:05", "made_on": "Children's assessment unit", "undone": null},
            {"id": 4, "words": words(json!("Amara Okafor"), json!("Chen Li"), Value::Null), "reason": "", "made_by": "Wendy Clarke", "made_at": "Thu 26 Nov 2026 17:06", "made_on": null, "undone": null},
            {"id": 5, "words": swap, "reason": "", "made_by": "Dr Olivia Brown", "made_at": "Thu 26 Nov 2026 17:07", "made_on": null, "undone": null},
            {"id": 1, "words": words(Value::Null, json!("Dafydd Evans"), Value::Null), "reason": "", "made_by": "Wendy Clarke", "made_at": "Thu 26 Nov 2026 16:55", "made_on": null, "undone": "undone by Wendy Clarke on Thu 26 Nov 2026 17:02"},
        ]);
        let service = json!({"id": s.service.id.as_str(), "name": s.service.name, "handover": true, "all_hours": false});
        let all_hours = json!({"id": s.service.id.as_str(), "name": s.service.name, "handover": false, "all_hours": true});
        let form = json!({"kind": "override", "covering": "", "for": "dafydd-evans", "rotation": "", "from": "2026-11-28T20:00",
                          "until": "2026-11-29T08:00", "shift_a": "", "shift_b": "", "reason": "off sick", "confirm": ""});
        let action = format!("/staff/services/{}/edits", s.service.id);
        let page = |failed: Value, stretches: Value| {
            json!({"staff": staff(s, true), "nav": "services", "service": service, "week": week,
            "managers": [{"name": "Wendy Clarke", "role": "Ward 7 manager"}], "days": [day, holiday], "edits": edits, "people": people,
            "cover_own": people, "cover_others": [{"id": "isla-morgan", "name": "Isla Morgan"}], "rotations": rotations, "failed": failed, "stretches": stretches})
        };
        let failed = |errors: Value, gaps: Value, others: Value, not_fit: Value| {
            json!({"kind": "override", "form": form, "action": action,
            "errors": errors, "gaps": gaps, "others": others, "not_fit": not_fit})
        };
        vec![
            page(Value::Null, json!([])),
            json!({"staff": staff(s, true), "nav": "services", "service": all_hours, "week": week,
                   "managers": [], "days": [all_day], "edits": [], "people": [], "cover_own": [], "cover_others": [], "rotations": [], "failed": null, "stretches": []}),
            // Saved, with a warning: Amara is now on call 36 hours in a row.
            page(
                Value::Null,
                json!([{"name": "Amara Okafor", "from": "Sat 28 Nov 08:00", "until": "Sun 29 Nov 20:00", "hours": 36, "limit": 24}]),
            ),
            // Not saved: the form keeps what was typed, each error above its field.
            page(
                failed(
                    json!([{"id": "until", "message": "The end must be after the start (Sat 28 Nov 2026 20:00): a cover from 20:00 to 08:00 the next morning ends on the next day"},
                               {"id": "for", "message": "Choose whom they cover, or the rotation they hold, or both"}]),
                    json!([]),
                    Value::Null,
                    Value::Null,
                ),
                json!([]),
            ),
            page(
                failed(
                    json!([]),
                    json!([
                        "Sat 28 Nov 20:00 to Sun 29 Nov 08:00: no reachable level-1 person: the fallback stands in"
                    ]),
                    Value::Null,
                    Value::Null,
                ),
                json!([]),
            ),
            // A cover on a rotation other services share, by one service's manager.
            page(
                failed(
                    json!([{"id": "rotation", "message": "This also changes who is on call for Children's assessment unit and Community nursing, north locality, which you do not manage"}]),
                    json!([]),
                    json!({"services": [
                       {"id": "childrens-assessment-unit", "name": "Children's assessment unit", "managers": ["Dr Olivia Brown"]},
                       {"id": "community-nursing-north", "name": "Community nursing, north locality", "managers": []}],
                   "trust_managers": ["Tara Singh"]}),
                    Value::Null,
                ),
                json!([]),
            ),
            // A cover not fit for the slot: a rotation's turn, a named person's place.
            page(
                failed(
                    json!([{"id": "covering", "message": "Isla Morgan (Community staff nurse) cannot cover this: choose someone fit for it"}]),
                    json!([]),
                    Value::Null,
                    json!({"name": "Isla Morgan", "role": "Community staff nurse", "rotation": "Cardiology registrar on call", "in_place_of": null, "fit": ["Amara Okafor", "Ben Hughes"]}),
                ),
                json!([]),
            ),
            page(
                failed(
                    json!([{"id": "covering", "message": "Isla Morgan (Community staff nurse) cannot cover this: choose someone fit for it"}]),
                    json!([]),
                    Value::Null,
                    json!({"name": "Isla Morgan", "role": "Community staff nurse", "rotation": null, "in_place_of": "Ward 7 nurse in charge", "fit": []}),
                ),
                json!([]),
            ),
        ]
    }),
    ("web/staff/gaps.html", |s| {
        vec![
            json!({"staff": staff(s, true), "nav": "gaps", "days": 28, "gaps": [
                {"service": s.service.id.as_str(), "name": s.service.name, "from": "Sat 28 Nov 2026 20:00", "until": "Sun 29 Nov 2026 08:00",
                 "what": "no reachable level-1 person: the fallback stands in", "week": "2026-W48"}]}),
            json!({"staff": staff(s, true), "nav": "gaps", "days": 28, "gaps": []}),
        ]
    }),
    ("web/staff/audit.html", |s| {
        let words = |covering: Value, replacing: Value, rotation: Value| {
            json!({"kind": "override", "covering": covering, "replacing": replacing,
            "rotation": rotation, "from": "Sat 28 Nov 20:00", "until": "Sun 29 Nov 08:00", "shifts": []})
        };
        let swap = json!({"kind": "swap", "covering": null, "replacing": null, "rotation": "Consultant paediatrician of the week", "from": null, "until": null,
            "shifts": [{"day": "Mon 30 Nov", "holder": "Dr Olivia Brown"}, {"day": "Mon 7 Dec", "holder": "Dr Priya Sharma"}]});
        vec![
            json!({"staff": staff(s, true), "nav": "audit", "lines": [
                {"seq": 4, "at": "Thu 26 Nov 2026 17:07", "who": "Dr Olivia Brown", "services": ["Children's assessment unit"], "edit_id": 4, "undone": false,
                 "edit": swap, "action": "swap added: paediatric-consultant: the shifts starting Mon 30 Nov and Mon 07 Dec swap"},
                {"seq": 3, "at": "Thu 26 Nov 2026 17:05", "who": "Tara Singh", "services": ["Cardiology Ward 7", "Children's assessment unit", "Community nursing, north locality"],
                 "edit_id": 3, "undone": false, "edit": words(json!("Umar Farooq"), Value::Null, json!("Senior clinician on call")),
                 "action": "override added: umar-farooq covers rotation senior-clinician, Sat 28 Nov 20:00 to Sun 29 Nov 08:00"},
                {"seq": 2, "at": "Thu 26 Nov 2026 17:02", "who": "Wendy Clarke", "services": [s.service.name], "edit_id": 1, "undone": true,
                 "edit": words(Value::Null, json!("Dafydd Evans"), Value::Null),
                 "action": "override 1 undone: nobody covers dafydd-evans, Sat 28 Nov 20:00 to Sun 29 Nov 08:00"},
                {"seq": 1, "at": "Thu 26 Nov 2026 16:55", "who": "Wendy Clarke", "services": [s.service.name], "edit_id": 1, "undone": false,
                 "edit": words(json!("Amara Okafor"), json!("Dafydd Evans"), json!("Cardiology registrar on call")),
                 "action": "override added: amara-okafor covers dafydd-evans"}]}),
            json!({"staff": staff(s, true), "nav": "audit", "lines": []}),
        ]
    }),
    ("sms/gap_alert.txt", |s| {
        vec![
            json!({"service": s.service.name, "count": 1, "first": "Sat 28 Nov 20:00 to Sun 29 Nov 08:00: no reachable level-1 person: the fallback stands in", "link": "https://nightingale.example.nhs.uk/staff/gaps"}),
            json!({"service": s.service.name, "count": 3, "first": "Sat 28 Nov 20:00 to Sun 29 Nov 08:00: NOBODY is reachable, not even the fallback", "link": "https://nightingale.example.nhs.uk/staff/gaps"}),
        ]
    }),
    // Check-ins and the morning handover (src/engine/notices.rs, src/engine/intake.rs).
    ("sms/check_in.txt", |s| {
        vec![
            json!({"first_name": "Margaret", "patient": "Margaret", "carer": false, "service": s.service.patient_name}),
            json!({"first_name": "Siân", "patient": "Margaret", "carer": true, "service": s.service.patient_name}),
        ]
    }),
    ("sms/check_in_thanks.txt", |_| vec![json!({})]),
    ("sms/check_in_unanswered.txt", |s| {
        vec![
            json!({"first_name": "Margaret", "service": s.service.name, "sent": "Fri 27 Nov 16:30", "phone": "+447700900801"}),
        ]
    }),
    ("sms/review_due.txt", |s| {
        vec![json!({"first_name": "Arthur", "service": s.service.name, "due": "24 Nov 2027"})]
    }),
    ("sms/handover.txt", |s| {
        vec![
            json!({"summary": handover(s, 2), "link": format!("{BASE}/staff/handover/{}", s.service.id)}),
            json!({"summary": handover(s, 5), "link": format!("{BASE}/staff/handover/{}", s.service.id)}),
            // Nothing new overnight, but something from before still open.
            json!({"summary": quiet(s), "link": format!("{BASE}/staff/handover/{}", s.service.id)}),
        ]
    }),
    ("email/handover_subject.txt", email_handover),
    ("email/handover.txt", email_handover),
    ("email/handover.html", email_handover),
    ("web/staff/handover.html", |s| {
        vec![
            json!({"staff": staff(s, false), "nav": "handover", "name": s.service.name, "summary": handover(s, 5), "mine": false}),
            json!({"staff": staff(s, false), "nav": "handover", "name": s.service.name, "summary": handover(s, 0), "mine": false}),
            json!({"staff": staff(s, false), "nav": "handover", "name": s.service.name, "summary": handover(s, 2), "mine": true}),
            json!({"staff": staff(s, false), "nav": "handover", "name": s.service.name, "summary": handover(s, 0), "mine": true}),
            json!({"staff": staff(s, false), "nav": "handover", "name": s.service.name, "summary": null, "mine": false}),
        ]
    }),
    ("web/staff/reports.html", |s| {
        let weeks = json!([{"id": "2026-W48", "dates": "23 Nov to 29 Nov 2026"}, {"id": "2026-W47", "dates": "16 Nov to 22 Nov 2026"}]);
        vec![
            json!({"staff": staff(s, true), "nav": "reports", "weeks": weeks, "services": [{"id": s.service.id.as_str(), "name": s.service.name}]}),
            json!({"staff": staff(s, true), "nav": "reports", "weeks": weeks, "services": []}),
        ]
    }),
    ("web/staff/report.html", |s| {
        // As src/http/web/reports.rs builds it: a week with concerns, and
        // an empty week with a clock change.
        let weeks = json!([{"id": "2026-W48", "dates": "23 Nov to 29 Nov 2026"}, {"id": "2026-W47", "dates": "16 Nov to 22 Nov 2026"}]);
        let service = json!({"id": s.service.id.as_str(), "name": s.service.name});
        let row = |figure: &str, value: &str| json!({"figure": figure, "value": value});
        let bar = |label: &str, value: u32, y: u32, width: u32| json!({"label": label, "value": value, "y": y, "width": width});
        vec![
            json!({"staff": staff(s, true), "nav": "reports", "service": service, "weeks": weeks,
                   "week": {"id": "2026-W48", "dates": "23 Nov to 29 Nov 2026"}, "hours": 168,
                   "previous": "2026-W47", "next": null,
                   "rows": [row("Concerns raised", "4"), row("Raised by text message", "3"), row("Raised by phone call", "1"),
                            row("Accepted", "2"), row("Never accepted", "2"), row("Median time to accept", "4 min"),
                            row("90th percentile time to accept", "1 h 5 min"), row("Reached level 1", "4"), row("Reached level 2", "2"),
                            row("Reached the trust-wide fallback", "1"), row("Pages that failed", "1")],
                   "chart": {"height": 284, "description": "Raised by text message: 3; Raised by phone call: 1; Never accepted: 2; Reached level 1: 4; Reached level 2: 2; Reached the trust-wide fallback: 1; Pages that failed: 1",
                             "bars": [bar("Raised by text message", 3, 14, 195), bar("Raised by phone call", 1, 54, 65), bar("Never accepted", 2, 94, 130),
                                      bar("Reached level 1", 4, 134, 260), bar("Reached level 2", 2, 174, 130),
                                      bar("Reached the trust-wide fallback", 1, 214, 65), bar("Pages that failed", 1, 254, 65)]}}),
            json!({"staff": staff(s, true), "nav": "reports", "service": service, "weeks": weeks,
                   "week": {"id": "2026-W43", "dates": "19 Oct to 25 Oct 2026"}, "hours": 169,
                   "previous": "2026-W42", "next": "2026-W44",
                   "rows": [row("Concerns raised", "0"), row("Raised by text message", "0"), row("Raised by phone call", "0"),
                            row("Accepted", "0"), row("Never accepted", "0"), row("Median time to accept", "No concern was accepted"),
                            row("90th percentile time to accept", "No concern was accepted"),
                            row("Reached the trust-wide fallback", "0"), row("Pages that failed", "0")],
                   "chart": {"height": 204, "description": "Raised by text message: 0; Raised by phone call: 0; Never accepted: 0; Reached the trust-wide fallback: 0; Pages that failed: 0",
                             "bars": [bar("Raised by text message", 0, 14, 0), bar("Raised by phone call", 0, 54, 0), bar("Never accepted", 0, 94, 0),
                                      bar("Reached the trust-wide fallback", 0, 134, 0), bar("Pages that failed", 0, 174, 0)]}}),
        ]
    }),
    // Notes on a concern's timeline, stored as rendered (src/engine/).
    ("notes/failed_over.txt", |s| {
        ["voice", "sms", "email"]
            .iter()
            .map(|method| json!({"name": s.clinician.name, "method": method}))
            .collect()
    }),
    ("notes/set_aside.txt", |_| {
        vec![
            json!({"kind": "ack_deadline", "reason": "claimed 5 times without finishing (a node stopped mid-way, or it conflicted every time)"}),
        ]
    }),
    ("notes/check_in_answer.txt", |_| {
        vec![json!({"sent": "Fri 27 Nov 16:30"})]
    }),
    ("notes/unproved_email.txt", |_| vec![json!({})]),
    ("notes/no_phone_for_pages.txt", |s| {
        vec![json!({"name": s.clinician.name})]
    }),
    ("notes/no_transcription.txt", |_| vec![json!({})]),
    ("notes/call_back.txt", |s| {
        ["calling", "no_number", "not_theirs"]
            .iter()
            .map(|outcome| json!({"name": s.clinician.name, "outcome": outcome}))
            .collect()
    }),
    // How each timeline entry reads, on the pages that show it (src/templates/events.rs).
    ("timeline/event.txt", timeline_events),
    // What the code puts in when it has no name to give, or joins (src/templates/words.rs).
    ("words/fallbacks.txt", |_| {
        ["service", "service_in_text", "unknown_sender"]
            .iter()
            .map(|what| json!({ "what": what }))
            .collect()
    }),
    ("words/named.txt", |s| {
        vec![
            json!({"role": s.clinician.role, "names": [s.clinician.name]}),
            json!({"role": null, "names": [s.clinician.name, "Amara Okafor"]}),
        ]
    }),
    ("words/email_kept.txt", |_| {
        vec![
            json!({"subject": "Mum", "text": "She is more breathless tonight.\n\nSian", "attachments": null}),
            json!({"subject": "", "text": "She is more breathless tonight.", "attachments": "[attachments not kept: photo.jpg (2.1 MB)]"}),
        ]
    }),
    ("words/email_paged.txt", |_| {
        [0, 1, 3]
            .iter()
            .map(|n| json!({"words": "Mum: she is more breathless tonight", "attachments": n}))
            .collect()
    }),
];

/// One timeline event of each kind, as `timeline/event.txt` is given it:
/// the event as stored, with each variable another kind uses absent
/// (given here as null, which the template reads the same way).
fn timeline_events(s: &Scene) -> Vec<Value> {
    use nightingale::timeline::{DeliveryStatus, Medium, Purpose, TimelineEvent as T};
    let (staff, name) = (s.clinician.id.clone(), s.clinician.name.clone());
    let events = [
        T::Received {
            from: "carer (daughter)".into(),
            text: "Mum is more breathless tonight".into(),
            voicemail: false,
        },
        T::transcription("patient", "I had a fall".into()),
        T::RedFlag {
            phrase: "chest pain".into(),
        },
        T::Paged {
            staff: staff.clone(),
            name: name.clone(),
            level: "1".into(),
            code: 12,
        },
        T::Sent {
            to: name.clone(),
            medium: Medium::Call,
            purpose: Purpose::CallPage,
            provider_id: "CA1".into(),
            queued_at: None,
            attempts: Some(2),
        },
        T::Sent {
            to: "patient".into(),
            medium: Medium::Text,
            purpose: Purpose::DeleteRecording,
            provider_id: "RE1".into(),
            queued_at: None,
            attempts: None,
        },
        T::Dropped {
            to: name.clone(),
            medium: Medium::Text,
            purpose: Purpose::Page,
            reason: "accepted".into(),
        },
        T::SendFailed {
            to: "patient".into(),
            medium: Medium::Email,
            purpose: Purpose::Notice,
            reason: "550 mailbox full".into(),
            will_retry: true,
        },
        T::Delivery {
            to: name.clone(),
            medium: Medium::Text,
            purpose: Purpose::Page,
            status: DeliveryStatus::Undelivered,
            error_code: Some(30003),
        },
        T::Escalated {
            to: "level 2".into(),
            reason: "not accepted in 10 minutes".into(),
        },
        T::Passed {
            staff: staff.clone(),
            name: name.clone(),
        },
        T::Accepted {
            staff: staff.clone(),
            name: name.clone(),
        },
        T::Resolved {
            staff: Some(staff.clone()),
            name: Some(name.clone()),
            note: Some("Called back, advice given".into()),
        },
        T::Resolved {
            staff: None,
            name: None,
            note: None,
        },
        T::Advised111,
        T::Handover {
            staff: staff.clone(),
            name: name.clone(),
        },
        T::Reminded {
            staff: staff.clone(),
            name: name.clone(),
        },
        T::Forwarded {
            staff: staff.clone(),
            name: name.clone(),
            messages: Some(2),
        },
        T::OptOut { opted_out: true },
        T::OptOut { opted_out: false },
        T::note("Twilio could not transcribe the voicemail"),
        T::Call {
            call: "CA2".into(),
            outcome: "live".into(),
            name: Some(name),
            came_in: None,
            level: Some(1),
        },
        T::Call {
            call: "CA3".into(),
            outcome: "voicemail".into(),
            name: None,
            came_in: None,
            level: None,
        },
    ];
    let variables = variables_of(&root().join("templates"), "timeline/event.txt");
    events
        .iter()
        .map(|event| {
            let mut context = serde_json::to_value(event).unwrap();
            let fields = context.as_object_mut().unwrap();
            for v in &variables {
                fields.entry(v.clone()).or_insert(Value::Null);
            }
            context
        })
        .collect()
}

/// Files under `templates/` that are not templates.
const NOT_TEMPLATES: &[&str] = &["README.md", "red_flags.txt", "cy"];

/// Word pairs that may stand doubled on purpose ("that that"), lowercase.
const DOUBLES_ALLOWED: &[&str] = &[];

/// The longest text: three SMS segments of plain (GSM-7) characters.
const SMS_BUDGET: usize = 480;

/// A sender's words as a page quotes them, at the longest.
const QUOTE: &str = "Mum was discharged today and her leg dressing is soaked through already. Should I change it or...";

/// A sender's words in full, as the concern's page shows them.
const MESSAGE: &str = "Mum was discharged today and her leg dressing is soaked through already. Should I change it or wait for the nurse in the morning?";

/// The signed-in person a staff page is for: the scene's clinician, as
/// `nightingale::http::web::Staff` serialises them.
fn staff(s: &Scene, manager: bool) -> Value {
    let service = s.service.id.as_str();
    json!({
        "id": s.clinician.id.as_str(),
        "name": s.clinician.name,
        "role": s.clinician.role,
        "roles": {
            "trust_manager": false,
            "manages": if manager { vec![service] } else { vec![] },
            "part_of": [service],
        },
        "csrf": "kq3vJ0cX2m0u9e8V6wq0m9d1gqv7c8n0m4kq2vJ0cX2",
    })
}

/// The page a page's link opens, for each state a clinician may find a
/// concern in (src/http/pages.rs `concern_view` and `show`).
fn concern_pages(s: &Scene) -> Vec<Value> {
    let timeline = json!([
        {"at": "Fri 27 Nov 19:05", "text": format!("Message from the carer (daughter): “{MESSAGE}”")},
        {"at": "Fri 27 Nov 19:05", "text": format!("Paged {} (level 1), code 12", s.clinician.name)},
        {"at": "Fri 27 Nov 19:05", "text": "Text to carer (daughter) (notice) sent"},
    ]);
    let mut open = json!({
        "code": "12", "service": s.service.name, "urgent": false, "patient": "Margaret Evans",
        "status": "Waiting for someone to accept", "text": MESSAGE, "party": "carer (daughter)",
        "discharged": "Fri 27 Nov 17:30", "context": "Ward 7; admitted with cellulitis of the left leg; dressings daily",
        "phone": "+447700900802", "email": null, "opened": "Fri 27 Nov 19:05", "can_act": true, "can_resolve": true,
        "action_url": "/c/0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f?s=amara-okafor&e=1796083500&sig=4f1c9a0b",
        "sig": "4f1c9a0b", "timeline": timeline, "expires": "Sat 28 Nov 19:05", "recording_url": null, "can_call": true,
        "recognised": "enrolled_phone",
    });
    // A patient with a long-term condition, their co-ordinator and two
    // earlier concerns: one resolved with a note, one accepted.
    let mut ongoing = open.clone();
    ongoing["discharged"] = Value::Null;
    ongoing["care"] = json!("Ongoing (long-term condition), review due 1 Dec 2027");
    ongoing["coordinator"] = json!("Bethan Lloyd, Community matron (heart failure)");
    ongoing["context"] = json!("Heart failure (NYHA III); daily weights; furosemide 40 mg");
    ongoing["recognised"] = json!("email_dmarc_at_relay");
    ongoing["earlier"] = json!([
        {"opened": "Wed 25 Nov 21:14", "party": "carer (wife)", "text": "His ankles are swollen again",
         "outcome": format!("Resolved by {} at Wed 25 Nov 21:40: “Extra furosemide tonight, matron to visit Monday”", s.clinician.name)},
        {"opened": "Thu 19 Nov 02:05", "party": "patient", "text": "",
         "outcome": format!("Accepted by {} at Thu 19 Nov 02:11, not yet resolved", s.clinician.name)},
    ]);
    open["care"] = json!("After discharge, until Sun 27 Dec 17:30");
    open["coordinator"] = Value::Null;
    open["earlier"] = json!([]);
    let mut accepted = open.clone();
    accepted["status"] = json!(format!(
        "Accepted by {} at Fri 27 Nov 19:09",
        s.clinician.name
    ));
    accepted["can_act"] = json!(false);
    // The clinician who accepted it, on the page they land on.
    let mut mine = accepted.clone();
    mine["status"] = json!("You have accepted this (at Fri 27 Nov 19:09)");
    // A carer enrolled with an email and no phone.
    let mut by_email = open.clone();
    by_email["phone"] = Value::Null;
    by_email["email"] = json!("sian.evans@example.org");
    by_email["can_call"] = json!(false);
    by_email["recognised"] = json!("email_envelope_matches");
    let mut stranger = open.clone();
    stranger["patient"] = json!("Unknown sender");
    stranger["party"] = json!("unknown sender");
    stranger["urgent"] = json!(true);
    stranger["discharged"] = Value::Null;
    stranger["context"] = Value::Null;
    stranger["care"] = Value::Null;
    stranger["service"] = json!("Out-of-hours service");
    // The code is empty when it cannot be looked up.
    stranger["code"] = json!("");
    stranger["recognised"] = json!("unknown_number");
    // A stranger's email: nobody paged, kept for the in-hours team.
    let mut stranger_email = stranger.clone();
    stranger_email["urgent"] = json!(false);
    stranger_email["service"] = json!(s.service.name);
    stranger_email["status"] =
        json!("Not paged: an email from an unknown sender, kept for the in-hours team");
    stranger_email["can_act"] = json!(false);
    stranger_email["can_call"] = json!(false);
    stranger_email["phone"] = Value::Null;
    stranger_email["email"] = json!("j.okoro@example.net");
    stranger_email["recognised"] = json!("unknown_email");
    // A concern stored before recognition was recorded.
    let mut unrecorded = open.clone();
    unrecorded["recognised"] = Value::Null;
    // A voicemail, with its recording behind the link.
    let mut voicemail = open.clone();
    voicemail["text"] = json!("");
    voicemail["recording_url"] = json!(
        "/c/0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f/recording?s=amara-okafor&e=1796083500&sig=4f1c9a0b"
    );
    vec![
        open,
        accepted,
        mine,
        by_email,
        stranger,
        stranger_email,
        unrecorded,
        voicemail,
        ongoing,
    ]
}

/// A welcome by email, for someone enrolled with an email and no phone.
fn email_welcome(s: &Scene) -> Vec<Value> {
    vec![
        json!({"first_name": "Sian", "service": s.service.patient_name,
               "address": "nightingale@riverside-nhs.example", "trust": s.trust}),
        json!({"first_name": "Siân", "service": s.service.patient_name,
               "address": "nightingale@riverside-nhs.example", "trust": s.trust}),
    ]
}

/// The answer to a stranger's email: with our number, and without one
/// (a trust with no Twilio number configured).
fn email_stranger(s: &Scene) -> Vec<Value> {
    vec![
        json!({"trust": s.trust, "number": "+441632960000"}),
        json!({"trust": s.trust, "number": null}),
    ]
}

/// The morning handover by email: a team's night, a co-ordinator's own
/// patients, a quiet night with something older still open.
fn email_handover(s: &Scene) -> Vec<Value> {
    let link = format!("{BASE}/staff/handover/{}", s.service.id);
    vec![
        json!({"summary": handover(s, 5), "link": link, "mine": false, "trust": s.trust}),
        json!({"summary": handover(s, 2), "link": format!("{link}?mine=1"), "mine": true, "trust": s.trust}),
        json!({"summary": quiet(s), "link": link, "mine": false, "trust": s.trust}),
    ]
}

fn link(s: &Scene) -> String {
    format!(
        "https://nightingale.riverside-nhs.example/c/0d5f6c1e-3b2a-4f7e-9c8d-1a2b3c4d5e6f?s={}&e=1796083500&sig=4f1c9a0b7e2d6c3f8a5b1e0d9c7f2a64",
        s.clinician.id
    )
}

/// The short link a page SMS carries, as long as a trust's would be.
fn short_link(s: &Scene) -> String {
    nightingale::links::LinkSigner::new(vec![7; 32], "https://nightingale.riverside-nhs.example")
        .short_link(
            nightingale::concern::ConcernId::new(),
            &s.clinician.id,
            parse_instant("2026-11-27T19:05").unwrap(),
        )
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every template file, as its name relative to `templates/` (`sms/page.txt`).
fn templates_on_disk(dir: &Path, under: &str, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let path = if under.is_empty() {
            name.clone()
        } else {
            format!("{under}/{name}")
        };
        if NOT_TEMPLATES.contains(&path.as_str()) {
            continue; // `cy/` holds translations: see every_welsh_template_reads_well…
        }
        if entry.file_type().unwrap().is_dir() {
            templates_on_disk(&entry.path(), &path, found);
        } else {
            found.insert(path);
        }
    }
}

#[test]
fn every_template_reads_well_for_every_service() {
    let dir = root().join("templates");
    let mut on_disk = BTreeSet::new();
    templates_on_disk(&dir, "", &mut on_disk);
    let in_table: BTreeSet<String> = CONTEXTS.iter().map(|(n, _)| n.to_string()).collect();
    let missing: Vec<_> = on_disk.difference(&in_table).collect();
    assert!(
        missing.is_empty(),
        "add a context for {missing:?} to CONTEXTS in tests/templates.rs (what the code renders it with)"
    );
    let stale: Vec<_> = in_table.difference(&on_disk).collect();
    assert!(
        stale.is_empty(),
        "CONTEXTS names templates that are not on disk: {stale:?}"
    );

    let rota: Rota = load_dir(&root().join("rota")).unwrap_or_else(|p| panic!("{p}"));
    let templates = Templates::load(&dir).unwrap();
    let friday_evening = parse_instant("2026-11-27T19:05").unwrap();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    // Each text's segments, fewest and most, over every service and context.
    let mut segment_counts: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (name, contexts) in CONTEXTS {
        let variables = variables_of(&dir, name);
        if name.starts_with("sms/") {
            let fixed = fixed_text(&std::fs::read_to_string(dir.join(name)).unwrap());
            let odd: String = fixed.chars().filter(|c| !is_gsm7(*c)).collect();
            if !odd.is_empty() {
                problems.push(format!(
                    "{name}: {odd:?} is not in the plain SMS alphabet (GSM-7); it makes every text with it cost twice as many segments"
                ));
            }
        }
        problems.extend(read_every_rendering(
            &rota,
            friday_evening,
            name,
            *contexts,
            &variables,
            &mut seen,
            &mut segment_counts,
            |context| Ok(templates.render(name, context)?),
        ));
    }
    print_segments(&segment_counts);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Print each text's segments, fewest and most over every service and context.
fn print_segments(counts: &std::collections::BTreeMap<String, (usize, usize)>) {
    println!(
        "SMS segments of each text (GSM-7, 153 characters to a segment when there are several):"
    );
    for (name, (fewest, most)) in counts {
        if fewest == most {
            println!("  {name}: {most}");
        } else {
            println!("  {name}: {fewest} to {most}");
        }
    }
}

/// Render `name` with each of its contexts for each demo service, show
/// each rendering not `seen` before, and say what is wrong with it.
#[allow(clippy::too_many_arguments)] // what is read, and the two tallies it adds to
fn read_every_rendering(
    rota: &Rota,
    at_time: nightingale::clock::Instant,
    name: &str,
    contexts: Contexts,
    variables: &BTreeSet<String>,
    seen: &mut BTreeSet<String>,
    segments: &mut std::collections::BTreeMap<String, (usize, usize)>,
    render: impl Fn(&Value) -> anyhow::Result<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for service in rota.services() {
        let ix = rota.service(service.id.as_str()).unwrap();
        let chain = rota.resolve(ix, at_time);
        let scene = Scene {
            service,
            trust: &rota.trust_name,
            clinician: chain.levels[0].on_call[0].person,
        };
        let contexts = contexts(&scene);
        for (i, context) in contexts.iter().enumerate() {
            let at = format!("{name} · {} · {} of {}", service.id, i + 1, contexts.len());
            // `asset` is a function every template has (src/assets.rs).
            for v in variables.iter().filter(|v| *v != "asset") {
                if context.get(v).is_none() {
                    problems.push(format!(
                        "{at}: the template uses `{v}`, which its context does not give: is the code passing it?"
                    ));
                }
            }
            // A text page quotes as much as fits two segments, as the renderer does.
            let context = &if name == "sms/page.txt" && context["call"].is_null() {
                let mut framed = context.clone();
                framed["text"] = json!("");
                let frame = render(&framed).unwrap();
                framed["text"] = json!(page_quote(&frame, context["text"].as_str().unwrap()));
                framed
            } else {
                context.clone()
            };
            let rendered = render(context).unwrap_or_else(|e| panic!("{at}: {e:#}"));
            if name.contains("sms/") {
                let (n, _) = sms_segments(&rendered);
                let counts = segments.entry(name.to_owned()).or_insert((n, n));
                *counts = (counts.0.min(n), counts.1.max(n));
                if name == "sms/page.txt" && n > 2 {
                    problems.push(format!("{at}: a page in {n} segments: pages keep to two"));
                }
            }
            if !seen.insert(rendered.clone()) {
                continue; // the same words for another service: read and checked once
            }
            show(&at, name, &rendered);
            problems.extend(
                check(name, &rendered)
                    .into_iter()
                    .map(|p| format!("{at}: {p}")),
            );
        }
    }
    problems
}

/// What a Welsh-speaking patient must never read in English: the welcome,
/// every answer about her message, 111 and 999 advice, and check-ins.
const MUST_BE_IN_WELSH: &[&str] = &[
    "sms/welcome.txt",
    "sms/received.txt",
    "sms/received_unknown.txt",
    "sms/red_flag.txt",
    "sms/accepted.txt",
    "sms/call_111.txt",
    "sms/resolved.txt",
    "sms/check_in.txt",
    "sms/check_in_thanks.txt",
];

/// The other templates a patient or carer reads (to clinicians, texts are
/// English): translated or not, listed.
const ALSO_TO_PATIENTS: &[&str] = &[
    "sms/no_pictures.txt",
    "sms/no_attachments.txt",
    "email/notice_subject.txt",
    "email/message.txt",
    "email/message.html",
    "email/welcome_subject.txt",
    "email/welcome.txt",
    "email/welcome.html",
];

/// Every Welsh template (`templates/cy/…`) read as a Welsh-speaking
/// patient or carer would read it, for every demo service: each
/// translates an English template and is rendered with the English one's
/// contexts (so it can use no variable the code does not pass), checked
/// as the English are, in plain SMS characters. A text not translated is
/// sent in English: that is listed, not refused.
#[test]
fn every_welsh_template_reads_well_for_every_service() {
    use nightingale::directory::Language;
    let dir = root().join("templates");
    let mut welsh = BTreeSet::new();
    templates_on_disk(&dir.join("cy"), "", &mut welsh);
    let rota: Rota = load_dir(&root().join("rota")).unwrap_or_else(|p| panic!("{p}"));
    let templates = Templates::load(&dir).unwrap();
    let friday_evening = parse_instant("2026-11-27T19:05").unwrap();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    // Each Welsh text's segments, fewest and most.
    let mut segment_counts: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for name in &welsh {
        let Some((_, contexts)) = CONTEXTS.iter().find(|(n, _)| n == name) else {
            problems.push(format!(
                "cy/{name} translates no English template: name it as the English one is named"
            ));
            continue;
        };
        assert!(templates.is_translated(Language::Cy, name), "{name}");
        let path = format!("cy/{name}");
        if name.starts_with("sms/") {
            let fixed = fixed_text(&std::fs::read_to_string(dir.join(&path)).unwrap());
            let odd: String = fixed.chars().filter(|c| !is_gsm7(*c)).collect();
            if !odd.is_empty() {
                problems.push(format!(
                    "{path}: {odd:?} is not in the plain SMS alphabet (GSM-7): write the word without its to bach, or choose another"
                ));
            }
        }
        problems.extend(read_every_rendering(
            &rota,
            friday_evening,
            &path,
            *contexts,
            &variables_of(&dir, &path),
            &mut seen,
            &mut segment_counts,
            |context| Ok(templates.render_in(Language::Cy, name, context)?),
        ));
    }
    let untranslated: Vec<&str> = ALSO_TO_PATIENTS
        .iter()
        .copied()
        .filter(|n| !welsh.contains(*n))
        .collect();
    println!("── sent in English to a Welsh-speaking patient (not translated): {untranslated:?}");
    for name in MUST_BE_IN_WELSH {
        if !welsh.contains(*name) {
            problems.push(format!("{name} has no Welsh: cy/{name}"));
        }
    }
    print_segments(&segment_counts);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The variables a template reads from its context.
fn variables_of(dir: &Path, name: &str) -> BTreeSet<String> {
    let mut env = minijinja::Environment::new();
    env.set_loader(minijinja::path_loader(dir));
    env.get_template(name)
        .unwrap()
        .undeclared_variables(false)
        .into_iter()
        .collect()
}

fn show(at: &str, name: &str, rendered: &str) {
    if name.starts_with("sms/") {
        let (segments, alphabet) = segments(rendered);
        println!(
            "── {at} · {} characters, {segments} segment(s) in {alphabet}\n{rendered}\n",
            rendered.chars().count()
        );
    } else {
        println!("── {at}\n{}\n", text_nodes(rendered).join("\n"));
    }
}

/// What is wrong with one rendering, in words.
fn check(name: &str, rendered: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for markup in ["{{", "}}", "{%", "%}", "{#", "#}"] {
        if rendered.contains(markup) {
            problems.push(format!("leftover template markup {markup:?}"));
        }
    }
    let nodes = if name.starts_with("sms/") {
        vec![rendered.to_owned()]
    } else {
        problems.extend(empty_elements(rendered));
        problems.extend(inline_styles(name, rendered));
        text_nodes(rendered)
    };
    for node in &nodes {
        for bad in ["()", "( )", "[]", "\"\"", "“”", "‘’", "''"] {
            if node.contains(bad) {
                problems.push(format!("empty brackets or quotes {bad:?} in {node:?}"));
            }
        }
        for bad in [" ,", " .", " ;", " :", " ?", " !", ",,", ",.", ".,"] {
            if node.contains(bad) {
                problems.push(format!("spacing artefact {bad:?} in {node:?}"));
            }
        }
        if node.contains("  ") {
            problems.push(format!("double space in {node:?}"));
        }
        if node != node.trim() {
            problems.push(format!("space at an end of {node:?}"));
        }
        let words: Vec<&str> = node.split_whitespace().collect();
        for word in &words {
            let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
            if ["None", "none", "undefined", "null", "NaN"].contains(&bare) {
                problems.push(format!("unrendered value {bare:?} in {node:?}"));
            }
        }
        for pair in words.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let joined = a.ends_with(char::is_alphanumeric) && b.starts_with(char::is_alphanumeric);
            let (a, b) = (bare_lower(a), bare_lower(b));
            if joined
                && !a.is_empty()
                && a == b
                && !DOUBLES_ALLOWED.contains(&format!("{a} {b}").as_str())
            {
                problems.push(format!("doubled word \"{a} {b}\" in {node:?}"));
            }
        }
    }
    if name.starts_with("sms/") && rendered.chars().count() > SMS_BUDGET {
        problems.push(format!(
            "{} characters: over the budget of {SMS_BUDGET} (three segments)",
            rendered.chars().count()
        ));
    }
    problems
}

fn bare_lower(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// The text a reader sees in HTML or TwiML, one string for each run of
/// text between tags, entities decoded; styles and scripts left out.
fn text_nodes(markup: &str) -> Vec<String> {
    let mut nodes = Vec::new();
    let mut rest = markup;
    let mut skipping: Option<&str> = None;
    while let Some(open) = rest.find('<') {
        if skipping.is_none() {
            nodes.push(rest[..open].to_owned());
        }
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
        let tag = rest[open..close].to_ascii_lowercase();
        skipping = match skipping {
            Some(end) if tag.starts_with(end) => None,
            Some(end) => Some(end),
            None if tag.starts_with("<style") => Some("</style"),
            None if tag.starts_with("<script") => Some("</script"),
            None => None,
        };
        rest = &rest[close..];
    }
    nodes.push(rest.to_owned());
    nodes
        .into_iter()
        .flat_map(|n| {
            n.lines()
                .map(|l| {
                    l.trim()
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&#x27;", "'")
                        .replace("&#x2f;", "/")
                        .replace("&amp;", "&")
                })
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// A `<style>` block or a `style=` attribute in a page served over HTTP:
/// the security policy (`style-src 'self'`) would drop it, so the page
/// would lose its look. Styles go in `assets/site.css`. (An email's HTML
/// is not served by us: mail clients need its inline styles.)
fn inline_styles(name: &str, html: &str) -> Vec<String> {
    if name.starts_with("email/") {
        return Vec::new();
    }
    let lower = html.to_ascii_lowercase();
    ["<style", " style="]
        .iter()
        .filter(|bad| lower.contains(*bad))
        .map(|bad| format!("inline style {bad:?}: put it in assets/site.css"))
        .collect()
}

/// Elements with nothing in them, like `<dd></dd>`: a value that was not there.
fn empty_elements(html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, _) in html.match_indices("</") {
        let name: String = html[i + 2..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let before = &html[..i];
        if let Some(open) = before.rfind('<')
            && before.ends_with('>')
            && before[open + 1..].starts_with(&name)
            && before[open + 1 + name.len()..].starts_with([' ', '>'])
            // A script loaded from a file is empty by design.
            && !(name == "script" && before[open..].contains(" src="))
            // So is a box to write in.
            && name != "textarea"
        {
            problems.push(format!("empty <{name}> element"));
        }
    }
    problems
}

/// A template's own words: everything outside `{{ }}`, `{% %}` and `{# #}`.
fn fixed_text(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    while let Some(start) = rest.find(['{']) {
        let close = match &rest[start..].get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find(close)
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// How many segments a text goes out in, and in which alphabet.
fn segments(text: &str) -> (usize, &'static str) {
    match sms_segments(text) {
        (n, true) => (n, "GSM-7"),
        (n, false) => (n, "UCS-2"),
    }
}

#[test]
fn the_checks_catch_what_they_are_for() {
    assert!(!check("sms/x.txt", "We are contacting the the children's team.").is_empty());
    assert!(!check("sms/x.txt", "We are contacting The the team.").is_empty());
    assert!(check("sms/x.txt", "Is it that? That is fine.").is_empty());
    assert!(!check("sms/x.txt", "Hello {{ name }}.").is_empty());
    assert!(!check("sms/x.txt", "Amara Okafor, , has it.").is_empty());
    assert!(!check("sms/x.txt", "Amara Okafor () has it.").is_empty());
    assert!(!check("sms/x.txt", "Hello none.").is_empty());
    assert!(!check("sms/x.txt", "Hello  Margaret.").is_empty());
    assert!(!check("sms/x.txt", "a. ".repeat(200).trim()).is_empty());
    assert!(!check("pages/x.html", "<dl><dd></dd></dl>").is_empty());
    assert_eq!(
        check(
            "pages/x.html",
            "<style>p { margin: 0 ; }</style><p>Fine.</p>"
        ),
        ["inline style \"<style\": put it in assets/site.css"],
        "a page's styles are in our stylesheet, and CSS is not read as words"
    );
    assert!(!check("pages/x.html", "<p style=\"color: red\">Red.</p>").is_empty());
    assert!(check("email/x.html", "<p style=\"color: red\">Red.</p>").is_empty());
    assert_eq!(
        fixed_text("Hi {{ a }}{% if b %}, “x”{% endif %}"),
        "Hi , “x”"
    );
    assert_eq!(segments(&"a".repeat(160)), (1, "GSM-7"));
    assert_eq!(segments(&"a".repeat(161)), (2, "GSM-7"));
    assert_eq!(segments(&"a".repeat(306)), (2, "GSM-7"));
    assert_eq!(segments(&"a".repeat(307)), (3, "GSM-7"));
    assert_eq!(segments("a…"), (1, "UCS-2"));
}
