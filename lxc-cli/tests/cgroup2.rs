//! lxc-rs on a pure cgroup2 host, as LXC 5.0.2 runs there: the container's and the monitor's
//! cgroups (`lxc.payload.NAME`, `lxc.monitor.NAME`, below init's cgroup for root unless
//! `lxc.cgroup.relative`), controllers handed down to them, `lxc.cgroup2.*` limits on the limit
//! cgroup, the `.container.inner` layout, the cgroup namespace, the cgroup2 freezer, removal,
//! `lxc.mount.auto`'s cgroup forms, and a container started by a user who was delegated a
//! cgroup. LXC itself (Debian's 5.0.2) is run beside lxc-rs where it defines the answer.
//!
//! Most of these need a pure cgroup2 host: on this project's hybrid machines they say so and
//! return; `cargo xtask test-matrix --kernel` runs them in a qemu guest booted with
//! `cgroup_no_v1=all`, where not being on pure cgroup2 fails them. The `cgroup2` forms of
//! `lxc.mount.auto` work on a hybrid host too and are tested on both.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{lxc_tool, lxc_tools_present, show, stderr, TestContainer, BIN};

const CG: &str = "/sys/fs/cgroup";

fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The value of `key` in a flat keyed cgroup file (cgroup.events, memory.events, pids.events).
fn keyed(file: impl AsRef<Path>, key: &str) -> u64 {
    let text = read(file.as_ref());
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {key} in {}: {text}", file.as_ref().display()))
}

fn words(file: impl AsRef<Path>) -> Vec<String> {
    read(file).split_whitespace().map(str::to_string).collect()
}

fn pids_in(dir: &Path) -> Vec<i32> {
    read(dir.join("cgroup.procs"))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The container's cgroup (the one its processes are in), as `info` reports it.
fn payload(t: &TestContainer) -> PathBuf {
    let info = t.info();
    let cgs = info["cgroups"].as_array().expect("cgroups in info");
    assert_eq!(cgs.len(), 1, "one cgroup2 hierarchy: {info}");
    PathBuf::from(cgs[0].as_str().unwrap())
}

/// A process's parent (init's is the monitor).
fn ppid(pid: i32) -> i32 {
    read(format!("/proc/{pid}/status"))
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("PPid in status")
}

/// `/proc/PID/cgroup`'s unified path.
fn cgroup_of(pid: i32) -> String {
    read(format!("/proc/{pid}/cgroup"))
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup2 line")
        .to_string()
}

/// `attach -- ARGS` that must succeed; its stdout.
fn inside(t: &TestContainer, args: &[&str]) -> String {
    let mut a = vec!["attach", "--"];
    a.extend_from_slice(args);
    t.ok(&a)
}

/// A cgroup this test makes directly below the root, named after the test, removed (with
/// anything left below it) when dropped.
struct OwnCgroup(PathBuf);

impl OwnCgroup {
    fn new(name: &str) -> OwnCgroup {
        let p = Path::new(CG).join(name);
        fs::create_dir(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        OwnCgroup(p)
    }
}

impl Drop for OwnCgroup {
    fn drop(&mut self) {
        fn prune(d: &Path) {
            if let Ok(rd) = fs::read_dir(d) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        prune(&e.path());
                    }
                }
            }
            // The last processes of a stopped container may still be on their way out.
            for _ in 0..200 {
                match fs::remove_dir(d) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(Duration::from_millis(25))
                    }
                    _ => return,
                }
            }
        }
        prune(&self.0);
        if !std::thread::panicking() {
            assert!(!self.0.exists(), "{} left behind", self.0.display());
        }
    }
}

