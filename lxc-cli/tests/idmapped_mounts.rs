//! `idmapped_mounts` and `idmapped_mounts_v2` on real containers: an unprivileged busybox
//! container (`lxc.idmap = u/g 0 100000 65536`) runs from a rootfs the host's root owns, through
//! `lxc.rootfs.options = idmap=container`, and sees bind entries with `idmap=container` or
//! `idmap=/proc/PID/ns/user` through that user namespace's mapping; nothing is chowned. Then
//! the configs LXC refuses, refused with the key and leaving nothing behind, and the same
//! config under Debian's LXC 5.0.2, which must give the same owners inside and on the host.
//!
//! What an idmapped mount does with a new file: the container's root (host uid 100000) writes
//! it through the mount's mapping, so on disk it is the host's root's (0:0), as every file
//! already there; LXC does exactly the same. Where no idmapping applies (a plain bind of a
//! world-writable host directory) the same process's file is 100000:100000 on the host: both
//! are checked side by side.
//!
//! Every container, directory and process is `lxcrs-t-*` (TestContainer checks them gone), and
//! each rootfs's full ownership listing is compared before and after.
//! Needs root. Run with `cargo test -p lxc-cli --test idmapped_mounts`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{show, stderr, stdout, TestContainer};

/// The container's root is the host's 100000.
const MAP: &str = "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n";

/// The probe every run executes inside: `key=value` lines about owners and mounts.
const PROBE: &str = r#"
s() { stat -c %u:%g "$1" 2>&1; }
idmapped() { awk -v m="$1" '$5 == m && $6 ~ /(^|,)idmapped(,|$)/ { f = 1 } END { print f ? "yes" : "no" }' /proc/self/mountinfo; }
echo "id=$(id -u):$(id -g)"
echo "uid_map=$(tr -s ' ' < /proc/self/uid_map | sed 's/^ //')"
echo "root=$(s /)"
echo "busybox=$(s /bin/busybox)"
echo "passwd=$(s /etc/passwd)"
echo "rootfs_idmapped=$(idmapped /)"
touch /lxcrs-t-made 2>/dev/null && echo "made=$(s /lxcrs-t-made)" || echo made=refused
if [ -d /mnt/idm ]; then
  echo "idm=$(s /mnt/idm)"
  echo "idm_file=$(s /mnt/idm/root-file)"
  echo "idm_1000=$(s /mnt/idm/file-1000)"
  echo "idm_idmapped=$(idmapped /mnt/idm)"
  touch /mnt/idm/lxcrs-t-made 2>/dev/null && echo "idm_made=$(s /mnt/idm/lxcrs-t-made)" || echo idm_made=refused
fi
if [ -d /mnt/plain ]; then
  touch /mnt/plain/lxcrs-t-made && echo "plain_made=$(s /mnt/plain/lxcrs-t-made)"
fi
"#;

fn rootfs(t: &TestContainer) -> PathBuf {
    t.lxcpath.join(&t.name).join("rootfs")
}

/// Every file below `dir` (symlinks not followed): relative path -> `uid:gid mode`.
fn ownership(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let e = e.unwrap();
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            out.insert(
                rel,
                format!("{}:{} {:o}", m.uid(), m.gid(), m.mode() & 0o7777),
            );
            if m.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    let m = fs::symlink_metadata(dir).unwrap();
    out.insert(
        ".".into(),
        format!("{}:{} {:o}", m.uid(), m.gid(), m.mode() & 0o7777),
    );
    walk(dir, dir, &mut out);
    out
}

/// `uid:gid` of a host path.
fn owner(p: &Path) -> String {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    format!("{}:{}", m.uid(), m.gid())
}

/// The probe's `key=value` lines.
fn report(o: &Output) -> BTreeMap<String, String> {
    stdout(o)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get<'a>(r: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    r.get(k)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("the probe printed no {k}: {r:#?}"))
}

