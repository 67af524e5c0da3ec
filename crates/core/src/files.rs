//! The one rule for files that cross a trust boundary (see `docs/SECURITY.md`):
//! input directories copied into a run, files a job left on a cluster, files
//! taken from an upstream task (`files_from`, `files["…"]`), files handed in by
//! `complete --from`. Regular files and directories only; a symbolic link is
//! followed only when it resolves inside its root, and never into a directory
//! already being walked (a loop); names are valid UTF-8.
//!
//! Every function here names what it refused; callers turn that into a user
//! error (exit 2) naming the field.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A tree walk refuses more than this many levels (a runaway or hostile tree).
const MAX_DEPTH: usize = 64;

/// One entry of a planned copy: `rel` (relative to the copy's destination) is a
/// directory, or a regular file whose bytes are read from `real`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory to create.
    Dir(PathBuf),
    /// A regular file: destination-relative path and the real file to read.
    File(PathBuf, PathBuf),
}

/// Plans the copy of `src` (a file or a directory) that must stay inside
/// `root`: every entry it holds, with links resolved. Refuses a link that
/// leaves `root`, a dangling link, a link loop, a special file (fifo, socket,
/// device) and a name that is not UTF-8. Reads only; writes nothing.
pub fn plan_copy(root: &Path, src: &Path) -> Result<Vec<Entry>, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", root.display()))?;
    let mut out = Vec::new();
    let mut ancestors = Vec::new();
    plan(&root, src, PathBuf::new(), &mut ancestors, &mut out)?;
    Ok(out)
}

