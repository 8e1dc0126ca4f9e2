//! An ADT message read into what Nightingale uses: who sent it (MSH), the
//! event, the patient (PID, NK1), where they were and when they left (PV1),
//! and for a merge the number merged away (MRG). Everything else in the
//! message is ignored.
//!
//! The fields, from the HL7 v2.3–2.5.1 tables and the UK v2.4 profile:
//! the NHS number is the `PID-3` repetition whose assigning authority
//! (CX.4) is `NHS` or whose type (CX.5) is `NH`; `PID-5` the name
//! (family^given), `PID-7` the date of birth, `PID-13` phones (a mobile as
//! equipment `CP` or use `PRS`) and email (use `NET`), `PID-15` the
//! language, `PID-29`/`PID-30` a death; `NK1-2/3/5` a next of kin's name,
//! relationship and phone; `PV1-3` the point of care, `PV1-36` the
//! discharge disposition, `PV1-45` the discharge time (else `MSH-7`).

use chrono::NaiveDate;

use super::er7::{Message, Segment};
use crate::clock::Instant;
use crate::directory::{EmailAddress, Language, NhsNumber, NhsNumberError, PhoneNumber};

/// The HL7 versions taken.
pub const VERSIONS: [&str; 5] = ["2.3", "2.3.1", "2.4", "2.5", "2.5.1"];

/// `PV1-36` discharge dispositions that mean the patient died: HL7 table
/// 0112's "expired" codes (20, 40, 41, 42) and the NHS Data Dictionary's
/// discharge destination 79 ("not applicable: patient died or stillbirth").
pub const DIED_DISPOSITIONS: [&str; 5] = ["20", "40", "41", "42", "79"];

/// Who sent a message and what it is, from MSH, read however odd the
/// message: what an ACK needs even for a message refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// MSH-3.
    pub sending_application: String,
    /// MSH-4.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// MSH-7, when it reads as a time.
    pub sent_at: Option<Instant>,
    /// MSH-9.1, e.g. `ADT`.
    pub message_type: String,
    /// MSH-9.2, e.g. `A03` (EVN-1 when MSH-9.2 is empty).
    pub trigger: String,
    /// MSH-10: the sender's id for this message.
    pub control_id: String,
    /// MSH-12, e.g. `2.4`.
    pub version: String,
}

impl Header {
    /// Read MSH (and EVN-1 for a v2.3 sender that leaves MSH-9.2 empty).
    pub fn read(m: &Message) -> Self {
        let msh = m.msh();
        let mut trigger = m.get(msh, 9, 2);
        if trigger.is_empty()
            && let Some(evn) = m.segment("EVN")
        {
            trigger = m.get(evn, 1, 1);
        }
        Self {
            sending_application: m.get(msh, 3, 1),
            sending_facility: m.get(msh, 4, 1),
            receiving_application: m.get(msh, 5, 1),
            receiving_facility: m.get(msh, 6, 1),
            sent_at: timestamp(&m.get(msh, 7, 1)),
            message_type: m.get(msh, 9, 1),
            trigger,
            control_id: m.get(msh, 10, 1),
            version: m.get(msh, 12, 1),
        }
    }

    /// The sender as its messages are kept: `MSH-3|MSH-4`. A duplicate is
    /// the same `MSH-10` from the same sender.
    pub fn sender(&self) -> String {
        format!("{}|{}", self.sending_application, self.sending_facility)
    }

    /// `ADT^A03`, as logs and the feed name the message.
    pub fn kind(&self) -> String {
        format!("{}^{}", self.message_type, self.trigger)
    }
}

/// The events acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Admit.
    A01,
    /// Register an outpatient or ED visit.
    A04,
    /// Update patient information.
    A08,
    /// Add person information.
    A28,
    /// Update person information.
    A31,
    /// Discharge: enrols.
    A03,
    /// Cancel admit.
    A11,
    /// Cancel discharge: ends what the A03 made.
    A13,
    /// Merge patient: the old NHS number's records move to the surviving one.
    A40,
}

impl Trigger {
    /// Every trigger taken.
    pub const ALL: [Trigger; 9] = [
        Self::A01,
        Self::A04,
        Self::A08,
        Self::A28,
        Self::A31,
        Self::A03,
        Self::A11,
        Self::A13,
        Self::A40,
    ];

