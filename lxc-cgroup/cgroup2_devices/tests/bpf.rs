//! The device program on real cgroups: each test makes its own cgroup named
//! `lxcrs-t-<test>-<pid>-<n>` in the cgroup2 hierarchy (on this hybrid host
//! /sys/fs/cgroup/unified, which takes BPF device programs), attaches a program, forks a child
//! that moves itself in and tries the device nodes of the corpus probe (mknod, and opens of
//! nodes the test made in a `lxcrs-t-` directory of /tmp), and removes everything after,
//! checking it is gone.
//!
//! The corpus test runs every rule list of tests/corpus both through the BPF program and
//! through the v1 devices controller (lxc-cgroup's v1 writer, the path lxc-cli's devices test
//! compares with LXC), and checks they agree except where LXC's BPF code answers otherwise,
//! as the corpus lists.

mod corpus;

use std::ffi::CString;
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corpus::{Outcome, OPS, PROBES};
use lxc_cgroup::{CgroupConfig, ContainerCgroup, Layout, LayoutKind, Setting, Version};
use lxc_ext_cgroup2_devices::program::{ACC_MKNOD, ACC_READ, ACC_WRITE};
use lxc_ext_cgroup2_devices::{
    attached_programs, list_from_settings, DevType, DeviceCgroup, DeviceList, Swap,
};

