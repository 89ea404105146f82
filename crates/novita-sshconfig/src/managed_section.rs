//! The marked section the kit keeps in `~/.ssh/config`:
//!
//! ```text
//! # >>> novita-ssh >>> (managed by novita-sshconfig; `novita-sshconfig config uninstall` removes it)
//! Include ~/.ssh/novita/config
//! # <<< novita-ssh <<<
//! ```
//!
//! It goes at the top of the file, above every `Host` and `Match` line: OpenSSH keeps the
//! first value it reads for each option, and an `Include` below a `Host` line only applies
//! to that host. Every byte outside the markers stays as it was, so removing the section
//! gives back the original file. Markers that are duplicated, reversed or half deleted are
//! refused: guessing which lines belong to the kit is how other tools wiped user configs.
//!
//! These are pure functions on the file's text; the caller reads and writes the file.

use thiserror::Error;

/// The text that identifies a begin marker line (after `#` and spaces).
pub const BEGIN_TAG: &str = ">>> novita-ssh";
/// The text that identifies an end marker line (after `#` and spaces).
pub const END_TAG: &str = "<<< novita-ssh";

/// The begin marker line as written.
pub const BEGIN_LINE: &str = "# >>> novita-ssh >>> (managed by novita-sshconfig; `novita-sshconfig config uninstall` removes it)";
/// The end marker line as written.
pub const END_LINE: &str = "# <<< novita-ssh <<<";

const FIX: &str = "keep exactly one '# >>> novita-ssh' line above one '# <<< novita-ssh' line, \
                   or delete both markers and the lines between them, then run the command again";

/// The markers in a file are not one begin line followed by one end line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarkerError {
    /// More than one begin marker.
    #[error("the novita-ssh begin marker appears {} times (lines {}); {FIX}", .0.len(), join(.0))]
    DuplicateBegin(Vec<usize>),
    /// More than one end marker.
    #[error("the novita-ssh end marker appears {} times (lines {}); {FIX}", .0.len(), join(.0))]
    DuplicateEnd(Vec<usize>),
    /// The end marker comes before the begin marker.
    #[error("the novita-ssh end marker (line {end}) comes before the begin marker (line {begin}); {FIX}")]
    Reversed {
        /// Line of the begin marker.
        begin: usize,
        /// Line of the end marker.
        end: usize,
    },
    /// A begin marker without an end marker.
    #[error("the novita-ssh begin marker (line {0}) has no end marker; {FIX}")]
    MissingEnd(usize),
    /// An end marker without a begin marker.
    #[error("the novita-ssh end marker (line {0}) has no begin marker; {FIX}")]
    MissingBegin(usize),
}

fn join(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the section is in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// 1-based line number of the begin marker.
    pub begin_line: usize,
    /// 1-based line number of the end marker.
    pub end_line: usize,
    /// Byte offset where the begin marker line starts.
    pub start: usize,
    /// Byte offset just after the end marker line (after its newline, if any).
    pub end: usize,
    /// The lines between the markers, with their line endings.
    pub body: String,
}

/// What [`install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The section was already there, correct and well placed.
    Unchanged,
    /// The section was added at the top.
    Added,
    /// The section's lines were rewritten in place.
    Updated,
    /// The section sat below a `Host` or `Match` line and was moved to the top.
    Moved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Begin,
    End,
}

fn marker_of(line: &str) -> Option<Marker> {
    let rest = line.trim_start().strip_prefix('#')?;
    let rest = rest.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
    if rest.starts_with(BEGIN_TAG) {
        Some(Marker::Begin)
    } else if rest.starts_with(END_TAG) {
        Some(Marker::End)
    } else {
        None
    }
}

/// Splits the text into lines that keep their endings, with their byte offsets.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0usize, |offset, line| {
        let start = *offset;
        *offset += line.len();
        Some((start, line))
    })
}

/// The keyword of a config line (`Host`, `IdentityFile`, ...), if it has one.
pub fn keyword(line: &str) -> Option<&str> {
    keyword_and_rest(line).map(|(keyword, _)| keyword)
}

/// The keyword and what follows it. Like OpenSSH, one `=` before the keyword is skipped
/// (`=Host x` is a `Host` line), and a line whose keyword is empty is ignored.
fn keyword_and_rest(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let line = line.strip_prefix('=').map_or(line, str::trim_start);
    if line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    (!keyword.is_empty()).then_some((keyword, rest))
}

fn is_host_or_match(line: &str) -> bool {
    keyword(line).is_some_and(|k| k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("match"))
}