/// `lxc-rs ARGS` run from the cgroup `home`: a shell moves itself there, then becomes lxc-rs
/// (as `runas`, `uid:gid`, if given: setpriv drops root after the move, which needs it).
fn from_cgroup(home: &Path, runas: Option<(u32, u32)>, args: &[&str]) -> Command {
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(r#"echo $$ > "$1/cgroup.procs" && shift && exec "$@""#)
        .arg("sh")
        .arg(home);
    if let Some((uid, gid)) = runas {
        c.args([
            "setpriv",
            &format!("--reuid={uid}"),
            &format!("--regid={gid}"),
            "--clear-groups",
        ]);
    }
    c.arg(BIN).args(args).stdin(Stdio::null());
    c
}

// ---------------------------------------------------------------------------------------------
// A pure cgroup2 host (the qemu guest).
// ---------------------------------------------------------------------------------------------

/// LXC's names and places for root: `lxc.payload.NAME` and `lxc.monitor.NAME` below init's
/// cgroup, the controllers handed down, `lxc.cgroup2.*` written to the container's cgroup; a
/// fork bomb stops at pids.max and an allocation past memory.max is OOM-killed.
#[test]
fn limits_apply_in_lxcs_cgroups() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::busybox("cg2lim");
    t.append_config(
        "lxc.cgroup2.memory.max = 32M\n\
         lxc.cgroup2.pids.max = 16\n\
         lxc.cgroup2.cpu.max = 50000 100000\n",
    );
    t.ok(&["start", "--", "/bin/sleep", "3600"]);
    let dir = payload(&t);
    // Init here is in the root cgroup: that is the base (LXC's `/proc/1/cgroup`).
    assert_eq!(dir, Path::new(CG).join(format!("lxc.payload.{}", t.name)));
    let pid = t.init_pid();
    assert_eq!(pids_in(&dir), vec![pid]);
    let mon = Path::new(CG).join(format!("lxc.monitor.{}", t.name));
    assert!(
        pids_in(&mon).contains(&ppid(pid)),
        "monitor {} not in {}",
        ppid(pid),
        mon.display()
    );
    let ctl = words(dir.join("cgroup.controllers"));
    for c in ["cpu", "memory", "pids"] {
        assert!(ctl.iter().any(|x| x == c), "{c} not in {ctl:?}");
    }
    // A leaf: nothing handed further down by us.
    assert_eq!(read(dir.join("cgroup.subtree_control")).trim(), "");

    assert_eq!(read(dir.join("memory.max")).trim(), "33554432");
    assert_eq!(read(dir.join("pids.max")).trim(), "16");
    assert_eq!(read(dir.join("cpu.max")).trim(), "50000 100000");
    assert_eq!(t.ok(&["cgroup", "cpu.max"]).trim(), "50000 100000");
    t.ok(&["cgroup", "pids.max", "20"]);
    assert_eq!(read(dir.join("pids.max")).trim(), "20");

    // A bounded fork bomb: more background sleeps than pids.max allows.
    let bomb = "i=0; while [ $i -lt 40 ]; do \
                sleep 600 </dev/null >/dev/null 2>&1 & i=$((i+1)); done";
    let o = t.lxc(&["attach", "--", "/bin/sh", "-c", bomb]);
    // busybox's sh gives up at the first fork refused.
    assert!(stderr(&o).contains("can't fork"), "{}", show(&o));
    assert!(keyed(dir.join("pids.events"), "max") > 0, "no fork refused");
    let current: u64 = read(dir.join("pids.current")).trim().parse().unwrap();
    assert!(current <= 20, "pids.current {current} past pids.max");

    // Doubling a string until the kernel stops it.
    let o = t.lxc(&[
        "attach",
        "--",
        "/bin/busybox",
        "awk",
        "BEGIN { s = \"0123456789abcdef\"; while (1) s = s s }",
    ]);
    assert_eq!(o.status.code(), Some(128 + libc::SIGKILL), "{}", show(&o));
    assert!(
        keyed(dir.join("memory.events"), "oom_kill") >= 1,
        "{}",
        read(dir.join("memory.events"))
    );
    assert_eq!(t.state(), "RUNNING");
    t.ok(&["stop", "-k"]);
    for d in [&dir, &mon] {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    t.assert_nothing_left();
}

/// The names and places LXC uses for the same configs: `lxc.payload.NAME` and
/// `lxc.monitor.NAME` below init's cgroup by default, below `lxc.cgroup.dir` with it, with
/// `lxc.cgroup2.*` written to the container's cgroup. lxc-rs also removes the `lxc.cgroup.dir`
/// directories it made; LXC leaves them (and its pivot there), which this test removes.
#[test]
fn cgroup_names_and_places_match_lxc() {
    require_root!();
    require_pure_cgroup2!();
    if !lxc_tools_present(&["lxc-start", "lxc-stop", "lxc-info"]) {
        eprintln!("skipped: LXC's tools are not installed to compare with");
        return;
    }
    /// (init's cgroup, the monitor's, memory.max there, the dir handing down pids) with the
    /// container's name replaced by NAME.
    fn shape(name: &str, pid: i32) -> (String, String, String, bool) {
        let init = cgroup_of(pid);
        let dir = Path::new(CG).join(init.trim_start_matches('/'));
        let parent = dir.parent().unwrap().to_path_buf();
        (
            init.replace(name, "NAME"),
            cgroup_of(ppid(pid)).replace(name, "NAME"),
            read(dir.join("memory.max")).trim().to_string(),
            words(parent.join("cgroup.subtree_control")).contains(&"pids".to_string()),
        )
    }
    for with_dir in [false, true] {
        let t = TestContainer::busybox(if with_dir { "cg2dir" } else { "cg2names" });
        let l = TestContainer::busybox(if with_dir { "cg2dirl" } else { "cg2namesl" });
        let dir_of = |c: &TestContainer| format!("{}-dir", c.name);
        for c in [&t, &l] {
            c.append_config("lxc.cgroup2.memory.max = 48M\nlxc.net.0.type = empty\n");
            if with_dir {
                c.append_config(&format!("lxc.cgroup.dir = {}/sub\n", dir_of(c)));
            } else {
                // Keep LXC's pivot in a cgroup of this test's.
                c.append_config(&format!("lxc.cgroup.dir.monitor.pivot = {}\n", dir_of(c)));
            }
        }
        l.append_config("lxc.apparmor.profile = unconfined\n");
        let _cleanup = OwnCgroupLater(Path::new(CG).join(dir_of(&l)));
        t.ok(&["start"]);
        let ours = shape(&t.name, t.init_pid());
        t.ok(&["stop", "-k"]);
        assert!(!Path::new(CG).join(dir_of(&t)).exists());
        let o = lxc_tool("lxc-start", &l, &["-d"]);
        assert!(o.status.success(), "lxc-start: {}", show(&o));
        let o = lxc_tool("lxc-info", &l, &["-p", "-H"]);
        let lpid: i32 = common::stdout(&o).trim().parse().expect("LXC's init pid");
        let theirs = shape(&l.name, lpid);
        let _ = lxc_tool("lxc-stop", &l, &["-k"]);
        let prefix = |c: &TestContainer| {
            if with_dir {
                format!("/{}/sub/", dir_of(c).replace(&c.name, "NAME"))
            } else {
                "/".to_string()
            }
        };
        assert_eq!(
            ours,
            (
                format!("{}lxc.payload.NAME", prefix(&t)),
                format!("{}lxc.monitor.NAME", prefix(&t)),
                "50331648".to_string(),
                true
            )
        );
        assert_eq!(
            theirs,
            (
                format!("{}lxc.payload.NAME", prefix(&l)),
                format!("{}lxc.monitor.NAME", prefix(&l)),
                "50331648".to_string(),
                true
            )
        );
    }
}

/// Removal waits for the last process (cgroup.events `populated 0`), and says which cgroup
/// and which processes when they do not go.
#[test]
fn removal_waits_for_populated_0_and_names_what_stays() {
    require_root!();
    require_pure_cgroup2!();
    use lxc::cgroup::{detect, CgroupConfig, ContainerCgroup};
    let home = OwnCgroup::new(&format!("lxcrs-t-cg2rm-{}", std::process::id()));
    let layout = detect().unwrap();
    let cfg = CgroupConfig {
        dir: Some(home.0.file_name().unwrap().to_string_lossy().into_owned()),
        ..CgroupConfig::new("c")
    };
    let cg = ContainerCgroup::create(&layout, &cfg).unwrap();
    let dir = cg.paths()[0].inner.clone();
    assert_eq!(dir, home.0.join("lxc.payload.c"));
    let mut kid = Command::new("sleep").arg("600").spawn().unwrap();
    cg.attach(kid.id() as i32).unwrap();
    let e = cg.remove_within(Duration::from_millis(300)).unwrap_err();
    assert_eq!(e.errno(), libc::EBUSY);
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("remove {}: still populated after ", dir.display()))
            && msg.ends_with(&format!(" ms (pids: {})", kid.id())),
        "{msg}"
    );
    assert!(dir.exists());
    // Removal waits for the kill to land, however long the exit takes.
    let pid = kid.id();
    let waiter = std::thread::spawn(move || cg.remove());
    let _ = kid.kill();
    let _ = kid.wait();
    waiter.join().unwrap().unwrap();
    assert!(!dir.exists(), "{} left behind (pid {pid})", dir.display());
}

