//! One man page per program: clap_mangen's title, NAME and option lists, laid out with a
//! section per subcommand, and the sections clap cannot express.

use clap::Command;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

use crate::exit_status::{check_exit_codes, ExitCode};
use crate::{PACKAGE, RELEASE_DATE};

/// A term and its explanation: a file or an environment variable.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The file or variable.
    pub term: &'a str,
    /// What it is or does: one paragraph.
    pub text: &'a str,
}

/// An example: what it does, then the command lines.
#[derive(Debug, Clone, Copy)]
pub struct Example<'a> {
    /// What the commands do: one paragraph.
    pub text: &'a str,
    /// The command lines, shown as typed.
    pub commands: &'a [&'a str],
}

/// The parts of a man page that are not in the clap definition.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// EXAMPLES.
    pub examples: &'a [Example<'a>],
    /// FILES: paths, shown in italics.
    pub files: &'a [Entry<'a>],
    /// ENVIRONMENT: variables, shown in bold.
    pub environment: &'a [Entry<'a>],
    /// EXIT STATUS: the program's exit code table, the one its `--help` ends with (see
    /// [`crate::exit_codes_help`]).
    pub exit_codes: &'a [ExitCode<'a>],
    /// SEE ALSO, as `name(section)`.
    pub see_also: &'a [&'a str],
}

impl Page<'_> {
    /// Renders the man page of `cmd` (roff, section 1).
    ///
    /// # Errors
    /// When the exit code table is malformed or a SEE ALSO reference cannot be parsed.
    pub fn render(&self, cmd: Command) -> Result<String, String> {
        let mut cmd = cmd.disable_help_subcommand(true);
        cmd.build();
        let name = cmd.get_name().to_owned();
        let man = Man::new(cmd.clone())
            .title(name.to_uppercase())
            .section("1")
            .date(RELEASE_DATE)
            .source(format!("{PACKAGE} {}", env!("CARGO_PKG_VERSION")))
            .manual("User Commands");

        let mut doc = Doc::default();
        doc.push_mangen(|w| man.render_title(w))?;
        doc.push_mangen(|w| man.render_name_section(w))?;

        let mut roff = Roff::new();
        roff.control("SH", ["SYNOPSIS"]);
        synopsis(&mut roff, &cmd);
        roff.control("SH", ["DESCRIPTION"]);
        paragraphs(&mut roff, &cmd, &name);
        doc.push(&roff);

        doc.push_mangen(|w| man.render_options_section(w))?;

        let subcommands = visible_subcommands(&cmd);
        if !subcommands.is_empty() {
            let mut heading = Roff::new();
            heading.control("SH", ["COMMANDS"]);
            doc.push(&heading);
            for sub in subcommands {
                command_section(&mut doc, sub, &name)?;
            }
        }
        doc.push(&self.extra_sections()?);
        Ok(tidy(&doc.text))
    }

    fn extra_sections(&self) -> Result<Roff, String> {
        let mut roff = Roff::new();
        if !self.examples.is_empty() {
            roff.control("SH", ["EXAMPLES"]);
            for (i, example) in self.examples.iter().enumerate() {
                if i > 0 {
                    roff.control("PP", []);
                }
                roff.text([roman(example.text)]);
                literal(&mut roff, example.commands.iter().copied());
            }
        }
        entries(&mut roff, "FILES", self.files, italic);
        entries(&mut roff, "ENVIRONMENT", self.environment, bold);

        roff.control("SH", ["EXIT STATUS"]);
        check_exit_codes(self.exit_codes)?;
        for entry in self.exit_codes {
            roff.control("TP", []);
            roff.text([bold(entry.code.to_string())]);
            roff.text([roman(entry.meaning)]);
        }

        if !self.see_also.is_empty() {
            roff.control("SH", ["SEE ALSO"]);
            let mut line = Vec::new();
            for (i, reference) in self.see_also.iter().enumerate() {
                let (page, section) = reference
                    .strip_suffix(')')
                    .and_then(|r| r.split_once('('))
                    .ok_or_else(|| format!("SEE ALSO entry {reference:?} is not name(section)"))?;
                line.push(bold(page));
                let sep = if i + 1 < self.see_also.len() {
                    "),"
                } else {
                    ")"
                };
                line.push(roman(format!("({section}{sep}")));
                roff.text(std::mem::take(&mut line));
            }
        }
        Ok(roff)
    }
}