    /// Read MSH-9.2; `None` for an event not taken.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Its code, e.g. `A03`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A01 => "A01",
            Self::A04 => "A04",
            Self::A08 => "A08",
            Self::A28 => "A28",
            Self::A31 => "A31",
            Self::A03 => "A03",
            Self::A11 => "A11",
            Self::A13 => "A13",
            Self::A40 => "A40",
        }
    }
}

/// A next of kin with a phone: a carer to be.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NextOfKin {
    /// NK1-2, as "Given Family".
    pub name: String,
    /// NK1-3, as words (`wife`), lower case.
    pub relationship: Option<String>,
    /// NK1-5.
    pub phone: PhoneNumber,
}

/// Keeps names out of logs.
impl std::fmt::Debug for NextOfKin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextOfKin")
            .field("phone", &self.phone)
            .finish_non_exhaustive()
    }
}

/// The patient as one message describes them. What the message leaves
/// out is `None` (or empty), so what earlier messages said is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientDetails {
    /// PID-3's NHS number.
    pub nhs_number: NhsNumber,
    /// PID-5 as "Given Family".
    pub name: Option<String>,
    /// PID-7.
    pub born: Option<NaiveDate>,
    /// PID-13's phones that read as UK numbers, mobiles first.
    pub phones: Vec<PhoneNumber>,
    /// PID-13's email (use `NET`).
    pub email: Option<EmailAddress>,
    /// PID-15.
    pub language: Option<Language>,
    /// NK1s with a phone; empty when the message has no NK1.
    pub next_of_kin: Vec<NextOfKin>,
    /// PID-29 set, PID-30 `Y`, or a PV1-36 that means death.
    pub died: bool,
}

/// Keeps names and numbers out of logs.
impl std::fmt::Debug for PatientDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientDetails")
            .field("nhs_number", &self.nhs_number)
            .field("died", &self.died)
            .finish_non_exhaustive()
    }
}

/// An ADT message, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adt {
    /// Who sent it, and its id.
    pub header: Header,
    /// What happened.
    pub trigger: Trigger,
    /// Who it happened to.
    pub patient: PatientDetails,
    /// PV1-3.1, the point of care: what maps a discharge to a service.
    pub location: Option<String>,
    /// PV1-45, or MSH-7 when that is empty.
    pub discharged_at: Option<Instant>,
    /// An A40's MRG-1: the NHS number merged into the patient's.
    pub merged_from: Option<NhsNumber>,
}

/// Why the content of a message cannot be used: it is answered `AE` and
/// kept for the trust to see. No variant carries what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// No PID segment.
    #[error("the message has no PID segment")]
    NoPid,
    /// PID-3 has no identifier with assigning authority NHS or type NH.
    #[error("PID-3 has no NHS number (assigning authority NHS, type NH)")]
    NoNhsNumber,
    /// PID-3's NHS number is not one.
    #[error("PID-3's NHS number is not valid: {0}")]
    BadNhsNumber(NhsNumberError),
    /// An A40 without an NHS number in MRG-1.
    #[error("the merge has no NHS number in MRG-1 to merge from")]
    NoMergeNumber,
    /// PID-5 gives no name to greet the patient by.
    #[error("PID-5 has no name")]
    NoName,
    /// The discharge time (PV1-45, else MSH-7) is more than a day ahead,
    /// or so long ago that the enrolment would have ended.
    #[error(
        "the discharge time (PV1-45, else MSH-7) is more than a day ahead or older than the enrolment window"
    )]
    DischargeTime,
    /// Nobody the enrolment could reach: no mobile or email for the
    /// patient, or a child with no next of kin with a phone.
    #[error(
        "no usable contact: the patient needs a mobile or an email in PID-13, or, under 16, a next of kin with a phone in NK1-5"
    )]
    NoUsableContact,
}

