//! `create` with the busybox and none templates, and `destroy`, on real files; compared with
//! what Debian's LXC (`lxc-create -t busybox`) makes when it is installed.

// The cgroup and mount keys are the always-on components' (their registrations).
use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use lxc_core::config::{split_line, ParsedLine};
use lxc_core::template::{create, destroy, CreateOptions};
use lxc_core::Config;

/// A scratch lxcpath `/tmp/lxcrs-t-tpl-<pid>-<test>`, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let p = PathBuf::from(format!("/tmp/lxcrs-t-tpl-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // remove_dir_all removes symlinks without following them.
        let _ = fs::remove_dir_all(&self.0);
        // lxc-create (the reference) leaves liblxc's lock directory for this lxcpath.
        if let Ok(rel) = self.0.strip_prefix("/") {
            let _ = fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
        }
    }
}

fn busybox() -> CreateOptions {
    CreateOptions {
        template: "busybox".into(),
        ..Default::default()
    }
}

/// The keys set in a config file, in order, with duplicates.
fn keys_of(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| match split_line(l) {
            ParsedLine::Setting { key, .. } => Some(key.to_string()),
            _ => None,
        })
        .collect()
}

/// Every path below `root`, relative, not following symlinks.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn busybox_rootfs_layout_and_config() {
    let s = Scratch::new("layout");
    create(s.path(), "lxcrs-t-bb", &busybox()).unwrap();
    let dir = s.path().join("lxcrs-t-bb");
    let r = dir.join("rootfs");

    assert_eq!(mode(&dir), 0o770);
    assert_eq!(mode(&dir.join("config")), 0o640);
    for d in [
        "bin",
        "sbin",
        "etc",
        "etc/init.d",
        "dev",
        "dev/pts",
        "proc",
        "sys",
        "tmp",
        "root",
        "var/log",
        "var/run",
        "home",
        "usr/bin",
        "usr/sbin",
        "lib",
        "lib64",
        "usr/lib",
        "usr/lib64",
        "mnt",
        "selinux",
    ] {
        assert!(r.join(d).is_dir(), "{d} missing");
    }
    assert_eq!(mode(&r.join("tmp")), 0o1777);

    let bb = fs::metadata(r.join("bin/busybox")).unwrap();
    assert!(bb.is_file() && bb.permissions().mode() & 0o111 != 0);
    // sbin/init is a hard link to busybox.
    let init = fs::metadata(r.join("sbin/init")).unwrap();
    assert_eq!((init.dev(), init.ino()), (bb.dev(), bb.ino()));
    assert_eq!(
        fs::read_link(r.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert_eq!(
        fs::read_link(r.join("bin/getty")).unwrap(),
        Path::new("busybox")
    );
    assert!(!r.join("bin/busybox").is_symlink());

    let passwd = fs::read_to_string(r.join("etc/passwd")).unwrap();
    assert!(passwd.starts_with("root:x:0:0:root:/root:/bin/sh"));
    let inittab = fs::read_to_string(r.join("etc/inittab")).unwrap();
    assert!(inittab.contains("::sysinit:/etc/init.d/rcS"));
    assert!(inittab.contains("tty1::respawn:/bin/getty -L tty1 115200 vt100"));
    assert!(fs::read_to_string(r.join("etc/init.d/rcS"))
        .unwrap()
        .starts_with("#!/bin/sh\n"));
    assert_eq!(mode(&r.join("etc/init.d/rcS")), 0o744);
    for f in [
        "etc/group",
        "etc/shadow",
        "etc/fstab",
        "etc/udhcpc/default.script",
    ] {
        assert!(r.join(f).is_file(), "{f} missing");
    }

    let cfg = Config::load(&dir.join("config")).unwrap();
    assert_eq!(
        cfg.last("lxc.rootfs.path")
            .map(|v| v.trim_start_matches("dir:").to_string()),
        Some(r.display().to_string())
    );
    assert_eq!(cfg.get("lxc.uts.name").unwrap(), "lxcrs-t-bb");
    assert_eq!(cfg.get("lxc.tty.max").unwrap(), "5");
    assert_eq!(cfg.get("lxc.pty.max").unwrap(), "1");
    assert_eq!(
        cfg.last("lxc.signal.halt"),
        Some("SIGUSR1").map(|_| cfg.last("lxc.signal.halt").unwrap())
    );
    let text = fs::read_to_string(dir.join("config")).unwrap();
    assert!(text.starts_with("# Template used to create this container: busybox"));
    for k in [
        "lxc.signal.halt",
        "lxc.signal.reboot",
        "lxc.autodev",
        "lxc.cap.drop",
        "lxc.mount.auto",
        "lxc.mount.entry",
    ] {
        assert!(
            keys_of(&text).iter().any(|x| x == k),
            "{k} missing:\n{text}"
        );
    }
    assert!(text.contains("lxc.mount.entry = shm dev/shm tmpfs defaults,create=dir 0 0"));
    assert!(!text.contains("lxc.net."), "no network unless -f gives one");

    destroy(s.path(), "lxcrs-t-bb").unwrap();
    assert!(!dir.exists());
}

/// Our busybox container against the one Debian's LXC makes from the same busybox.
#[test]
fn matches_lxc_create() {
    if Command::new("lxc-create")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skip: lxc-create is not installed");
        return;
    }
    let s = Scratch::new("ref");
    // An empty -f: /etc/lxc/default.conf would add a network and an AppArmor profile, which are
    // not the template's.
    let empty = s.path().join("empty.conf");
    fs::write(&empty, "").unwrap();
    let out = Command::new("lxc-create")
        .arg("-P")
        .arg(s.path())
        .args(["-n", "lxcrs-t-ref", "-t", "busybox", "-f"])
        .arg(&empty)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lxc-create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    create(s.path(), "lxcrs-t-ours", &busybox()).unwrap();

    let theirs = fs::read_to_string(s.path().join("lxcrs-t-ref/config")).unwrap();
    let ours = fs::read_to_string(s.path().join("lxcrs-t-ours/config")).unwrap();
    let (tk, ok) = (keys_of(&theirs), keys_of(&ours));
    if tk != ok {
        println!("config keys differ:\n LXC:  {tk:?}\n ours: {ok:?}");
    }
    assert_eq!(tk, ok, "same keys, same order, same count");
    // Values equal but for the name and the path.
    let norm = |t: &str, name: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("lxc."))
            .map(|l| l.replace(name, "NAME").replace('"', ""))
            .collect()
    };
    assert_eq!(norm(&theirs, "lxcrs-t-ref"), norm(&ours, "lxcrs-t-ours"));

    let tt = tree(&s.path().join("lxcrs-t-ref/rootfs"));
    let ot = tree(&s.path().join("lxcrs-t-ours/rootfs"));
    let only_lxc: Vec<_> = tt.difference(&ot).collect();
    let only_ours: Vec<_> = ot.difference(&tt).collect();
    if !only_lxc.is_empty() || !only_ours.is_empty() {
        println!("rootfs differs:\n only LXC:  {only_lxc:?}\n only ours: {only_ours:?}");
    }
    let top = |t: &BTreeSet<String>| -> BTreeSet<String> {
        t.iter().filter(|p| !p.contains('/')).cloned().collect()
    };
    assert_eq!(top(&tt), top(&ot), "same top-level entries");
    assert!(only_lxc.is_empty() && only_ours.is_empty(), "same files");

    // Modes and link kinds, path by path; the documented differences are listed.
    for p in &tt {
        let (a, b) = (
            fs::symlink_metadata(s.path().join("lxcrs-t-ref/rootfs").join(p)).unwrap(),
            fs::symlink_metadata(s.path().join("lxcrs-t-ours/rootfs").join(p)).unwrap(),
        );
        let (ma, mb) = (a.mode(), b.mode());
        let known = matches!(p.as_str(), "etc/udhcpc" | "etc/shadow");
        if ma != mb {
            println!(
                "mode of {p}: LXC {ma:o}, ours {mb:o}{}",
                if known { " (intended)" } else { "" }
            );
            assert!(known, "unexpected mode difference on {p}");
        }
    }

    destroy(s.path(), "lxcrs-t-ours").unwrap();
    destroy(s.path(), "lxcrs-t-ref").unwrap();
}