/// The 1-based line number of the first `Host` or `Match` line.
pub fn first_host_or_match(text: &str) -> Option<usize> {
    lines(text)
        .enumerate()
        .find(|(_, (_, line))| is_host_or_match(line))
        .map(|(n, _)| n + 1)
}

/// The 1-based line of an `Include` of one of `targets` above the first `Host`/`Match`
/// line, written by hand (home-manager's `programs.ssh.includes`, a dotfile).
pub fn find_plain_include(text: &str, targets: &[String]) -> Option<usize> {
    for (n, (_, line)) in lines(text).enumerate() {
        if is_host_or_match(line) {
            return None;
        }
        let Some((_, rest)) =
            keyword_and_rest(line).filter(|(k, _)| k.eq_ignore_ascii_case("include"))
        else {
            continue;
        };
        let args = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '=');
        if args
            .split_whitespace()
            .map(|a| a.trim_matches('"'))
            .any(|a| targets.iter().any(|t| t == a))
        {
            return Some(n + 1);
        }
    }
    None
}

/// Finds the section; `None` when there are no markers at all.
pub fn find(text: &str) -> Result<Option<Section>, MarkerError> {
    let mut begins = Vec::new();
    let mut ends = Vec::new();
    for (n, (start, line)) in lines(text).enumerate() {
        match marker_of(line) {
            Some(Marker::Begin) => begins.push((n + 1, start, line.len())),
            Some(Marker::End) => ends.push((n + 1, start, line.len())),
            None => {}
        }
    }
    if begins.len() > 1 {
        return Err(MarkerError::DuplicateBegin(
            begins.iter().map(|b| b.0).collect(),
        ));
    }
    if ends.len() > 1 {
        return Err(MarkerError::DuplicateEnd(
            ends.iter().map(|e| e.0).collect(),
        ));
    }
    match (begins.first(), ends.first()) {
        (None, None) => Ok(None),
        (Some(b), None) => Err(MarkerError::MissingEnd(b.0)),
        (None, Some(e)) => Err(MarkerError::MissingBegin(e.0)),
        (Some(b), Some(e)) if e.0 < b.0 => Err(MarkerError::Reversed {
            begin: b.0,
            end: e.0,
        }),
        (Some(&(begin_line, start, begin_len)), Some(&(end_line, end_start, end_len))) => {
            Ok(Some(Section {
                begin_line,
                end_line,
                start,
                end: end_start + end_len,
                body: text[start + begin_len..end_start].to_owned(),
            }))
        }
    }
}

/// The line ending the file uses: CRLF when it has any, LF otherwise.
pub fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The section's lines between the markers for an Include argument (already quoted).
pub fn body(include_arg: &str, newline: &str) -> String {
    format!("Include {include_arg}{newline}")
}

/// The whole section.
pub fn render(include_arg: &str, newline: &str) -> String {
    format!(
        "{BEGIN_LINE}{newline}{}{END_LINE}{newline}",
        body(include_arg, newline)
    )
}

/// Adds or repairs the section: returns the new text and what changed.
pub fn install(text: &str, include_arg: &str) -> Result<(String, Change), MarkerError> {
    let newline = newline_of(text);
    let section = render(include_arg, newline);
    match find(text)? {
        None => Ok((format!("{section}{text}"), Change::Added)),
        Some(found) => {
            let misplaced = first_host_or_match(text).is_some_and(|n| n < found.begin_line);
            if misplaced {
                let rest = format!("{}{}", &text[..found.start], &text[found.end..]);
                return Ok((format!("{section}{rest}"), Change::Moved));
            }
            let current = &text[found.start..found.end];
            // The end marker may be the last line without a newline: compare the lines.
            if current.trim_end_matches(['\r', '\n']) == section.trim_end_matches(['\r', '\n']) {
                return Ok((text.to_owned(), Change::Unchanged));
            }
            let ending = if text[..found.end].ends_with('\n') {
                section.clone()
            } else {
                section.trim_end_matches(['\r', '\n']).to_owned()
            };
            Ok((
                format!("{}{ending}{}", &text[..found.start], &text[found.end..]),
                Change::Updated,
            ))
        }
    }
}