/// The host directories bound into the container, in the lxcpath (which the container's root,
/// host uid 100000, may search): `idm` owned by the host's root with a root file and a file
/// of uid 1000, `plain` world-writable.
struct HostDirs {
    idm: PathBuf,
    plain: PathBuf,
}

impl HostDirs {
    fn new(t: &TestContainer) -> HostDirs {
        fs::set_permissions(&t.lxcpath, fs::Permissions::from_mode(0o755)).unwrap();
        let idm = t.lxcpath.join("lxcrs-t-idm");
        let plain = t.lxcpath.join("lxcrs-t-plain");
        fs::create_dir_all(&idm).unwrap();
        fs::create_dir_all(&plain).unwrap();
        fs::set_permissions(&idm, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&plain, fs::Permissions::from_mode(0o1777)).unwrap();
        fs::write(idm.join("root-file"), "host\n").unwrap();
        fs::write(idm.join("file-1000"), "host\n").unwrap();
        std::os::unix::fs::chown(idm.join("file-1000"), Some(1000), Some(1000)).unwrap();
        HostDirs { idm, plain }
    }

    /// The idmapped entry with `idmap` (`container` or a path) and the plain one.
    fn entries(&self, idmap: &str) -> String {
        format!(
            "lxc.mount.entry = {} mnt/idm none bind,create=dir,idmap={idmap} 0 0\n\
             lxc.mount.entry = {} mnt/plain none bind,create=dir 0 0\n",
            self.idm.display(),
            self.plain.display()
        )
    }
}

fn execute(t: &TestContainer) -> Output {
    t.lxc(&["execute", "--", "/bin/sh", "-c", PROBE])
}

/// `after` is `before` plus exactly `added` (path -> `uid:gid`): nothing chowned, nothing else
/// made.
fn assert_only_added(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    added: &[(&str, &str)],
) {
    let mut want = before.clone();
    for (p, o) in added {
        let got = after
            .get(*p)
            .unwrap_or_else(|| panic!("{p} was not made: {after:#?}"));
        assert!(got.starts_with(&format!("{o} ")), "{p}: {got}, want {o}");
        want.insert((*p).to_string(), got.clone());
    }
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, v)| want.get(*k) != Some(v))
        .chain(want.iter().filter(|(k, _)| !after.contains_key(*k)))
        .collect();
    assert!(
        changed.is_empty(),
        "owners changed on the host: {changed:#?}"
    );
}

fn require_extensions() -> bool {
    let have =
        lxc::has_api_extension("idmapped_mounts") && lxc::has_api_extension("idmapped_mounts_v2");
    if !have {
        eprintln!("SKIP: this build lacks idmapped_mounts / idmapped_mounts_v2 (see without_the_extensions_idmap_is_refused_naming_them)");
    }
    have
}

/// The rootfs idmapped to the container's user namespace: inside, the host's root's files are
/// root's; the container's root is host uid 100000 (its plain bind's file shows it), and
/// what it makes through the idmapped rootfs is the host's root's on disk. No chown.
#[test]
fn idmapped_rootfs_serves_host_root_files_as_the_containers_root() {
    require_root!();
    if !require_extensions() {
        return;
    }
    let t = TestContainer::busybox("idmrootfs");
    let dirs = HostDirs::new(&t);
    t.append_config(&format!(
        "{MAP}lxc.rootfs.options = idmap=container\n\
         lxc.mount.entry = {} mnt/plain none bind,create=dir 0 0\n",
        dirs.plain.display()
    ));
    let r = rootfs(&t);
    assert_eq!(owner(&r.join("bin/busybox")), "0:0");
    let before = ownership(&r);

    let o = execute(&t);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let rep = report(&o);
    assert_eq!(get(&rep, "id"), "0:0");
    assert_eq!(get(&rep, "uid_map"), "0 100000 65536");
    assert_eq!(get(&rep, "rootfs_idmapped"), "yes", "{rep:#?}");
    for k in ["root", "busybox", "passwd", "made"] {
        assert_eq!(get(&rep, k), "0:0", "{k} inside: {rep:#?}");
    }
    assert_eq!(get(&rep, "plain_made"), "0:0", "{rep:#?}");

    // On the host: the plain bind's file is the container's root's host uid; the file made
    // through the idmapped rootfs is written back through the mapping as the host's root's.
    assert_eq!(owner(&dirs.plain.join("lxcrs-t-made")), "100000:100000");
    assert_eq!(owner(&r.join("lxcrs-t-made")), "0:0");
    assert_only_added(
        &before,
        &ownership(&r),
        &[("lxcrs-t-made", "0:0"), ("mnt/plain", "0:0")],
    );
    t.assert_nothing_left();
}

