use std::os::unix::fs::{symlink, MetadataExt};

use super::*;

fn tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("root/in/sub")).unwrap();
    fs::write(d.path().join("root/in/a.txt"), "a").unwrap();
    fs::write(d.path().join("root/in/sub/b.txt"), "b").unwrap();
    fs::write(d.path().join("secret"), "local secret").unwrap();
    d
}

#[test]
fn a_plain_tree_is_planned_in_name_order_and_copied() {
    let d = tree();
    let root = d.path().join("root");
    let dst = d.path().join("out");
    copy_tree(&root, &root.join("in"), &dst, "inputs").unwrap();
    assert_eq!(fs::read_to_string(dst.join("a.txt")).unwrap(), "a");
    assert_eq!(fs::read_to_string(dst.join("sub/b.txt")).unwrap(), "b");
}

#[test]
fn a_link_leaving_the_root_is_refused_and_nothing_is_copied() {
    let d = tree();
    let root = d.path().join("root");
    symlink(d.path().join("secret"), root.join("in/leak")).unwrap();
    let dst = d.path().join("out");
    let e = copy_tree(&root, &root.join("in"), &dst, "inputs \"in\"").unwrap_err();
    assert!(e.is_user_error(), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("inputs \"in\"") && m.contains("leak") && m.contains("outside"),
        "{m}"
    );
    assert!(
        !dst.exists(),
        "nothing may be written before the walk is checked"
    );
}

#[test]
fn a_link_inside_the_root_is_copied_as_the_file_it_names() {
    let d = tree();
    let root = d.path().join("root");
    symlink("a.txt", root.join("in/alias")).unwrap();
    let dst = d.path().join("out");
    copy_tree(&root, &root.join("in"), &dst, "inputs").unwrap();
    let m = fs::symlink_metadata(dst.join("alias")).unwrap();
    assert!(
        m.file_type().is_file(),
        "copied as a regular file, not a link"
    );
    assert_eq!(fs::read_to_string(dst.join("alias")).unwrap(), "a");
}

#[test]
fn a_link_loop_and_a_dangling_link_are_refused_with_the_fix() {
    let d = tree();
    let root = d.path().join("root");
    symlink("..", root.join("in/sub/up")).unwrap();
    let m = plan_copy(&root, &root.join("in")).unwrap_err();
    assert!(m.contains("loop") && m.contains("up"), "{m}");
    fs::remove_file(root.join("in/sub/up")).unwrap();
    symlink("nowhere", root.join("in/gone")).unwrap();
    let m = plan_copy(&root, &root.join("in")).unwrap_err();
    assert!(m.contains("gone") && m.contains("link to nothing"), "{m}");
}

#[test]
fn a_fifo_and_a_non_utf8_name_are_refused() {
    let d = tree();
    let root = d.path().join("root");
    let fifo = root.join("in/pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let m = plan_copy(&root, &root.join("in")).unwrap_err();
    assert!(m.contains("pipe") && m.contains("fifo"), "{m}");
    fs::remove_file(&fifo).unwrap();
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9.xyz");
    fs::write(root.join("in").join(bad), "x").unwrap();
    let m = plan_copy(&root, &root.join("in")).unwrap_err();
    assert!(m.contains("not UTF-8") && m.contains("rename"), "{m}");
}

#[test]
fn a_sparse_file_stays_sparse_and_keeps_its_bytes() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("sparse.chk");
    let f = fs::File::create(&src).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let mut f = fs::OpenOptions::new().write(true).open(&src).unwrap();
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    f.write_all(b"data in the middle").unwrap();
    drop(f);
    let dst = d.path().join("copy.chk");
    copy_file(&src, &dst).unwrap();
    let (a, b) = (fs::metadata(&src).unwrap(), fs::metadata(&dst).unwrap());
    assert_eq!(a.len(), b.len());
    assert_eq!(fs::read(&src).unwrap(), fs::read(&dst).unwrap());
    assert!(
        b.blocks() * 512 < 4 << 20,
        "a 64 MiB file with 18 bytes of data took {} bytes on disk",
        b.blocks() * 512
    );
}

#[test]
fn regular_file_in_refuses_dotdot_absolute_links_out_and_directories() {
    let d = tree();
    let root = d.path().join("root");
    symlink(d.path().join("secret"), root.join("in/leak")).unwrap();
    assert!(regular_file_in(&root, "in/a.txt").is_ok());
    for bad in [
        "../secret",
        "/etc/passwd",
        "in/leak",
        "in/sub",
        "in/missing",
    ] {
        assert!(regular_file_in(&root, bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn fetched_links_and_special_files_are_dropped_without_following_them() {
    let d = tree();
    let got = d.path().join("got");
    fs::create_dir_all(got.join("x")).unwrap();
    fs::write(got.join("x/ok"), "ok").unwrap();
    symlink(d.path().join("root/in"), got.join("dirlink")).unwrap();
    symlink(d.path().join("secret"), got.join("x/leak")).unwrap();
    assert_eq!(drop_non_regular(&got), vec!["dirlink", "x/leak"]);
    assert!(got.join("x/ok").is_file());
    assert!(
        d.path().join("root/in/a.txt").is_file(),
        "the link's target is untouched"
    );
    assert_eq!(
        fs::read_to_string(d.path().join("secret")).unwrap(),
        "local secret"
    );
}

#[test]
fn move_contents_replaces_a_link_at_the_target_instead_of_writing_through_it() {
    let d = tree();
    let to = d.path().join("task");
    fs::create_dir_all(&to).unwrap();
    let elsewhere = d.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, to.join("x")).unwrap();
    let from = d.path().join("fetch");
    fs::create_dir_all(from.join("x")).unwrap();
    fs::write(from.join("x/payload"), "p").unwrap();
    move_contents(&from, &to).unwrap();
    assert!(
        fs::read_dir(&elsewhere).unwrap().next().is_none(),
        "nothing moved through the link"
    );
    assert!(fs::symlink_metadata(to.join("x")).unwrap().is_dir());
    assert_eq!(fs::read_to_string(to.join("x/payload")).unwrap(), "p");
}