/// The cgroup2 freezer: FROZEN once cgroup.events says `frozen 1`, RUNNING again after.
#[test]
fn freeze_and_unfreeze_through_cgroup_freeze() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::busybox("cg2frz");
    t.ok(&["start"]);
    let dir = payload(&t);
    assert_eq!(keyed(dir.join("cgroup.events"), "frozen"), 0);
    t.ok(&["freeze"]);
    assert_eq!(t.state(), "FROZEN");
    assert_eq!(read(dir.join("cgroup.freeze")).trim(), "1");
    assert_eq!(keyed(dir.join("cgroup.events"), "frozen"), 1);
    t.ok(&["unfreeze"]);
    assert_eq!(t.state(), "RUNNING");
    assert_eq!(keyed(dir.join("cgroup.events"), "frozen"), 0);
    // A frozen container still stops.
    t.ok(&["freeze"]);
    t.ok(&["stop", "-k"]);
    assert!(!dir.exists(), "{} left behind", dir.display());
    t.assert_nothing_left();
}

/// The cgroup namespace: the container sees its own cgroup as `/`, and the cgroup2 it mounts
/// (busybox's `cgroup:mixed`, forced on a pure cgroup2 host as LXC does) shows its own subtree.
#[test]
fn the_container_sees_only_its_own_subtree() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::busybox("cg2ns");
    t.ok(&["start"]);
    let dir = payload(&t);
    assert_eq!(inside(&t, &["cat", "/proc/1/cgroup"]), "0::/\n");
    assert_eq!(inside(&t, &["cat", "/proc/self/cgroup"]), "0::/\n");
    let mi = inside(&t, &["cat", "/proc/self/mountinfo"]);
    let line = mi
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup"))
        .unwrap_or_else(|| panic!("no /sys/fs/cgroup mount inside:\n{mi}"));
    assert_eq!(line.split(' ').nth(3), Some("/"), "{line}");
    assert!(line.contains(" - cgroup2 "), "{line}");
    // The same files as the container's cgroup on the host, and none of the host's cgroups.
    let mut host: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    host.sort();
    let mut seen: Vec<String> = inside(&t, &["ls", "-1", "/sys/fs/cgroup"])
        .lines()
        .map(str::to_string)
        .collect();
    seen.sort();
    assert_eq!(seen, host);
    assert!(!seen.iter().any(|n| n.starts_with("lxc.")), "{seen:?}");
    let procs = inside(&t, &["cat", "/sys/fs/cgroup/cgroup.procs"]);
    assert!(procs.lines().any(|l| l.trim() == "1"), "{procs}");
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// What `lxc.cgroup.dir.container` / `.container.inner` / `.monitor` configure for this test.
fn inner_layout(top: &str) -> String {
    format!(
        "lxc.cgroup.dir.container = {top}/ct\n\
         lxc.cgroup.dir.container.inner = ns\n\
         lxc.cgroup.dir.monitor = {top}/mon\n\
         lxc.cgroup.dir.monitor.pivot = {top}\n\
         lxc.cgroup2.pids.max = 30\n\
         lxc.cgroup2.memory.max = 64M\n"
    )
}

