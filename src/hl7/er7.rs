//! ER7, HL7 v2's "pipe and hat" text: segments, fields, repetitions,
//! components and subcomponents, with the separators MSH-1 and MSH-2 name
//! and their escape sequences (`\F\ \S\ \T\ \R\ \E\`, and `\Xhh\` hex).
//!
//! A small tokenizer of our own rather than a crate: hl7-parser (Apache-2.0,
//! three releases, the last in February 2025) reads well but cannot write,
//! and the ACKs need the same rules written out (docs/adr/0032). A field is
//! kept as sent and split when read, so an unusual message costs nothing
//! until a field Nightingale uses is asked for. Segments end at `\r`;
//! `\n` and `\r\n` are taken too, as files and some engines send them.

/// The separators a message declares in MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// Between fields (MSH-1), usually `|`.
    pub field: char,
    /// Between components, usually `^`.
    pub component: char,
    /// Between repetitions, usually `~`.
    pub repetition: char,
    /// Starts and ends an escape sequence, usually `\`.
    pub escape: char,
    /// Between subcomponents, usually `&`.
    pub subcomponent: char,
}

impl Default for Encoding {
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

impl Encoding {
    /// MSH-2 as written: component, repetition, escape, subcomponent.
    pub fn msh2(&self) -> String {
        [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ]
        .iter()
        .collect()
    }

    /// `text` with every separator escaped, as a field's value is written.
    pub fn escape(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let e = self.escape;
        for c in text.chars() {
            let code = match c {
                c if c == self.field => 'F',
                c if c == self.component => 'S',
                c if c == self.subcomponent => 'T',
                c if c == self.repetition => 'R',
                c if c == e => 'E',
                '\r' | '\n' => {
                    out.push(' ');
                    continue;
                }
                c => {
                    out.push(c);
                    continue;
                }
            };
            out.push(e);
            out.push(code);
            out.push(e);
        }
        out
    }

    /// A value as sent, with its escape sequences read back. A sequence
    /// this does not know (formatting such as `\.br\`) is left out.
    pub fn unescape(&self, raw: &str) -> String {
        let e = self.escape;
        if !raw.contains(e) {
            return raw.to_owned();
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(start) = rest.find(e) {
            out.push_str(&rest[..start]);
            let after = &rest[start + e.len_utf8()..];
            let Some(end) = after.find(e) else {
                // An escape character with no end: kept as it came.
                out.push_str(&rest[start..]);
                return out;
            };
            let sequence = &after[..end];
            match sequence {
                "F" => out.push(self.field),
                "S" => out.push(self.component),
                "T" => out.push(self.subcomponent),
                "R" => out.push(self.repetition),
                "E" => out.push(e),
                s if s.starts_with('X') => out.push_str(&hex(&s[1..])),
                _ => {}
            }
            rest = &after[end + e.len_utf8()..];
        }
        out.push_str(rest);
        out
    }
}

/// `\Xhh…\`: bytes in hex, read as UTF-8 (anything else as Latin-1).
fn hex(digits: &str) -> String {
    let bytes: Vec<u8> = (0..digits.len() / 2)
        .filter_map(|i| u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes.clone()).unwrap_or_else(|_| bytes.iter().map(|&b| b as char).collect())
}

/// Why a text is not an ER7 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Er7Error {
    /// It does not start with an `MSH` segment.
    #[error("the message does not start with an MSH segment")]
    NoMsh,
    /// MSH-1 and MSH-2 do not declare five distinct separators.
    #[error("MSH-1 and MSH-2 do not declare the separators (write MSH|^~\\&|…)")]
    BadEncoding,
}

/// One segment: its name and its fields as sent (escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    name: String,
    /// `fields[n]` is field `n` of the segment (for MSH, `fields[1]` is
    /// MSH-1, the field separator, and `fields[2]` MSH-2).
    fields: Vec<String>,
}

/// A message split into segments, with its separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The separators from MSH-1 and MSH-2.
    pub encoding: Encoding,
    segments: Vec<Segment>,
}

