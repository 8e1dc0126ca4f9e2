//! How a concern's timeline reads: one line per [`TimelineEvent`], in the
//! words of `templates/timeline/event.txt`.
//!
//! The timeline is typed and stored as data ([`crate::timeline`] is a leaf
//! and knows no templates); its words are rendered here, wherever staff
//! read it: a concern's page, the demo's and the handover's lists.

use crate::timeline::TimelineEvent;

use super::Templates;

/// The template a timeline's line is worded by: given the event as it is
/// stored (`event` names its kind, then its fields).
const EVENT: &str = "timeline/event.txt";

impl Templates {
    /// How `event` reads on a concern's timeline ("Accepted by Chen Li").
    pub fn timeline_line(&self, event: &TimelineEvent) -> Result<String, super::TemplateError> {
        self.render(EVENT, event)
    }
}

#[cfg(test)]
mod tests {
    use crate::directory::{Address, EmailAddress, Id, PhoneNumber};
    use crate::timeline::{DeliveryStatus, FailedOver, Medium, Purpose, TimelineEvent};

    fn id() -> Id {
        Id::parse("chen-li").unwrap()
    }

    /// One event for every way the timeline words one, each purpose, medium and
    /// optional field included.
    fn every_kind_of_event() -> Vec<TimelineEvent> {
        use TimelineEvent as T;
        let mut events = vec![
            T::Received {
                from: "patient".into(),
                text: "I feel worse".into(),
                voicemail: false,
            },
            T::transcription("carer (daughter)", "Mum fell".into()),
            T::Received {
                from: "patient".into(),
                text: "<b>Mum</b> & \"dad\"\nline two  ".into(),
                voicemail: false,
            },
            T::RedFlag {
                phrase: "chest pain".into(),
            },
            T::Paged {
                staff: id(),
                name: "Chen Li".into(),
                level: "1".into(),
                code: 123,
            },
        ];
        let media = [Medium::Text, Medium::Call, Medium::Email];
        // The purposes Rust wrote these for (ADR 31's later ones are read
        // by the same template: `later_purposes_read_as_the_others`).
        for (i, purpose) in Purpose::ALL.into_iter().take(11).enumerate() {
            let medium = media[i % 3];
            events.push(T::Sent {
                to: "Chen Li".into(),
                medium,
                purpose,
                provider_id: "SM1".into(),
                queued_at: (i % 2 == 0).then(|| "2026-11-27T19:05:00Z".parse().unwrap()),
                attempts: [None, Some(1), Some(2), Some(0)][i % 4],
            });
            events.push(T::Dropped {
                to: "patient".into(),
                medium,
                purpose,
                reason: "accepted".into(),
            });
            events.push(T::SendFailed {
                to: "patient".into(),
                medium,
                purpose,
                reason: "550 mailbox full".into(),
                will_retry: i % 2 == 0,
            });
            events.push(T::Delivery {
                to: "Chen Li".into(),
                medium,
                purpose,
                status: [
                    DeliveryStatus::Delivered,
                    DeliveryStatus::NoAnswer,
                    DeliveryStatus::Other("delayed".into()),
                ][i % 3]
                    .clone(),
                error_code: [None, Some(30003), Some(0)][i % 3],
            });
        }
        events.extend([
            T::Delivery {
                to: "Chen Li".into(),
                medium: Medium::Text,
                purpose: Purpose::CallPage,
                status: DeliveryStatus::Busy,
                error_code: None,
            },
            T::Escalated {
                to: "level 2".into(),
                reason: "not accepted in 10 minutes".into(),
            },
            T::Passed {
                staff: id(),
                name: "Chen Li".into(),
            },
            T::Accepted {
                staff: id(),
                name: "Chen Li".into(),
            },
            T::Resolved {
                staff: Some(id()),
                name: Some("Chen Li".into()),
                note: Some("Called back; advice given\n".into()),
            },
            T::Resolved {
                staff: None,
                name: None,
                note: None,
            },
            T::Resolved {
                staff: None,
                name: Some(String::new()),
                note: Some(String::new()),
            },
            T::Advised111,
            T::Handover {
                staff: id(),
                name: "Amara Okafor".into(),
            },
            T::Reminded {
                staff: id(),
                name: "Chen Li".into(),
            },
            T::Forwarded {
                staff: id(),
                name: "Chen Li".into(),
                messages: Some(3),
            },
            T::Forwarded {
                staff: id(),
                name: "Chen Li".into(),
                messages: Some(1),
            },
            T::Forwarded {
                staff: id(),
                name: "Chen Li".into(),
                messages: None,
            },
            T::OptOut { opted_out: true },
            T::OptOut { opted_out: false },
            T::note("Twilio could not transcribe the voicemail"),
            T::note("a note that ends in a newline & <tag>\n"),
            T::Note {
                text: "page to Chen Li did not reach them; calling their next contact".into(),
                failed_over: Some(FailedOver {
                    staff: id(),
                    next: Medium::Call,
                }),
            },
        ]);
        for (outcome, name) in [
            ("live", Some("Chen Li")),
            ("live", None),
            ("voicemail", None),
            ("voicemail", Some("Chen Li")),
            ("missed", None),
            ("missed", Some("Chen Li")),
        ] {
            events.push(T::Call {
                call: "CA1".into(),
                outcome: outcome.into(),
                name: name.map(str::to_owned),
                came_in: None,
                level: Some(1),
            });
        }
        events
    }