/// The layout one runtime made for [`inner_layout`], seen from the host.
#[derive(Debug, PartialEq)]
struct InnerSeen {
    init_cgroup: String,
    monitor_in_mon: bool,
    limit_pids_max: String,
    inner_pids_max: String,
    limit_procs: Vec<i32>,
    limit_hands_down: bool,
    top_hands_down: bool,
    inner_hands_down: String,
    inside: String,
}

fn inner_seen(top: &Path, pid: i32, inside_cgroup: String) -> InnerSeen {
    let ct = top.join("ct");
    let has = |d: &Path| {
        let w = words(d.join("cgroup.subtree_control"));
        ["memory", "pids"].iter().all(|c| w.iter().any(|x| x == c))
    };
    InnerSeen {
        init_cgroup: cgroup_of(pid),
        monitor_in_mon: pids_in(&top.join("mon")).contains(&ppid(pid)),
        limit_pids_max: read(ct.join("pids.max")).trim().to_string(),
        inner_pids_max: read(ct.join("ns/pids.max")).trim().to_string(),
        limit_procs: pids_in(&ct),
        limit_hands_down: has(&ct),
        top_hands_down: has(top),
        inner_hands_down: read(ct.join("ns/cgroup.subtree_control"))
            .trim()
            .to_string(),
        inside: inside_cgroup,
    }
}