/// The page's roff text, written from pieces that each start with the same preamble.
#[derive(Default)]
struct Doc {
    text: String,
}

impl Doc {
    /// Appends `roff`.
    fn push(&mut self, roff: &Roff) {
        self.push_rendered(roff.render());
    }

    /// Appends what one of clap_mangen's `render_*` methods writes.
    fn push_mangen(
        &mut self,
        render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), String> {
        self.push_rendered(mangen(render)?);
        Ok(())
    }

    /// Appends a rendered piece, keeping only the first copy of the apostrophe preamble.
    fn push_rendered(&mut self, rendered: String) {
        if self.text.is_empty() {
            self.text = rendered;
        } else {
            self.text.push_str(without_preamble(&rendered));
        }
    }
}

/// Runs one of clap_mangen's `render_*` methods.
fn mangen(
    render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<String, String> {
    let mut out = Vec::new();
    render(&mut out).map_err(|e| format!("cannot render the man page: {e}"))?;
    String::from_utf8(out).map_err(|e| format!("the man page is not UTF-8: {e}"))
}

/// `rendered` without the apostrophe preamble every rendered piece starts with.
fn without_preamble(rendered: &str) -> &str {
    let preamble = Roff::new().render();
    rendered.strip_prefix(preamble.as_str()).unwrap_or(rendered)
}

/// The longest text line [`tidy`] leaves, as `mandoc -T lint` recommends.
const MAX_LINE: usize = 80;

/// Makes the roff text lint-clean: no trailing blanks, text lines wrapped at spaces to at
/// most [`MAX_LINE`] bytes where possible (never in `.nf` blocks; a break after `.`, `!` or
/// `?` gets a `\&` so the spacing stays that of the unwrapped line), and clap_mangen's blank text line before
/// "Possible values" (`.br`, empty line, `.br`) turned into the `.sp` it means.
fn tidy(text: &str) -> String {
    let text = text.replace("\n.br\n\n.br\n", "\n.sp\n");
    let mut out = String::with_capacity(text.len());
    let mut literal = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with(".nf") {
            literal = true;
        } else if line.starts_with(".fi") {
            literal = false;
        }
        if literal || line.starts_with('.') || line.len() <= MAX_LINE {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        wrap(line, &mut out);
    }
    out
}

/// Appends `line` wrapped at spaces, each piece on its own line.
fn wrap(line: &str, out: &mut String) {
    let mut current = String::new();
    for word in line.split(' ') {
        let breakable = !current.is_empty()
            && current.len() + 1 + word.len() > MAX_LINE
            && !current.ends_with(' ')
            && !word.is_empty();
        if breakable {
            out.push_str(&current);
            if current.ends_with(['.', '!', '?']) {
                // At a line end these would start a new sentence, spaced wider.
                out.push_str("\\&");
            }
            out.push('\n');
            current.clear();
            if word.starts_with(['.', '\'']) {
                // A line starting with these would be a request.
                current.push_str("\\&");
            }
        } else if !current.is_empty() || line.starts_with(' ') {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push_str(&current);
    out.push('\n');
}

/// The subcommands shown in the page, in the order of `--help`.
fn visible_subcommands(cmd: &Command) -> Vec<&Command> {
    let mut subs: Vec<&Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    subs.sort_by_key(|s| s.get_display_order());
    subs
}

/// One usage line per way of running the program: the program's own (unless it only takes
/// a command) and every subcommand's that takes no further subcommand.
fn usage_lines(cmd: &Command, out: &mut Vec<String>) {
    let usage = cmd.clone().render_usage().to_string();
    for line in usage.lines() {
        let line = line.trim().trim_start_matches("Usage:").trim();
        if !line.is_empty() && !line.contains("COMMAND>") && !line.contains("[COMMAND]") {
            out.push(line.to_owned());
        }
    }
    for sub in visible_subcommands(cmd) {
        usage_lines(sub, out);
    }
}

fn synopsis(roff: &mut Roff, cmd: &Command) {
    let mut lines = Vec::new();
    usage_lines(cmd, &mut lines);
    let words = |line: &str| -> usize {
        line.split(' ')
            .take_while(|w| !w.starts_with(['[', '<', '-']) && w.chars().all(|c| c != ':'))
            .count()
    };
    let mut inlines = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            inlines.push(Inline::LineBreak);
        }
        let n = words(line);
        let (command, rest) = split_words(line, n);
        inlines.push(bold(command));
        if !rest.is_empty() {
            inlines.push(roman(format!(" {rest}")));
        }
    }
    roff.text(inlines);
}

/// Splits `line` after its first `n` space-separated words.
fn split_words(line: &str, n: usize) -> (&str, &str) {
    let mut end = 0;
    for (count, (i, _)) in line.match_indices(' ').enumerate() {
        if count + 1 == n {
            end = i;
            break;
        }
    }
    if end == 0 && line.split(' ').count() <= n {
        return (line, "");
    }
    (&line[..end], &line[end + 1..])
}

/// The command's long description: paragraphs, and each one-line paragraph that is a
/// command line (`ssh ...`, `PROGRAM ...`) set as an indented literal.
fn paragraphs(roff: &mut Roff, cmd: &Command, program: &str) {
    let Some(about) = cmd.get_long_about().or_else(|| cmd.get_about()) else {
        return;
    };
    let text = about.to_string();
    for (i, paragraph) in text.split("\n\n").enumerate() {
        let paragraph = paragraph.trim();
        if paragraph.is_empty() {
            continue;
        }
        let is_command = !paragraph.contains('\n')
            && (paragraph.starts_with("ssh ") || paragraph.starts_with(&format!("{program} ")));
        if is_command {
            literal(roff, [paragraph]);
            continue;
        }
        if i > 0 {
            roff.control("PP", []);
        }
        roff.text([roman(paragraph.replace('\n', " "))]);
    }
}

/// Indented lines, set as typed.
fn literal<'a>(roff: &mut Roff, lines: impl IntoIterator<Item = &'a str>) {
    roff.control("PP", []);
    roff.control("RS", ["4"]);
    roff.control("nf", []);
    for line in lines {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.control("RE", []);
}

fn entries(roff: &mut Roff, heading: &str, entries: &[Entry<'_>], style: fn(String) -> Inline) {
    if entries.is_empty() {
        return;
    }
    roff.control("SH", [heading]);
    for entry in entries {
        roff.control("TP", []);
        roff.text([style(entry.term.to_owned())]);
        roff.text([roman(entry.text)]);
    }
}

/// A subcommand's section: its name and usage, description and options (without the
/// global ones, which the OPTIONS section lists), then its own subcommands.
fn command_section(doc: &mut Doc, sub: &Command, program: &str) -> Result<(), String> {
    let path = sub
        .get_bin_name()
        .unwrap_or_else(|| sub.get_name())
        .replace('-', "\\-");
    let mut roff = Roff::new();
    roff.control("SS", [path.as_str()]);
    paragraphs(&mut roff, sub, program);
    doc.push(&roff);

    let mut own = sub.clone();
    let inherited: Vec<String> = sub
        .get_arguments()
        .filter(|a| a.is_global_set() || matches!(a.get_id().as_str(), "help" | "version"))
        .map(|a| a.get_id().to_string())
        .collect();
    for id in inherited {
        own = own.mut_arg(id, |a| a.hide(true));
    }
    if own.get_arguments().any(|a| !a.is_hide_set()) {
        let man = Man::new(own);
        let rendered = mangen(|w| man.render_options_section(w))?;
        let options = without_preamble(&rendered);
        // The options belong to this subsection: no section heading of their own.
        let options = options.strip_prefix(".SH OPTIONS\n").unwrap_or(options);
        doc.text.push_str(options);
    }
    for child in visible_subcommands(sub) {
        command_section(doc, child, program)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    fn demo() -> Command {
        Command::new("demo")
            .version("1.0")
            .about("Does demo things.")
            .long_about("Does demo things.\n\nRun it as\n\ndemo --fast x\n\nThat is all.")
            .arg(
                Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .global(true)
                    .num_args(0)
                    .help("Say more"),
            )
            .arg(Arg::new("fast").long("fast").num_args(0).help("Go fast"))
            .subcommand(
                Command::new("serve").about("Serve things").arg(
                    Arg::new("listen")
                        .long("listen")
                        .value_name("ADDR")
                        .required(true)
                        .help("Where"),
                ),
            )
    }

    fn page() -> Page<'static> {
        Page {
            examples: &[Example {
                text: "Serve on a port.",
                commands: &["demo serve --listen 127.0.0.1:1"],
            }],
            files: &[Entry {
                term: "~/.demo",
                text: "The state.",
            }],
            environment: &[Entry {
                term: "DEMO_X",
                text: "Sets x.",
            }],
            exit_codes: &[
                ExitCode {
                    code: 0,
                    meaning: "fine",
                },
                ExitCode {
                    code: 2,
                    meaning: "bad input",
                },
            ],
            see_also: &["ssh(1)", "ssh_config(5)"],
        }
    }

    #[test]
    fn every_section_in_man_page_order() {
        let text = page().render(demo()).expect("renders");
        let order = [
            ".TH DEMO 1",
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SS \"demo serve\"",
            ".SH EXAMPLES",
            ".SH FILES",
            ".SH ENVIRONMENT",
            ".SH \"EXIT STATUS\"",
            ".SH \"SEE ALSO\"",
        ];
        let mut from = 0;
        for heading in order {
            let at = text[from..]
                .find(heading)
                .unwrap_or_else(|| panic!("{heading} missing or out of order in\n{text}"));
            from += at + heading.len();
        }
        assert_eq!(
            text.matches(".ie \\n(.g").count(),
            1,
            "one preamble:\n{text}"
        );
    }

    #[test]
    fn command_lines_are_literal_and_globals_are_listed_once() {
        let text = page().render(demo()).expect("renders");
        assert!(text.contains(".nf\ndemo \\-\\-fast x\n.fi"), "{text}");
        assert!(
            text.contains("\\fBdemo serve\\fR [OPTIONS] \\-\\-listen <ADDR>"),
            "{text}"
        );
        assert_eq!(text.matches("\\fB\\-\\-verbose\\fR").count(), 1, "{text}");
        assert!(text.contains(".TP\n\\fB2\\fR\nbad input"), "{text}");
        assert!(text.contains("\\fBssh_config\\fR(5)"), "{text}");
        assert!(!text.contains("demo\\-help"), "no help subcommand:\n{text}");
    }

    #[test]
    fn long_text_lines_are_wrapped_without_changing_the_text() {
        let words = "word ".repeat(40);
        let text = format!(".SH X\n{words}\n.nf\n{words}\n.fi\nend. .dot 'quote trailing  \n");
        let tidied = tidy(&text);
        for line in tidied.lines() {
            assert_eq!(line, line.trim_end(), "trailing blanks: {line:?}");
        }
        let (prose, rest) = tidied.split_once(".nf\n").expect("literal block");
        assert!(prose.lines().all(|l| l.len() <= MAX_LINE), "{prose}");
        assert_eq!(
            prose.replace('\n', " ").trim_end(),
            format!(".SH X {}", words.trim_end())
        );
        assert!(
            rest.starts_with(&format!("{}\n.fi", words.trim_end())),
            "literal kept: {rest}"
        );
        let mut narrow = String::new();
        wrap(&format!("{} .dot 'quote", "x".repeat(72)), &mut narrow);
        assert_eq!(narrow, format!("{} .dot\n\\&'quote\n", "x".repeat(72)));
        let mut narrow = String::new();
        wrap(&format!("{}. next", "x".repeat(78)), &mut narrow);
        assert_eq!(narrow, format!("{}.\\&\nnext\n", "x".repeat(78)));
        let mut narrow = String::new();
        wrap(&format!("{} .dot", "x".repeat(78)), &mut narrow);
        assert_eq!(narrow, format!("{}\n\\&.dot\n", "x".repeat(78)));
    }

    #[test]
    fn possible_values_get_a_plain_vertical_space() {
        assert_eq!(
            tidy("help\n.br\n\n.br\n\\fIPossible\n"),
            "help\n.sp\n\\fIPossible\n"
        );
    }

    #[test]
    fn a_bad_see_also_entry_is_an_error() {
        let mut bad = page();
        bad.see_also = &["ssh"];
        assert!(bad.render(demo()).is_err());
    }
}
