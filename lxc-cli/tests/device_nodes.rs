//! Device nodes on a running container, without a restart: `lxc-rs device add|del -n NAME
//! /dev/X [DEST]` (the API's `add_device_node` / `remove_device_node`), as LXC's lxc-device.
//!
//! The containers run with LXC's default device rules (common.conf's `lxc.cgroup.devices.*`
//! lines: everything denied but mknod and a short list), and the device under test is one that
//! list leaves out: a node of the kmsg driver (c 1:11) the test makes in a directory of its own
//! on the host (reading one byte of it is harmless). Checks are made from attached processes:
//! the node appears and opens at once after `add`; after `del` it is gone, and a node made
//! by hand inside does not open (EPERM). Refusals change nothing, on either side.
//! Needs root. Every container and path made here is named `lxcrs-t-...` and removed; the
//! fixtures prove nothing is left.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use nix::sys::stat::{makedev, mknod, Mode, SFlag};

use common::{show, stderr, stdout, TestContainer};

/// LXC's default device rules, as /usr/share/lxc/config/common.conf has them for cgroup v1.
const DEFAULT_RULES: &str = "\
lxc.cgroup.devices.deny = a
lxc.cgroup.devices.allow = c *:* m
lxc.cgroup.devices.allow = b *:* m
lxc.cgroup.devices.allow = c 1:3 rwm
lxc.cgroup.devices.allow = c 1:5 rwm
lxc.cgroup.devices.allow = c 1:7 rwm
lxc.cgroup.devices.allow = c 5:0 rwm
lxc.cgroup.devices.allow = c 5:1 rwm
lxc.cgroup.devices.allow = c 5:2 rwm
lxc.cgroup.devices.allow = c 1:8 rwm
lxc.cgroup.devices.allow = c 1:9 rwm
lxc.cgroup.devices.allow = c 136:* rwm
lxc.cgroup.devices.allow = c 10:229 rwm
";

/// The v1 devices controller, whose `devices.list` shows the rules (on a cgroup2 host the
/// rules are a BPF program: only their effect is checked there).
fn v1_devices() -> bool {
    Path::new("/sys/fs/cgroup/devices/devices.list").exists()
}

/// A directory on the host for the test's own nodes, removed (and checked gone) on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(test: &str) -> HostDir {
        let dir = PathBuf::from(format!("/tmp/lxcrs-t-{test}-src-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        HostDir(dir)
    }

    /// A device node `name` here, with exactly `perm`.
    fn node(&self, name: &str, kind: SFlag, major: u64, minor: u64, perm: u32) -> PathBuf {
        let p = self.0.join(name);
        mknod(&p, kind, Mode::empty(), makedev(major, minor))
            .unwrap_or_else(|e| panic!("mknod {}: {e}", p.display()));
        fs::set_permissions(&p, fs::Permissions::from_mode(perm)).unwrap();
        p
    }

    fn file(&self, name: &str) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, "lxcrs-t\n").unwrap();
        p
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        if !std::thread::panicking() {
            assert!(!self.0.exists(), "{} left behind", self.0.display());
        }
    }
}