/// `.container.inner`: limits on the outer cgroup, the processes in the inner one (cgroup2
/// takes no processes into a cgroup that hands controllers down), the monitor in its own;
/// what LXC makes for the same config, and nothing left after.
#[test]
fn inner_layout_puts_limits_and_processes_where_lxc_does() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::busybox("cg2inner");
    let top = format!("{}-cg", t.name);
    t.append_config(&inner_layout(&top));
    t.ok(&["start"]);
    let topdir = Path::new(CG).join(&top);
    let pid = t.init_pid();
    assert_eq!(payload(&t), topdir.join("ct/ns"));
    let ours = inner_seen(&topdir, pid, inside(&t, &["cat", "/proc/1/cgroup"]));
    assert_eq!(
        ours,
        InnerSeen {
            init_cgroup: format!("/{top}/ct/ns"),
            monitor_in_mon: true,
            limit_pids_max: "30".into(),
            inner_pids_max: "max".into(),
            limit_procs: vec![],
            limit_hands_down: true,
            top_hands_down: true,
            inner_hands_down: String::new(),
            inside: "0::/\n".into(),
        }
    );
    // The limits are the outer cgroup's; freezing it freezes the inner.
    t.ok(&["freeze"]);
    assert_eq!(keyed(topdir.join("ct/cgroup.events"), "frozen"), 1);
    t.ok(&["unfreeze"]);
    t.ok(&["stop", "-k"]);
    assert!(!topdir.exists(), "{} left behind", topdir.display());
    t.assert_nothing_left();

    if !lxc_tools_present(&["lxc-start", "lxc-stop", "lxc-info", "lxc-attach"]) {
        eprintln!("skipped (part): LXC's tools are not installed to compare with");
        return;
    }
    let l = TestContainer::busybox("cg2innerlxc");
    let ltop = format!("{}-cg", l.name);
    l.append_config(&inner_layout(&ltop));
    l.append_config("lxc.apparmor.profile = unconfined\nlxc.net.0.type = empty\n");
    // LXC leaves its pivot and the directory above its cgroups: this test removes them.
    let _cleanup = OwnCgroupLater(Path::new(CG).join(&ltop));
    let o = lxc_tool("lxc-start", &l, &["-d"]);
    assert!(o.status.success(), "lxc-start: {}", show(&o));
    let o = lxc_tool("lxc-info", &l, &["-p", "-H"]);
    let lpid: i32 = common::stdout(&o).trim().parse().expect("LXC's init pid");
    let o = lxc_tool("lxc-attach", &l, &["--", "cat", "/proc/1/cgroup"]);
    let lxcs = inner_seen(&Path::new(CG).join(&ltop), lpid, common::stdout(&o));
    let _ = lxc_tool("lxc-stop", &l, &["-k"]);
    // Same shape, with LXC's names in place of ours.
    assert_eq!(
        lxcs,
        InnerSeen {
            init_cgroup: format!("/{ltop}/ct/ns"),
            ..ours
        }
    );
}