/// Removes the section: returns the text without it, or `None` when there was none.
pub fn remove(text: &str) -> Result<Option<String>, MarkerError> {
    Ok(find(text)?.map(|s| format!("{}{}", &text[..s.start], &text[s.end..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INC: &str = "~/.ssh/novita/config";

    #[test]
    fn install_then_remove_gives_back_every_byte() {
        for original in [
            "",
            "Host a\n  User b\n",
            "# my config\r\nHost *\r\n  User x\r\n",
            "User root\nHost x\n\tHostName y",
            "\n\n  \n",
        ] {
            let (installed, change) = install(original, INC).expect("install");
            assert_eq!(change, Change::Added);
            assert!(installed.ends_with(original));
            assert_eq!(
                install(&installed, INC).expect("again").1,
                Change::Unchanged
            );
            assert_eq!(
                remove(&installed).expect("remove").as_deref(),
                Some(original)
            );
        }
    }

    #[test]
    fn crlf_files_get_crlf_lines() {
        let (installed, _) = install("Host a\r\n", INC).expect("install");
        assert!(installed.starts_with(&format!("{BEGIN_LINE}\r\nInclude {INC}\r\n{END_LINE}\r\n")));
    }

    #[test]
    fn edited_sections_are_repaired_in_place() {
        let text = format!("# top\n{BEGIN_LINE}\nInclude /old\n# <<< novita-ssh <<< x\nHost a\n");
        let (fixed, change) = install(&text, INC).expect("install");
        assert_eq!(change, Change::Updated);
        assert_eq!(fixed, format!("# top\n{}Host a\n", render(INC, "\n")));
    }

    #[test]
    fn sections_below_a_host_line_move_to_the_top() {
        let text = format!("Host a\n  User b\n{}Host c\n", render(INC, "\n"));
        let (fixed, change) = install(&text, INC).expect("install");
        assert_eq!(change, Change::Moved);
        assert_eq!(
            fixed,
            format!("{}Host a\n  User b\nHost c\n", render(INC, "\n"))
        );
        let text = format!("Match all\n{}", render(INC, "\n"));
        assert_eq!(install(&text, INC).expect("install").1, Change::Moved);
    }

    #[test]
    fn broken_markers_are_refused() {
        let b = BEGIN_LINE;
        let e = END_LINE;
        let cases = [
            (
                format!("{b}\n{b}\n{e}\n"),
                "begin marker appears 2 times (lines 1, 2)",
            ),
            (format!("{b}\n{e}\n{e}\n"), "end marker appears 2 times"),
            (
                format!("{e}\nHost x\n{b}\n"),
                "comes before the begin marker",
            ),
            (
                format!("Host x\n{b}\nInclude y\n"),
                "begin marker (line 2) has no end marker",
            ),
            (
                "Include y\n  #<<< novita-ssh\n".to_owned(),
                "end marker (line 2) has no begin marker",
            ),
        ];
        for (text, expected) in cases {
            let err = install(&text, INC).expect_err(&text).to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains('\n'));
            assert!(remove(&text).is_err());
        }
    }

    #[test]
    fn keywords_and_host_lines() {
        assert_eq!(keyword("  Host=foo"), Some("Host"));
        assert_eq!(keyword("\tMATCH all"), Some("MATCH"));
        assert_eq!(keyword("# Host x"), None);
        assert_eq!(
            first_host_or_match("User a\n# Host\nhostname x\n  host y\n"),
            Some(4)
        );
        assert_eq!(first_host_or_match("User a\n"), None);
        // OpenSSH skips one '=' before the keyword, and ignores an empty keyword.
        assert_eq!(keyword(" = Host x"), Some("Host"));
        assert_eq!(keyword("==Host x"), None);
        assert_eq!(keyword("=#Host x"), None);
        assert_eq!(first_host_or_match("User a\n=Host x\n"), Some(2));
        let text = format!("=Host x\n{}", render(INC, "\n"));
        assert_eq!(install(&text, INC).expect("install").1, Change::Moved);
    }

    #[test]
    fn includes_written_by_hand_are_found() {
        let targets = [
            "~/.ssh/novita/config".to_owned(),
            "/h/.ssh/novita/config".to_owned(),
        ];
        assert_eq!(
            find_plain_include("# x\nInclude  ~/.ssh/novita/config\n", &targets),
            Some(2)
        );
        assert_eq!(
            find_plain_include("include=\"/h/.ssh/novita/config\"\n", &targets),
            Some(1)
        );
        assert_eq!(
            find_plain_include("Host a\nInclude ~/.ssh/novita/config\n", &targets),
            None
        );
        assert_eq!(find_plain_include("Include ~/.ssh/other\n", &targets), None);
        assert_eq!(
            find_plain_include("=Include ~/.ssh/novita/config\n", &targets),
            Some(1)
        );
    }

    #[test]
    fn a_final_marker_without_newline_is_found() {
        let text = format!("{BEGIN_LINE}\nInclude {INC}\n{END_LINE}");
        assert_eq!(install(&text, INC).expect("install").1, Change::Unchanged);
        assert_eq!(remove(&text).expect("remove").as_deref(), Some(""));
    }
}
