//! The templates' own tests: loading, the start-up check, rendering and filters.
use super::*;

pub(super) fn templates() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")).unwrap()
}

#[test]
fn the_london_filter_names_a_time_as_the_calendar_does() {
    let at: crate::clock::Instant = "2026-07-04T19:05:00Z".parse().unwrap();
    let text = serde_json::to_value(at)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        london_filter(text.clone(), None).unwrap(),
        crate::calendar::london_short(at)
    );
    assert_eq!(
        london_filter(text.clone(), Some("%a %H:%M".into())).unwrap(),
        "Sat 20:05"
    );
    assert!(london_filter("tomorrow".into(), None).is_err());
    assert!(london_filter(text, Some("%Q".into())).is_err());
}

#[test]
fn every_required_template_loads_and_sms_texts_are_one_line() {
    let t = templates();
    let text = t
        .render("sms/call_111.txt", minijinja::context! {})
        .unwrap();
    assert_eq!(
        text,
        "We are still trying to reach the on-call team. If you need help now, call NHS 111. In an emergency, call 999."
    );
}

#[test]
fn a_welsh_speaker_reads_welsh_where_it_is_translated_and_english_where_it_is_not() {
    let t = templates();
    let context =
        minijinja::context! { first_name => "Megan", service => "the community nursing team" };
    let welsh = t
        .render_in(Language::Cy, "sms/welcome.txt", &context)
        .unwrap();
    assert!(
        welsh.starts_with("Helo Megan. Gallwch decstio'r rhif hwn"),
        "{welsh}"
    );
    assert!(!welsh.contains('\n'), "one line, as the English: {welsh}");
    let english = t
        .render_in(Language::En, "sms/welcome.txt", &context)
        .unwrap();
    assert_eq!(english, t.render("sms/welcome.txt", &context).unwrap());
    // No Welsh file for a note about attachments: she gets the English.
    assert!(!t.is_translated(Language::Cy, "sms/no_attachments.txt"));
    assert_eq!(
        t.render_in(
            Language::Cy,
            "sms/no_attachments.txt",
            minijinja::context! {}
        )
        .unwrap(),
        t.render("sms/no_attachments.txt", minijinja::context! {})
            .unwrap()
    );
    // Clinicians' texts are English whatever the patient's language.
    assert!(!t.is_translated(Language::Cy, "sms/page.txt"));
}

#[test]
fn a_bilingual_answer_is_welsh_then_english_or_english_alone_when_not_translated() {
    let t = templates();
    let context = minijinja::context! { trust => "Betsi Cadwaladr UHB", by_email => false };
    let both = t
        .render_bilingual("sms/received_unknown.txt", &context)
        .unwrap();
    let (welsh, english) = both.split_once("\n\n").unwrap();
    assert!(
        welsh.starts_with("Diolch, mae eich neges wedi cyrraedd"),
        "{welsh}"
    );
    assert_eq!(
        english,
        t.render("sms/received_unknown.txt", &context).unwrap()
    );
    let alone = t
        .render_bilingual("sms/no_attachments.txt", minijinja::context! {})
        .unwrap();
    assert!(!alone.contains("\n\n"), "{alone}");
}

#[test]
fn a_welsh_file_that_translates_nothing_or_is_broken_stops_the_service_at_start() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        dir.path(),
    );
    std::fs::write(dir.path().join("cy/sms/welcom.txt"), "Helo").unwrap();
    let error = format!("{:#}", Templates::load(dir.path()).unwrap_err());
    assert!(
        error.contains("cy/sms/welcom.txt translates no English template"),
        "{error}"
    );
    std::fs::remove_file(dir.path().join("cy/sms/welcom.txt")).unwrap();
    std::fs::write(dir.path().join("cy/sms/welcome.txt"), "Helo {{ first_name").unwrap();
    let error = format!("{:#}", Templates::load(dir.path()).unwrap_err());
    assert!(error.contains("template cy/sms/welcome.txt"), "{error}");
}