/// A busybox container with LXC's default device rules, running.
fn started(test: &str) -> TestContainer {
    let t = TestContainer::busybox(test);
    t.append_config(DEFAULT_RULES);
    t.ok(&["start"]);
    t
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sh -c SCRIPT` in the container.
fn sh(t: &TestContainer, script: &str) -> Output {
    t.lxc(&["attach", "--", "sh", "-c", script])
}

/// `sh -c SCRIPT` in the container, which must succeed; its stdout.
fn sh_ok(t: &TestContainer, script: &str) -> String {
    let o = sh(t, script);
    assert!(o.status.success(), "{script}: {}", show(&o));
    stdout(&o)
}

/// Type, major:minor (hex, as busybox's stat prints them), permission bits and owner of a path
/// in the container.
fn stat_inside(t: &TestContainer, path: &str) -> String {
    sh_ok(t, &format!("stat -c '%F %t:%T %a %u' {path}"))
        .trim()
        .to_string()
}

fn exists_inside(t: &TestContainer, path: &str) -> bool {
    sh(t, &format!("test -e {path} || test -L {path}"))
        .status
        .success()
}

/// The container's device rules, as its devices cgroup lists them.
fn rules(t: &TestContainer) -> Vec<String> {
    if !v1_devices() {
        return Vec::new();
    }
    t.ok(&["cgroup", "devices.list"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// A node made by hand inside for `kind major minor` cannot be opened: the rules deny it.
fn assert_denied_inside(t: &TestContainer, kind: char, major: u64, minor: u64) {
    let o = sh(
        t,
        &format!(
            "mknod /dev/lxcrs-t-own {kind} {major} {minor} && head -c1 /dev/lxcrs-t-own; \
             r=$?; rm -f /dev/lxcrs-t-own; exit $r"
        ),
    );
    assert!(
        !o.status.success(),
        "{kind} {major}:{minor} opened: {}",
        show(&o)
    );
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{kind} {major}:{minor}: {}",
        show(&o)
    );
}

/// `device add|del` that must succeed as lxc-device does: exit 0, nothing printed.
fn device_ok(t: &TestContainer, args: &[&str]) {
    let o = t.lxc(&[&["device"][..], args].concat());
    assert!(
        o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
        "device {args:?}: {}",
        show(&o)
    );
}

/// The hidden names a node has on its way in or out: never left behind.
fn assert_no_temporaries(t: &TestContainer, dirs: &[&str]) {
    let out = sh_ok(t, &format!("ls -a {}", dirs.join(" ")));
    assert!(!out.contains(".lxc-rs-devnode"), "{out}");
}

/// An unbound loop device of the host (`/dev/loopN`, nothing behind it): its number.
fn unbound_loop() -> Option<u64> {
    (0..8).find(|n| {
        let sys = PathBuf::from(format!("/sys/block/loop{n}"));
        sys.exists()
            && !sys.join("loop/backing_file").exists()
            && Path::new(&format!("/dev/loop{n}")).exists()
    })
}

#[test]
fn an_added_node_works_at_once_and_del_takes_node_and_permission_away() {
    require_root!();
    let host = HostDir::new("devnode");
    let t = started("devnode");
    let kmsg = host.node("kmsg", SFlag::S_IFCHR, 1, 11, 0o640);
    let dest = "/dev/lxcrs-t-kmsg";

    // LXC's default rules leave c 1:11 out: a node of it made inside does not open.
    assert_denied_inside(&t, 'c', 1, 11);
    let before = rules(&t);
    assert!(!before.contains(&"c 1:11 rwm".to_string()), "{before:?}");

    // In: the host node's type, number and mode, usable at once.
    device_ok(&t, &["add", s(&kmsg), dest]);
    assert_eq!(stat_inside(&t, dest), "character special file 1:b 640 0");
    let o = t.lxc(&["attach", "--", "head", "-c1", dest]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(o.stdout.len(), 1, "{}", show(&o));
    if v1_devices() {
        let now = rules(&t);
        assert!(now.contains(&"c 1:11 rwm".to_string()), "{now:?}");
    }

    // Out: the node and the permission, also for a node made again by hand.
    device_ok(&t, &["del", s(&kmsg), dest]);
    assert!(!exists_inside(&t, dest));
    assert_eq!(rules(&t), before);
    assert_denied_inside(&t, 'c', 1, 11);
    // No node to remove: the rule is written all the same, as LXC does.
    device_ok(&t, &["del", s(&kmsg), dest]);
    assert_eq!(rules(&t), before);

    // No DEST: the host's path, in directories made as needed (0755).
    let same = s(&kmsg);
    device_ok(&t, &["add", same]);
    assert_eq!(stat_inside(&t, same), "character special file 1:b 640 0");
    assert_eq!(
        stat_inside(&t, s(host.path())),
        "directory 0:0 755 0",
        "the directory made for it"
    );
    let o = t.lxc(&["attach", "--", "head", "-c1", same]);
    assert!(o.status.success(), "{}", show(&o));
    device_ok(&t, &["del", same]);
    assert!(!exists_inside(&t, same));
    assert_denied_inside(&t, 'c', 1, 11);
    // The directories stay (as with LXC); they are the test's to remove.
    sh_ok(&t, &format!("rmdir {}", s(host.path())));

    // What is there already (but a directory) is replaced, as LXC replaces it.
    sh_ok(&t, &format!("echo lxcrs-t > {dest}"));
    device_ok(&t, &["add", s(&kmsg), dest]);
    assert_eq!(stat_inside(&t, dest), "character special file 1:b 640 0");
    device_ok(&t, &["del", s(&kmsg), dest]);
    assert!(!exists_inside(&t, dest));

    // The classic: /dev/net/tun, in a directory the container lacks.
    if Path::new("/dev/net/tun").exists() {
        let tun = "/dev/lxcrs-t-net/tun";
        device_ok(&t, &["add", "/dev/net/tun", tun]);
        assert_eq!(stat_inside(&t, tun), "character special file a:c8 600 0");
        sh_ok(&t, &format!("exec 3<>{tun}"));
        if v1_devices() {
            assert!(rules(&t).contains(&"c 10:200 rwm".to_string()));
        }
        device_ok(&t, &["del", "/dev/net/tun", tun]);
        assert!(!exists_inside(&t, tun));
        let o = sh(
            &t,
            "mknod /dev/lxcrs-t-net/own c 10 200 && exec 3<>/dev/lxcrs-t-net/own",
        );
        assert!(
            !o.status.success() && stderr(&o).contains("Operation not permitted"),
            "{}",
            show(&o)
        );
        sh_ok(&t, "rm -r /dev/lxcrs-t-net");
    } else {
        eprintln!("skipped: tun part: this host has no /dev/net/tun");
    }

    // A block device: an unbound loop device's number (reading it gives nothing, harmlessly).
    match unbound_loop() {
        Some(n) => {
            let lo = host.node("loop", SFlag::S_IFBLK, 7, n, 0o600);
            let dest = "/dev/lxcrs-t-loop";
            assert_denied_inside(&t, 'b', 7, n);
            device_ok(&t, &["add", s(&lo), dest]);
            assert_eq!(
                stat_inside(&t, dest),
                format!("block special file 7:{n:x} 600 0")
            );
            let o = t.lxc(&["attach", "--", "head", "-c1", dest]);
            assert!(o.status.success(), "{}", show(&o));
            if v1_devices() {
                assert!(rules(&t).contains(&format!("b 7:{n} rwm")));
            }
            device_ok(&t, &["del", s(&lo), dest]);
            assert!(!exists_inside(&t, dest));
            assert_denied_inside(&t, 'b', 7, n);
        }
        None => eprintln!("skipped: block part: no unbound /dev/loopN on this host"),
    }

    assert_eq!(rules(&t), before);
    assert_no_temporaries(&t, &["/dev", "/tmp"]);
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn refusals_say_why_and_change_nothing() {
    require_root!();
    let host = HostDir::new("devrefuse");
    let t = TestContainer::busybox("devrefuse");
    t.append_config(DEFAULT_RULES);
    let kmsg = host.node("kmsg", SFlag::S_IFCHR, 1, 11, 0o640);
    let plain = host.file("plain");
    let name = t.name.clone();

    // Not running: as every command that needs a running container says it.
    for op in ["add", "del"] {
        let o = t.lxc(&["device", op, s(&kmsg)]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert_eq!(
            stderr(&o),
            format!("lxc-rs: device {op} {name}: {name} is not running\n")
        );
    }
    let api = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    let e = api.add_device_node(&kmsg, None).expect_err("not running");
    assert_eq!(e.errno(), libc::ESRCH, "{e}");

    t.ok(&["start"]);
    sh_ok(
        &t,
        "ln -s / /tmp/lxcrs-t-abs && ln -s ../../../../../../.. /tmp/lxcrs-t-rel && \
         echo lxcrs-t > /tmp/lxcrs-t-file && mkdir /tmp/lxcrs-t-dir",
    );
    let listing = |t: &TestContainer| sh_ok(t, "ls -A / /dev /tmp /tmp/lxcrs-t-dir");
    let before = (rules(&t), listing(&t));
    // Where a naive resolution from the host would land: around the rootfs, and the host's /.
    let rootfs_parent = t.lxcpath.join(&t.name);
    let host_dirs = [
        Path::new("/"),
        Path::new("/tmp"),
        t.lxcpath.as_path(),
        rootfs_parent.as_path(),
    ];

    let nosuch = host.path().join("nosuch");
    let hostdir = s(host.path());
    let k = s(&kmsg);
    let leads_out = "leads out of the container's root (through `..` or a symlink): refused";
    let cases: Vec<(Vec<&str>, String, i32)> = vec![
        (
            vec!["add", s(&nosuch)],
            format!("{}: No such file or directory", nosuch.display()),
            libc::ENOENT,
        ),
        (
            vec!["add", s(&plain), "/dev/lxcrs-t-x"],
            format!(
                "{}: is a regular file, not a character or block device",
                plain.display()
            ),
            libc::EINVAL,
        ),
        (
            vec!["del", hostdir, "/dev/lxcrs-t-x"],
            format!("{hostdir}: is a directory, not a character or block device"),
            libc::EINVAL,
        ),
        (
            vec!["add", k, "/dev/../../lxcrs-t-esc"],
            format!("/dev/../..: {leads_out}"),
            libc::EXDEV,
        ),
        (
            vec!["add", k, "/tmp/lxcrs-t-abs/lxcrs-t-esc"],
            format!("/tmp/lxcrs-t-abs: {leads_out}"),
            libc::EXDEV,
        ),
        (
            vec!["add", k, "/tmp/lxcrs-t-rel/tmp/lxcrs-t-esc"],
            format!("/tmp/lxcrs-t-rel: {leads_out}"),
            libc::EXDEV,
        ),
        (
            vec!["del", k, "/tmp/lxcrs-t-rel/lxcrs-t-esc"],
            format!("/tmp/lxcrs-t-rel: {leads_out}"),
            libc::EXDEV,
        ),
        (
            vec!["add", k, "/proc/1/root/lxcrs-t-esc"],
            "/proc/1/root: too many symlinks, or a /proc magic link, in the container: refused"
                .to_string(),
            libc::ELOOP,
        ),
        (
            vec!["add", k, "/tmp/lxcrs-t-dir"],
            "/tmp/lxcrs-t-dir: is a directory in the container: not replaced by a device node"
                .to_string(),
            libc::EISDIR,
        ),
        (
            vec!["del", k, "/tmp/lxcrs-t-file"],
            "/tmp/lxcrs-t-file: is a regular file in the container, not a device node: left \
             as it is"
                .to_string(),
            libc::EINVAL,
        ),
        (
            vec!["add", k, "/"],
            "/: names no file in the container (expected a path such as /dev/foo)".to_string(),
            libc::EINVAL,
        ),
        // A bare name that is neither a node nor an interface is taken for an interface.
        (
            vec!["add", "nosuch0"],
            "no interface nosuch0 on the host".to_string(),
            0,
        ),
    ];
    for (args, want, errno) in &cases {
        let o = t.lxc(&[&["device"][..], args].concat());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", show(&o));
        assert_eq!(stdout(&o), "", "{args:?}");
        assert_eq!(
            stderr(&o),
            format!("lxc-rs: device {} {name}: {want}\n", args[0]),
            "{args:?}"
        );
        // The API gives the errno a C caller would get.
        if *errno != 0 {
            let (src, dest) = (Path::new(args[1]), args.get(2).map(Path::new));
            let e = match args[0] {
                "add" => api.add_device_node(src, dest),
                _ => api.remove_device_node(src, dest),
            }
            .expect_err("refused");
            assert_eq!(e.errno(), *errno, "{args:?}: {e}");
        }
    }

    assert_eq!((rules(&t), listing(&t)), before);
    assert_eq!(sh_ok(&t, "cat /tmp/lxcrs-t-file"), "lxcrs-t\n");
    assert!(!exists_inside(&t, "/lxcrs-t-esc"));
    for d in host_dirs {
        assert!(
            !d.join("lxcrs-t-esc").exists(),
            "{}/lxcrs-t-esc made on the host",
            d.display()
        );
    }
    assert_no_temporaries(&t, &["/", "/dev", "/tmp"]);
    sh_ok(
        &t,
        "rm /tmp/lxcrs-t-abs /tmp/lxcrs-t-rel /tmp/lxcrs-t-file && rmdir /tmp/lxcrs-t-dir",
    );
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// The container's v1 devices cgroup below a parent the test makes, which denies c 1:11:
/// the kernel refuses the container's `devices.allow` for it, so `add` fails after making the
/// node, and must take the node (and the directory it made) away again.
struct DeniedParent(PathBuf);

impl DeniedParent {
    fn new() -> DeniedParent {
        let name = format!("lxcrs-t-devpar-{}", std::process::id());
        let dir = Path::new("/sys/fs/cgroup/devices").join(&name);
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        fs::write(dir.join("devices.deny"), "c 1:11 rwm").unwrap();
        DeniedParent(dir)
    }

    fn name(&self) -> &str {
        self.0.file_name().unwrap().to_str().unwrap()
    }
}

impl Drop for DeniedParent {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
        if !std::thread::panicking() {
            assert!(!self.0.exists(), "{} left behind", self.0.display());
        }
    }
}

#[test]
fn a_rule_the_cgroup_refuses_leaves_no_node_behind() {
    require_root!();
    if !v1_devices() {
        eprintln!(
            "skipped: needs the v1 devices controller (a parent cgroup that denies a device)"
        );
        return;
    }
    let host = HostDir::new("devundo");
    // Dropped after the container (declared before it).
    let parent = DeniedParent::new();
    let t = TestContainer::busybox("devundo");
    t.append_config(&format!(
        "{DEFAULT_RULES}lxc.cgroup.dir = {}/{}\n",
        parent.name(),
        t.name
    ));
    t.ok(&["start"]);
    let kmsg = host.node("kmsg", SFlag::S_IFCHR, 1, 11, 0o640);
    sh_ok(&t, "echo lxcrs-t > /dev/lxcrs-t-old");
    let listing = |t: &TestContainer| sh_ok(t, "ls -A / /dev /tmp");
    let before = (rules(&t), listing(&t));

    let name = &t.name;
    for dest in [
        "/dev/lxcrs-t-old",
        "/dev/lxcrs-t-newdir/kmsg",
        "/dev/lxcrs-t-new",
    ] {
        let o = t.lxc(&["device", "add", s(&kmsg), dest]);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        let err = stderr(&o);
        let want = format!("lxc-rs: device add {name}: {dest}: rule c 1:11 rwm: devices.allow");
        assert!(err.starts_with(&want), "{want}\n{}", show(&o));
        assert!(err.contains("Operation not permitted"), "{}", show(&o));
    }
    // What the first one replaced is back, the rest is gone: nothing changed.
    assert_eq!((rules(&t), listing(&t)), before);
    assert_eq!(
        stat_inside(&t, "/dev/lxcrs-t-old"),
        "regular file 0:0 644 0"
    );
    assert_eq!(sh_ok(&t, "cat /dev/lxcrs-t-old"), "lxcrs-t\n");
    assert_no_temporaries(&t, &["/dev"]);

    let api = lxc::Container::new(&t.name, Some(&t.lxcpath)).unwrap();
    let e = api
        .add_device_node(&kmsg, Some(Path::new("/dev/lxcrs-t-new")))
        .expect_err("the cgroup refuses the rule");
    assert_eq!(e.errno(), libc::EPERM, "{e}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}