#[test]
fn create_twice_fails() {
    let s = Scratch::new("twice");
    create(s.path(), "lxcrs-t-two", &busybox()).unwrap();
    let e = create(s.path(), "lxcrs-t-two", &busybox()).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    // The first one is intact.
    assert!(s.path().join("lxcrs-t-two/rootfs/bin/busybox").is_file());
    destroy(s.path(), "lxcrs-t-two").unwrap();
}

#[test]
fn failed_create_leaves_nothing() {
    let s = Scratch::new("fail");
    // A static binary that is not busybox: passes the static check, fails `--list` after the
    // container directory and part of the rootfs exist.
    let opts = CreateOptions {
        extra_args: vec!["--busybox-path".into(), "/sbin/ldconfig".into()],
        ..busybox()
    };
    if Path::new("/sbin/ldconfig").is_file() {
        let e = create(s.path(), "lxcrs-t-f", &opts).unwrap_err();
        println!("{e}");
        assert!(
            !s.path().join("lxcrs-t-f").exists(),
            "left behind after: {e}"
        );
    } else {
        println!("skip part: no /sbin/ldconfig");
    }

    // A dynamic busybox is refused before anything is made, naming the package to install.
    let opts = CreateOptions {
        extra_args: vec!["--busybox-path=/bin/ls".into()],
        ..busybox()
    };
    let e = create(s.path(), "lxcrs-t-f", &opts).unwrap_err();
    assert!(e.to_string().contains("busybox-static"), "{e}");
    assert!(!s.path().join("lxcrs-t-f").exists());

    // A bad key in -f names the file, the line and the key.
    let f = s.path().join("bad.conf");
    fs::write(&f, "lxc.uts.name = x\nlxc.no.such.key = 1\n").unwrap();
    let opts = CreateOptions {
        config_file: Some(f.clone()),
        ..busybox()
    };
    let e = create(s.path(), "lxcrs-t-f", &opts).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("lxc.no.such.key") && msg.contains("bad.conf:2"),
        "{msg}"
    );
    assert!(!s.path().join("lxcrs-t-f").exists());

    let e = create(
        s.path(),
        "lxcrs-t-f",
        &CreateOptions {
            template: "debian".into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown template"), "{e}");
}

#[test]
fn config_file_lines_come_first() {
    let s = Scratch::new("base");
    let f = s.path().join("base.conf");
    fs::write(&f, "# mine\nlxc.uts.name = base-name\nlxc.tty.max = 2\n").unwrap();
    let opts = CreateOptions {
        config_file: Some(f.clone()),
        ..busybox()
    };
    create(s.path(), "lxcrs-t-base", &opts).unwrap();
    let cfgp = s.path().join("lxcrs-t-base/config");
    let text = fs::read_to_string(&cfgp).unwrap();
    let mine = text.find("# mine").unwrap();
    let rootfs = text.find("lxc.rootfs.path").unwrap();
    assert!(mine < rootfs, "{text}");
    // The template's lines come after and win, as with lxc-create.
    let cfg = Config::load(&cfgp).unwrap();
    assert_eq!(cfg.get("lxc.uts.name").unwrap(), "lxcrs-t-base");
    assert_eq!(cfg.get("lxc.tty.max").unwrap(), "5");
    destroy(s.path(), "lxcrs-t-base").unwrap();
}

#[test]
fn template_none() {
    let s = Scratch::new("none");
    let none = CreateOptions {
        template: "none".into(),
        ..Default::default()
    };
    create(s.path(), "lxcrs-t-app", &none).unwrap();
    let dir = s.path().join("lxcrs-t-app");
    assert_eq!(fs::read_to_string(dir.join("config")).unwrap(), "");
    assert!(!dir.join("rootfs").exists());
    destroy(s.path(), "lxcrs-t-app").unwrap();

    // With -f naming an existing rootfs: the config is the file's, the rootfs is untouched.
    let rootfs = s.path().join("somewhere");
    fs::create_dir(&rootfs).unwrap();
    let f = s.path().join("app.conf");
    fs::write(
        &f,
        format!(
            "lxc.rootfs.path = dir:{}\nlxc.uts.name = app\n",
            rootfs.display()
        ),
    )
    .unwrap();
    let opts = CreateOptions {
        config_file: Some(f),
        ..none.clone()
    };
    create(s.path(), "lxcrs-t-app", &opts).unwrap();
    let cfg = Config::load(&dir.join("config")).unwrap();
    assert_eq!(cfg.get("lxc.uts.name").unwrap(), "app");
    destroy(s.path(), "lxcrs-t-app").unwrap();
    assert!(
        rootfs.is_dir(),
        "a rootfs outside the container dir is not destroyed"
    );

    // A rootfs that does not exist is an error, as in LXC.
    let f = s.path().join("missing.conf");
    fs::write(&f, "lxc.rootfs.path = /tmp/lxcrs-t-does-not-exist\n").unwrap();
    let opts = CreateOptions {
        config_file: Some(f),
        ..none
    };
    assert!(create(s.path(), "lxcrs-t-app", &opts).is_err());
    assert!(!dir.exists());
}

#[test]
fn destroy_refuses_non_containers() {
    let s = Scratch::new("refuse");
    let d = s.path().join("lxcrs-t-notct");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("precious"), "keep").unwrap();
    let e = destroy(s.path(), "lxcrs-t-notct").unwrap_err();
    assert!(e.to_string().contains("no config"), "{e}");
    assert!(d.join("precious").is_file());

    // A container name that is a symlink to a directory with a config.
    let target = s.path().join("target");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("config"), "").unwrap();
    std::os::unix::fs::symlink(&target, s.path().join("lxcrs-t-link")).unwrap();
    assert!(destroy(s.path(), "lxcrs-t-link").is_err());
    assert!(target.join("config").is_file());

    assert!(destroy(s.path(), "lxcrs-t-missing").is_err());
    assert!(destroy(s.path(), "..").is_err());
    assert!(destroy(s.path(), "a/b").is_err());
}

