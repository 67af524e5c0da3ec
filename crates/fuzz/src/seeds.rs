//! Where seed inputs come from: files of this repository (examples, golden fixtures,
//! recorded scheduler outputs) and the real program outputs in `../shared/realdata/`
//! beside the repository, read at run time and never copied in.

use std::path::{Path, PathBuf};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `rel` under the repository root.
pub fn repo(rel: &str) -> PathBuf {
    repo_root().join(rel)
}

/// `rel` under `../shared` beside the repository (the real data CI checks out next to it).
pub fn shared(rel: &str) -> PathBuf {
    repo_root().join("../shared").join(rel)
}

/// The contents of every file under `dir` (recursively, sorted by path) whose name ends
/// with one of `suffixes` (all files when `suffixes` is empty). A missing directory gives
/// nothing: the caller's target says how many seeds it found.
pub fn files(dir: &Path, suffixes: &[&str]) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            suffixes.is_empty() || suffixes.iter().any(|s| name.ends_with(s))
        })
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&p, out);
        } else if t.is_file() {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_root_holds_the_workspace_manifest() {
        assert!(repo("Cargo.toml").is_file());
        let own = files(&repo("crates/fuzz"), &["Cargo.toml"]);
        assert_eq!(own.len(), 1);
        assert!(files(&repo("no/such/dir"), &[]).is_empty());
    }
}
