//! A program's exit codes, defined once as a table: `--help` ends with
//! [`exit_codes_help`] of it and the man page's EXIT STATUS lists it, so the two cannot
//! disagree.

/// The heading of the table that `--help` prints, in both programs.
pub const EXIT_CODES_HEADING: &str = "Exit codes:";

/// How wide the `--help` table may be, as wide as clap wraps the rest of `--help`: longer
/// meanings continue on lines of their own.
const HELP_WIDTH: usize = 100;

/// One exit code and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode<'a> {
    /// The code.
    pub code: u8,
    /// Its meaning: one line of prose, without line breaks (`--help` wraps it).
    pub meaning: &'a str,
}

impl<'a> ExitCode<'a> {
    /// The `code` and what it means (one line of prose).
    pub const fn new(code: u8, meaning: &'a str) -> Self {
        Self { code, meaning }
    }
}

/// The table as `--help` prints it: the heading, then each code right-aligned with its
/// meaning, a long meaning wrapped under itself:
///
/// ```text
/// Exit codes:
///   0  the tunnel ended normally
///   6  HTTP status instead of the WebSocket upgrade (404/502/503: sandbox not found, not running, or
///      nothing listening on that port; 409: a pause or resume is under way)
///  10  no running or paused sandbox has that name
/// ```
pub fn exit_codes_help(codes: &[ExitCode<'_>]) -> String {
    let mut out = String::from(EXIT_CODES_HEADING);
    for entry in codes {
        let mut line = format!("\n{:>3} ", entry.code);
        let mut width = 0;
        for word in entry.meaning.split_whitespace() {
            if width > 0 && 5 + width + 1 + word.len() > HELP_WIDTH {
                line.push_str("\n    ");
                width = 0;
            }
            line.push(' ');
            line.push_str(word);
            width += if width == 0 {
                word.len()
            } else {
                word.len() + 1
            };
        }
        out.push_str(&line);
    }
    out
}

/// Checks a table: at least one code, in increasing order, each meaning one non-empty
/// line.
///
/// # Errors
/// The first entry that breaks a rule, with why.
pub fn check_exit_codes(codes: &[ExitCode<'_>]) -> Result<(), String> {
    if codes.is_empty() {
        return Err("the exit code table is empty".to_owned());
    }
    for (i, entry) in codes.iter().enumerate() {
        if entry.meaning.trim().is_empty() || entry.meaning.contains(['\n', '\r']) {
            return Err(format!(
                "exit code {}: the meaning must be one non-empty line",
                entry.code
            ));
        }
        if i > 0 && codes[i - 1].code >= entry.code {
            return Err(format!(
                "exit code {} comes after {}: list the codes in increasing order, once each",
                entry.code,
                codes[i - 1].code
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[ExitCode<'static>] = &[
        ExitCode {
            code: 0,
            meaning: "fine",
        },
        ExitCode {
            code: 6,
            meaning: "HTTP status instead of the WebSocket upgrade (404/502/503: sandbox not \
                      found, not running, or nothing listening on that port; 409: a pause or \
                      resume is under way)",
        },
        ExitCode {
            code: 12,
            meaning: "more",
        },
    ];

    #[test]
    fn help_aligns_codes_and_wraps_long_meanings_under_themselves() {
        let help = exit_codes_help(TABLE);
        let lines: Vec<&str> = help.lines().collect();
        assert_eq!(lines[0], "Exit codes:");
        assert_eq!(lines[1], "  0  fine");
        assert!(lines[2].starts_with("  6  HTTP status instead"), "{help}");
        assert!(lines[3].starts_with("     ") && !lines[3].starts_with("      "));
        assert_eq!(lines[4], " 12  more");
        assert_eq!(lines.len(), 5, "{help}");
        for line in &lines {
            assert!(line.len() <= HELP_WIDTH, "{line:?}");
        }
        assert_eq!(
            format!("{} {}", &lines[2][5..], lines[3].trim_start()),
            TABLE[1].meaning
        );
    }

    #[test]
    fn a_bad_table_is_an_error_not_a_silent_gap() {
        assert!(check_exit_codes(TABLE).is_ok());
        assert!(check_exit_codes(&[]).is_err());
        let unordered = [TABLE[1], TABLE[0]];
        assert!(check_exit_codes(&unordered).is_err());
        let twice = [TABLE[0], TABLE[0]];
        assert!(check_exit_codes(&twice).is_err());
        let two_lines = [ExitCode {
            code: 1,
            meaning: "a\nb",
        }];
        assert!(check_exit_codes(&two_lines).is_err());
    }
}