/// A bind entry idmapped to the container's user namespace (on an idmapped rootfs, which an
/// unprivileged container from a root-owned rootfs needs anyway): the host's root's files are
/// root's inside, uid 1000's are 1000's; the host directory's owners are unchanged after.
#[test]
fn idmapped_bind_entry_serves_host_root_files_as_the_containers_root() {
    require_root!();
    if !require_extensions() {
        return;
    }
    let t = TestContainer::busybox("idmentry");
    let dirs = HostDirs::new(&t);
    t.append_config(&format!(
        "{MAP}lxc.rootfs.options = idmap=container\n{}",
        dirs.entries("container")
    ));
    let r = rootfs(&t);
    let before = ownership(&r);
    let before_idm = ownership(&dirs.idm);

    let o = execute(&t);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let rep = report(&o);
    assert_eq!(get(&rep, "idm_idmapped"), "yes", "{rep:#?}");
    assert_eq!(get(&rep, "idm"), "0:0", "{rep:#?}");
    assert_eq!(get(&rep, "idm_file"), "0:0", "{rep:#?}");
    assert_eq!(get(&rep, "idm_1000"), "1000:1000", "{rep:#?}");
    assert_eq!(get(&rep, "idm_made"), "0:0", "{rep:#?}");
    assert_eq!(get(&rep, "plain_made"), "0:0", "{rep:#?}");

    assert_eq!(owner(&dirs.idm.join("lxcrs-t-made")), "0:0");
    assert_eq!(owner(&dirs.plain.join("lxcrs-t-made")), "100000:100000");
    assert_only_added(
        &before_idm,
        &ownership(&dirs.idm),
        &[("lxcrs-t-made", "0:0")],
    );
    assert_only_added(
        &before,
        &ownership(&r),
        &[
            ("lxcrs-t-made", "0:0"),
            ("mnt/idm", "0:0"),
            ("mnt/plain", "0:0"),
        ],
    );
    t.assert_nothing_left();
}

/// A user namespace the test makes: a `sleep` in a new user namespace whose root is host uid
/// `base`. Killed (it is our child) on drop.
struct UserNs {
    child: Child,
}

impl UserNs {
    fn new(base: u32) -> UserNs {
        let mut cmd = Command::new("sleep");
        cmd.arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: unshare(2) is a plain syscall, safe between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWUSER) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = cmd.spawn().expect("sleep in a new user namespace");
        let ns = UserNs { child };
        // spawn() returns once sleep is exec'd: the namespace exists, still without maps.
        for f in ["uid_map", "gid_map"] {
            fs::write(
                format!("/proc/{}/{f}", ns.pid()),
                format!("0 {base} 65536\n"),
            )
            .unwrap_or_else(|e| panic!("write {f}: {e}"));
        }
        ns
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn path(&self) -> String {
        format!("/proc/{}/ns/user", self.pid())
    }
}