macro_rules! skip {
    ($($arg:tt)*) => {{
        eprintln!("SKIP: {}", format!($($arg)*));
        return;
    }};
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn unique(test: &str) -> String {
    format!(
        "lxcrs-t-{test}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Why device programs cannot be tried here, if they cannot.
fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (BPF_PROG_LOAD, cgroups, mknod)".into());
    }
    let layout = match lxc_cgroup::detect() {
        Ok(l) => l,
        Err(e) => return Some(format!("no usable cgroups: {e}")),
    };
    if layout.unified().is_none() {
        return Some("no cgroup2 hierarchy is mounted".into());
    }
    None
}

/// A cgroup of ours in the cgroup2 hierarchy, removed (and checked gone) when dropped.
struct Cg2 {
    path: PathBuf,
}

impl Cg2 {
    fn new(test: &str) -> Cg2 {
        let layout = lxc_cgroup::detect().expect("cgroup layout");
        let own = layout.unified().expect("cgroup2 hierarchy").own_dir();
        let path = own.join(unique(test));
        fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        Cg2 { path }
    }

    fn procs(&self) -> PathBuf {
        self.path.join("cgroup.procs")
    }
}

impl Drop for Cg2 {
    fn drop(&mut self) {
        // The probe children are reaped before this runs; an exiting task may linger briefly.
        for _ in 0..100 {
            match fs::remove_dir(&self.path) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
        if !std::thread::panicking() {
            assert!(!self.path.exists(), "{} left behind", self.path.display());
        }
    }
}

/// A directory of device nodes the probe opens (`n_NAME`, made here, unrestricted) and makes
/// (`m_NAME`, by the probe).
struct Nodes {
    dir: PathBuf,
}

impl Nodes {
    fn new(test: &str) -> Nodes {
        let dir = PathBuf::from("/tmp").join(unique(test));
        fs::create_dir(&dir).unwrap();
        for p in PROBES {
            let kind = if p.kind == 'b' {
                nix::sys::stat::SFlag::S_IFBLK
            } else {
                nix::sys::stat::SFlag::S_IFCHR
            };
            nix::sys::stat::mknod(
                &dir.join(format!("n_{}", p.name)),
                kind,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                nix::sys::stat::makedev(u64::from(p.major), u64::from(p.minor)),
            )
            .unwrap_or_else(|e| panic!("mknod n_{}: {e}", p.name));
        }
        Nodes { dir }
    }

    /// Remove what a probe made.
    fn clear_made(&self) {
        for p in PROBES {
            let _ = fs::remove_file(self.dir.join(format!("m_{}", p.name)));
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        if !std::thread::panicking() {
            assert!(!self.dir.exists(), "{} left behind", self.dir.display());
        }
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in a test path")
}

const MAX_RESULTS: usize = 64;

/// Fork a child that moves itself into the cgroup whose `cgroup.procs` is `procs` and runs
/// the probe on `nodes`: every key's result.
fn probe_in(procs: &Path, nodes: &Nodes) -> Outcome {
    nodes.clear_made();
    let procs_file = File::options()
        .write(true)
        .open(procs)
        .unwrap_or_else(|e| panic!("open {}: {e}", procs.display()));
    // Everything the child needs is made before the fork: it only makes system calls.
    struct Step {
        made: CString,
        mode: libc::mode_t,
        dev: libc::dev_t,
        node: CString,
    }
    let steps: Vec<Step> = PROBES
        .iter()
        .map(|p| Step {
            made: cstr(&nodes.dir.join(format!("m_{}", p.name))),
            mode: (if p.kind == 'b' {
                libc::S_IFBLK
            } else {
                libc::S_IFCHR
            }) | 0o600,
            dev: libc::makedev(p.major, p.minor),
            node: cstr(&nodes.dir.join(format!("n_{}", p.name))),
        })
        .collect();
    assert!(steps.len() * OPS.len() <= MAX_RESULTS);
    // ash's `<`, `>` and `<>`.
    let flags = [
        libc::O_RDONLY,
        libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
        libc::O_RDWR | libc::O_CREAT,
    ];
    let (rd, wr) = nix::unistd::pipe().expect("pipe");
    let procs_fd = procs_file.as_raw_fd();
    let wr_fd = wr.as_raw_fd();
    // SAFETY: the child only makes async-signal-safe system calls on memory prepared before
    // the fork, and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut res = [0i32; MAX_RESULTS];
        // SAFETY: plain system calls on fds and NUL-terminated strings that live until _exit;
        // `res` is a local buffer of the size passed to write.
        unsafe {
            let code = if libc::write(procs_fd, b"0".as_ptr().cast(), 1) != 1 {
                2
            } else {
                for (i, s) in steps.iter().enumerate() {
                    let errno = || *libc::__errno_location();
                    res[i * 4] = if libc::mknod(s.made.as_ptr(), s.mode, s.dev) == 0 {
                        0
                    } else {
                        errno()
                    };
                    for (j, f) in flags.iter().enumerate() {
                        let fd = libc::open(
                            s.node.as_ptr(),
                            f | libc::O_CLOEXEC | libc::O_NOCTTY,
                            0o600,
                        );
                        res[i * 4 + 1 + j] = if fd >= 0 {
                            libc::close(fd);
                            0
                        } else {
                            errno()
                        };
                    }
                }
                0
            };
            libc::write(wr_fd, res.as_ptr().cast(), std::mem::size_of_val(&res));
            libc::_exit(code);
        }
    }
    assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
    drop(wr);
    let mut buf = Vec::new();
    File::from(rd)
        .read_to_end(&mut buf)
        .expect("read the probe's results");
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).expect("waitpid");
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 0),
        "the probe child could not move itself into {}",
        procs.display()
    );
    assert_eq!(buf.len(), MAX_RESULTS * 4, "short probe result");
    let res: Vec<i32> = buf
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    nodes.clear_made();
    let mut out = Outcome::new();
    for (i, p) in PROBES.iter().enumerate() {
        for (j, op) in OPS.iter().enumerate() {
            out.insert(
                format!("{} {op}", p.name),
                corpus::errno_name(res[i * 4 + j]),
            );
        }
    }
    out
}

/// The probe with no device rules at all: what each device itself does.
fn baseline(nodes: &Nodes) -> Outcome {
    let cg = Cg2::new("dev-base");
    probe_in(&cg.procs(), nodes)
}

fn access_bits(op: &str) -> u32 {
    match op {
        "m" => ACC_MKNOD,
        "r" => ACC_READ,
        "w" => ACC_WRITE,
        _ => ACC_READ | ACC_WRITE,
    }
}

