//! CSV for spreadsheets: every download a person opens in Excel or
//! LibreOffice (a safety report's figures, the rota audit trail) is written
//! here, by the `csv` crate, with one rule against formula injection.
//!
//! A leaf: it knows cells and rows, nothing of what they hold. Each caller
//! keeps its own quoting (the audit trail has always quoted every cell, the
//! report only where a cell needs it), so the files read as they did.

use std::borrow::Cow;

/// How a file's cells are quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// Only a cell holding a comma, a quote or a line break.
    Needed,
    /// Every cell.
    Always,
}

/// `text` as a cell no spreadsheet runs: led by an apostrophe when it
/// starts as a formula does (`=`, `+`, `-`, `@`) or with a tab or carriage
/// return (which some spreadsheets skip before looking for one), so that it
/// stays text. Everything else as it is.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A CSV file: the `header` line as given (our own words, never quoted),
/// then one line per row, each cell neutralised and quoted as `quoting`
/// says; lines end CRLF, as RFC 4180 has them. With no header, rows only.
pub fn write<Row, Cell>(
    header: &[&str],
    rows: impl IntoIterator<Item = Row>,
    quoting: Quoting,
) -> String
where
    Row: IntoIterator<Item = Cell>,
    Cell: AsRef<str>,
{
    let mut head = header.join(",");
    if !header.is_empty() {
        head.push_str("\r\n");
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(match quoting {
            Quoting::Needed => csv::QuoteStyle::Necessary,
            Quoting::Always => csv::QuoteStyle::Always,
        })
        .flexible(true)
        .from_writer(head.into_bytes());
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        // Into memory, with rows of any length allowed: nothing can fail.
        out.write_record(&cells)
            .expect("a CSV row written to memory");
    }
    let bytes = out
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("a CSV flushed to memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 cells is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_starts_as_a_formula_stays_text() {
        for lead in ["=1+1", "+44", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(lead), format!("'{lead}"), "{lead:?}");
        }
        assert_eq!(neutralise("a=b"), "a=b");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn quoting_is_as_each_file_has_it() {
        let rows = [["plain", "a,b", "say \"hi\""], ["=x", "", "line\nbreak"]];
        assert_eq!(
            write(&["one", "two", "three"], rows, Quoting::Needed),
            "one,two,three\r\nplain,\"a,b\",\"say \"\"hi\"\"\"\r\n'=x,,\"line\nbreak\"\r\n"
        );
        assert_eq!(
            write(&["one", "two", "three"], rows, Quoting::Always),
            "one,two,three\r\n\"plain\",\"a,b\",\"say \"\"hi\"\"\"\r\n\"'=x\",\"\",\"line\nbreak\"\r\n"
        );
    }
}