impl Drop for UserNs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `idmap=/proc/PID/ns/user`: the entry is idmapped through that namespace (root = host
/// 101000), not the container's (root = host 100000): the host's root's files there are uid
/// 1000 inside, and the container's root, outside that mapping, cannot make files in it.
#[test]
fn idmap_path_names_a_user_namespace_the_test_made() {
    require_root!();
    if !require_extensions() {
        return;
    }
    let ns = UserNs::new(101_000);
    let t = TestContainer::busybox("idmpath");
    let dirs = HostDirs::new(&t);
    t.append_config(&format!(
        "{MAP}lxc.rootfs.options = idmap=container\n{}",
        dirs.entries(&ns.path())
    ));
    let before_idm = ownership(&dirs.idm);
    let o = execute(&t);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let rep = report(&o);
    assert_eq!(get(&rep, "idm_idmapped"), "yes", "{rep:#?}");
    assert_eq!(get(&rep, "idm_file"), "1000:1000", "{rep:#?}");
    assert_eq!(get(&rep, "idm_1000"), "2000:2000", "{rep:#?}");
    assert_eq!(get(&rep, "idm_made"), "refused", "{rep:#?}");
    assert_eq!(get(&rep, "busybox"), "0:0", "{rep:#?}");
    assert_only_added(&before_idm, &ownership(&dirs.idm), &[]);
    t.assert_nothing_left();

    // The rootfs through the same namespace: the host's root's files are uid 1000's inside.
    let t = TestContainer::busybox("idmpathroot");
    t.append_config(&format!("{MAP}lxc.rootfs.options = idmap={}\n", ns.path()));
    let before = ownership(&rootfs(&t));
    let o = execute(&t);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let rep = report(&o);
    assert_eq!(get(&rep, "rootfs_idmapped"), "yes", "{rep:#?}");
    assert_eq!(get(&rep, "busybox"), "1000:1000", "{rep:#?}");
    // The template's busybox is setuid: owned by uid 1000 here, it runs the probe with euid
    // 1000 (host 101000, inside the mount's mapping), whose file is the host's root's on disk.
    assert_eq!(get(&rep, "id"), "1000:1000", "{rep:#?}");
    assert_eq!(get(&rep, "made"), "1000:1000", "{rep:#?}");
    assert_only_added(&before, &ownership(&rootfs(&t)), &[("lxcrs-t-made", "0:0")]);
    drop(ns);
    t.assert_nothing_left();
}

/// `execute` must fail naming `says` (the key first), and leave nothing behind.
fn refused(t: &TestContainer, says: &[&str]) {
    let o = execute(t);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    eprintln!("{}: refused: {}", t.name, err.trim());
    for s in says {
        assert!(err.contains(s), "no {s:?} in: {err}");
    }
    assert!(
        stdout(&o).is_empty(),
        "the probe must not have run: {}",
        show(&o)
    );
    t.assert_nothing_left();
}

/// What LXC refuses, refused with the key, before or at start, with nothing left behind:
/// idmap on a non-bind entry, on a bind with filesystem options, through a file that is no
/// user namespace (entry and rootfs), `idmap=container` on an entry of a container without
/// lxc.idmap (LXC: EPERM from its parent's mount_setattr), and an idmapped rootfs without a
/// rootfs of its own.
#[test]
fn bad_idmapped_configs_are_refused_with_the_key() {
    require_root!();
    if !require_extensions() {
        return;
    }
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "idmbadtype",
            "lxc.mount.entry = tmpfs mnt/t tmpfs create=dir,idmap=container 0 0\n",
            &["lxc.mount.entry", "only bind mounts"],
        ),
        (
            "idmbaddata",
            "lxc.mount.entry = {idm} mnt/t none bind,create=dir,size=10m,idmap=container 0 0\n",
            &["lxc.mount.entry", "no filesystem options", "size=10m"],
        ),
        (
            "idmbadns",
            "lxc.mount.entry = {idm} mnt/t none bind,create=dir,idmap={notns} 0 0\n",
            &["lxc.mount.entry", "is not a user namespace"],
        ),
        (
            "idmbadrns",
            "lxc.rootfs.options = idmap={notns}\n",
            &["lxc.rootfs.options", "is not a user namespace"],
        ),
    ];
    for (test, line, says) in cases {
        let t = TestContainer::busybox(test);
        let dirs = HostDirs::new(&t);
        let notns = t.lxcpath.join("lxcrs-t-not-a-userns");
        fs::write(&notns, "").unwrap();
        let line = line
            .replace("{idm}", &dirs.idm.display().to_string())
            .replace("{notns}", &notns.display().to_string());
        let before = ownership(&rootfs(&t));
        t.append_config(&format!("{MAP}{line}"));
        refused(&t, says);
        assert_only_added(&before, &ownership(&rootfs(&t)), &[]);
    }

    // No lxc.idmap: the container's user namespace is the host's.
    let t = TestContainer::busybox("idmnomap");
    let dirs = HostDirs::new(&t);
    t.append_config(&dirs.entries("container"));
    refused(&t, &["lxc.mount.entry", "lxc.idmap"]);
    assert!(fs::read_dir(&dirs.idm).unwrap().count() == 2);

    // No lxc.rootfs.path: LXC refuses an idmapped rootfs then, lxc.idmap or not.
    let t = TestContainer::busybox("idmnoroot");
    let cfg: String = fs::read_to_string(t.config_file())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("lxc.rootfs.path") && !l.starts_with("lxc.mount"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(
        t.config_file(),
        format!("{cfg}lxc.rootfs.options = idmap=container\n"),
    )
    .unwrap();
    refused(&t, &["lxc.rootfs.options", "lxc.rootfs.path"]);
}