/// What LXC's program gives for `list` by its rules (`DeviceList::decide`, no kernel): EPERM
/// where it denies, else what the device does. `attached`: whether a program is there (an
/// empty list gets one only from a live change).
fn model(list: &DeviceList, base: &Outcome, attached: bool) -> Outcome {
    let mut out = Outcome::new();
    for p in PROBES {
        let t = if p.kind == 'b' {
            DevType::Block
        } else {
            DevType::Char
        };
        for op in OPS {
            let k = format!("{} {op}", p.name);
            let verdict = if attached {
                Some(list.verdict(t, p.major, p.minor, access_bits(op)))
            } else {
                list.decide(t, p.major, p.minor, access_bits(op))
            };
            let v = match verdict {
                Some(false) => "EPERM".to_string(),
                _ => base[&k].clone(),
            };
            out.insert(k, v);
        }
    }
    out
}

fn assert_same(what: &str, got: &Outcome, want: &Outcome) {
    let diffs: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: want {v}, got {:?}", got.get(k)))
        .collect();
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
}

fn settings(rules: &[(&str, &str)]) -> Vec<Setting> {
    rules
        .iter()
        .map(|(f, v)| Setting::new(format!("lxc.cgroup2.{f}"), *v))
        .collect()
}

fn program_ids(path: &Path) -> Vec<u32> {
    attached_programs(path).unwrap_or_else(|e| panic!("{e}")).1
}

#[test]
fn the_program_is_in_force_on_a_real_cgroup_and_detaches() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let nodes = Nodes::new("dev-force-nodes");
    let base = baseline(&nodes);
    // Unrestricted, the memory devices open and nodrv says ENXIO: a denial below is EPERM.
    assert_eq!(base["null rw"], "ok", "{base:?}");
    assert_eq!(base["nodrv r"], "ENXIO", "{base:?}");
    assert_eq!(base["nodrv m"], "ok", "{base:?}");

    let cg = Cg2::new("dev-force");
    let list = list_from_settings(&settings(&[
        ("devices.deny", "a"),
        ("devices.allow", "c 1:3 rwm"),
        ("devices.allow", "c 1:5 r"),
        ("devices.allow", "b *:* m"),
        ("devices.allow", "c 42:0 r"),
    ]))
    .0;
    let mut dc = DeviceCgroup::new(&cg.path, list.clone());
    dc.activate().unwrap_or_else(|e| panic!("{e}"));
    let (flags, ids) = attached_programs(&cg.path).unwrap();
    assert_eq!(ids.len(), 1, "one program attached");
    assert_eq!(flags, 2, "attached with BPF_F_ALLOW_MULTI");
    let got = probe_in(&cg.procs(), &nodes);
    assert_same("rules in force", &got, &model(&list, &base, true));
    assert_eq!(got["zero r"], "ok");
    assert_eq!(got["zero w"], "EPERM");
    assert_eq!(got["nodrv r"], "ENXIO", "allowed: the device's own error");
    assert_eq!(got["nodrv w"], "EPERM");
    assert_eq!(got["loop0 m"], "ok");
    assert_eq!(got["loop0 r"], "EPERM");

    dc.detach().unwrap();
    assert!(program_ids(&cg.path).is_empty());
    assert_same("detached", &probe_in(&cg.procs(), &nodes), &base);
}

#[test]
fn an_empty_list_attaches_nothing_until_a_live_rule() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let nodes = Nodes::new("dev-empty-nodes");
    let base = baseline(&nodes);
    let cg = Cg2::new("dev-empty");
    // `deny a` empties the list: LXC attaches no program, and everything stays allowed.
    let list = list_from_settings(&settings(&[("devices.deny", "a")])).0;
    let mut dc = DeviceCgroup::new(&cg.path, list);
    dc.activate().unwrap();
    assert!(!dc.is_attached());
    assert!(program_ids(&cg.path).is_empty());
    assert_same("deny a alone", &probe_in(&cg.procs(), &nodes), &base);
    // A live rule makes the first program.
    let r =
        lxc_ext_cgroup2_devices::rule::parse("devices.allow", "devices.allow", "c 1:3 rw").unwrap();
    assert!(dc.update(r).unwrap());
    assert_eq!(program_ids(&cg.path).len(), 1);
    let got = probe_in(&cg.procs(), &nodes);
    assert_same("after a live rule", &got, &model(dc.list(), &base, true));
    assert_eq!(
        (got["null rw"].as_str(), got["zero r"].as_str()),
        ("ok", "EPERM")
    );
    dc.detach().unwrap();
}

