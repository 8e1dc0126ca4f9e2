//! HL7 v2 ADT from the trust's EPR: the vocabulary and rules, with no I/O
//! (docs/adr/0032). The MLLP listener (`mllp`) takes frames off the wire
//! and `operations` acts on them; here are the pieces both use:
//!
//! - `er7`: reading and writing ER7 text (separators, escapes);
//! - `adt`: an ADT message read into the patient, the event, where and when;
//! - `ack`: the `AA`/`AE`/`AR` answer;
//! - [`Person`]: what the feed has said about a patient, kept between
//!   messages because the UK v2.4 A03 carries no next of kin;
//! - [`FeedMessage`]: each message as kept and shown to the trust, with
//!   what it was answered;
//! - the [`Feed`] port that keeps both.

pub mod ack;
pub mod adt;
pub mod er7;

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::directory::{EmailAddress, Language, NhsNumber, PhoneNumber};
use crate::store_error::StoreResult;
pub use ack::AckCode;
pub use adt::{NextOfKin, PatientDetails};

/// What the feed has said about a patient, merged message by message: a
/// field a message leaves out keeps what an earlier one said.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Their NHS number: the key.
    pub nhs_number: NhsNumber,
    /// "Given Family".
    pub name: Option<String>,
    /// Date of birth.
    pub born: Option<NaiveDate>,
    /// Phones, mobiles first.
    pub phones: Vec<PhoneNumber>,
    /// Email.
    pub email: Option<EmailAddress>,
    /// The language they read.
    pub language: Language,
    /// Next of kin with a phone: the carers an enrolment lists.
    pub next_of_kin: Vec<NextOfKin>,
    /// Once a message says they died, it stays said.
    pub died: bool,
    /// When a message last changed this.
    pub updated_at: Instant,
}

/// Keeps names and numbers out of logs.
impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("nhs_number", &self.nhs_number)
            .field("died", &self.died)
            .finish_non_exhaustive()
    }
}

impl Person {
    /// `before` (if any) brought up to date by what a message says at `at`.
    pub fn updated(before: Option<Person>, says: &PatientDetails, at: Instant) -> Person {
        let mut p = before.unwrap_or_else(|| Person {
            nhs_number: says.nhs_number.clone(),
            name: None,
            born: None,
            phones: Vec::new(),
            email: None,
            language: Language::En,
            next_of_kin: Vec::new(),
            died: false,
            updated_at: at,
        });
        p.nhs_number = says.nhs_number.clone();
        p.name = says.name.clone().or(p.name);
        p.born = says.born.or(p.born);
        if !says.phones.is_empty() {
            p.phones = says.phones.clone();
        }
        p.email = says.email.clone().or(p.email);
        p.language = says.language.unwrap_or(p.language);
        if !says.next_of_kin.is_empty() {
            p.next_of_kin = says.next_of_kin.clone();
        }
        p.died |= says.died;
        p.updated_at = at;
        p
    }

    /// `self` with what `old` (a record merged away) knew and `self` did not.
    pub fn merged_with(mut self, old: Person) -> Person {
        self.name = self.name.or(old.name);
        self.born = self.born.or(old.born);
        if self.phones.is_empty() {
            self.phones = old.phones;
        }
        self.email = self.email.or(old.email);
        if self.next_of_kin.is_empty() {
            self.next_of_kin = old.next_of_kin;
        }
        self.died |= old.died;
        self
    }
}

/// What became of a message, beyond its ACK code, for the trust's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The person's details were kept.
    DetailsKept,
    /// A discharge enrolled the patient (and they were welcomed).
    Enrolled,
    /// A repeat discharge renewed an active enrolment: no second welcome.
    Renewed,
    /// A discharge from a location no service claims: kept, not enrolled.
    LocationUnclaimed,
    /// The patient died: not enrolled, nobody texted, enrolments ended.
    Died,
    /// A cancelled discharge ended the enrolment it made.
    DischargeCancelled,
    /// A cancelled discharge, or admission, found nothing to undo.
    NothingToUndo,
    /// A merge moved the old number's records to the surviving one.
    Merged,
    /// The content could not be used (`AE`).
    Unusable,
    /// Not taken (`AR`).
    Rejected,
}

/// One message as kept: what came, and what it was answered. Shown to the
/// trust; logs name it by `control_id` and `kind` alone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedMessage {
    /// `MSH-3|MSH-4`: with `control_id`, what makes a message a resend.
    pub sender: String,
    /// MSH-10.
    pub control_id: String,
    /// `ADT^A03`.
    pub kind: String,
    /// When it came.
    pub received_at: Instant,
    /// What it was answered.
    pub ack: AckCode,
    /// What came of it.
    pub outcome: Outcome,
    /// Why an `AE` or `AR`, as its short name (`no_nhs_number`, …).
    pub reason: Option<String>,
    /// The NHS number's last three digits, the most of it the feed page shows.
    pub nhs_last_three: Option<String>,
    /// PV1-3.1 when no service claims it.
    pub unclaimed_location: Option<String>,
    /// The message as it came (ER7), for the trust to read an `AE` back.
    pub message: String,
    /// The ACK it was answered (ER7): a resend is answered the same.
    pub answer: String,
}

/// Keeps the message's words out of logs.
impl fmt::Debug for FeedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedMessage")
            .field("control_id", &self.control_id)
            .field("kind", &self.kind)
            .field("ack", &self.ack)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

/// What the feed keeps: each message with its answer, and each person as
/// the messages describe them. Every method blocks.
pub trait Feed: Send + Sync + 'static {
    /// The message kept from `sender` with this MSH-10, if any.
    fn feed_message(&self, sender: &str, control_id: &str) -> StoreResult<Option<FeedMessage>>;
    /// Keep a message and its answer, over any kept with the same sender
    /// and MSH-10 (a message refused `AR` and sent again is kept again).
    fn record_feed_message(&self, message: &FeedMessage) -> StoreResult<()>;
    /// The messages received before `before` (all when `None`), newest
    /// first, at most `limit`.
    fn feed_messages(&self, before: Option<Instant>, limit: usize)
    -> StoreResult<Vec<FeedMessage>>;
    /// What the feed has said about the person with this NHS number.
    fn person(&self, nhs_number: &NhsNumber) -> StoreResult<Option<Person>>;
    /// Keep a person, over what was kept under their NHS number.
    fn keep_person(&self, person: &Person) -> StoreResult<()>;
    /// Forget a person (merged into another); `false` if none was kept.
    fn forget_person(&self, nhs_number: &NhsNumber) -> StoreResult<bool>;
}