/// Without lxc.idmap LXC ignores `idmap=` on the rootfs (it idmaps only for a container with
/// a user namespace): so does lxc-rs, the container starts on the plain rootfs.
#[test]
fn idmapped_rootfs_without_lxc_idmap_is_ignored_as_lxc_does() {
    require_root!();
    if !require_extensions() {
        return;
    }
    let t = TestContainer::busybox("idmignored");
    t.append_config("lxc.rootfs.options = idmap=container\n");
    let before = ownership(&rootfs(&t));
    let o = execute(&t);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let rep = report(&o);
    assert_eq!(get(&rep, "rootfs_idmapped"), "no", "{rep:#?}");
    assert_eq!(get(&rep, "uid_map"), "0 0 4294967295", "{rep:#?}");
    assert_eq!(get(&rep, "made"), "0:0");
    assert_only_added(&before, &ownership(&rootfs(&t)), &[("lxcrs-t-made", "0:0")]);
    t.assert_nothing_left();
}

/// The same config (idmapped rootfs, idmapped entry, plain entry) under LXC's `lxc-execute`
/// and `lxc-rs execute`: the same owners inside, on the files made on the host, and the same
/// (unchanged) rootfs owners after.
///
/// LXC writes the maps with Debian's setuid newuidmap/newgidmap, which need the host's root to
/// own the range in /etc/subuid and /etc/subgid; this machine's are empty. So LXC runs in a
/// private mount namespace (`unshare --mount`) where a file of the test's, saying
/// `root:100000:65536`, is bound over both: nothing on the host changes. If LXC still cannot
/// start it, the test says SKIP with LXC's own error.
#[test]
fn same_owners_as_lxc() {
    require_root!();
    if !require_extensions() {
        return;
    }
    if !common::lxc_tools_present(&["lxc-execute"]) {
        eprintln!("SKIP: LXC's tools are not installed (apt-get install lxc)");
        return;
    }
    let lxc = TestContainer::busybox("idmlxc");
    let rs = TestContainer::busybox("idmrs");
    let mut runs = Vec::new();
    for (t, is_lxc) in [(&lxc, true), (&rs, false)] {
        let dirs = HostDirs::new(t);
        t.append_config(&format!(
            "{MAP}lxc.rootfs.options = idmap=container\n{}",
            dirs.entries("container")
        ));
        let before = ownership(&rootfs(t));
        let o = if is_lxc { run_lxc(t) } else { execute(t) };
        if is_lxc && o.status.code() != Some(0) {
            let log = fs::read_to_string(t.lxcpath.join("lxc.log")).unwrap_or_default();
            let why = log
                .lines()
                .find(|l| l.contains(" ERROR "))
                .or_else(|| stderr(&o).lines().next().map(|_| ""))
                .map(str::to_string)
                .unwrap_or_default();
            eprintln!(
                "SKIP: LXC cannot run the idmapped container here: {}{}",
                why,
                show(&o)
            );
            return;
        }
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        let host = [
            ("rootfs made", owner(&rootfs(t).join("lxcrs-t-made"))),
            ("idm made", owner(&dirs.idm.join("lxcrs-t-made"))),
            ("plain made", owner(&dirs.plain.join("lxcrs-t-made"))),
        ];
        let after = ownership(&rootfs(t));
        assert_only_added(
            &before,
            &after,
            &[
                ("lxcrs-t-made", "0:0"),
                ("mnt/idm", "0:0"),
                ("mnt/plain", "0:0"),
            ],
        );
        runs.push((report(&o), host));
    }
    let (lxc_inside, lxc_host) = &runs[0];
    let (rs_inside, rs_host) = &runs[1];
    for (k, v) in lxc_inside {
        eprintln!("inside {k}: LXC {v}, lxc-rs {}", get(rs_inside, k));
    }
    for ((k, a), (_, b)) in lxc_host.iter().zip(rs_host) {
        eprintln!("on the host, {k}: LXC {a}, lxc-rs {b}");
    }
    assert_eq!(rs_inside, lxc_inside, "inside: lxc-rs left, LXC right");
    assert_eq!(rs_host, lxc_host, "on the host: lxc-rs left, LXC right");
    // And what they agree on is what idmapped mounts mean.
    assert_eq!(get(rs_inside, "idm_file"), "0:0");
    assert_eq!(rs_host[2].1, "100000:100000");
}

