//! Validation of names that become directory names or cross shells.

/// Longest id accepted for tasks and runs.
pub const MAX_ID_LEN: usize = 128;

/// Checks a task or run id. Ids name directories (`tasks/<id>/`,
/// `runs/<id>/`), so they must be a single safe path component.
///
/// Returns a message naming the value, the rule broken and the fix.
pub fn check_id(kind: &str, id: &str) -> Result<(), String> {
    let fix = "use letters, digits, '-', '_' and '.', starting with a letter, digit or '_'";
    if id.is_empty() {
        return Err(format!("{kind} id is empty; {fix}"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "{kind} id \"{id}\" is {} characters long (at most {MAX_ID_LEN})",
            id.len()
        ));
    }
    if id.contains('/') || id.contains('\\') {
        return Err(format!(
            "{kind} id \"{id}\" contains a path separator; ids name directories, {fix}"
        ));
    }
    if id.contains("..") {
        return Err(format!(
            "{kind} id \"{id}\" contains \"..\"; ids name directories, {fix}"
        ));
    }
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok {
        return Err(format!(
            "{kind} id \"{id}\" must start with a letter, digit or '_'; {fix}"
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{kind} id \"{id}\" contains the character {bad:?}; {fix}"
        ));
    }
    Ok(())
}

/// Checks an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn check_env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "environment variable name \"{name}\" is invalid; use letters, digits and '_', not starting with a digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        for id in ["a", "opt_1", "scf-2", "x.y", "_hidden", "A9"] {
            assert_eq!(check_id("task", id), Ok(()), "{id}");
        }
    }

    #[test]
    fn rejects_path_like_and_odd_ids() {
        for id in [
            "", "a/b", "..", "a..b", ".x", "-x", "a b", "a$b", "é", "a\nb",
        ] {
            let err = check_id("task", id).unwrap_err();
            assert!(err.contains("task id"), "{err}");
        }
        assert!(check_id("task", &"a".repeat(129)).is_err());
    }

    #[test]
    fn env_names() {
        assert!(check_env_name("OMP_NUM_THREADS").is_ok());
        assert!(check_env_name("_X1").is_ok());
        assert!(check_env_name("1X").is_err());
        assert!(check_env_name("A-B").is_err());
        assert!(check_env_name("").is_err());
    }
}