/// Remove the cgroups named `needle` (at any depth, in any hierarchy) that LXC left, once its
/// processes are gone.
fn prune_named(needle: &str) {
    fn walk(d: &Path, needle: &str, depth: usize, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        for e in fs::read_dir(d).into_iter().flatten().flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name().to_string_lossy() == needle {
                out.push(e.path());
            } else {
                walk(&e.path(), needle, depth - 1, out);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new(CG), needle, 6, &mut found);
    for p in found {
        drop(OwnCgroup(p));
    }
}

/// Removes a cgroup another runtime left below the root, when dropped.
struct OwnCgroupLater(PathBuf);

impl Drop for OwnCgroupLater {
    fn drop(&mut self) {
        if self.0.exists() {
            drop(OwnCgroup(self.0.clone()));
        }
    }
}

/// `lxc.cgroup.relative`: root's containers go below init's cgroup unless it is set; with it,
/// below the caller's, which then must hand controllers down (LXC's rule), so it must hold no
/// process but the monitor: a foreground start from a cgroup of its own works, a daemonised one
/// (whose caller waits there) fails saying why, and leaves nothing.
#[test]
fn relative_keeps_everything_below_the_callers_cgroup() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::busybox("cg2rel");
    let home = OwnCgroup::new(&format!("{}-home", t.name));
    let args = ["-n", &t.name, "-P", t.lxcpath_str()];

    // Without it: the root cgroup (init's), not ours.
    let o = from_cgroup(&home.0, None, &[&["start"][..], &args].concat())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    let dir = payload(&t);
    assert_eq!(dir, Path::new(CG).join(format!("lxc.payload.{}", t.name)));
    let mon = Path::new(CG).join(format!("lxc.monitor.{}", t.name));
    assert!(pids_in(&mon).contains(&ppid(t.init_pid())));
    t.ok(&["stop", "-k"]);
    assert!(!dir.exists() && !mon.exists());

    t.append_config("lxc.cgroup.relative = 1\nlxc.cgroup2.pids.max = 25\n");
    // Daemonised: the waiting caller keeps our cgroup from handing controllers down.
    let o = from_cgroup(&home.0, None, &[&["start"][..], &args].concat())
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}/cgroup.subtree_control: Device or resource busy (it holds processes",
            home.0.display()
        )),
        "{}",
        show(&o)
    );
    let left: Vec<String> = fs::read_dir(&home.0)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, Vec::<String>::new());
    assert_eq!(read(home.0.join("cgroup.subtree_control")).trim(), "");

    // Foreground: the monitor leaves for lxc.monitor.NAME, and our cgroup hands down.
    let mut fg = from_cgroup(
        &home.0,
        None,
        &[&["start", "-F"][..], &args, &["--", "/bin/sleep", "3600"]].concat(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    assert!(t.wait_state("RUNNING", Duration::from_secs(60)));
    let dir = payload(&t);
    assert_eq!(dir, home.0.join(format!("lxc.payload.{}", t.name)));
    assert_eq!(read(dir.join("pids.max")).trim(), "25");
    let mon = home.0.join(format!("lxc.monitor.{}", t.name));
    // The monitor (lxc-rs itself), and the watchdog it forked there.
    assert!(
        pids_in(&mon).contains(&(fg.id() as i32)),
        "{:?}",
        pids_in(&mon)
    );
    assert_eq!(pids_in(&home.0), Vec::<i32>::new());
    assert!(words(home.0.join("cgroup.subtree_control")).contains(&"pids".to_string()));
    // Its own cgroup hands controllers down now, so the monitor left through LXC's pivot.
    stop_foreground_leaving_the_pivot(&t, &mut fg, &home.0);
    drop(home);
    t.assert_nothing_left();
}

/// A user who was delegated a cgroup (its directory, cgroup.procs and cgroup.subtree_control)
/// starts an unprivileged container below it: its own uid and gid mapped to root (no
/// newuidmap needed), limits applied, the container's cgroup its own, nothing left but LXC's
/// pivot once it stops.
#[test]
fn a_delegated_user_starts_an_unprivileged_container() {
    require_root!();
    require_pure_cgroup2!();
    let id = 60000 + std::process::id() % 5000;
    let t = TestContainer::new("cg2user");
    let map_u = format!("u 0 {id} 1");
    let map_g = format!("g 0 {id} 1");
    t.ok(&[
        "create", "-t", "busybox", "--idmap", &map_u, "--idmap", &map_g,
    ]);
    t.append_config(
        "lxc.cgroup2.memory.max = 64M\n\
         lxc.cgroup2.pids.max = 40\n",
    );
    // The user's lxcpath, container directory and config; the rootfs is the mapped root's.
    let home = t.lxcpath.join(".home");
    fs::create_dir(&home).unwrap();
    for p in [
        t.lxcpath.clone(),
        t.lxcpath.join(&t.name),
        t.config_file(),
        home.clone(),
    ] {
        std::os::unix::fs::chown(&p, Some(id), Some(id)).unwrap();
    }
    assert_eq!(
        fs::metadata(t.lxcpath.join(&t.name).join("rootfs/bin/busybox"))
            .unwrap()
            .uid(),
        id
    );
    let deleg = OwnCgroup::new(&format!("{}-user", t.name));
    for f in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.threads",
    ] {
        std::os::unix::fs::chown(deleg.0.join(f), Some(id), Some(id)).unwrap();
    }
    let args = [
        "start",
        "-F",
        "-n",
        &t.name,
        "-P",
        t.lxcpath_str(),
        "--",
        "/bin/sleep",
        "3600",
    ];
    let mut fg = from_cgroup(&deleg.0, Some((id, id)), &args)
        .env("HOME", &home)
        .env_remove("XDG_RUNTIME_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if !t.wait_state("RUNNING", Duration::from_secs(60)) {
        let _ = fg.kill();
        let o = fg.wait_with_output().unwrap();
        panic!(
            "the user's container did not start: {:?}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let pid = t.init_pid();
    let dir = payload(&t);
    assert_eq!(dir, deleg.0.join(format!("lxc.payload.{}", t.name)));
    assert_eq!(pids_in(&dir), vec![pid]);
    assert_eq!(read(dir.join("memory.max")).trim(), "67108864");
    assert_eq!(read(dir.join("pids.max")).trim(), "40");
    assert_eq!(
        read(format!("/proc/{pid}/uid_map"))
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["0", &id.to_string(), "1"]
    );
    assert_eq!(read(format!("/proc/{pid}/setgroups")).trim(), "deny");
    // The monitor (the user's lxc-rs) in its own cgroup, the user's cgroup empty of processes.
    let mon = deleg.0.join(format!("lxc.monitor.{}", t.name));
    assert!(
        pids_in(&mon).contains(&(fg.id() as i32)),
        "{:?}",
        pids_in(&mon)
    );
    assert_eq!(pids_in(&deleg.0), Vec::<i32>::new());
    // Everything the user made is the user's; the container's root (the same uid) owns its
    // cgroup and sees it as its root.
    for d in [&dir, &mon] {
        assert_eq!(fs::metadata(d).unwrap().uid(), id, "{}", d.display());
    }
    assert_eq!(inside(&t, &["cat", "/proc/1/cgroup"]), "0::/\n");
    stop_foreground_leaving_the_pivot(&t, &mut fg, &deleg.0);
    drop(deleg);
    t.assert_nothing_left();
}

/// A root-started container with a user namespace gets its cgroup handed to its root, as LXC
/// does: it can make cgroups below its own and move its processes into them.
#[test]
fn an_unprivileged_containers_root_manages_its_own_cgroup() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::new("cg2owner");
    t.ok(&[
        "create",
        "-t",
        "busybox",
        "--idmap",
        "u 0 100000 65536",
        "--idmap",
        "g 0 100000 65536",
    ]);
    t.ok(&["start"]);
    let dir = payload(&t);
    let md = fs::metadata(&dir).unwrap();
    assert_eq!((md.uid(), md.gid(), md.mode() & 0o777), (0, 100000, 0o775));
    for f in ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
        let md = fs::metadata(dir.join(f)).unwrap();
        assert_eq!((md.gid(), md.mode() & 0o777), (100000, 0o664), "{f}");
    }
    let script = "mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs \
                  && cat /proc/self/cgroup";
    assert_eq!(inside(&t, &["/bin/sh", "-c", script]), "0::/sub\n");
    t.ok(&["stop", "-k"]);
    assert!(!dir.exists(), "{} left behind", dir.display());
    t.assert_nothing_left();
}