impl ContentError {
    /// Where in the message it is, as ERR-2 writes it (segment^seq^field).
    pub fn location(self) -> &'static str {
        match self {
            Self::NoPid => "PID",
            Self::NoNhsNumber | Self::BadNhsNumber(_) => "PID^1^3",
            Self::NoMergeNumber => "MRG^1^1",
            Self::NoName => "PID^1^5",
            Self::DischargeTime => "PV1^1^45",
            Self::NoUsableContact => "PID^1^13",
        }
    }

    /// The HL7 table 0357 code ERR-3 gives: 101 required field missing,
    /// 102 data type error.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadNhsNumber(_) | Self::DischargeTime => "102",
            _ => "101",
        }
    }

    /// A short name for logs and the feed page.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoPid => "no_pid",
            Self::NoNhsNumber => "no_nhs_number",
            Self::BadNhsNumber(_) => "bad_nhs_number",
            Self::NoMergeNumber => "no_merge_number",
            Self::NoName => "no_name",
            Self::DischargeTime => "discharge_time",
            Self::NoUsableContact => "no_usable_contact",
        }
    }
}

impl Adt {
    /// Read the parts of an ADT message Nightingale uses; `trigger` is the
    /// event already checked from its header.
    pub fn read(m: &Message, header: Header, trigger: Trigger) -> Result<Self, ContentError> {
        let pid = m.segment("PID").ok_or(ContentError::NoPid)?;
        let nhs_number = nhs_in(m, pid, 3)?.ok_or(ContentError::NoNhsNumber)?;
        let pv1 = m.segment("PV1");
        let disposition = pv1.map(|p| m.get(p, 36, 1)).unwrap_or_default();
        let died = !m.get(pid, 29, 1).trim().is_empty()
            || m.get(pid, 30, 1).trim().eq_ignore_ascii_case("Y")
            || DIED_DISPOSITIONS.contains(&disposition.trim());
        let patient = PatientDetails {
            nhs_number,
            name: person_name(m, pid, 5),
            born: date(&m.get(pid, 7, 1)),
            phones: phones(m, pid),
            email: email(m, pid),
            language: language(&m.get(pid, 15, 1)),
            next_of_kin: m
                .segments("NK1")
                .filter_map(|nk1| next_of_kin(m, nk1))
                .collect(),
            died,
        };
        let location = pv1
            .map(|p| m.get(p, 3, 1).trim().to_owned())
            .filter(|l| !l.is_empty());
        let discharged_at = pv1
            .and_then(|p| timestamp(&m.get(p, 45, 1)))
            .or(header.sent_at);
        let merged_from = match (trigger, m.segment("MRG")) {
            (Trigger::A40, Some(mrg)) => {
                Some(nhs_in(m, mrg, 1)?.ok_or(ContentError::NoMergeNumber)?)
            }
            (Trigger::A40, None) => return Err(ContentError::NoMergeNumber),
            _ => None,
        };
        Ok(Self {
            header,
            trigger,
            patient,
            location,
            discharged_at,
            merged_from,
        })
    }
}

/// The NHS number among the repetitions of a CX field, if there is one.
fn nhs_in(m: &Message, seg: &Segment, n: usize) -> Result<Option<NhsNumber>, ContentError> {
    for rep in 1..=m.repetitions(seg, n) {
        let authority = m.value(seg, n, rep, 4, 1);
        let kind = m.value(seg, n, rep, 5, 1);
        if authority.trim().eq_ignore_ascii_case("NHS") || kind.trim().eq_ignore_ascii_case("NH") {
            return NhsNumber::parse(m.value(seg, n, rep, 1, 1).trim())
                .map(Some)
                .map_err(ContentError::BadNhsNumber);
        }
    }
    Ok(None)
}