impl Message {
    /// Split a message into segments and fields, with the separators its
    /// MSH declares.
    pub fn parse(text: &str) -> Result<Self, Er7Error> {
        let text = text.trim_start_matches(['\r', '\n', ' ', '\t']);
        let rest = text.strip_prefix("MSH").ok_or(Er7Error::NoMsh)?;
        let mut chars = rest.chars();
        let field = chars.next().ok_or(Er7Error::BadEncoding)?;
        let declared: Vec<char> = chars.take_while(|&c| c != field).collect();
        let [component, repetition, escape, subcomponent] = match declared.as_slice() {
            [a, b, c, d] => [*a, *b, *c, *d],
            // MSH-2 without the subcomponent separator (v2.3 senders that
            // never use one): `&` stands in.
            [a, b, c] => [*a, *b, *c, '&'],
            _ => return Err(Er7Error::BadEncoding),
        };
        let encoding = Encoding {
            field,
            component,
            repetition,
            escape,
            subcomponent,
        };
        let mut all = vec![field, component, repetition, escape, subcomponent];
        all.sort_unstable();
        all.dedup();
        if all.len() != 5
            || all
                .iter()
                .any(|c| c.is_alphanumeric() || matches!(c, '\r' | '\n'))
        {
            return Err(Er7Error::BadEncoding);
        }
        let segments = text
            .split(['\r', '\n'])
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let mut parts: Vec<String> = line.split(field).map(str::to_owned).collect();
                let name = parts.first().cloned().unwrap_or_default();
                if name == "MSH" {
                    // MSH-1 is the separator itself, so MSH-n is parts[n - 1].
                    parts.insert(1, field.to_string());
                }
                Segment {
                    name: name.trim().to_owned(),
                    fields: parts,
                }
            })
            .collect();
        Ok(Self { encoding, segments })
    }

    /// The first segment named `name`.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// Every segment named `name`, in order.
    pub fn segments<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.name == name)
    }

    /// The MSH segment (a parsed message always has one).
    pub fn msh(&self) -> &Segment {
        &self.segments[0]
    }

    /// Field `n`, repetition `rep`, component `comp` and subcomponent `sub`
    /// (all from 1, as HL7 numbers them) of `segment`, unescaped; empty when absent.
    pub fn value(
        &self,
        segment: &Segment,
        n: usize,
        rep: usize,
        comp: usize,
        sub: usize,
    ) -> String {
        let raw = segment.raw(n, rep, comp, sub, &self.encoding);
        self.encoding.unescape(raw)
    }

    /// Component `comp` of the first repetition of field `n`, unescaped.
    pub fn get(&self, segment: &Segment, n: usize, comp: usize) -> String {
        self.value(segment, n, 1, comp, 1)
    }

    /// How many repetitions field `n` of `segment` has (0 when empty).
    pub fn repetitions(&self, segment: &Segment, n: usize) -> usize {
        match segment.fields.get(n) {
            None => 0,
            Some(f) if f.is_empty() => 0,
            Some(f) if segment.name == "MSH" && n <= 2 => usize::from(!f.is_empty()),
            Some(f) => f.split(self.encoding.repetition).count(),
        }
    }
}

impl Segment {
    /// The segment's name, e.g. `PID`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Field `n` as sent, escaped and unsplit; empty when absent.
    pub fn field(&self, n: usize) -> &str {
        self.fields.get(n).map_or("", String::as_str)
    }

    fn raw(&self, n: usize, rep: usize, comp: usize, sub: usize, e: &Encoding) -> &str {
        let field = self.field(n);
        if self.name == "MSH" && n <= 2 {
            // The separators are not split by themselves.
            return if rep == 1 && comp == 1 && sub == 1 {
                field
            } else {
                ""
            };
        }
        field
            .split(e.repetition)
            .nth(rep.saturating_sub(1))
            .and_then(|r| r.split(e.component).nth(comp.saturating_sub(1)))
            .and_then(|c| c.split(e.subcomponent).nth(sub.saturating_sub(1)))
            .unwrap_or("")
    }
}

/// Writes segments with one message's separators, escaping each value.
#[derive(Debug, Clone)]
pub struct Writer {
    encoding: Encoding,
    out: String,
}

impl Writer {
    /// A writer with these separators.
    pub fn new(encoding: Encoding) -> Self {
        Self {
            encoding,
            out: String::new(),
        }
    }

    /// Add a segment: its name and each field's components, unescaped;
    /// a segment named `MSH` has its MSH-1 and MSH-2 written for it, so
    /// `fields` starts at MSH-3.
    pub fn segment(&mut self, name: &str, fields: &[&[&str]]) -> &mut Self {
        let e = self.encoding;
        self.out.push_str(name);
        if name == "MSH" {
            self.out.push(e.field);
            self.out.push_str(&e.msh2());
        }
        for components in fields {
            self.out.push(e.field);
            let written: Vec<String> = components.iter().map(|c| e.escape(c)).collect();
            self.out.push_str(&written.join(&e.component.to_string()));
        }
        self.out.push('\r');
        self
    }

