//! What the benchmark programs share: their argument parsers (clap value parsers).

/// Command-line values.
pub mod args {
    use std::str::FromStr;
    use std::time::Duration;

    /// A count that must be at least 1.
    ///
    /// # Errors
    /// When `value` is not a number, or is zero.
    pub fn at_least_one<T: FromStr + Default + PartialEq>(value: &str) -> Result<T, String> {
        match value.parse() {
            Ok(n) if n == T::default() => Err("must be at least 1".to_owned()),
            Ok(n) => Ok(n),
            Err(_) => Err("not a number".to_owned()),
        }
    }

    /// Milliseconds.
    ///
    /// # Errors
    /// When `value` is not a whole number.
    pub fn millis(value: &str) -> Result<Duration, String> {
        value
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| "not a whole number of milliseconds".to_owned())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn counts_start_at_one() {
            assert_eq!(at_least_one::<usize>("3"), Ok(3));
            assert!(at_least_one::<usize>("0").is_err());
            assert!(at_least_one::<u64>("x").is_err());
            assert_eq!(millis("50"), Ok(Duration::from_millis(50)));
            assert!(millis("1.5").is_err());
        }
    }
}
