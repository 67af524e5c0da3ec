//! Atomic file writes: a temporary file beside the target, then a rename,
//! so a reader (or a crash) sees the old contents or the new, never half.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::{Error, Result};

/// Writes `text` to `path` atomically (mode 0644 before the umask).
pub fn write(path: &Path, text: &str) -> Result<()> {
    write_mode(path, text.as_bytes(), 0o644)
}

/// Writes `text` to `path` atomically, readable by its owner only (0600):
/// for files that may hold hosts, accounts or other private settings.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    write_mode(path, text.as_bytes(), 0o600)
}

/// The temporary name beside `path` that a file is written under before
/// it is renamed into place (for writers other than [`write`], e.g. `tar`).
pub fn temp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = temp_path(path);
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", &tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("rename into", path, e)
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_and_private_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        super::write(&p, "one").unwrap();
        super::write_private(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let q = dir.path().join("b.toml");
        super::write_private(&q, "x").unwrap();
        let mode = std::fs::metadata(&q).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp left"
        );
    }
}