    /// The message written.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const A03: &str = "MSH|^~\\&|PAS|RVJ|NIGHTINGALE|RVJ|20261127173000||ADT^A03^ADT_A03|MSG0001|P|2.4\rEVN|A03|20261127173000\rPID|1||9434765919^^^NHS^NH~123456^^^RVJ^MR||Evans^Margaret^Ann||19480312|F|||||07700900123^PRS^CP~^NET^Internet^margaret@example.test||||||||||||||||||N\rPV1|1|I|W7^Bay 2^Bed 4||||||||||||||||||||||||||||||||||||||||||20261127173000\r";

    #[test]
    fn fields_components_and_repetitions_are_read_as_hl7_numbers_them() {
        let m = Message::parse(A03).unwrap();
        let msh = m.msh();
        assert_eq!(m.get(msh, 3, 1), "PAS");
        assert_eq!(m.get(msh, 9, 2), "A03");
        assert_eq!(m.get(msh, 10, 1), "MSG0001");
        assert_eq!(m.get(msh, 12, 1), "2.4");
        let pid = m.segment("PID").unwrap();
        assert_eq!(m.repetitions(pid, 3), 2);
        assert_eq!(m.value(pid, 3, 1, 4, 1), "NHS");
        assert_eq!(m.value(pid, 3, 2, 5, 1), "MR");
        assert_eq!(m.get(pid, 5, 2), "Margaret");
        assert_eq!(m.value(pid, 13, 2, 4, 1), "margaret@example.test");
        let pv1 = m.segment("PV1").unwrap();
        assert_eq!(m.get(pv1, 3, 1), "W7");
        assert_eq!(m.get(pv1, 45, 1), "20261127173000");
    }

    #[test]
    fn escapes_are_read_back_and_newlines_are_taken_as_segment_ends() {
        let text = A03.replace('\r', "\n").replace(
            "Evans^Margaret",
            "O\\T\\Brien\\F\\x^Mary\\S\\Ann\\E\\\\X41\\",
        );
        let m = Message::parse(&text).unwrap();
        let pid = m.segment("PID").unwrap();
        assert_eq!(m.get(pid, 5, 1), "O&Brien|x");
        assert_eq!(m.get(pid, 5, 2), "Mary^Ann\\A");
    }

    #[test]
    fn other_separators_declared_in_msh_are_used() {
        let m = Message::parse("MSH#*!@%#PAS#RVJ\rPID#1##9434765919*x!2").unwrap();
        let pid = m.segment("PID").unwrap();
        assert_eq!(m.get(pid, 3, 2), "x");
        assert_eq!(m.value(pid, 3, 2, 1, 1), "2");
        assert_eq!(m.get(m.msh(), 3, 1), "PAS");
    }

    #[test]
    fn what_is_not_a_message_is_refused() {
        assert_eq!(Message::parse("hello"), Err(Er7Error::NoMsh));
        assert_eq!(Message::parse("MSH|^^\\&|"), Err(Er7Error::BadEncoding));
        assert_eq!(Message::parse("MSH"), Err(Er7Error::BadEncoding));
    }

    proptest! {
        #[test]
        fn any_value_escaped_reads_back_the_same(text in "[ -~é\u{263a}]{0,40}") {
            let e = Encoding::default();
            prop_assert_eq!(e.unescape(&e.escape(&text)), text);
        }

        #[test]
        fn a_written_message_parses_back_field_for_field(
            values in proptest::collection::vec("[ -~]{0,12}", 1..8),
        ) {
            let mut w = Writer::new(Encoding::default());
            w.segment("MSH", &[&["APP"]]);
            let fields: Vec<[&str; 2]> = values.iter().map(|v| [v.as_str(), "x"]).collect();
            let refs: Vec<&[&str]> = fields.iter().map(|f| f.as_slice()).collect();
            w.segment("ZZZ", &refs);
            let m = Message::parse(&w.finish()).unwrap();
            let z = m.segment("ZZZ").unwrap();
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(&m.get(z, i + 1, 1), v);
                prop_assert_eq!(m.get(z, i + 1, 2), "x");
            }
        }

        #[test]
        fn nothing_sent_makes_the_parser_panic(text in "MSH[ -~\r\n]{0,200}") {
            if let Ok(m) = Message::parse(&text) {
                for s in ["MSH", "PID", "PV1"] {
                    if let Some(seg) = m.segment(s) {
                        let _ = m.value(seg, 3, 2, 1, 1);
                    }
                }
            }
        }
    }
}