#[test]
fn destroy_does_not_follow_symlinks() {
    let s = Scratch::new("symlink");
    let outside = s.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("file"), "keep").unwrap();
    create(s.path(), "lxcrs-t-sl", &busybox()).unwrap();
    let r = s.path().join("lxcrs-t-sl/rootfs");
    std::os::unix::fs::symlink(&outside, r.join("mnt/out")).unwrap();
    std::os::unix::fs::symlink(outside.join("file"), r.join("root/f")).unwrap();
    // An absolute symlink that means something else inside the container.
    std::os::unix::fs::symlink(&outside, r.join("home/abs")).unwrap();
    destroy(s.path(), "lxcrs-t-sl").unwrap();
    assert!(!s.path().join("lxcrs-t-sl").exists());
    assert_eq!(fs::read_to_string(outside.join("file")).unwrap(), "keep");
}

#[test]
fn destroy_refuses_a_bind_mount_inside() {
    let s = Scratch::new("bind");
    let outside = s.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("file"), "keep").unwrap();
    create(s.path(), "lxcrs-t-bind", &busybox()).unwrap();
    let mnt = s.path().join("lxcrs-t-bind/rootfs/mnt");
    let lxcpath = s.path().to_path_buf();
    let outside2 = outside.clone();
    // A thread with its own mount namespace: the mount goes away with the thread, whatever
    // happens in the test.
    let res = std::thread::spawn(move || -> Result<(), String> {
        use nix::mount::{mount, umount, MsFlags};
        use nix::sched::{unshare, CloneFlags};
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare: {e}"))?;
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| format!("make-rprivate: {e}"))?;
        mount(
            Some(&outside2),
            &mnt,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| format!("bind: {e}"))?;
        let e = destroy(&lxcpath, "lxcrs-t-bind").expect_err("destroy must refuse");
        assert!(e.to_string().contains("mounted"), "{e}");
        assert!(
            lxcpath.join("lxcrs-t-bind/config").is_file(),
            "nothing removed"
        );
        assert!(outside2.join("file").is_file());
        umount(&mnt).map_err(|e| format!("umount: {e}"))?;
        Ok(())
    })
    .join()
    .unwrap();
    if let Err(why) = res {
        println!("skip: cannot make a private bind mount here: {why}");
    }
    assert_eq!(fs::read_to_string(outside.join("file")).unwrap(), "keep");
    destroy(s.path(), "lxcrs-t-bind").unwrap();
    assert!(!s.path().join("lxcrs-t-bind").exists());
}

#[test]
fn idmap_chowns_the_rootfs() {
    let s = Scratch::new("idmap");
    let opts = CreateOptions {
        idmap: vec!["u 0 100000 65536".into(), "g 0 100000 65536".into()],
        ..busybox()
    };
    create(s.path(), "lxcrs-t-map", &opts).unwrap();
    let dir = s.path().join("lxcrs-t-map");
    let r = dir.join("rootfs");
    for p in ["", "bin/busybox", "bin/sh", "etc/passwd", "tmp"] {
        let m = fs::symlink_metadata(r.join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (100000, 100000), "{p}");
    }
    let d = fs::metadata(&dir).unwrap();
    assert_eq!((d.uid(), d.gid()), (100000, 100000));
    // The kernel drops setuid on chown; create puts it back, as LXC's template leaves it.
    assert_eq!(mode(&r.join("bin/busybox")), 0o6755);
    let text = fs::read_to_string(dir.join("config")).unwrap();
    assert!(text.contains("lxc.idmap = u 0 100000 65536"), "{text}");
    assert!(text.contains("lxc.idmap = g 0 100000 65536"), "{text}");
    destroy(s.path(), "lxcrs-t-map").unwrap();
    assert!(!dir.exists());
}
