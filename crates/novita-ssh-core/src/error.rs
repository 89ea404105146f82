use thiserror::Error;

/// A value was refused before anything was built from it.
///
/// The `Display` text is one line that names the problem and the fix, ready to print.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// The value is empty.
    #[error("{what} is empty: {hint}")]
    Empty {
        /// What kind of value it is ("sandbox ID", "alias", ...).
        what: &'static str,
        /// How to fix it.
        hint: &'static str,
    },
    /// The value is longer than allowed.
    #[error("{what} is {len} characters long, at most {max} are allowed: {hint}")]
    TooLong {
        /// What kind of value it is.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The maximum length.
        max: usize,
        /// How to fix it.
        hint: &'static str,
    },
    /// The value contains characters or a shape that is not allowed.
    #[error("invalid {what} {shown}: {reason}; {hint}")]
    Invalid {
        /// What kind of value it is.
        what: &'static str,
        /// The value, escaped so it prints on one line.
        shown: String,
        /// What is wrong with it.
        reason: String,
        /// How to fix it.
        hint: &'static str,
    },
}

impl ValidationError {
    pub(crate) fn invalid(
        what: &'static str,
        value: &str,
        reason: impl Into<String>,
        hint: &'static str,
    ) -> Self {
        Self::Invalid {
            what,
            shown: quote_for_message(value),
            reason: reason.into(),
            hint,
        }
    }
}

/// Quotes a value for an error message: printable ASCII stays, everything else is escaped,
/// and long values are shortened, so a hostile value can never break the one-line message.
pub fn quote_for_message(value: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::with_capacity(value.len().min(MAX) + 2);
    out.push('\'');
    for (n, c) in value.chars().enumerate() {
        if n == MAX {
            out.push_str("...");
            break;
        }
        if c == '\'' {
            out.push_str("\\'");
        } else if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out.push('\'');
    out
}
