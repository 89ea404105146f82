//! `~/.ssh/config` as the user left it, for the section novita-sshconfig keeps in it:
//! never a panic; every error is one line; installing then removing gives back every
//! byte; installing twice changes nothing; bytes outside the markers are never touched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use novita_sshconfig::managed_section::{
    body, find, find_plain_include, first_host_or_match, install, keyword, newline_of, remove,
    render, Change,
};

const INCLUDES: [&str; 2] = ["~/.ssh/novita/config", "\"/home/a b/.ssh/novita/config\""];

fn check(text: &str, include: &str) {
    let found = match find(text) {
        Ok(found) => found,
        Err(e) => {
            assert!(!e.to_string().contains(['\n', '\r']), "multi-line: {e}");
            assert_eq!(install(text, include), Err(e.clone()));
            assert_eq!(remove(text), Err(e));
            return;
        }
    };
    if let Some(section) = &found {
        assert!(section.begin_line < section.end_line);
        assert!(section.start < section.end && section.end <= text.len());
        assert!(text[section.start..section.end].contains(&section.body));
    }
    // Text outside the markers: the whole file when there is no section.
    let outside = remove(text)
        .expect("find succeeded")
        .unwrap_or_else(|| text.to_owned());
    assert_eq!(found.is_none(), outside == text);

    let newline = newline_of(text);
    let (installed, change) = install(text, include).expect("find succeeded");
    match change {
        Change::Added => {
            assert!(found.is_none());
            assert_eq!(installed, format!("{}{text}", render(include, newline)));
        }
        Change::Unchanged => assert_eq!(installed, text),
        Change::Updated | Change::Moved => assert!(found.is_some()),
    }
    // The section is where OpenSSH reads it first, and only the section changed.
    let section = find(&installed)
        .expect("installed text has good markers")
        .expect("installed text has the section");
    assert!(first_host_or_match(&installed).is_none_or(|n| n > section.end_line));
    assert_eq!(section.body, body(include, newline));
    assert_eq!(newline_of(&installed), newline);
    assert_eq!(remove(&installed).as_ref(), Ok(&Some(outside.clone())));
    // Installing again changes nothing.
    assert_eq!(
        install(&installed, include),
        Ok((installed.clone(), Change::Unchanged))
    );
    // Removing leaves no markers.
    assert_eq!(find(&outside), Ok(None));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for include in INCLUDES {
        check(text, include);
    }
    let targets: Vec<String> = INCLUDES.iter().map(|s| (*s).to_owned()).collect();
    if let Some(line) = find_plain_include(text, &targets) {
        assert!(line <= text.split_inclusive('\n').count());
    }
    for line in text.split_inclusive('\n') {
        if let Some(word) = keyword(line) {
            assert!(!word.is_empty() && !word.contains(char::is_whitespace));
        }
    }
});
