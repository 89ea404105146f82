//! The EXIT STATUS section comes from the very table `--help` prints, so the two cannot
//! disagree.

/// One exit code and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitCode {
    /// The code.
    pub code: u8,
    /// Its meaning, on one line.
    pub meaning: String,
}

/// Parses an exit code table as printed after `--help`:
///
/// ```text
/// Exit codes:
///   0  the tunnel ended normally
///   6  HTTP status instead of the WebSocket upgrade (404/502/503: sandbox not found,
///      not running, or nothing listening on that port)
/// ```
///
/// A heading line ending in `:` is skipped; an indented line without a code continues the
/// previous entry.
///
/// # Errors
/// When a line is neither a heading, an entry nor a continuation, or the table is empty,
/// with the offending line.
pub fn exit_codes(table: &str) -> Result<Vec<ExitCode>, String> {
    let mut codes: Vec<ExitCode> = Vec::new();
    for line in table.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || (!line.starts_with(' ') && trimmed.ends_with(':')) {
            continue;
        }
        let (head, rest) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
        match head.parse::<u8>() {
            Ok(code) if !rest.trim().is_empty() => codes.push(ExitCode {
                code,
                meaning: rest.trim().to_owned(),
            }),
            _ => match codes.last_mut() {
                Some(last) if line.starts_with(' ') => {
                    last.meaning.push(' ');
                    last.meaning.push_str(trimmed);
                }
                _ => return Err(format!("not an exit code table line: {line:?}")),
            },
        }
    }
    if codes.is_empty() {
        return Err("the exit code table is empty".to_owned());
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_continuations() {
        let table = "Exit codes:\n  0  fine\n  6  an HTTP status\n     (404: not found)\n 12  more";
        let codes = exit_codes(table).expect("parses");
        assert_eq!(
            codes,
            vec![
                ExitCode {
                    code: 0,
                    meaning: "fine".into()
                },
                ExitCode {
                    code: 6,
                    meaning: "an HTTP status (404: not found)".into()
                },
                ExitCode {
                    code: 12,
                    meaning: "more".into()
                },
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_silent_gap() {
        assert!(exit_codes("Exit codes:\n").is_err());
        assert!(exit_codes("  x  what").is_err());
        assert!(exit_codes("prose without codes").is_err());
    }
}
