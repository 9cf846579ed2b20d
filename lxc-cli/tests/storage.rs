//! Storage backends on real busybox containers: `create -B overlay|loop|btrfs` (with
//! `--fstype`/`--fssize`), started from their backend, copied across backends, and destroyed
//! with their storage. The btrfs filesystem is the test's own, on a loop device it makes and
//! removes; nothing touches the host's disks.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Loop devices whose backing file is below `dir` (from /sys/block/loop*/loop/backing_file).
fn loops_on(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir("/sys/block").into_iter().flatten().flatten() {
        if let Ok(b) = fs::read_to_string(e.path().join("loop/backing_file")) {
            if b.trim().starts_with(&dir.to_string_lossy().to_string()) {
                out.push(format!(
                    "{} -> {}",
                    e.file_name().to_string_lossy(),
                    b.trim()
                ));
            }
        }
    }
    out
}

/// The root filesystem as the container sees it: (type, source) from /proc/self/mounts.
fn root_mount(t: &TestContainer, name: &str) -> (String, String) {
    let mounts = ok_in(
        &t.lxcpath,
        name,
        &["attach", "--", "/bin/cat", "/proc/self/mounts"],
    );
    let l = mounts
        .lines()
        .find(|l| l.split(' ').nth(1) == Some("/"))
        .expect("a / mount");
    let f: Vec<&str> = l.split(' ').collect();
    (f[2].to_string(), f[0].to_string())
}

#[test]
fn loop_rootfs_starts_from_its_image_and_the_device_goes_at_stop() {
    require_root!();
    let t = TestContainer::new("sloop");
    t.ok(&[
        "create", "-t", "busybox", "-B", "loop", "--fstype", "ext4", "--fssize", "64M",
    ]);
    let dir = t.lxcpath.join(&t.name);
    let image = dir.join("rootdev");
    let cfg = fs::read_to_string(t.config_file()).unwrap();
    assert!(
        cfg.contains(&format!("lxc.rootfs.path = loop:{}\n", image.display())),
        "{cfg}"
    );
    // LXC's image: the size asked for, plus the byte it writes at the end.
    assert_eq!(fs::metadata(&image).unwrap().len(), (64 << 20) + 1);
    assert_eq!(
        fs::read_dir(dir.join("rootfs")).unwrap().count(),
        0,
        "rootfs is a bare mount point"
    );

    t.ok(&["start"]);
    let (fstype, source) = root_mount(&t, &t.name);
    assert_eq!(fstype, "ext4");
    assert!(source.starts_with("/dev/loop"), "{source}");
    assert_eq!(loops_on(&t.lxcpath).len(), 1);
    t.ok(&[
        "attach",
        "--",
        "/bin/sh",
        "-c",
        "echo kept > /root/in-image",
    ]);
    t.ok(&["stop"]);
    // Autoclear: the device goes with the container's mount.
    assert!(
        loops_on(&t.lxcpath).is_empty(),
        "{:?}",
        loops_on(&t.lxcpath)
    );
    t.ok(&["start"]);
    assert_eq!(
        t.ok(&["attach", "--", "/bin/cat", "/root/in-image"]),
        "kept\n"
    );
    t.ok(&["stop"]);

    // A dir copy of a loop container reads the image's tree.
    let copy = format!("{}-dir", t.name);
    t.ok(&["copy", "-N", &copy, "-B", "dir"]);
    let copied = t.lxcpath.join(&copy).join("rootfs/root/in-image");
    assert_eq!(fs::read_to_string(copied).unwrap(), "kept\n");
    ok_in(&t.lxcpath, &copy, &["destroy"]);
    assert!(loops_on(&t.lxcpath).is_empty());

    t.ok(&["destroy"]);
    assert!(!dir.exists());
}

#[test]
fn overlay_rootfs_keeps_its_changes_in_the_upper_layer() {
    require_root!();
    let t = TestContainer::new("sovl");
    t.ok(&["create", "-t", "busybox", "-B", "overlay"]);
    let dir = t.lxcpath.join(&t.name);
    let cfg = fs::read_to_string(t.config_file()).unwrap();
    assert!(
        cfg.contains(&format!(
            "lxc.rootfs.path = overlay:{d}/rootfs:{d}/overlay/delta\n",
            d = dir.display()
        )),
        "{cfg}"
    );
    t.ok(&["start"]);
    assert_eq!(root_mount(&t, &t.name).0, "overlay");
    t.ok(&[
        "attach",
        "--",
        "/bin/sh",
        "-c",
        "echo up > /root/upper-file",
    ]);
    t.ok(&["stop"]);
    assert!(dir.join("overlay/delta/root/upper-file").exists());
    assert!(!dir.join("rootfs/root/upper-file").exists());
    t.ok(&["destroy"]);
    assert!(!dir.exists());
}

