//! Mounts into a running container, without a restart: `lxc-rs mount -n NAME SRC DST [-t TYPE]
//! [-o OPTS]` and `lxc-rs umount -n NAME DST` (the API's `mount` / `umount`, extensions
//! `mount_injection` and `mount_injection_file`), and `lxc.mount.auto = shmounts:HOST:CONT`.
//!
//! Real busybox containers, privileged and unprivileged (`lxc.idmap = u|g 0 100000 65536`): a
//! directory, a single file and a tmpfs are injected, seen from attached processes, and
//! removed by `umount`; refusals (a missing source, a target that climbs out through `..` or a
//! symlink, a type mismatch, a stopped container, bad flags) say why and change nothing,
//! inside or on the host (mountinfo compared before and after, no file made). Needs root.
//! Every container and host path made here is named `lxcrs-t-...` and removed; the fixtures
//! prove nothing is left. Run with `cargo test -p lxc-cli --test mount_injection`.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{lxc_rs, show, stderr, stdout, TestContainer};

/// The container's root as an idmap shifts it.
const IDMAP: [&str; 4] = ["--idmap", "u 0 100000 65536", "--idmap", "g 0 100000 65536"];

/// Whether this build can inject; says why a test does not run otherwise.
fn has_injection() -> bool {
    let on = lxc::has_api_extension("mount_injection");
    if !on {
        eprintln!("skipped: this build lacks mount_injection (see the test without it)");
    }
    on
}