/// Live changes with LXC's list semantics: the new program takes the old one's place (one
/// program attached before and after), and the answers follow the list.
fn live_updates(swap: Swap, test: &str) {
    let nodes = Nodes::new(&format!("{test}-nodes"));
    let base = baseline(&nodes);
    let cg = Cg2::new(test);
    let list = list_from_settings(&settings(&[
        ("devices.deny", "a"),
        ("devices.allow", "c 1:3 rwm"),
    ]))
    .0;
    let mut dc = DeviceCgroup::new(&cg.path, list).with_swap(swap);
    dc.activate().unwrap();
    let mut ids = program_ids(&cg.path);
    assert_eq!(ids.len(), 1);
    assert_eq!(probe_in(&cg.procs(), &nodes)["zero r"], "EPERM");

    let rule = |file: &str, v: &str| {
        lxc_ext_cgroup2_devices::rule::parse(file, file, v).unwrap_or_else(|e| panic!("{e}"))
    };
    let steps: &[(&str, &str, bool)] = &[
        ("devices.allow", "c 1:5 r", true),
        // The same rule again changes nothing: the program stays.
        ("devices.allow", "c 1:5 r", false),
        // The same rule as a deny flips it.
        ("devices.deny", "c 1:3 rwm", true),
        ("devices.allow", "b 7:* rw", true),
        // `allow a` resets to a denylist: everything allowed, then one deny.
        ("devices.allow", "a", true),
        ("devices.deny", "c 1:8 w", true),
        // `deny a` back to an empty allowlist: a program denying everything.
        ("devices.deny", "a", true),
    ];
    for (file, v, changes) in steps {
        let changed = dc.update(rule(file, v)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changed, *changes, "{file} = {v}");
        let now = program_ids(&cg.path);
        assert_eq!(
            now.len(),
            1,
            "{file} = {v}: one program attached, got {now:?}"
        );
        assert_eq!(
            now != ids,
            *changes,
            "{file} = {v}: a new program only for a change"
        );
        ids = now;
        let got = probe_in(&cg.procs(), &nodes);
        assert_same(
            &format!("after {file} = {v}"),
            &got,
            &model(dc.list(), &base, true),
        );
    }
    let got = probe_in(&cg.procs(), &nodes);
    assert_eq!(got["null r"], "EPERM", "deny a at the end denies all");
    dc.detach().unwrap();
    assert!(program_ids(&cg.path).is_empty());
}

#[test]
fn live_rules_replace_the_program_atomically() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    live_updates(Swap::Auto, "dev-live-replace");
}

#[test]
fn live_rules_without_replace_attach_then_detach() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    live_updates(Swap::AttachThenDetach, "dev-live-attach");
}