/// The template names the code under `src/` asks for: each string
/// literal that names a file under `templates/` (`"sms/page.txt"`).
/// Names built at run time (`format!("email/{name}.txt")`) are left
/// out: their parts are listed in [`REQUIRED`] by hand.
fn named_in_src() -> BTreeSet<(String, String)> {
    const FOLDERS: &[&str] = &[
        "sms/",
        "email/",
        "twiml/",
        "pages/",
        "web/",
        "notes/",
        "timeline/",
        "words/",
    ];
    const ENDINGS: &[&str] = &[".txt", ".html", ".xml"];
    let mut found = BTreeSet::new();
    let mut folders = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            // Every piece between two `"`: a literal is one of them.
            for piece in source.split('"') {
                let names_one = FOLDERS.iter().any(|f| piece.starts_with(f))
                    && ENDINGS.iter().any(|e| piece.ends_with(e))
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_/.".contains(c));
                if names_one {
                    found.insert((piece.to_owned(), path.display().to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn every_template_the_code_names_is_checked_at_start_up() {
    let named = named_in_src();
    assert!(
        named.iter().any(|(n, _)| n == "sms/page.txt"),
        "the scan finds the names the code uses"
    );
    let unchecked: Vec<_> = named
        .iter()
        .filter(|(name, _)| !REQUIRED.contains(&name.as_str()))
        .map(|(name, file)| format!("{name} (named in {file})"))
        .collect();
    assert!(
        unchecked.is_empty(),
        "add these to REQUIRED in src/templates.rs, so start-up checks them: {unchecked:?}"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for name in REQUIRED {
        assert!(
            dir.join(name).is_file(),
            "REQUIRED names {name}, which is not in templates/"
        );
    }
}

#[test]
fn a_templates_folder_missing_any_required_template_stops_the_service_at_start() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        dir.path(),
    );
    Templates::load(dir.path()).unwrap();
    let aside = dir.path().join("set-aside");
    for name in REQUIRED {
        let file = dir.path().join(name);
        std::fs::rename(&file, &aside).unwrap();
        let error = match Templates::load(dir.path()) {
            Ok(_) => panic!("loaded without {name}"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(&format!("template {name} in")), "{error}");
        std::fs::rename(&aside, &file).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn html_is_escaped() {
    let t = templates();
    let html = t
        .render(
            "pages/message.html",
            minijinja::context! { title => "x", message => "<script>alert(1)</script>" },
        )
        .unwrap();
    assert!(html.contains("&lt;script&gt;"), "{html}");
}

#[test]
fn a_picture_is_named_not_shown() {
    assert_eq!(with_media_note("", 1), "sent a picture (not shown)");
    assert_eq!(with_media_note("  ", 2), "sent 2 pictures (not shown)");
    assert_eq!(
        with_media_note("my leg today", 1),
        "my leg today [and a picture, not shown]"
    );
    assert_eq!(with_media_note("hello", 0), "hello");
}

#[test]
fn long_messages_are_quoted_to_a_word_boundary() {
    let long = "My dad has been discharged today and his leg dressing is soaked through already and I do not know whether to change it or wait";
    let q = quote(long);
    assert!(q.ends_with("..."));
    assert!(q.chars().count() <= PAGE_QUOTE_CHARS + 3);
    assert_eq!(quote("short  and\nsweet"), "short and sweet");
}

#[test]
fn a_time_that_may_not_be_today_says_its_day() {
    let at = |s: &str| crate::calendar::parse_instant(s).unwrap();
    let accepted = at("2026-12-05T18:31");
    assert_eq!(
        day_and_time(accepted, at("2026-12-05T22:31")),
        "today at 18:31"
    );
    assert_eq!(
        day_and_time(accepted, at("2026-12-06T06:31")),
        "yesterday at 18:31"
    );
    assert_eq!(
        day_and_time(accepted, at("2026-12-08T18:31")),
        "on Sat 5 Dec at 18:31"
    );
    // In summer, UK time: 23:30 UTC on 1 July is 00:30 on 2 July.
    assert_eq!(
        day_and_time(at("2026-07-01T22:00:00Z"), at("2026-07-01T23:30:00Z")),
        "yesterday at 23:00"
    );
}

#[test]
fn a_long_message_keeps_16_kb_cut_at_a_line_and_says_how_much_was_not_kept() {
    let letter = "Dear nurse, mum is more breathless tonight.\n".repeat(1000);
    assert!(letter.len() > 40 * 1024);
    let kept = bounded(&letter);
    assert!(kept.len() <= MAX_MESSAGE_BYTES, "{}", kept.len());
    let (words, note) = kept.rsplit_once("\n\n").unwrap();
    assert!(words.ends_with("tonight."), "cut at the end of a line");
    assert!(letter.starts_with(words));
    let rest_kb = (letter.len() - words.len()).div_ceil(1024);
    assert_eq!(
        note,
        format!("[the rest of this message, {rest_kb} KB, was not kept: ask the sender by phone]")
    );
    assert_eq!(bounded(&kept), kept, "bounded twice, cut once");
    let short = "My leg is swollen";
    assert!(matches!(bounded(short), Cow::Borrowed(s) if s == short));
}

#[test]
fn a_message_with_no_line_breaks_is_cut_at_a_word_or_a_whole_character() {
    let words = "breathless ".repeat(3000);
    let kept = bounded(&words);
    assert!(kept.len() <= MAX_MESSAGE_BYTES);
    assert!(kept.contains("breathless\n\n[the rest"), "cut after a word");
    // 3-byte characters and no space at all: cut between two of them.
    let wall = "—".repeat(20_000);
    let kept = bounded(&wall);
    assert!(kept.len() <= MAX_MESSAGE_BYTES);
    let (words, note) = kept.split_once("\n\n").unwrap();
    assert!(words.chars().all(|c| c == '—'));
    assert!(note.contains(" KB, was not kept"), "{note}");
}

#[test]
fn a_summary_keeps_a_whole_text_and_shortens_an_email_at_a_word() {
    let text = "x".repeat(10) + &" word".repeat(300);
    assert_eq!(
        summary(&text),
        text,
        "1,510 characters: a text is kept whole"
    );
    let email = "Mum is breathless. ".repeat(200);
    let s = summary(&email);
    let words = s.strip_suffix("...").unwrap();
    assert!(email.starts_with(words));
    assert_eq!(email.as_bytes()[words.len()], b' ', "cut at a word: {s}");
    assert!(s.chars().count() <= SUMMARY_CHARS + 3);
}

fn concern(party: Party, sender: &str) -> Concern {
    Concern {
        id: crate::concern::ConcernId::new(),
        enrolment: None,
        service: None,
        sender: crate::directory::PhoneNumber::parse(sender).unwrap().into(),
        party,
        opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
        text: "My leg is swollen".to_owned(),
        escalation: crate::escalation::Escalation::new(false),
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 0,
    }
}

#[test]
fn a_page_names_the_patient_and_which_carer_wrote_or_the_end_of_an_unknown_number() {
    let request: crate::directory::EnrolmentRequest = serde_json::from_str(
        r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "carers": [{"name": "Sian Evans", "phone": "07700 900802", "relationship": "daughter"}],
            "service": "community-nursing-north", "discharged_at": "2026-11-27T17:30:00Z"}"#,
    )
    .unwrap();
    let now = "2026-11-27T19:00:00Z".parse().unwrap();
    let margaret = request
        .parse(
            |id| crate::directory::Id::parse(id).ok(),
            now,
            chrono::TimeDelta::days(30),
        )
        .unwrap();
    let sian = Party::Carer {
        name: "Sian Evans".to_owned(),
        relationship: Some("daughter".to_owned()),
    };
    let friend = Party::Carer {
        name: "Tom Reed".to_owned(),
        relationship: None,
    };
    assert_eq!(
        who(&concern(Party::Patient, "07700 900801"), Some(&margaret)),
        "Margaret"
    );
    assert_eq!(
        who(&concern(sian, "07700 900802"), Some(&margaret)),
        "Margaret (via daughter Sian)"
    );
    assert_eq!(
        who(&concern(friend, "07700 900803"), Some(&margaret)),
        "Margaret (via carer Tom)"
    );
    assert_eq!(
        who(&concern(Party::Unknown, "07700 900999"), None),
        "Unknown sender ending 0999"
    );
}