// ---------------------------------------------------------------------------------------------
// lxc.mount.auto's cgroup forms.
// ---------------------------------------------------------------------------------------------

/// The /sys/fs/cgroup mount a runtime's container got: (fstype, root, read-only), from the
/// container's own mountinfo.
fn cgroup_mount(mountinfo: &str) -> Option<(String, String, bool)> {
    // The last mount on the path is the one seen.
    mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup"))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let fstype = l
                .split_once(" - ")
                .and_then(|(_, p)| p.split(' ').next())
                .unwrap_or("?");
            let ro = f[5].split(',').any(|o| o == "ro");
            (fstype.to_string(), f[3].to_string(), ro)
        })
}

/// One form under lxc-rs (`execute`), and under LXC's `lxc-execute` when `lxc` is given:
/// each shows cgroup2 at /sys/fs/cgroup with the container's own cgroup as its root,
/// read-only when `ro`.
fn assert_cgroup2_root_mount(t: &TestContainer, form: &str, ro: bool, lxc: Option<&[&str]>) {
    let set = format!("lxc.mount.auto={form}");
    let ours = t.lxc(&["execute", "-s", &set, "--", "cat", "/proc/self/mountinfo"]);
    assert!(ours.status.success(), "{form}: {}", show(&ours));
    let mut seen = vec![format!(
        "{form}: {:?}",
        cgroup_mount(&common::stdout(&ours))
    )];
    if let Some(extra) = lxc {
        // LXC's monitor leaves through a pivot cgroup it never removes: one of this test's.
        let pivot = format!("lxc.cgroup.dir.monitor.pivot={}-pivot", t.name);
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "-s",
            &pivot,
            "-s",
            &set,
            "--",
            "cat",
            "/proc/self/mountinfo",
        ]);
        let o = lxc_tool("lxc-execute", t, &args);
        assert!(o.status.success(), "lxc-execute {form}: {}", show(&o));
        seen.push(format!("{form}: {:?}", cgroup_mount(&common::stdout(&o))));
    }
    let want = format!(
        "{form}: {:?}",
        Some(("cgroup2".to_string(), "/".to_string(), ro))
    );
    for s in &seen {
        assert_eq!(s, &want);
    }
}