/// An XPN field as "Given Family".
fn person_name(m: &Message, seg: &Segment, n: usize) -> Option<String> {
    let family = m.get(seg, n, 1);
    let given = m.get(seg, n, 2);
    let name = crate::directory::clean_line(&format!("{} {}", given.trim(), family.trim()));
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// An XTN repetition's number: XTN.12 (unformatted) or else XTN.1.
fn xtn_number(m: &Message, seg: &Segment, n: usize, rep: usize) -> String {
    let unformatted = m.value(seg, n, rep, 12, 1);
    if unformatted.trim().is_empty() {
        m.value(seg, n, rep, 1, 1)
    } else {
        unformatted
    }
}

/// PID-13's phones, mobiles (equipment `CP`, use `PRS`, or a mobile
/// number) first.
fn phones(m: &Message, pid: &Segment) -> Vec<PhoneNumber> {
    let mut mobiles = Vec::new();
    let mut others = Vec::new();
    for rep in 1..=m.repetitions(pid, 13) {
        let usage = m.value(pid, 13, rep, 2, 1);
        let equipment = m.value(pid, 13, rep, 3, 1);
        if usage == "NET" || equipment.eq_ignore_ascii_case("Internet") {
            continue;
        }
        let Ok(phone) = PhoneNumber::parse(xtn_number(m, pid, 13, rep).trim()) else {
            continue;
        };
        let said_mobile = equipment == "CP" || usage == "PRS";
        let list = if said_mobile || phone.can_text() {
            &mut mobiles
        } else {
            &mut others
        };
        if !list.contains(&phone) {
            list.push(phone);
        }
    }
    mobiles.extend(others);
    mobiles
}

/// PID-13's email: use `NET` (or equipment `Internet`), in XTN.4 or XTN.1.
fn email(m: &Message, pid: &Segment) -> Option<EmailAddress> {
    (1..=m.repetitions(pid, 13)).find_map(|rep| {
        let usage = m.value(pid, 13, rep, 2, 1);
        let equipment = m.value(pid, 13, rep, 3, 1);
        if usage != "NET" && !equipment.eq_ignore_ascii_case("Internet") {
            return None;
        }
        let text = m.value(pid, 13, rep, 4, 1);
        let text = if text.trim().is_empty() {
            m.value(pid, 13, rep, 1, 1)
        } else {
            text
        };
        EmailAddress::parse(text.trim()).ok()
    })
}

/// PID-15: Welsh (`cy`, `cym`, `wel`, `welsh`) or English; `None` when empty.
fn language(code: &str) -> Option<Language> {
    match code.trim().to_ascii_lowercase().as_str() {
        "" => None,
        "cy" | "cym" | "wel" | "welsh" => Some(Language::Cy),
        _ => Some(Language::En),
    }
}

/// An NK1 with a phone that reads as a UK number.
fn next_of_kin(m: &Message, nk1: &Segment) -> Option<NextOfKin> {
    let name = person_name(m, nk1, 2)?;
    let phone = (1..=m.repetitions(nk1, 5))
        .find_map(|rep| PhoneNumber::parse(xtn_number(m, nk1, 5, rep).trim()).ok())?;
    let words = m.get(nk1, 3, 2);
    let relationship = if words.trim().is_empty() {
        m.get(nk1, 3, 1)
    } else {
        words
    };
    let relationship = crate::directory::clean_line(relationship.trim()).to_lowercase();
    Some(NextOfKin {
        name,
        relationship: (!relationship.is_empty() && relationship.chars().count() <= 50)
            .then_some(relationship),
        phone,
    })
}

/// A DT or the date of a TS: `YYYYMMDD…`.
fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim().get(..8)?, "%Y%m%d").ok()
}

/// A TS/DTM: `YYYYMMDD[HH[MM[SS[.S…]]]][±ZZZZ]`; without an offset, UK time.
pub fn timestamp(text: &str) -> Option<Instant> {
    let text = text.trim();
    let (local, offset) = match text.get(8..).and_then(|t| t.find(['+', '-'])) {
        Some(i) => text.split_at(8 + i),
        None => (text, ""),
    };
    let local = local.split('.').next().unwrap_or(local);
    let day = date(local)?;
    let digits = |from: usize| -> Option<u32> {
        match local.get(from..from + 2) {
            None | Some("") => Some(0),
            Some(d) => d.parse().ok(),
        }
    };
    let time = chrono::NaiveTime::from_hms_opt(digits(8)?, digits(10)?, digits(12)?)?;
    let naive = day.and_time(time);
    if offset.is_empty() {
        return Some(crate::calendar::instant_of(naive));
    }
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let hours: i32 = offset.get(1..3)?.parse().ok()?;
    let minutes: i32 = offset.get(3..5).unwrap_or("00").parse().ok()?;
    let tz = chrono::FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
    naive
        .and_local_timezone(tz)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests;
