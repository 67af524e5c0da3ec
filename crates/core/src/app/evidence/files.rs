//! The file-system side of an export: hashing task files, describing the
//! host, asking programs for their versions, and writing the bundle
//! atomically.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A file with its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Path relative to the directory it was listed in, `/`-separated.
    pub path: String,
    /// Size in bytes (of what was hashed).
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// The machine an export ran on.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    /// Host name (`/proc/sys/kernel/hostname`).
    pub hostname: String,
    /// Operating system family (`linux`).
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Kernel release, when known.
    pub kernel: Option<String>,
    /// `PRETTY_NAME` of `/etc/os-release`, when known.
    pub distribution: Option<String>,
}

/// What `<program> --version` said.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramVersion {
    /// Program name.
    pub name: String,
    /// Where it was found on PATH.
    pub path: String,
    /// The first line of its output carrying a version number.
    pub version: Option<String>,
    /// Why there is no version (timed out, failed to start, no number).
    pub error: Option<String>,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 of a file, read in a stream.
///
/// Fails when the file cannot be opened or read.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let size = io::copy(&mut f, &mut hasher)?;
    Ok((size, hex(&hasher.finalize())))
}

/// Every regular file under `root` (symbolic links are not followed),
/// sorted by path, with size and SHA-256; top-level entries named in `skip`
/// are left out. A missing `root` gives an empty list; files that cannot be
/// read (removed while listing) are left out.
pub fn hash_tree(root: &Path, skip: &[&str]) -> Vec<FileEntry> {
    let mut out = Vec::new();
    walk(root, "", skip, 0, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

const MAX_DEPTH: usize = 32;

fn walk(dir: &Path, prefix: &str, skip: &[&str], depth: usize, out: &mut Vec<FileEntry>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if depth == 0 && skip.contains(&name.as_str()) {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if ft.is_dir() && depth < MAX_DEPTH {
            walk(&e.path(), &rel, skip, depth + 1, out);
        } else if ft.is_file() {
            if let Ok((size, sha256)) = sha256_file(&e.path()) {
                out.push(FileEntry {
                    path: rel,
                    size,
                    sha256,
                });
            }
        }
    }
}

fn first_line(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .filter(|s| !s.is_empty())
}

/// Describes this machine; never fails (unknown parts are `None`).
pub fn host_info() -> HostInfo {
    let distribution = fs::read_to_string("/etc/os-release").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    HostInfo {
        hostname: first_line("/proc/sys/kernel/hostname")
            .or_else(|| first_line("/etc/hostname"))
            .unwrap_or_else(|| "unknown".to_string()),
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        kernel: first_line("/proc/sys/kernel/osrelease"),
        distribution,
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// The first line of `text` carrying a version number (`digits.digits`).
pub fn version_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| {
            let b = l.as_bytes();
            b.windows(3)
                .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
        })
        .map(str::to_string)
}

/// `<name> --version` for each of `names` found on PATH, run at once (in
/// the temporary directory, each in its own process group, killed after
/// `timeout`). Programs not on PATH are left out; a probe that fails is
/// recorded with its error. Never fails.
pub fn probe_programs(names: &[&str], timeout: Duration) -> Vec<ProgramVersion> {
    let handles: Vec<_> = names
        .iter()
        .filter_map(|n| Some((n.to_string(), on_path(n)?)))
        .map(|(name, path)| {
            std::thread::spawn(move || {
                let (version, error) = match probe(&path, timeout) {
                    Ok(v) => (Some(v), None),
                    Err(e) => (None, Some(e)),
                };
                ProgramVersion {
                    name,
                    path: path.display().to_string(),
                    version,
                    error,
                }
            })
        })
        .collect();
    handles.into_iter().filter_map(|h| h.join().ok()).collect()
}

fn probe(path: &Path, timeout: Duration) -> std::result::Result<String, String> {
    // A private, empty working directory: programs write files where they
    // run (psi4 leaves timer.dat), and a shared temp directory is not ours.
    // Probes run in parallel: a counter keeps their directories apart.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let scratch = std::env::temp_dir().join(format!(
        "ms-probe-{}-{}-{}",
        std::process::id(),
        crate::store::now_ms(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = probe_in(path, timeout, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn probe_in(path: &Path, timeout: Duration, dir: &Path) -> std::result::Result<String, String> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(path)
        .arg("--version")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let stdout = child.stdout.take();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(crate::process::read_capped(stdout, 65536).0);
    });
    let deadline = Instant::now() + timeout;
    let timed_out = format!("no answer within {} s", timeout.as_secs_f64());
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                crate::process::signal_group(child.id() as i32, libc::SIGKILL);
                let _ = child.wait();
                return Err(timed_out);
            }
        }
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let out = rx
        .recv_timeout(left.max(Duration::from_millis(200)))
        .map_err(|_| {
            // A grandchild keeps the output open: end it.
            crate::process::signal_group(child.id() as i32, libc::SIGKILL);
            timed_out.clone()
        })?;
    version_line(&out).ok_or_else(|| "its output names no version".to_string())
}