#[test]
fn create_refuses_what_lxc_create_refuses() {
    require_root!();
    let t = TestContainer::new("sbad");
    for (args, says) in [
        (
            &["-B", "dir", "--fstype", "ext4"][..],
            "only valid with block devices",
        ),
        (&["-B", "zfs"][..], "zfs"),
        (&["-B", "nonsense"][..], "not a valid backing storage type"),
        (&["-B", "dir", "--dir", "relative"][..], "absolute"),
    ] {
        let o = t.lxc(&[&["create", "-t", "busybox"][..], args].concat());
        assert_ne!(o.status.code(), Some(0), "{args:?}: {}", show(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", show(&o));
        assert!(!t.config_file().exists());
    }
}

/// A btrfs filesystem of the test's own: an image file mounted through a loop device (which
/// clears itself at unmount), unmounted and removed on drop.
struct Btrfs {
    image: PathBuf,
    mnt: PathBuf,
}

impl Btrfs {
    fn make(base: &Path) -> Result<Btrfs, String> {
        if Command::new("mkfs.btrfs")
            .arg("--version")
            .output()
            .is_err()
        {
            return Err("mkfs.btrfs (btrfs-progs) is not installed".into());
        }
        if !fs::read_to_string("/proc/filesystems")
            .unwrap_or_default()
            .contains("btrfs")
        {
            let _ = Command::new("modprobe").arg("btrfs").status();
        }
        let image = base.join("btrfs.img");
        let mnt = base.join("btrfs");
        fs::create_dir_all(&mnt).map_err(|e| e.to_string())?;
        fs::File::create(&image)
            .and_then(|f| f.set_len(300 << 20))
            .map_err(|e| e.to_string())?;
        let mkfs = Command::new("mkfs.btrfs")
            .arg("-q")
            .arg(&image)
            .output()
            .map_err(|e| e.to_string())?;
        if !mkfs.status.success() {
            return Err(format!(
                "mkfs.btrfs: {}",
                String::from_utf8_lossy(&mkfs.stderr)
            ));
        }
        let m = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mnt)
            .output()
            .map_err(|e| e.to_string())?;
        if !m.status.success() {
            return Err(format!(
                "this kernel cannot mount btrfs: {}",
                String::from_utf8_lossy(&m.stderr)
            ));
        }
        Ok(Btrfs { image, mnt })
    }
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
        let _ = fs::remove_file(&self.image);
    }
}

#[test]
fn btrfs_subvolume_rootfs_snapshots_and_destroys() {
    require_root!();
    let t = TestContainer::new("sbtrfs");
    let fsys = match Btrfs::make(&t.lxcpath) {
        Ok(f) => f,
        Err(why) => {
            eprintln!(
                "SKIP: {why} (the qemu guest of `cargo xtask test-matrix --kernel` has btrfs too)"
            );
            return;
        }
    };
    let run = |name: &str, args: &[&str]| ok_in(&fsys.mnt, name, args);
    let a = format!("{}-a", t.name);
    let b = format!("{}-b", t.name);
    run(&a, &["create", "-t", "busybox", "-B", "btrfs"]);
    let rootfs = fsys.mnt.join(&a).join("rootfs");
    assert!(
        lxc_storage_is_subvol(&rootfs),
        "{} is no subvolume",
        rootfs.display()
    );
    let cfg = fs::read_to_string(fsys.mnt.join(&a).join("config")).unwrap();
    assert!(
        cfg.contains(&format!("lxc.rootfs.path = btrfs:{}\n", rootfs.display())),
        "{cfg}"
    );
    // On one btrfs a copy is a snapshot (LXC's should_default_to_snapshot).
    run(&a, &["copy", "-N", &b]);
    let brootfs = fsys.mnt.join(&b).join("rootfs");
    assert!(lxc_storage_is_subvol(&brootfs));
    run(&b, &["start"]);
    assert_eq!(run(&b, &["attach", "--", "/bin/hostname"]).trim(), b);
    run(
        &b,
        &["attach", "--", "/bin/sh", "-c", "echo b > /root/only-b"],
    );
    run(&b, &["stop"]);
    assert!(!rootfs.join("root/only-b").exists());
    run(&b, &["destroy"]);
    run(&a, &["destroy"]);
    assert_eq!(
        fs::read_dir(&fsys.mnt).unwrap().count(),
        0,
        "subvolumes left"
    );
    drop(fsys);
    assert!(
        loops_on(&t.lxcpath).is_empty(),
        "the test's loop device is left"
    );
}

/// A btrfs subvolume's root directory has inode 256.
fn lxc_storage_is_subvol(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).is_ok_and(|m| m.ino() == 256)
}

#[test]
fn a_copy_keeps_sparse_files_sparse() {
    require_root!();
    use std::os::unix::fs::{FileExt, MetadataExt};
    let t = TestContainer::busybox("sparse");
    let img = t.lxcpath.join(&t.name).join("rootfs/root/disk.img");
    let f = fs::File::create(&img).unwrap();
    // 256 MiB with 8 KiB of data at 100 MiB: a filled-in copy would take 524288 blocks.
    f.set_len(256 << 20).unwrap();
    f.write_all_at(&[0x5a; 8192], 100 << 20).unwrap();
    drop(f);
    let full = format!("{}-full", t.name);
    t.ok(&["copy", "-N", &full]);
    let copy = t.lxcpath.join(&full).join("rootfs/root/disk.img");
    let (a, b) = (fs::metadata(&img).unwrap(), fs::metadata(&copy).unwrap());
    assert_eq!(b.len(), a.len());
    assert!(
        b.blocks() <= a.blocks().max(64),
        "the copy has {} blocks, the original {}",
        b.blocks(),
        a.blocks()
    );
    let mut buf = vec![0u8; 8192];
    let c = fs::File::open(&copy).unwrap();
    c.read_exact_at(&mut buf, 100 << 20).unwrap();
    assert!(buf.iter().all(|&x| x == 0x5a), "the data region was copied");
    c.read_exact_at(&mut buf, 0).unwrap();
    assert!(buf.iter().all(|&x| x == 0), "the hole reads as zeros");
    ok_in(&t.lxcpath, &full, &["destroy"]);
}