#[test]
fn the_rules_stay_after_the_loaders_fds_are_closed() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let nodes = Nodes::new("dev-stay-nodes");
    let cg = Cg2::new("dev-stay");
    let list = list_from_settings(&settings(&[
        ("devices.deny", "a"),
        ("devices.allow", "c 1:3 rwm"),
    ]))
    .0;
    // A child process loads and attaches, and exits: every fd it had is closed.
    let path = cg.path.clone();
    // SAFETY: the child uses the crate (which allocates: glibc's fork keeps malloc usable in
    // the child) and leaves with _exit, running no destructor of the parent's state.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut dc = DeviceCgroup::new(&path, list);
        let code = i32::from(dc.activate().is_err());
        std::mem::forget(dc);
        // SAFETY: ends the child without unwinding into the test harness.
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0);
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 0),
        "the loader child failed"
    );
    assert_eq!(
        program_ids(&cg.path).len(),
        1,
        "still attached after the loader exited"
    );
    let got = probe_in(&cg.procs(), &nodes);
    assert_eq!(got["null rw"], "ok");
    assert_eq!(got["zero r"], "EPERM", "still in force");

    // And in this process: a handle dropped without detach leaves the program in force.
    let cg2 = Cg2::new("dev-stay-drop");
    let list = list_from_settings(&settings(&[("devices.deny", "a")])).0;
    let mut dc = DeviceCgroup::new(&cg2.path, list);
    let r =
        lxc_ext_cgroup2_devices::rule::parse("devices.allow", "devices.allow", "c 1:5 r").unwrap();
    dc.update(r).unwrap();
    drop(dc);
    assert_eq!(program_ids(&cg2.path).len(), 1);
    assert_eq!(probe_in(&cg2.procs(), &nodes)["null r"], "EPERM");
    // Removing the cgroup (Cg2's drop) takes the program with it.
}

#[test]
fn a_refused_load_carries_the_verifier_log() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    use lxc_ext_cgroup2_devices::program::Insn;
    // `exit` with r0 never set: the verifier refuses it.
    let bad = [Insn {
        code: 0x95,
        regs: 0,
        off: 0,
        imm: 0,
    }];
    let e = lxc_ext_cgroup2_devices::device::load_insns(Path::new("/sys/fs/cgroup/x"), &bad)
        .expect_err("the verifier refuses an exit without r0");
    let msg = e.to_string();
    assert!(
        msg.starts_with("load the device program (1 instructions) for /sys/fs/cgroup/x:"),
        "{msg}"
    );
    assert!(msg.contains("verifier log:") && msg.contains("R0"), "{msg}");
    let e: lxc_cgroup::Error = e.into();
    assert!(e.to_string().contains("verifier log:"), "{e}");
    assert_eq!(e.errno(), libc::EACCES, "{e}");
}

#[test]
fn the_seam_checks_activates_updates_and_detaches() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let b = lxc_cgroup::devices::backend().expect("linking this crate fills the seam");
    assert_eq!(b.owner, "cgroup2_devices");
    let bad = Setting::new("lxc.cgroup2.devices.allow", "c 1:3");
    let e = (b.check)(&bad).unwrap_err().to_string();
    assert!(
        e.starts_with("lxc.cgroup2.devices.allow: invalid value \"c 1:3\""),
        "{e}"
    );
    assert!((b.check)(&Setting::new("lxc.cgroup2.devices.allow", "/dev/null rw")).is_ok());

    let nodes = Nodes::new("dev-seam-nodes");
    let cg = Cg2::new("dev-seam");
    let rules = settings(&[("devices.deny", "a"), ("devices.allow", "/dev/null rwm")]);
    let mut active = (b.activate)(&cg.path, &rules).unwrap_or_else(|e| panic!("{e}"));
    let got = probe_in(&cg.procs(), &nodes);
    assert_eq!(
        (got["null rw"].as_str(), got["zero r"].as_str()),
        ("ok", "EPERM")
    );
    active.update("devices.allow", "c 1:5 rwm").unwrap();
    assert_eq!(probe_in(&cg.procs(), &nodes)["zero rw"], "ok");
    // The live form is LXC's cgfsng_set: no /dev/PATH, and errors name key and value.
    let e = active
        .update("devices.allow", "/dev/full rwm")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("devices.allow: invalid value \"/dev/full rwm\""),
        "{e}"
    );
    active.update("devices.deny", "c 1:5 rwm").unwrap();
    assert_eq!(probe_in(&cg.procs(), &nodes)["zero r"], "EPERM");
    active.detach().unwrap();
    assert!(program_ids(&cg.path).is_empty());
}

