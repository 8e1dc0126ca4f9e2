//! The original-mode acknowledgement: `AA` (kept and acted on), `AE` (kept,
//! but its content cannot be used: an `ERR` says why), `AR` (not taken:
//! the sender should fix it or send it again). The ACK swaps sender and
//! receiver (MSH-3/4 ↔ MSH-5/6), copies MSH-10 into MSA-2, and answers in
//! the message's own version and separators.

use serde::{Deserialize, Serialize};

use super::adt::Header;
use super::er7::{Encoding, Writer};
use crate::clock::Instant;

/// MSA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AckCode {
    /// Application accept: stored and acted on (or kept for the trust).
    AA,
    /// Application error: kept, but its content cannot be used.
    AE,
    /// Application reject: not taken; fix it or send it again.
    AR,
}

impl AckCode {
    /// Its code, as MSA-1 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AA => "AA",
            Self::AE => "AE",
            Self::AR => "AR",
        }
    }
}

/// Why a message is rejected (`AR`): the sender should fix it or resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not an HL7 message (no MSH, or no separators).
    #[error("not an HL7 v2 message in ER7")]
    NotHl7,
    /// MSH-10 is empty, so the message cannot be told from a resend.
    #[error("MSH-10 (message control id) is empty")]
    NoControlId,
    /// MSH-9.1 is not ADT.
    #[error("only ADT messages are taken")]
    UnsupportedType,
    /// MSH-9.2 is an event not taken.
    #[error("this ADT event is not taken: send A01, A03, A04, A08, A11, A13, A28, A31 or A40")]
    UnsupportedEvent,
    /// MSH-12 is outside 2.3–2.5.1.
    #[error("this HL7 version is not taken: send 2.3, 2.3.1, 2.4, 2.5 or 2.5.1")]
    UnsupportedVersion,
    /// Larger than the listener takes.
    #[error("the message is larger than this receiver takes")]
    TooLarge,
    /// The store could not be written: send it again.
    #[error("the message could not be stored: send it again")]
    StoreUnavailable,
}

impl Rejection {
    /// The HL7 table 0357 code ERR-3 gives.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotHl7 => "100",
            Self::NoControlId => "101",
            Self::UnsupportedType => "200",
            Self::UnsupportedEvent => "201",
            Self::UnsupportedVersion => "203",
            Self::TooLarge | Self::StoreUnavailable => "207",
        }
    }

    /// A short name for logs and the feed page.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotHl7 => "not_hl7",
            Self::NoControlId => "no_control_id",
            Self::UnsupportedType => "unsupported_type",
            Self::UnsupportedEvent => "unsupported_event",
            Self::UnsupportedVersion => "unsupported_version",
            Self::TooLarge => "too_large",
            Self::StoreUnavailable => "store_unavailable",
        }
    }
}

/// What an `ERR` segment says: where, the table 0357 code, and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrDetail {
    /// ERR-2 (segment^sequence^field), empty when not about one field.
    pub location: String,
    /// ERR-3.1.
    pub code: String,
    /// ERR-3.2 and MSA-3.
    pub text: String,
}

/// Write the ACK to a message whose header is `to`, at `now`, with `id`
/// as its own MSH-10. A header read from nothing (a message that was not
/// HL7) gets an ACK with empty MSH-5/6 and MSA-2.
pub fn ack(
    to: &Header,
    encoding: Encoding,
    code: AckCode,
    error: Option<&ErrDetail>,
    now: Instant,
    id: &str,
) -> String {
    let version = if to.version.is_empty() {
        "2.4"
    } else {
        to.version.as_str()
    };
    let time = now
        .with_timezone(&crate::calendar::LONDON)
        .format("%Y%m%d%H%M%S")
        .to_string();
    let text = error.map_or("", |e| e.text.as_str());
    let mut w = Writer::new(encoding);
    w.segment(
        "MSH",
        &[
            &[to.receiving_application.as_str()],
            &[to.receiving_facility.as_str()],
            &[to.sending_application.as_str()],
            &[to.sending_facility.as_str()],
            &[time.as_str()],
            &[""],
            &["ACK", to.trigger.as_str(), "ACK"],
            &[id],
            &["P"],
            &[version],
        ],
    );
    w.segment(
        "MSA",
        &[&[code.as_str()], &[to.control_id.as_str()], &[text]],
    );
    if let Some(e) = error {
        let location: Vec<&str> = e.location.split('^').collect();
        let severity = if code == AckCode::AA { "W" } else { "E" };
        w.segment(
            "ERR",
            &[
                &[""],
                &location,
                &[e.code.as_str(), e.text.as_str(), "HL70357"],
                &[severity],
            ],
        );
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::er7::Message;

    #[test]
    fn an_ack_swaps_sender_and_receiver_and_names_the_message_it_answers() {
        let m = Message::parse(
            "MSH|^~\\&|PAS|RVJ|NIGHTINGALE|NGT|20261127173000||ADT^A03^ADT_A03|MSG0001|P|2.5.1\r",
        )
        .unwrap();
        let header = Header::read(&m);
        let now = "2026-11-27T17:30:01Z".parse().unwrap();
        let text = ack(&header, m.encoding, AckCode::AA, None, now, "ACK1");
        let a = Message::parse(&text).unwrap();
        let msh = a.msh();
        assert_eq!(a.get(msh, 3, 1), "NIGHTINGALE");
        assert_eq!(a.get(msh, 4, 1), "NGT");
        assert_eq!(a.get(msh, 5, 1), "PAS");
        assert_eq!(a.get(msh, 6, 1), "RVJ");
        assert_eq!(a.get(msh, 7, 1), "20261127173001");
        assert_eq!(a.get(msh, 9, 1), "ACK");
        assert_eq!(a.get(msh, 9, 2), "A03");
        assert_eq!(a.get(msh, 12, 1), "2.5.1");
        let msa = a.segment("MSA").unwrap();
        assert_eq!(a.get(msa, 1, 1), "AA");
        assert_eq!(a.get(msa, 2, 1), "MSG0001");
        assert!(a.segment("ERR").is_none());
    }

    #[test]
    fn an_error_is_told_in_err_and_msa_3() {
        let m =
            Message::parse("MSH|^~\\&|PAS|RVJ|NG|NGT|20261127173000||ADT^A03|M|P|2.4\r").unwrap();
        let err = ErrDetail {
            location: "PID^1^3".into(),
            code: "101".into(),
            text: "PID-3 has no NHS number (assigning authority NHS, type NH)".into(),
        };
        let now = "2026-11-27T17:30:01Z".parse().unwrap();
        let a = Message::parse(&ack(
            &Header::read(&m),
            m.encoding,
            AckCode::AE,
            Some(&err),
            now,
            "A",
        ))
        .unwrap();
        let e = a.segment("ERR").unwrap();
        assert_eq!(a.get(e, 2, 1), "PID");
        assert_eq!(a.get(e, 2, 3), "3");
        assert_eq!(a.get(e, 3, 1), "101");
        assert_eq!(a.get(e, 3, 2), err.text);
        assert_eq!(a.get(e, 4, 1), "E");
        assert_eq!(a.get(a.segment("MSA").unwrap(), 3, 1), err.text);
    }
}
