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
    known.sort_by_key(|k| (edit_distance(wrong, k), k.as_str()));
    if edit_distance(wrong, known[0]) <= wrong.len().max(3) / 3 {
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

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}