/// `lxc-execute` on `t` with the probe, its maps allowed by subid files of the test's bound in
/// a private mount namespace.
fn run_lxc(t: &TestContainer) -> Output {
    let subid = t.lxcpath.join("lxcrs-t-subid");
    fs::write(&subid, "root:100000:65536\n").unwrap();
    let log = t.lxcpath.join("lxc.log");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(
            "subid=$1; shift; \
             for f in /etc/subuid /etc/subgid; do \
               if [ -e $f ]; then mount --bind \"$subid\" $f || exit 99; fi; \
             done; exec \"$@\"",
        )
        .arg("sh")
        .arg(&subid)
        .arg("lxc-execute")
        .args(["-n", &t.name, "-P", t.lxcpath_str()])
        .args(common::LXC_START_HERE)
        .arg("-o")
        .arg(&log)
        .args(["-l", "DEBUG", "--", "/bin/sh", "-c", PROBE])
        .stdin(Stdio::null());
    cmd.output().expect("run unshare lxc-execute")
}

/// A build without the extensions refuses both configs before anything is made, naming the
/// key and the missing extension (`cargo test -p lxc-cli --no-default-features --test
/// idmapped_mounts` runs it).
#[test]
fn without_the_extensions_idmap_is_refused_naming_them() {
    require_root!();
    for (ext, line) in [
        ("idmapped_mounts", "lxc.rootfs.options = idmap=container\n"),
        (
            "idmapped_mounts_v2",
            "lxc.mount.entry = /tmp mnt/t none bind,create=dir,idmap=container 0 0\n",
        ),
    ] {
        if lxc::has_api_extension(ext) {
            eprintln!("skipped: this build has {ext} (the other tests use it)");
            continue;
        }
        let t = TestContainer::busybox("idmnoext");
        t.append_config(&format!("{MAP}{line}"));
        let before = ownership(&rootfs(&t));
        let key = line.split(' ').next().unwrap_or_default();
        refused(&t, &[key, ext, "needs the API extension"]);
        assert_only_added(&before, &ownership(&rootfs(&t)), &[]);
    }
}