    /// The lines `impl Display for TimelineEvent` wrote, before its words
    /// moved to the template, for [`every_kind_of_event`] in order.
    const AS_RUST_WROTE_THEM: &[&str] = &[
        "Message from the patient: “I feel worse”",
        "Message from the carer (daughter), voicemail transcribed: “Mum fell”",
        "Message from the patient: “<b>Mum</b> & \"dad\"\nline two  ”",
        "Red flag “chest pain”: 999 advice sent, levels 1 and 2 paged",
        "Paged Chen Li (1), code 123",
        "Text to Chen Li (welcome) sent",
        "Text to patient (welcome) not sent: accepted",
        "Text to patient (welcome) failed: 550 mailbox full; retrying",
        "Text to Chen Li: delivered",
        "Call to Chen Li (page) sent",
        "Call to patient (page) not sent: accepted",
        "Call to patient (page) failed: 550 mailbox full",
        "Call to Chen Li: no-answer (error 30003)",
        "Email to Chen Li (call page) sent after 2 attempts",
        "Email to patient (call page) not sent: accepted",
        "Email to patient (call page) failed: 550 mailbox full; retrying",
        "Call to Chen Li: delayed (error 0)",
        "Text to Chen Li (notice) sent",
        "Text to patient (notice) not sent: accepted",
        "Text to patient (notice) failed: 550 mailbox full",
        "Text to Chen Li: delivered",
        "Call to Chen Li (forward) sent",
        "Call to patient (forward) not sent: accepted",
        "Call to patient (forward) failed: 550 mailbox full; retrying",
        "Call to Chen Li: no-answer (error 30003)",
        "Email to Chen Li (staff notice) sent",
        "Email to patient (staff notice) not sent: accepted",
        "Email to patient (staff notice) failed: 550 mailbox full",
        "Email to Chen Li: delayed (error 0)",
        "Text to Chen Li (call back) sent after 2 attempts",
        "Text to patient (call back) not sent: accepted",
        "Text to patient (call back) failed: 550 mailbox full; retrying",
        "Text to Chen Li: delivered",
        "Recording of the message deleted at Twilio",
        "Call to patient (delete recording) not sent: accepted",
        "Call to patient (delete recording) failed: 550 mailbox full",
        "Call to Chen Li: no-answer (error 30003)",
        "Email to Chen Li (sign in code) sent",
        "Email to patient (sign in code) not sent: accepted",
        "Email to patient (sign in code) failed: 550 mailbox full; retrying",
        "Email to Chen Li: delayed (error 0)",
        "Text to Chen Li (check in) sent",
        "Text to patient (check in) not sent: accepted",
        "Text to patient (check in) failed: 550 mailbox full",
        "Text to Chen Li: delivered",
        "Call to Chen Li (opt out) sent after 2 attempts",
        "Call to patient (opt out) not sent: accepted",
        "Call to patient (opt out) failed: 550 mailbox full; retrying",
        "Call to Chen Li: no-answer (error 30003)",
        "Call to Chen Li: busy",
        "Escalated to level 2: not accepted in 10 minutes",
        "Chen Li passed it on",
        "Accepted by Chen Li",
        "Resolved by Chen Li: Called back; advice given\n",
        "Resolved by Nightingale",
        "Resolved by : ",
        "Sender told to call NHS 111, or 999 in an emergency",
        "Handover: Amara Okafor now on call and paged",
        "Reminded Chen Li",
        "3 messages sent on to Chen Li",
        "Sent on to Chen Li",
        "Sent on to Chen Li",
        "Sender opted out of texts",
        "Sender opted back in to texts",
        "Twilio could not transcribe the voicemail",
        "a note that ends in a newline & <tag>\n",
        "page to Chen Li did not reach them; calling their next contact",
        "Phone call taken live by Chen Li",
        "Phone call reached nobody and left no message: call back",
        "Phone call: left a voicemail",
        "Phone call: left a voicemail",
        "Phone call reached nobody and left no message: call back",
        "Phone call reached nobody and left no message: call back",
    ];

