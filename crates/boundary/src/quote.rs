//! POSIX shell quoting: the one function every value that reaches a shell goes through.

/// Quote `s` for a POSIX shell as one word, using single quotes.
///
/// Every byte is preserved literally; an embedded `'` becomes `'\''`. The empty string becomes
/// `''`. Never fails.
pub fn sh_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::sh_quote;

    #[test]
    fn quotes_plain_empty_and_single_quotes() {
        assert_eq!(sh_quote("abc"), "'abc'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("$HOME `x` \"y\"\n"), "'$HOME `x` \"y\"\n'");
    }
}