/// The v1 devices controller's answers for `list`, by lxc-cgroup's v1 writer (what lxc-rs does
/// on this host, compared with LXC by lxc-cli's devices test), in a `lxcrs-t-` cgroup.
fn v1_outcome(devices: &lxc_cgroup::Hierarchy, list: &corpus::RuleList, nodes: &Nodes) -> Outcome {
    let layout = Layout {
        kind: LayoutKind::Hybrid,
        hierarchies: vec![devices.clone()],
    };
    let top = unique("dev-v1");
    let mut cfg = CgroupConfig {
        dir: Some(top.clone()),
        ..CgroupConfig::new("c")
    };
    for (f, v) in corpus::rules(list.text) {
        cfg = cfg.with(format!("lxc.cgroup.{f}"), v);
    }
    let out = match ContainerCgroup::create(&layout, &cfg) {
        Ok(cg) => {
            let procs = cg.paths()[0].inner.join("cgroup.procs");
            let out = probe_in(&procs, nodes);
            cg.remove().unwrap_or_else(|e| panic!("{e}"));
            out
        }
        Err(e) => {
            eprintln!("  v1 {}: refused: {e}", list.name);
            corpus::refused()
        }
    };
    let left = devices.own_dir().join(&top);
    assert!(!left.exists(), "{} left behind", left.display());
    out
}

/// The BPF program's answers for `list` (None for the list: it was refused), and the list.
fn bpf_outcome(list: &corpus::RuleList, nodes: &Nodes) -> (Outcome, Option<DeviceList>) {
    let rules: Vec<Setting> = corpus::rules(list.text)
        .into_iter()
        .map(|(f, v)| Setting::new(format!("lxc.cgroup2.{f}"), v))
        .collect();
    let (dl, skipped) = list_from_settings(&rules);
    for e in &skipped {
        eprintln!("  BPF {}: ignored as LXC ignores it: {e}", list.name);
    }
    let cg = Cg2::new("dev-bpf");
    let mut dc = DeviceCgroup::new(&cg.path, dl.clone());
    if let Err(e) = dc.activate() {
        eprintln!("  BPF {}: refused: {e}", list.name);
        return (corpus::refused(), None);
    }
    let out = probe_in(&cg.procs(), nodes);
    dc.detach().unwrap();
    (out, Some(dl))
}

#[test]
fn corpus_through_the_program_answers_as_v1_except_where_lxc_differs() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let layout = lxc_cgroup::detect().unwrap();
    let Some(devices) = layout
        .hierarchies
        .iter()
        .find(|h| h.version == Version::V1 && h.has_controller("devices"))
        .cloned()
    else {
        skip!("no v1 devices controller to compare with (pure cgroup2: lxc-cli's devices test compares with LXC there)");
    };
    let lists = corpus::lists();
    assert!(lists.len() >= 15);
    let nodes = Nodes::new("dev-corpus-nodes");
    let base = baseline(&nodes);
    let mut failures = Vec::new();
    let mut table = String::new();
    for list in &lists {
        let v1 = v1_outcome(&devices, list, &nodes);
        let (bpf, dl) = bpf_outcome(list, &nodes);
        // The kernel runs the program as LXC's list semantics say.
        if let Some(dl) = &dl {
            let want = model(dl, &base, false);
            for (k, v) in &want {
                if bpf.get(k) != Some(v) {
                    failures.push(format!(
                        "{}: {k}: the list says {v}, the kernel's run of the program {:?}",
                        list.name,
                        bpf.get(k)
                    ));
                }
            }
        }
        let diffs = corpus::compare_v1_bpf(list, &v1, &bpf, &base);
        table.push_str(&format!(
            "{:<28} {:<8} {}\n",
            list.name,
            if bpf.contains_key("start") {
                "refused"
            } else {
                "ran"
            },
            if list.differs.is_empty() {
                "same as v1".to_string()
            } else {
                format!("differs from v1 as LXC: {}", list.why)
            }
        ));
        failures.extend(diffs);
    }
    println!("device corpus, BPF program vs v1 controller:\n{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