fn plan(
    root: &Path,
    path: &Path,
    rel: PathBuf,
    ancestors: &mut Vec<PathBuf>,
    out: &mut Vec<Entry>,
) -> Result<(), String> {
    let shown = || path.display().to_string();
    let link = fs::symlink_metadata(path)
        .map_err(|e| format!("{}: {e}", shown()))?
        .file_type()
        .is_symlink();
    let real = path.canonicalize().map_err(|_| {
        format!(
            "{} is a symbolic link to nothing; remove it or point it at a file",
            shown()
        )
    })?;
    if !real.starts_with(root) {
        return Err(format!(
            "{} {} {}, outside {}; copy the file in instead of linking to it",
            shown(),
            if link { "links to" } else { "resolves to" },
            real.display(),
            root.display()
        ));
    }
    let meta = fs::metadata(&real).map_err(|e| format!("{}: {e}", real.display()))?;
    if meta.is_dir() {
        if ancestors.contains(&real) {
            return Err(format!(
                "{} links back to {}, a directory it is inside (a loop); remove the link",
                shown(),
                real.display()
            ));
        }
        if ancestors.len() >= MAX_DEPTH {
            return Err(format!(
                "{} is nested more than {MAX_DEPTH} directories deep",
                shown()
            ));
        }
        out.push(Entry::Dir(rel.clone()));
        let mut children: Vec<_> = fs::read_dir(&real)
            .map_err(|e| format!("{}: {e}", real.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| format!("{}: {e}", real.display()))?;
        children.sort();
        ancestors.push(real.clone());
        for name in children {
            let Some(s) = name.to_str() else {
                ancestors.pop();
                return Err(format!(
                    "{} holds a file whose name is not UTF-8 ({}); rename it",
                    shown(),
                    name.to_string_lossy()
                ));
            };
            plan(root, &path.join(s), rel.join(s), ancestors, out)?;
        }
        ancestors.pop();
        Ok(())
    } else if meta.is_file() {
        out.push(Entry::File(rel, real));
        Ok(())
    } else {
        Err(format!(
            "{} is not a regular file or directory (a fifo, socket or device); remove it",
            shown()
        ))
    }
}

/// Carries out a [`plan_copy`] into `dst` (the copy of `src` itself).
pub fn copy_planned(plan: &[Entry], dst: &Path) -> Result<()> {
    for e in plan {
        match e {
            Entry::Dir(rel) => {
                let d = dst.join(rel);
                fs::create_dir_all(&d).map_err(|e| Error::io("create", &d, e))?;
            }
            Entry::File(rel, real) if rel.as_os_str().is_empty() => copy_file(real, dst)?,
            Entry::File(rel, real) => copy_file(real, &dst.join(rel))?,
        }
    }
    Ok(())
}

/// Copies `src` (inside `root`) to `dst` by the rule of [`plan_copy`]; a
/// refusal is a user error naming `what` (the field it came from).
pub fn copy_tree(root: &Path, src: &Path, dst: &Path, what: &str) -> Result<()> {
    let plan = plan_copy(root, src).map_err(|m| Error::Input(format!("{what}: {m}")))?;
    copy_planned(&plan, dst)
}

/// The real path of the regular file `rel` under `root`, refusing a name that
/// is absolute or has `..`, a link that leaves `root` and anything but a
/// regular file.
pub fn regular_file_in(root: &Path, rel: &str) -> Result<PathBuf, String> {
    matterstack_boundary::check_file_name(rel)?;
    let path = root.join(rel);
    match plan_copy(root, &path)?.as_slice() {
        [Entry::File(_, real)] => Ok(real.clone()),
        _ => Err(format!("{} is not a regular file", path.display())),
    }
}

/// Copies one regular file, keeping holes: blocks of zeros are skipped (the
/// file is extended at the end), so a sparse input stays sparse. Written as a
/// temporary file renamed into place; permissions are copied.
pub fn copy_file(src: &Path, dst: &Path) -> Result<()> {
    const BLOCK: usize = 64 * 1024;
    let mut from = fs::File::open(src).map_err(|e| Error::io("open", src, e))?;
    let meta = from.metadata().map_err(|e| Error::io("read", src, e))?;
    let tmp = dst.with_file_name(format!(
        ".{}.copy",
        dst.file_name().unwrap_or_default().to_string_lossy()
    ));
    let result = (|| {
        let mut to = fs::File::create(&tmp)?;
        let mut buf = vec![0u8; BLOCK];
        let mut len = 0u64;
        loop {
            let n = read_full(&mut from, &mut buf)?;
            if n == 0 {
                break;
            }
            if buf[..n].iter().all(|b| *b == 0) {
                to.seek(SeekFrom::Current(n as i64))?;
            } else {
                to.write_all(&buf[..n])?;
            }
            len += n as u64;
        }
        to.set_len(len)?;
        to.set_permissions(meta.permissions())?;
        drop(to);
        fs::rename(&tmp, dst)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("copy", src, e)
    })
}

fn read_full(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Removes from a tree fetched from outside (a cluster's files) every entry
/// that is not a regular file or directory — symbolic links above all — and
/// every name that is not UTF-8, without following anything. Returns the
/// relative paths removed, sorted.
pub fn drop_non_regular(dir: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    strip(dir, "", 0, &mut removed);
    removed.sort();
    removed
}

fn strip(dir: &Path, prefix: &str, depth: usize, removed: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let rel = format!("{prefix}{}", name.to_string_lossy());
        let Ok(ft) = e.file_type() else { continue };
        let keep = name.to_str().is_some() && (ft.is_file() || ft.is_dir()) && depth < MAX_DEPTH;
        if !keep {
            let _ = if ft.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.push(rel);
        } else if ft.is_dir() {
            strip(&path, &format!("{rel}/"), depth + 1, removed);
        }
    }
}

/// Moves every entry of `from` into `to` (created), replacing what is there.
/// Never follows a link on either side: a directory merges into a directory
/// only when both are real directories; anything else at the target (a link
/// included) is replaced, not written through.
pub fn move_contents(from: &Path, to: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    let real_dir = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_dir());
    if !real_dir(to) {
        if fs::symlink_metadata(to).is_ok() {
            fs::remove_file(to).map_err(|e| Error::io("replace", to, e))?;
        }
        fs::create_dir_all(to).map_err(|e| Error::io("create", to, e))?;
    }
    for e in entries.flatten() {
        let src = e.path();
        let target = to.join(e.file_name());
        if real_dir(&src) && real_dir(&target) {
            move_contents(&src, &target)?;
            continue;
        }
        if real_dir(&target) {
            fs::remove_dir_all(&target).map_err(|e| Error::io("replace", &target, e))?;
        } else if fs::symlink_metadata(&target).is_ok() && real_dir(&src) {
            fs::remove_file(&target).map_err(|e| Error::io("replace", &target, e))?;
        }
        fs::rename(&src, &target).map_err(|err| Error::io("move into", &target, err))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
