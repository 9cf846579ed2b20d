//! `lxc-rs snapshot` (lxc-snapshot) on real busybox containers: snapshots laid out as LXC
//! lays them out, listed with their comments, restored as new containers that start with the
//! snapshot's files, LXC's refusals while snapshots or dependants exist, and the listing
//! compared with LXC's own `lxc-snapshot -L -C`; `--rcfile` and clone hooks compared with
//! `lxc-snapshot`'s.

mod common;

use std::fs;
use std::process::Command;

use common::*;

/// Write `text` into the container's /root/marker (through its rootfs on the host).
fn mark(rootfs: &std::path::Path, text: &str) {
    fs::write(rootfs.join("root/marker"), text).unwrap();
}

#[test]
fn three_snapshots_listed_with_comments_and_the_second_restored() {
    require_root!();
    let t = TestContainer::busybox("snap");
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    let snaps = t.lxcpath.join(&t.name).join("snaps");
    assert_eq!(t.ok(&["snapshot", "-L"]), "No snapshots\n");
    for i in 0..3 {
        mark(&rootfs, &format!("state {i}\n"));
        let comment = t.lxcpath.join(format!("comment{i}"));
        fs::write(&comment, format!("comment number {i}\n")).unwrap();
        t.ok(&["snapshot", "-c", comment.to_str().unwrap()]);
        let dir = snaps.join(format!("snap{i}"));
        for f in ["config", "ts", "comment", "rootfs"] {
            assert!(dir.join(f).exists(), "{} has no {f}", dir.display());
        }
        // A snapshot keeps the name and the storage type (a copy, for a dir container).
        let cfg = fs::read_to_string(dir.join("config")).unwrap();
        assert!(
            cfg.contains(&format!("lxc.rootfs.path = dir:{}/rootfs\n", dir.display())),
            "{cfg}"
        );
        assert!(!cfg.contains("lxc.uts.name = snap"), "{cfg}");
    }
    let list = t.ok(&["snapshot", "-L", "-C"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 6, "{list}");
    for i in 0..3 {
        let head = lines[2 * i];
        assert!(
            head.starts_with(&format!("snap{i} ({}) ", snaps.display())),
            "{head}"
        );
        let ts = head.rsplit(") ").next().unwrap();
        assert_eq!(ts.len(), "2026:12:07 15:12:22".len(), "timestamp {ts:?}");
        assert_eq!(lines[2 * i + 1], format!("comment number {i}"));
    }

    // Dependants keep the container: not destroyed while it has snapshots.
    let o = t.lxc(&["destroy"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(t.config_file().exists());

    let restored = format!("{}-r", t.name);
    t.ok(&["snapshot", "-r", "snap1", "-N", &restored]);
    ok_in(&t.lxcpath, &restored, &["start"]);
    assert_eq!(
        ok_in(
            &t.lxcpath,
            &restored,
            &["attach", "--", "/bin/cat", "/root/marker"]
        ),
        "state 1\n"
    );
    assert_eq!(
        ok_in(&t.lxcpath, &restored, &["attach", "--", "/bin/hostname"]).trim(),
        restored
    );
    ok_in(&t.lxcpath, &restored, &["stop"]);
    ok_in(&t.lxcpath, &restored, &["destroy"]);

    // Restore in place: the container becomes snap0 again, its snapshots stay.
    t.ok(&["snapshot", "-r", "snap0"]);
    assert_eq!(
        fs::read_to_string(rootfs.join("root/marker")).unwrap(),
        "state 0\n"
    );
    assert!(snaps.join("snap2").is_dir());

    t.ok(&["snapshot", "-d", "snap2"]);
    assert!(!snaps.join("snap2").exists());
    // destroy -s takes the rest with it.
    t.ok(&["destroy", "-s"]);
    assert!(!t.lxcpath.join(&t.name).exists());
}

#[test]
fn overlay_snapshots_depend_on_their_base() {
    require_root!();
    let t = TestContainer::busybox("snapov");
    let ov = format!("{}-ov", t.name);
    t.ok(&["copy", "-N", &ov, "-s"]);
    // A snapshot of an overlay container is an overlay over the same lower rootfs, kept in its
    // own snaps directory with no dependency recorded (LXC's rule).
    ok_in(&t.lxcpath, &ov, &["snapshot"]);
    let snap0 = t.lxcpath.join(&ov).join("snaps/snap0");
    let cfg = fs::read_to_string(snap0.join("config")).unwrap();
    assert!(
        cfg.contains(&format!(
            "lxc.rootfs.path = overlay:{}/{}/rootfs:{}/overlay/delta\n",
            t.lxcpath.display(),
            t.name,
            snap0.display()
        )),
        "{cfg}"
    );
    assert!(!t.lxcpath.join(&ov).join("lxc_snapshots").exists());
    let o = lxc_in(&t.lxcpath, &ov, &["destroy"]);
    assert_eq!(o.status.code(), Some(1), "has snapshots: {}", show(&o));
    ok_in(&t.lxcpath, &ov, &["snapshot", "-d", "ALL"]);
    assert!(!t.lxcpath.join(&ov).join("snaps").exists());
    ok_in(&t.lxcpath, &ov, &["destroy"]);
    assert!(!t.lxcpath.join(&t.name).join("lxc_snapshots").exists());
}

#[test]
fn listing_equals_lxc_snapshot_s() {
    require_root!();
    if !lxc_tools_present(&["lxc-snapshot"])
        || Command::new("rsync").arg("--version").output().is_err()
    {
        eprintln!("SKIP: LXC's lxc-snapshot (and the rsync it copies with) are not installed");
        return;
    }
    let t = TestContainer::busybox("snapdiff");
    let comment = t.lxcpath.join("comment");
    fs::write(&comment, "made by LXC\n").unwrap();
    let o = lxc_tool("lxc-snapshot", &t, &["-c", comment.to_str().unwrap()]);
    assert!(o.status.success(), "{}", show(&o));
    t.ok(&["snapshot", "-c", comment.to_str().unwrap()]);
    let theirs = lxc_tool("lxc-snapshot", &t, &["-L", "-C"]);
    assert!(theirs.status.success(), "{}", show(&theirs));
    let mine = t.ok(&["snapshot", "-L", "-C"]);
    // LXC lists in directory order; lxc-rs by number.
    let mut a: Vec<String> = stdout(&theirs).lines().map(str::to_string).collect();
    let mut b: Vec<String> = mine.lines().map(str::to_string).collect();
    a.sort();
    b.sort();
    assert_eq!(b, a);
    // LXC's snapshot and lxc-rs's are laid out alike.
    let snaps = t.lxcpath.join(&t.name).join("snaps");
    let ls = |n: &str| {
        let mut v: Vec<String> = fs::read_dir(snaps.join(n))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ls("snap1"), ls("snap0"));
    let o = lxc_tool("lxc-snapshot", &t, &["-d", "ALL"]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(t.ok(&["snapshot", "-L"]), "No snapshots\n");
}

#[test]
fn rcfile_is_the_config_a_snapshot_is_taken_with_and_its_clone_hooks_run() {
    require_root!();
    let t = TestContainer::busybox("snaprc");
    let hook = t.lxcpath.join("record.sh");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$* $LXC_SRC_NAME $LXC_NAME\" > {}/hook-$LXC_NAME\n",
            t.lxcpath.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rc = t.lxcpath.join("rc");
    let mut cfg = fs::read_to_string(t.config_file()).unwrap();
    cfg.push_str(&format!(
        "lxc.environment = FROM_RC=1\nlxc.hook.clone = {}\n",
        hook.display()
    ));
    fs::write(&rc, cfg).unwrap();
    let rc = rc.to_str().unwrap();
    t.ok(&["snapshot", "--rcfile", rc]);
    let snaps = t.lxcpath.join(&t.name).join("snaps");
    let snap = |n: &str| fs::read_to_string(snaps.join(n).join("config")).unwrap();
    assert!(snap("snap0").contains("lxc.environment = FROM_RC=1\n"));
    assert!(!fs::read_to_string(t.config_file())
        .unwrap()
        .contains("FROM_RC"));
    // A snapshot is a clone: its clone hooks run, with no extra arguments.
    let record = fs::read_to_string(t.lxcpath.join("hook-snap0")).unwrap();
    assert_eq!(record, format!("snap0 lxc clone {} snap0\n", t.name));

    if lxc_tools_present(&["lxc-snapshot"])
        && Command::new("rsync").arg("--version").output().is_ok()
    {
        let o = lxc_tool("lxc-snapshot", &t, &["--rcfile", rc]);
        assert!(o.status.success(), "{}", show(&o));
        // Blank lines apart (LXC drops them when it reads a config, lxc-rs keeps them).
        let lines = |n: &str| -> Vec<String> {
            snap(n)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.replace(n, "SNAP"))
                .collect()
        };
        assert_eq!(lines("snap0"), lines("snap1"), "lxc-rs (left) and LXC");
        let theirs = fs::read_to_string(t.lxcpath.join("hook-snap1")).unwrap();
        assert_eq!(theirs.replace("snap1", "snap0"), record);
    } else {
        eprintln!("SKIP (comparison only): LXC's lxc-snapshot (and its rsync) are not installed");
    }
    t.ok(&["snapshot", "-d", "ALL"]);
}