/// A directory on the host for a test's sources, removed (and checked gone) on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(test: &str) -> HostDir {
        let dir = PathBuf::from(format!("/tmp/lxcrs-t-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        HostDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A busybox container, unprivileged when asked, running.
fn started(test: &str, unprivileged: bool) -> TestContainer {
    let t = TestContainer::new(test);
    let mut args = vec!["create", "-t", "busybox"];
    if unprivileged {
        args.extend(IDMAP);
    }
    t.ok(&args);
    t.ok(&["start"]);
    t
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

/// The container's mount table, as an attached process reads it, sorted.
fn mounts_inside(t: &TestContainer) -> Vec<String> {
    let mut v: Vec<String> = sh_ok(t, "cat /proc/self/mountinfo")
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The line of the mount at `path` inside, if any.
fn mount_line(t: &TestContainer, path: &str) -> Option<String> {
    mounts_inside(t)
        .into_iter()
        .rfind(|l| l.split(' ').nth(4) == Some(path))
}

/// The host's mounts that mention any of `needles` (a test's paths and names; the tests of
/// this binary and others run side by side, so the whole table is no one test's to compare).
fn mounts_on_host(needles: &[&str]) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// Every path below `dirs` in the container (what a refusal must not have made).
fn tree_inside(t: &TestContainer, dirs: &str) -> String {
    sh_ok(t, &format!("find {dirs} 2>/dev/null | sort"))
}

/// `lxc-rs mount|umount ...` that must succeed as the other tools do: exit 0, nothing printed.
fn quiet_ok(t: &TestContainer, args: &[&str]) {
    let o = t.lxc(args);
    assert!(
        o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
        "{args:?}: {}",
        show(&o)
    );
}

/// `lxc-rs mount|umount ...` that must fail: exit 1, nothing on stdout, one line on stderr
/// `lxc-rs: <cmd> NAME: ...` containing each of `says`. Its stderr.
fn refused(t: &TestContainer, args: &[&str], says: &[&str]) -> String {
    let o = t.lxc(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", show(&o));
    assert!(o.stdout.is_empty(), "{args:?}: {}", show(&o));
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with(&format!("lxc-rs: {} {}: ", args[0], t.name)),
        "{args:?}: {err}"
    );
    for s in says {
        assert!(err.contains(s), "{args:?}: no {s:?} in {err}");
    }
    err
}

/// A directory, a single file and a tmpfs go into the running container and come out again.
fn inject_and_remove(test: &str, unprivileged: bool) {
    let host = HostDir::new(&format!("{test}-src"));
    fs::create_dir(host.join("dir")).unwrap();
    fs::write(host.join("dir/hello"), "from the host\n").unwrap();
    fs::write(host.join("file"), "one file\n").unwrap();
    let t = started(test, unprivileged);
    let before = mounts_inside(&t);
    let needles = [
        s(host.path()),
        t.name.as_str(),
        "lxcrs-t-tmp",
        "/mnt/lxcrs-t",
        "/etc/lxcrs-t",
    ];
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());

    // A directory, read-only; its target (and the directory above it) made as LXC makes them.
    let dir = s(&host.join("dir")).to_string();
    quiet_ok(&t, &["mount", &dir, "/mnt/lxcrs-t/dir", "-O", "ro,nosuid"]);
    assert_eq!(sh_ok(&t, "cat /mnt/lxcrs-t/dir/hello"), "from the host\n");
    let line = mount_line(&t, "/mnt/lxcrs-t/dir").expect("the directory is mounted");
    assert!(line.contains(" ro,nosuid,"), "{line}");
    let o = sh(&t, "touch /mnt/lxcrs-t/dir/new");
    assert!(
        !o.status.success() && stderr(&o).contains("Read-only file system"),
        "{}",
        show(&o)
    );
    // Made by the container's root (an unprivileged one's too), as LXC does as that root.
    assert_eq!(sh_ok(&t, "stat -c %u /mnt/lxcrs-t").trim(), "0");

    // A single file, on a target file that is made empty first (mount_injection_file).
    let file = s(&host.join("file")).to_string();
    let files = lxc::has_api_extension("mount_injection_file");
    if files {
        quiet_ok(&t, &["mount", &file, "/etc/lxcrs-t-file"]);
        assert_eq!(sh_ok(&t, "cat /etc/lxcrs-t-file"), "one file\n");
    } else {
        refused(
            &t,
            &["mount", &file, "/etc/lxcrs-t-file"],
            &["needs the API extension mount_injection_file"],
        );
        assert!(!sh(&t, "test -e /etc/lxcrs-t-file").status.success());
    }

    // A new tmpfs with its options; in a user namespace its superblock is the container's.
    quiet_ok(
        &t,
        &[
            "mount",
            "lxcrs-t-tmp",
            "/mnt/lxcrs-t/tmp",
            "-t",
            "tmpfs",
            "-o",
            "size=1m,mode=0700",
        ],
    );
    let line = mount_line(&t, "/mnt/lxcrs-t/tmp").expect("the tmpfs is mounted");
    assert!(
        line.contains(" - tmpfs lxcrs-t-tmp ") && line.contains("size=1024k,mode=700"),
        "{line}"
    );
    if unprivileged {
        assert!(line.contains("uid=100000,gid=100000"), "{line}");
    }
    assert_eq!(
        sh_ok(
            &t,
            "echo x > /mnt/lxcrs-t/tmp/f && stat -c '%u %a' /mnt/lxcrs-t/tmp/f /mnt/lxcrs-t/tmp"
        ),
        "0 644\n0 700\n"
    );

    // Nothing of it is mounted on the host.
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());

    // Out again: the container's mounts are what they were.
    for target in ["/mnt/lxcrs-t/dir", "/etc/lxcrs-t-file", "/mnt/lxcrs-t/tmp"] {
        if files || target != "/etc/lxcrs-t-file" {
            quiet_ok(&t, &["umount", target]);
        }
    }
    assert_eq!(mounts_inside(&t), before);
    assert!(!sh(&t, "test -e /mnt/lxcrs-t/dir/hello").status.success());
    // umount of what is no longer mounted is refused.
    refused(
        &t,
        &["umount", "/mnt/lxcrs-t/dir"],
        &["/mnt/lxcrs-t/dir: is not a mount point"],
    );

    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());
}

#[test]
fn a_dir_a_file_and_a_tmpfs_go_in_and_out_of_a_privileged_container() {
    require_root!();
    if !has_injection() {
        return;
    }
    inject_and_remove("inj", false);
}

#[test]
fn a_dir_a_file_and_a_tmpfs_go_in_and_out_of_an_unprivileged_container() {
    require_root!();
    if !has_injection() {
        return;
    }
    inject_and_remove("injuser", true);
}

/// In a user namespace the container's root cannot lift what the caller asked for: the flags
/// of an injected bind are locked (as LXC's, which arrive by propagation), while it can still
/// unmount the bind; and a filesystem only the host's root may make is refused as such.
#[test]
fn an_unprivileged_container_cannot_lift_an_injected_bind_s_flags() {
    require_root!();
    if !has_injection() {
        return;
    }
    let host = HostDir::new("injlock-src");
    let t = started("injlock", true);
    quiet_ok(
        &t,
        &["mount", s(host.path()), "/mnt/lxcrs-t-ro", "-o", "ro"],
    );
    let o = sh(&t, "mount -o remount,bind,rw /mnt/lxcrs-t-ro");
    assert!(!o.status.success(), "remounted read-write: {}", show(&o));
    let line = mount_line(&t, "/mnt/lxcrs-t-ro").expect("still mounted");
    assert!(line.contains(" ro,"), "{line}");
    sh_ok(&t, "umount /mnt/lxcrs-t-ro");
    assert_eq!(mount_line(&t, "/mnt/lxcrs-t-ro"), None);

    let before = mounts_inside(&t);
    refused(
        &t,
        &["mount", "devtmpfs", "/mnt/lxcrs-t-dev", "-t", "devtmpfs"],
        &["devtmpfs", "the container's root may not make a new one"],
    );
    assert_eq!(mounts_inside(&t), before);
    assert!(!sh(&t, "test -e /mnt/lxcrs-t-dev").status.success());
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// Every refusal names what is wrong, exits 1, and changes nothing inside or on the host.
#[test]
fn refusals_say_why_and_change_nothing() {
    require_root!();
    if !has_injection() {
        return;
    }
    let host = HostDir::new("injbad-src");
    fs::create_dir(host.join("dir")).unwrap();
    fs::write(host.join("file"), "f\n").unwrap();
    // Where the escaping symlinks point on the host: nothing may appear in it.
    let outside = HostDir::new("injbad-outside");
    let t = started("injbad", false);
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    symlink(outside.path(), rootfs.join("mnt/lxcrs-t-abs")).unwrap();
    symlink("../../../../../../..", rootfs.join("mnt/lxcrs-t-up")).unwrap();
    fs::create_dir(rootfs.join("mnt/lxcrs-t-emptydir")).unwrap();
    let dir = s(&host.join("dir")).to_string();
    let file = s(&host.join("file")).to_string();

    let before = mounts_inside(&t);
    let tree_before = tree_inside(&t, "/mnt /tmp /etc");
    let needles = [
        s(host.path()),
        s(outside.path()),
        t.name.as_str(),
        "lxcrs-t-x",
    ];
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());

    let missing = s(&host.join("missing")).to_string();
    refused(
        &t,
        &["mount", &missing, "/mnt/lxcrs-t-x"],
        &[
            "/mnt/lxcrs-t-x: source ",
            "missing: No such file or directory",
        ],
    );
    refused(
        &t,
        &["mount", &dir, "/../../../tmp/lxcrs-t-x"],
        &["/..: leads out of the container's root"],
    );
    refused(
        &t,
        &["mount", &dir, "/mnt/lxcrs-t-abs/x"],
        &["/mnt/lxcrs-t-abs: leads out of the container's root"],
    );
    refused(
        &t,
        &["mount", &dir, "/mnt/lxcrs-t-up/tmp/x"],
        &["/mnt/lxcrs-t-up: leads out of the container's root"],
    );
    refused(
        &t,
        &["mount", &dir, "/mnt/lxcrs-t-abs"],
        &["/mnt/lxcrs-t-abs: leads out of the container's root"],
    );
    let file_on_dir = if lxc::has_api_extension("mount_injection_file") {
        "is a directory in the container, and a single file is mounted on a file"
    } else {
        "needs the API extension mount_injection_file"
    };
    refused(
        &t,
        &["mount", &file, "/mnt/lxcrs-t-emptydir"],
        &[file_on_dir],
    );
    refused(
        &t,
        &["mount", &dir, "/bin/busybox"],
        &["/bin/busybox: is not a directory in the container"],
    );
    refused(
        &t,
        &["mount", "x", "/mnt/lxcrs-t-x", "-t", "lxcrs-t-nofs"],
        &["filesystem type lxcrs-t-nofs: not known to this kernel"],
    );
    refused(
        &t,
        &[
            "mount",
            "x",
            "/mnt/lxcrs-t-x",
            "-t",
            "tmpfs",
            "-o",
            "size=lots",
        ],
        &["option size=lots: Invalid argument (tmpfs: Bad value for 'size')"],
    );
    refused(
        &t,
        &["mount", &dir, "/mnt/lxcrs-t-x", "-o", "remount,ro"],
        &["MS_REMOUNT changes an existing mount"],
    );
    refused(
        &t,
        &["mount", &dir, "/mnt/lxcrs-t-x", "-o", "rshared"],
        &["propagation flags"],
    );
    refused(
        &t,
        &["mount", &dir, "/mnt/lxcrs-t-x", "-o", "size=1m"],
        &["a bind mount takes no filesystem options"],
    );
    refused(
        &t,
        &["mount", &dir, "/"],
        &["names no path below the container's root"],
    );
    refused(
        &t,
        &["umount", "/mnt"],
        &["/mnt: is not a mount point in the container"],
    );
    refused(
        &t,
        &["umount", "/mnt/lxcrs-t-nothere"],
        &["No such file or directory in the container"],
    );
    refused(
        &t,
        &["umount", "/mnt/lxcrs-t-abs/x"],
        &["/mnt/lxcrs-t-abs: leads out of the container's root"],
    );

    assert_eq!(mounts_inside(&t), before);
    assert_eq!(tree_inside(&t, "/mnt /tmp /etc"), tree_before);
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// A container that is not running (or not there) is refused before anything is opened.
#[test]
fn a_stopped_container_is_refused() {
    require_root!();
    if !has_injection() {
        return;
    }
    let t = TestContainer::busybox("injstopped");
    refused(
        &t,
        &["mount", "/tmp", "/mnt/lxcrs-t-x"],
        &["is not running"],
    );
    refused(&t, &["umount", "/mnt"], &["is not running"]);
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    assert!(!rootfs.join("mnt/lxcrs-t-x").exists());
    t.assert_nothing_left();
}

/// The command line: usage errors exit 1 (LXC's tools' status) with clap's usage; LXC's mount-entry options are
/// refused there; the names are listed by `lxc-rs extensions`.
#[test]
fn the_command_line_says_what_it_takes() {
    let o = lxc_rs(&["mount", "-n", "lxcrs-t-cli", "/tmp"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("Usage: lxc-rs mount"), "{}", show(&o));
    let o = lxc_rs(&["mount", "/tmp", "/mnt"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("-n NAME"), "{}", show(&o));
    let o = lxc_rs(&[
        "mount",
        "-n",
        "lxcrs-t-cli",
        "/tmp",
        "/mnt",
        "-o",
        "bind,create=dir",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stderr(&o).contains("lxc.mount.entry options"),
        "{}",
        show(&o)
    );
    let o = lxc_rs(&["umount", "-n", "lxcrs-t-cli"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    let o = lxc_rs(&["extensions"]);
    assert!(o.status.success(), "{}", show(&o));
    let listed: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    for name in ["mount_injection", "mount_injection_file"] {
        assert_eq!(
            listed.iter().any(|l| l == name),
            lxc::has_api_extension(name),
            "{name}: {listed:?}"
        );
    }
    // A file injection is a mount injection: one never comes without the other.
    if lxc::has_api_extension("mount_injection_file") {
        assert!(lxc::has_api_extension("mount_injection"));
    }
}

/// `shmounts:HOST:CONT`: a mount made under HOST on the host appears at CONT inside; after
/// the stop nothing of it is left on the host (the shared tmpfs, the directories made).
fn shmounts_share(test: &str, unprivileged: bool) {
    let top = HostDir::new(&format!("{test}-host"));
    fs::remove_dir(top.path()).unwrap();
    let shared = top.join("shared");
    let t = TestContainer::new(test);
    let mut args = vec!["create", "-t", "busybox"];
    if unprivileged {
        args.extend(IDMAP);
    }
    t.ok(&args);
    t.append_config(&format!(
        "lxc.mount.auto = shmounts:{}:/mnt/lxcrs-t-shared\n",
        shared.display()
    ));
    let sub_source = format!("lxcrs-t-{test}-sub");
    let needles = [s(top.path()), t.name.as_str(), sub_source.as_str()];
    t.ok(&["start"]);
    // The shared tmpfs the start made, named after the container.
    let made = mounts_on_host(&needles);
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(
        made[0].contains(&format!(" {} ", shared.display())) && made[0].contains(" shared:"),
        "{made:?}"
    );

    // A mount made on the host after the start reaches the running container.
    let sub = shared.join("sub");
    fs::create_dir(&sub).unwrap();
    nix::mount::mount(
        Some(sub_source.as_str()),
        &sub,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
    fs::write(sub.join("note"), "made on the host\n").unwrap();
    assert_eq!(
        sh_ok(&t, "cat /mnt/lxcrs-t-shared/sub/note"),
        "made on the host\n"
    );
    let line = mount_line(&t, "/mnt/lxcrs-t-shared/sub").expect("propagated");
    assert!(line.contains(&format!(" - tmpfs {sub_source} ")), "{line}");

    t.ok(&["stop", "-k"]);
    assert!(!top.path().exists(), "{} left behind", top.path().display());
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());
    t.assert_nothing_left();
}

#[test]
fn shmounts_bring_host_mounts_into_a_privileged_container() {
    require_root!();
    if !has_injection() {
        return;
    }
    shmounts_share("shm", false);
}

#[test]
fn shmounts_bring_host_mounts_into_an_unprivileged_container() {
    require_root!();
    if !has_injection() {
        return;
    }
    shmounts_share("shmuser", true);
}

/// A HOST that is neither empty nor a shared mount point is not hidden under a tmpfs: the
/// start fails naming the key, and the directory keeps its content.
#[test]
fn shmounts_refuse_to_hide_a_full_directory() {
    require_root!();
    if !has_injection() {
        return;
    }
    let host = HostDir::new("shmfull-host");
    fs::write(host.join("keep"), "mine\n").unwrap();
    let t = TestContainer::busybox("shmfull");
    t.append_config(&format!(
        "lxc.mount.auto = shmounts:{}\n",
        host.path().display()
    ));
    let needles = [s(host.path()), t.name.as_str()];
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    for s in [
        "lxc.mount.auto",
        "config:",
        "neither a shared mount point nor empty",
    ] {
        assert!(err.contains(s), "no {s:?} in {err}");
    }
    assert_eq!(fs::read_to_string(host.join("keep")).unwrap(), "mine\n");
    assert_eq!(mounts_on_host(&needles), Vec::<String>::new());
    t.assert_nothing_left();
}

/// A build without mount_injection: the calls and `shmounts:` fail, naming the extension.
#[test]
fn without_the_extension_calls_and_shmounts_are_refused() {
    if lxc::has_api_extension("mount_injection") {
        eprintln!("skipped: this build has mount_injection (see the facade's features test)");
        return;
    }
    for args in [
        &["mount", "-n", "lxcrs-t-noinj", "/tmp", "/mnt"][..],
        &["umount", "-n", "lxcrs-t-noinj", "/mnt"][..],
    ] {
        let o = lxc_rs(args);
        assert_eq!(o.status.code(), Some(1), "{}", show(&o));
        assert!(
            stderr(&o).contains("needs the API extension mount_injection"),
            "{}",
            show(&o)
        );
    }
    let t = TestContainer::new("noinj");
    let cfg = t.lxcpath.join("shmounts.conf");
    fs::write(
        &cfg,
        "lxc.mount.auto = shmounts:/tmp/lxcrs-t-noinj:/mnt/x\n",
    )
    .unwrap();
    let o = lxc_rs(&["config", "check", cfg.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        out.contains("shmounts") && out.contains("mount_injection"),
        "{}",
        show(&o)
    );
    assert!(!Path::new("/tmp/lxcrs-t-noinj").exists());
}