/// Each cgroup form: cgroup2 at /sys/fs/cgroup showing the container's own cgroup as its root,
/// read-only for the `:ro` forms; on a pure cgroup2 host every form (LXC forces the mount
/// there), the same as LXC.
#[test]
fn every_cgroup_form_mounts_the_containers_own_cgroup2() {
    require_root!();
    require_pure_cgroup2!();
    let t = TestContainer::busybox("cg2forms");
    let lxc = lxc_tools_present(&["lxc-execute"]);
    if !lxc {
        eprintln!("skipped (part): LXC's tools are not installed to compare with");
    }
    let forms = [
        ("cgroup", false),
        ("cgroup:mixed", false),
        ("cgroup:ro", true),
        ("cgroup:rw", false),
        ("cgroup:force", false),
        ("cgroup:ro:force", true),
        ("cgroup-full", false),
        ("cgroup-full:ro", true),
        ("cgroup-full:mixed", false),
        ("cgroup2", false),
        ("cgroup2:ro", true),
        ("cgroup2:force", false),
        ("cgroup2:ro:force", true),
    ];
    for (form, ro) in forms {
        assert_cgroup2_root_mount(
            &t,
            form,
            ro,
            lxc.then_some(
                &[
                    "-s",
                    "lxc.net.0.type=empty",
                    "-s",
                    "lxc.apparmor.profile=unconfined",
                ][..],
            ),
        );
    }
    prune_named(&format!("{}-pivot", t.name));
    t.assert_nothing_left();
}

/// The `cgroup2` forms on this hybrid host (or any): the unified hierarchy alone at
/// /sys/fs/cgroup, the container's own cgroup as its root; LXC mounts the same.
#[test]
fn cgroup2_forms_mount_the_unified_hierarchy_on_any_host() {
    require_root!();
    let pure = nix::sys::statfs::statfs(CG)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    let unified = if pure {
        Path::new(CG).to_path_buf()
    } else {
        Path::new(CG).join("unified")
    };
    if !nix::sys::statfs::statfs(&unified)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
    {
        eprintln!("skipped: this host has no cgroup2 hierarchy mounted");
        return;
    }
    let t = TestContainer::busybox("cg2any");
    let lxc = lxc_tools_present(&["lxc-execute"]);
    if !lxc {
        eprintln!("skipped (part): LXC's tools are not installed to compare with");
    }
    for (form, ro) in [
        ("cgroup2", false),
        ("cgroup2:ro", true),
        ("cgroup2:force", false),
        ("cgroup2:ro:force", true),
    ] {
        assert_cgroup2_root_mount(&t, form, ro, lxc.then_some(&common::LXC_START_HERE[..]));
    }
    prune_named(&format!("{}-pivot", t.name));
    // What it shows is the container's own cgroup: its processes, as its pid namespace
    // numbers them, and not the host's cgroups.
    let o = t.lxc(&[
        "execute",
        "-s",
        "lxc.mount.auto=cgroup2:force",
        "--",
        "/bin/sh",
        "-c",
        "cat /sys/fs/cgroup/cgroup.procs; ls /sys/fs/cgroup; cat /proc/self/cgroup",
    ]);
    assert!(o.status.success(), "{}", show(&o));
    let out = common::stdout(&o);
    assert!(out.lines().any(|l| l == "1"), "{out}");
    assert!(out.lines().any(|l| l == "cgroup.events"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("lxc.")), "{out}");
    assert!(out.lines().any(|l| l == "0::/"), "{out}");
    // Read-only means read-only.
    let o = t.lxc(&[
        "execute",
        "-s",
        "lxc.mount.auto=cgroup2:ro",
        "--",
        "/bin/mkdir",
        "/sys/fs/cgroup/x",
    ]);
    assert!(!o.status.success(), "{}", show(&o));
    assert!(stderr(&o).contains("Read-only file system"), "{}", show(&o));
    t.assert_nothing_left();
}

/// `stop -k` of a foreground start, whose monitor then leaves `base` (which hands controllers
/// down by now) through LXC's pivot: `lxc.pivot` is all that is left below it.
fn stop_foreground_leaving_the_pivot(t: &TestContainer, fg: &mut std::process::Child, base: &Path) {
    t.ok(&["stop", "-k"]);
    let status = fg.wait().unwrap();
    assert!(
        status.code() == Some(128 + libc::SIGKILL) || status.success(),
        "{status:?}"
    );
    let left: Vec<String> = fs::read_dir(base)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["lxc.pivot".to_string()]);
    drop(fg.stderr.take());
}
