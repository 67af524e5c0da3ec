//! The one quoting function. Its implementation lives in the pure
//! `matterstack-schedulers` crate (the lowest layer, which renders job
//! scripts with it); everything in core uses it through this module.

pub use matterstack_schedulers::sh_quote as quote;

/// Quotes each word and joins them with spaces: an argv as one shell line.
pub fn quote_all<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `printf %s <quoted>` through a real `sh` and returns what it printed.
    fn through_sh(value: &str) -> Vec<u8> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(value)))
            .output()
            .expect("sh runs");
        assert!(out.status.success());
        out.stdout
    }

    #[test]
    fn hostile_values_arrive_unchanged() {
        for v in [
            "",
            "plain",
            "with space",
            "it's",
            "''",
            "$(touch /tmp/ms-pwned)",
            "`id`",
            "a\nb",
            "back\\slash",
            "tab\there",
            "ünïcødé λ",
            "*",
            "~",
            "-n",
            "a;b|c&d>e<f",
            "\"dq\"",
            "!bang",
        ] {
            assert_eq!(
                through_sh(v),
                v.as_bytes(),
                "value {v:?} quoted as {}",
                quote(v)
            );
        }
        assert!(!std::path::Path::new("/tmp/ms-pwned").exists());
    }

    #[test]
    fn argv_round_trip() {
        let argv = ["printf", "%s|", "a b", "$HOME", "x'y"];
        let out = Command::new("sh")
            .arg("-c")
            .arg(quote_all(&argv))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"a b|$HOME|x'y|");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Any string without NUL (which no argv can carry) reaches the
        /// program behind `sh -c` byte for byte.
        #[test]
        fn sh_receives_the_exact_bytes(value in "[^\u{0}]{0,40}", prefix in prop::sample::select(vec!["", "'", "$(", "`", "\\", "\n", "\"", "é"])) {
            let value = format!("{prefix}{value}");
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(&value)))
                .output()
                .unwrap();
            prop_assert!(out.status.success());
            prop_assert_eq!(out.stdout, value.as_bytes());
        }
    }
}
