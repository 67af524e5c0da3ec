//! The one check for a name or relative path that comes from outside: a template's file
//! parameter, a file a job left, a reference's file name, a record read back from a cluster.

/// A file parameter names a file inside the task directory: relative, no `..`, no
/// line breaks, not empty.
pub fn check_file_name(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("file name is empty".into());
    }
    if s.chars().any(char::is_control) {
        return Err("file name contains a control character".into());
    }
    if s.starts_with('/') || s.starts_with('\\') || s.starts_with('~') {
        return Err("file name must be relative to the task directory".into());
    }
    if s.split(['/', '\\']).any(|c| c == "..") {
        return Err("file name must not contain `..`".into());
    }
    Ok(())
}