    #[test]
    fn later_purposes_read_as_the_others() {
        let templates = super::super::tests::templates();
        for purpose in &Purpose::ALL[11..] {
            let sent = TimelineEvent::Sent {
                to: "Chen Li".into(),
                medium: Medium::Text,
                purpose: *purpose,
                provider_id: "SM1".into(),
                queued_at: None,
                attempts: None,
            };
            let line = templates.timeline_line(&sent).unwrap();
            let words = purpose.as_str().replace('_', " ");
            assert_eq!(line, format!("Text to Chen Li ({words}) sent"));
        }
    }

    #[test]
    fn every_kind_of_event_reads_as_it_did_when_rust_wrote_it() {
        let templates = super::super::tests::templates();
        let events = every_kind_of_event();
        assert_eq!(events.len(), AS_RUST_WROTE_THEM.len());
        for (event, before) in events.iter().zip(AS_RUST_WROTE_THEM) {
            assert_eq!(
                templates.timeline_line(event).unwrap(),
                *before,
                "{event:?}"
            );
        }
    }

    #[test]
    fn a_transcription_reads_as_the_callers_words_transcribed() {
        let new = TimelineEvent::transcription("patient", "I fell".into());
        assert_eq!(
            super::super::tests::templates()
                .timeline_line(&new)
                .unwrap(),
            "Message from the patient, voicemail transcribed: “I fell”"
        );
    }

    #[test]
    fn the_log_calls_a_call_a_call_and_an_email_an_email() {
        let son = Address::Email(EmailAddress::parse("rhys@home.example").unwrap());
        let phone = Address::Phone(PhoneNumber::parse("07700 900811").unwrap());
        let templates = super::super::tests::templates();
        let line = |event: TimelineEvent| templates.timeline_line(&event).unwrap();
        let sent = |medium| TimelineEvent::Sent {
            to: "carer (son)".into(),
            purpose: Purpose::Page,
            provider_id: "X1".into(),
            queued_at: None,
            attempts: None,
            medium,
        };
        assert_eq!(
            line(sent(Medium::of(&son, false))),
            "Email to carer (son) (page) sent"
        );
        assert_eq!(
            line(sent(Medium::of(&phone, true))),
            "Call to carer (son) (page) sent"
        );
        assert_eq!(
            line(sent(Medium::of(&phone, false))),
            "Text to carer (son) (page) sent"
        );
        // Stored before the medium was: read as a text.
        let old = r#"{"event":"sent","to":"patient","purpose":"notice","provider_id":"SM1"}"#;
        let read: TimelineEvent = serde_json::from_str(old).unwrap();
        assert_eq!(read, {
            let mut e = sent(Medium::Text);
            if let TimelineEvent::Sent {
                to,
                purpose,
                provider_id,
                ..
            } = &mut e
            {
                *to = "patient".into();
                *purpose = Purpose::Notice;
                *provider_id = "SM1".into();
            }
            e
        });
    }
}
