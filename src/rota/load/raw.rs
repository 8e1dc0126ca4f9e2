//! The rota file format as serde reads it: one `Raw*` struct per table,
//! each spanned so that a problem can name its line. Nothing here checks
//! meaning; the compiler in the sibling files does.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) trust: Option<Spanned<RawTrust>>,
    #[serde(default)]
    pub(super) people: BTreeMap<Spanned<String>, RawPerson>,
    #[serde(default)]
    pub(super) rotations: BTreeMap<Spanned<String>, RawRotation>,
    #[serde(default)]
    pub(super) services: BTreeMap<Spanned<String>, RawService>,
    #[serde(default)]
    pub(super) overrides: Vec<Spanned<RawOverride>>,
    #[serde(default)]
    pub(super) swaps: Vec<Spanned<RawSwap>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    pub(super) name: String,
    pub(super) fallback: Option<Spanned<RawLevel>>,
    #[serde(default)]
    pub(super) managers: Vec<Spanned<String>>,
    pub(super) gap_alerts: Option<Spanned<String>>,
    pub(super) max_on_call_in_a_row: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    pub(super) name: String,
    #[serde(default)]
    pub(super) role: String,
    /// Their role as patients and carers read it, if not `role`.
    pub(super) patient_role: Option<String>,
    pub(super) phone: Option<Spanned<String>>,
    pub(super) email: Option<Spanned<String>>,
    pub(super) notify: Option<Vec<Spanned<String>>>,
    /// Their own working hours, as a care co-ordinator.
    pub(super) hours: Option<Spanned<toml::Value>>,
    /// How long to wait for them to accept, as a co-ordinator.
    pub(super) ack_within: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRotation {
    pub(super) name: Option<String>,
    pub(super) members: Spanned<Vec<Spanned<String>>>,
    pub(super) length: Spanned<String>,
    pub(super) handover: Spanned<toml::Value>,
    pub(super) handover_day: Option<Spanned<String>>,
    pub(super) start: Spanned<toml::Value>,
    pub(super) until: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) name: String,
    pub(super) patient_name: Option<String>,
    pub(super) division: Spanned<String>,
    pub(super) hours: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) in_hours: Vec<Spanned<RawLevel>>,
    #[serde(default)]
    pub(super) out_of_hours: Vec<Spanned<RawLevel>>,
    #[serde(default)]
    pub(super) repeat_chain: u32,
    pub(super) live_for: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) managers: Vec<Spanned<String>>,
    /// When its discharge enrolments are checked on (docs/adr/0017).
    pub(super) check_ins: Option<Spanned<Vec<String>>>,
    /// How long a check-in's answer is waited for.
    pub(super) check_in_answer_within: Option<Spanned<String>>,
    /// The EPR's points of care (HL7 `PV1-3`) whose discharges it takes.
    #[serde(default)]
    pub(super) locations: Vec<Spanned<String>>,
    /// The morning window check-ins that fall at night are spread over.
    pub(super) check_in_window: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLevel {
    pub(super) rotation: Option<Spanned<String>>,
    pub(super) people: Option<Vec<Spanned<String>>>,
    pub(super) ack_within: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) repeat: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverride {
    pub(super) covering: Option<Spanned<String>>,
    #[serde(rename = "for")]
    pub(super) replacing: Option<Spanned<String>>,
    pub(super) rotation: Option<Spanned<String>>,
    pub(super) from: Spanned<toml::Value>,
    pub(super) until: Spanned<toml::Value>,
    pub(super) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSwap {
    pub(super) rotation: Spanned<String>,
    pub(super) shifts: Spanned<Vec<Spanned<toml::Value>>>,
    pub(super) reason: Option<String>,
}
