//! A person's shifts as an iCalendar feed (RFC 5545), for Google Calendar,
//! Outlook and Apple Calendar to subscribe to.
//!
//! Times are written in Europe/London (`DTSTART;TZID=Europe/London:…`) with
//! a `VTIMEZONE` that defines it (the UK rules since 1996: BST from 01:00
//! UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
//! October), which all three accept. A local time the clocks skip or
//! repeat is written in UTC instead, so no shift moves by an hour. Lines
//! end in CRLF and are folded at 75 octets, never inside a character.

use chrono::{LocalResult, TimeZone};

use super::shifts::Shift;
use crate::calendar::LONDON;
use crate::clock::Instant;
use crate::directory::Id;

/// The `VTIMEZONE` for Europe/London.
const LONDON_VTIMEZONE: &[&str] = &[
    "BEGIN:VTIMEZONE",
    "TZID:Europe/London",
    "X-LIC-LOCATION:Europe/London",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0100",
    "TZNAME:BST",
    "DTSTART:19700329T010000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0000",
    "TZNAME:GMT",
    "DTSTART:19701025T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

/// The feed of `person`'s `shifts`, made at `now`.
pub fn feed(person: &Id, name: &str, shifts: &[Shift], now: Instant) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Nightingale//Staff shifts//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", text(&format!("On call: {name}"))),
        "X-WR-TIMEZONE:Europe/London".into(),
        // Ask subscribers to fetch it again hourly: edits to the rota show.
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H".into(),
        "X-PUBLISHED-TTL:PT1H".into(),
    ];
    lines.extend(LONDON_VTIMEZONE.iter().map(|l| (*l).to_owned()));
    for shift in shifts {
        let mut description = format!("On call through {}.", shift.via);
        for (date, holiday) in &shift.bank_holidays {
            description.push_str(&format!(
                " {} is a bank holiday ({holiday}).",
                date.format("%a %-d %b")
            ));
        }
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}", text(&shift.uid(person))),
            format!("DTSTAMP:{}", utc(now)),
            format!("DTSTART{}", date_time(shift.from)),
            format!("DTEND{}", date_time(shift.until)),
            format!("SUMMARY:{}", text(&format!("On call: {}", shift.title()))),
            format!("DESCRIPTION:{}", text(&description)),
            "END:VEVENT".to_owned(),
        ]);
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for line in lines {
        fold(&line, &mut out);
    }
    out
}

/// `YYYYMMDDTHHMMSSZ`.
fn utc(t: Instant) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// `;TZID=Europe/London:YYYYMMDDTHHMMSS`, or `:…Z` for a local time the
/// clocks skip or repeat.
fn date_time(t: Instant) -> String {
    let local = t.with_timezone(&LONDON).naive_local();
    match LONDON.from_local_datetime(&local) {
        LocalResult::Single(_) => format!(";TZID=Europe/London:{}", local.format("%Y%m%dT%H%M%S")),
        _ => format!(":{}", utc(t)),
    }
}

/// A TEXT value, escaped (RFC 5545 3.3.11).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Append `line` folded at 75 octets (RFC 5545 3.1), each piece ended by
/// CRLF, a continuation starting with one space.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut out = String::new();
        let line = format!("DESCRIPTION:{}", "Siân ".repeat(30));
        fold(&line, &mut out);
        for piece in out.split_terminator("\r\n") {
            assert!(piece.len() <= 75, "{piece:?} is {} octets", piece.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{line}\r\n"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a, b; c\\d\ne"), "a\\, b\\; c\\\\d\\ne");
    }

    #[test]
    fn times_are_local_unless_the_clocks_skip_or_repeat_them() {
        let summer: Instant = "2026-07-01T19:00:00Z".parse().unwrap();
        assert_eq!(date_time(summer), ";TZID=Europe/London:20260701T200000");
        let winter: Instant = "2026-12-01T20:00:00Z".parse().unwrap();
        assert_eq!(date_time(winter), ";TZID=Europe/London:20261201T200000");
        // 01:30 on 25 Oct 2026 happens twice in London.
        let repeated: Instant = "2026-10-25T00:30:00Z".parse().unwrap();
        assert_eq!(date_time(repeated), ":20261025T003000Z");
    }
}
