//! Names one rota file uses for what another defines, and the suggestion
//! ("did you mean …?") given when one is not known.

use std::collections::HashMap;

use crate::rota::cover::RotationIx;
use crate::rota::rotation::PersonIx;

pub(super) struct Names<'a> {
    pub(super) people: &'a HashMap<String, PersonIx>,
    pub(super) rotations: &'a HashMap<String, RotationIx>,
}

/// ", did you mean \"x\"?" for the closest known name, or a list of them.
pub(super) fn suggest<'a>(wrong: &str, known: impl Iterator<Item = &'a String>) -> String {
    let mut known: Vec<&String> = known.collect();
    if known.is_empty() {
        return ": none is defined yet".to_owned();
    }
    known.sort_by_key(|k| (strsim::levenshtein(wrong, k), k.as_str()));
    if strsim::levenshtein(wrong, known[0]) <= wrong.len().max(3) / 3 {
        format!(": did you mean {:?}?", known[0])
    } else {
        let list: Vec<String> = known.iter().take(5).map(|k| format!("{k:?}")).collect();
        format!(
            ": write one of {}{}",
            list.join(", "),
            if known.len() > 5 { ", …" } else { "" }
        )
    }
}