/// Writes `files` into `<run_dir>/<name>/` atomically: builds them in a
/// hidden directory inside `run_dir`, moves an older `<name>` aside,
/// renames the new one into place and removes the old one.
///
/// Fails when a file cannot be written or a rename fails; the staging
/// directory is removed and an older bundle stays (or is put back).
pub fn write_bundle(run_dir: &Path, name: &str, files: &[(&str, String)]) -> Result<PathBuf> {
    let stamp = format!("{}-{}", std::process::id(), crate::store::now_ms());
    let staging = run_dir.join(format!(".{name}-new-{stamp}"));
    let old = run_dir.join(format!(".{name}-old-{stamp}"));
    let dest = run_dir.join(name);
    // The bundle is the user's alone: 0700 directory, 0600 files (it names
    // paths, hosts and environment variable values).
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let built = fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|e| Error::io("create", &staging, e))
        .and_then(|()| {
            for (file, text) in files {
                let p = staging.join(file);
                fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&p)
                    .and_then(|mut f| io::Write::write_all(&mut f, text.as_bytes()))
                    .map_err(|e| Error::io("write", &p, e))?;
            }
            Ok(())
        });
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let had_old = match fs::rename(&dest, &old) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(Error::io("move aside", &dest, e));
        }
    };
    if let Err(e) = fs::rename(&staging, &dest) {
        if had_old {
            let _ = fs::rename(&old, &dest);
        }
        let _ = fs::remove_dir_all(&staging);
        return Err(Error::io("rename into place", &dest, e));
    }
    if had_old {
        let _ = fs::remove_dir_all(&old).or_else(|_| fs::remove_file(&old));
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_line_picks_the_first_line_with_a_number() {
        assert_eq!(version_line("1.3.2\n").as_deref(), Some("1.3.2"));
        let xtb = "   -----\n  |  x T B  |\n\n   * xtb version 6.5.1 (unknown) compiled\n";
        assert_eq!(
            version_line(xtb).as_deref(),
            Some("* xtb version 6.5.1 (unknown) compiled")
        );
        assert_eq!(version_line("no numbers here\n"), None);
    }

    #[test]
    fn hash_tree_lists_regular_files_sorted_and_skips_named_top_entries() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("sub")).unwrap();
        fs::create_dir_all(d.path().join(".attempts/1")).unwrap();
        fs::write(d.path().join("b.txt"), "abc").unwrap();
        fs::write(d.path().join("sub/a.txt"), "").unwrap();
        fs::write(d.path().join(".attempts/1/stdout"), "x").unwrap();
        std::os::unix::fs::symlink("b.txt", d.path().join("link")).unwrap();
        let got = hash_tree(d.path(), &[".attempts"]);
        let paths: Vec<&str> = got.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["b.txt", "sub/a.txt"]);
        // Known SHA-256 values of "abc" and "".
        assert_eq!(
            got[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(got[0].size, 3);
        assert_eq!(
            got[1].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(hash_tree(&d.path().join("missing"), &[]).is_empty());
    }

    #[test]
    fn write_bundle_replaces_an_older_one_and_leaves_no_staging() {
        let d = tempfile::tempdir().unwrap();
        write_bundle(
            d.path(),
            "evidence",
            &[("a", "1".into()), ("stale", "x".into())],
        )
        .unwrap();
        let dest = write_bundle(d.path(), "evidence", &[("a", "2".into())]).unwrap();
        assert_eq!(fs::read_to_string(dest.join("a")).unwrap(), "2");
        assert!(!dest.join("stale").exists());
        let names: Vec<String> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["evidence"]);
    }

    #[test]
    fn a_program_that_hangs_is_cut_off() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("slow");
        fs::write(&p, "#!/bin/sh\nsleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        let t = Instant::now();
        let err = probe(&p, Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("no answer"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
}
