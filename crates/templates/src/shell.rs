//! Jinja output in a shell command: every `{{ value }}` becomes one shell word.
//!
//! A command given as a string is run by `sh -c`, so a value pasted into it as text
//! would be read as shell (`s1 $(touch pwned)` would run `touch`). In a shell command
//! every `{{ … }}` output therefore goes through [`matterstack_boundary::sh_quote`] —
//! the one quoting function — and reaches the program as exactly one argument,
//! unchanged. Numbers and booleans are written as they are (their text holds no
//! character a shell treats specially).
//!
//! The documented opt-out is the `unquoted` filter (`{{ flags | unquoted }}`): the
//! author says the value is shell text and takes the responsibility. Jinja's `safe`
//! marks a value the same way; `shquote` output is already quoted and is not quoted
//! twice.

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, Output, State, Value};

/// The name of the opt-out filter.
pub const UNQUOTED_FILTER: &str = "unquoted";

/// Formatter for shell commands: quotes every output value as one word (see the module
/// docs). Installed by [`make_shell`].
pub fn shell_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    // Safe values, numbers and booleans as they are; undefined ones too (strict undefined
    // has already failed; a lenient environment writes nothing).
    if value.is_safe()
        || value.is_undefined()
        || matches!(value.kind(), ValueKind::Number | ValueKind::Bool)
    {
        return minijinja::escape_formatter(out, state, value);
    }
    out.write_str(&matterstack_boundary::sh_quote(&value.to_string()))
        .map_err(Error::from)
}

/// `{{ x | unquoted }}`: the value is shell text, inserted as it is.
pub fn unquoted(v: Value) -> Value {
    if v.is_safe() {
        v
    } else {
        Value::from_safe_string(v.to_string())
    }
}

/// `{{ x | shquote }}`: the value quoted as one word (already quoted: not quoted again
/// in a shell command).
pub fn shquote(v: Value) -> Value {
    Value::from_safe_string(matterstack_boundary::sh_quote(&v.to_string()))
}

/// Adds the `unquoted` and `shquote` filters and the quoting formatter to `env`.
pub fn make_shell(env: &mut Environment<'_>) {
    add_filters(env);
    env.set_formatter(shell_formatter);
}

/// Adds the `unquoted` and `shquote` filters (they mean the same in files, where nothing
/// is quoted unless asked).
pub fn add_filters(env: &mut Environment<'_>) {
    env.add_filter(UNQUOTED_FILTER, unquoted);
    env.add_filter("shquote", shquote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, ctx: serde_json::Value) -> String {
        let mut env = Environment::new();
        make_shell(&mut env);
        env.render_str(src, ctx).unwrap()
    }

    #[test]
    fn strings_become_one_word_numbers_stay_bare() {
        let ctx = serde_json::json!({"a": "s1 $(touch pwned)", "n": 4, "x": -1.5, "b": true, "q": "it's"});
        assert_eq!(
            render("run {{ a }} {{ n }} {{ x }} {{ b }} {{ q }}", ctx.clone()),
            "run 's1 $(touch pwned)' 4 -1.5 True 'it'\\''s'"
        );
        assert_eq!(
            render("{{ a | unquoted }}", ctx.clone()),
            "s1 $(touch pwned)"
        );
        assert_eq!(render("{{ a | safe }}", ctx.clone()), "s1 $(touch pwned)");
        assert_eq!(render("{{ q | shquote }}", ctx), "'it'\\''s'");
    }
}
