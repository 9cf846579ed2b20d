//! Device rules in containers, lxc-rs against Debian's LXC 5.0.2, on the corpus of
//! lxc-cgroup/cgroup2_devices/tests/corpus (rule lists both runtimes include from the same
//! file, and the busybox sh probe that mknods and opens the corpus devices inside).
//!
//! - Hosts with a v1 devices controller (this one): `lxc.cgroup.devices.*` under
//!   `lxc-execute` and `lxc-rs execute` must end every probe the same way.
//! - Pure cgroup2 hosts (the qemu guest of `cargo xtask test-matrix --kernel`):
//!   `lxc.cgroup2.devices.*`, LXC's BPF program against lxc-rs's; LXC must also show what the
//!   corpus says its program does where it differs from v1. On another host this test prints
//!   why it cannot run, and fails instead when `LXC_RS_GUEST=1` says it is the guest.
//! - Both: with common.conf's device lines `head -c1 /dev/zero` works in a container, a block
//!   device can be made but not opened, and `lxc-rs cgroup NAME devices.allow` lets it open
//!   without a restart.
//!
//! Every container, directory and cgroup is `lxcrs-t-*` and checked gone after (TestContainer).

mod common;

#[path = "../../lxc-cgroup/cgroup2_devices/tests/corpus/mod.rs"]
mod corpus;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{show, stderr, stdout, TestContainer};
use corpus::{Outcome, RuleList, PROBES};

/// LXC's device lines come from here.
const COMMON_CONF: &str = "/usr/share/lxc/config/common.conf";

/// Longer than any run takes (well under a second here, a few in the TCG guest).
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// What this host's cgroups are, for the device rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    /// A v1 devices controller: `lxc.cgroup.devices.*` are enforced by it.
    V1Devices,
    /// Pure cgroup2: `lxc.cgroup2.devices.*` are a BPF program.
    PureCgroup2,
    /// Neither (v1 without a devices controller).
    Other,
}

fn host() -> Host {
    use lxc::cgroup::{LayoutKind, Version};
    match lxc::cgroup::detect() {
        Ok(l) if l.kind == LayoutKind::Unified => Host::PureCgroup2,
        Ok(l)
            if l.hierarchies
                .iter()
                .any(|h| h.version == Version::V1 && h.has_controller("devices")) =>
        {
            Host::V1Devices
        }
        _ => Host::Other,
    }
}

/// Whether the environment says this is the qemu guest, where pure cgroup2 is required.
fn in_guest() -> bool {
    std::env::var("LXC_RS_GUEST").is_ok_and(|v| v == "1")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Runtime {
    Lxc,
    LxcRs,
}

/// One container of a runtime: its rootfs gets the probe at /devprobe.sh and the nodes it
/// opens in /devprobe, made from the host before each run.
struct Side {
    t: TestContainer,
    runtime: Runtime,
    base_config: String,
}

impl Side {
    fn new(test: &str, runtime: Runtime) -> Side {
        let t = TestContainer::busybox(test);
        let base_config = fs::read_to_string(t.config_file()).unwrap();
        fs::write(t.rootfs().join("devprobe.sh"), corpus::shell_probe()).unwrap();
        Side {
            t,
            runtime,
            base_config,
        }
    }

    fn probe_dir(&self) -> PathBuf {
        self.t.rootfs().join("devprobe")
    }

    /// Fresh nodes `n_NAME` for the probe to open (made here, where no rule applies).
    fn make_nodes(&self) {
        let dir = self.probe_dir();
        let _ = fs::remove_dir_all(&dir);
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
            .unwrap_or_else(|e| panic!("mknod n_{} in {}: {e}", p.name, dir.display()));
        }
    }

    /// The probe under this side's runtime with `list` (its lines under `prefix`, included
    /// from one file): every key's result, or `start = refused`.
    fn run(&self, list: &RuleList, prefix: &str) -> (Outcome, String) {
        let t = &self.t;
        let rules = t.lxcpath.join(format!("{}.rules.conf", list.name));
        fs::write(&rules, corpus::config(list.text, prefix)).unwrap();
        fs::write(
            t.config_file(),
            format!("{}lxc.include = {}\n", self.base_config, rules.display()),
        )
        .unwrap();
        self.make_nodes();
        let log = t.lxcpath.join(format!("{}.log", list.name));
        let mut cmd = match self.runtime {
            Runtime::Lxc => {
                let mut c = Command::new("lxc-execute");
                c.args(["-n", &t.name, "-P", t.lxcpath_str()])
                    .args(common::LXC_START_HERE);
                c
            }
            Runtime::LxcRs => {
                let mut c = Command::new(common::BIN);
                c.args(["execute", "-n", &t.name, "-P", t.lxcpath_str()]);
                c
            }
        };
        cmd.arg("-o")
            .arg(&log)
            .args(["-l", "DEBUG", "--", "/bin/sh", "/devprobe.sh", "/devprobe"]);
        let (status, out, err) = run_limited(cmd);
        let _ = fs::remove_dir_all(self.probe_dir());
        let what = format!(
            "{:?} {}: exit {status:?}, stderr: {}",
            self.runtime,
            list.name,
            err.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("(nothing)")
        );
        match corpus::parse_probe_output(&out) {
            Some(o) => (o, what),
            None => (corpus::refused(), what),
        }
    }
}

trait Rootfs {
    fn rootfs(&self) -> PathBuf;
}

impl Rootfs for TestContainer {
    fn rootfs(&self) -> PathBuf {
        self.lxcpath.join(&self.name).join("rootfs")
    }
}

/// Run `cmd` (stdin /dev/null) to its end or the time limit: exit code, stdout, stderr.
fn run_limited(mut cmd: Command) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > RUN_LIMIT {
            // Our own child: the tool we started.
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Where LXC's run of `list` does not show what the corpus says LXC does (the `v1` or `bpf`
/// side of its differences), one line each.
fn lxc_facts(list: &RuleList, lxc: &Outcome, baseline: &Outcome, bpf: bool) -> Vec<String> {
    let mut out = Vec::new();
    let refused = lxc.contains_key("start");
    if let Some((v1, b)) = corpus::expected_difference(list, "start", baseline) {
        let want = if bpf { b } else { v1 };
        if (want == "refused") != refused {
            out.push(format!("{}: LXC should have {want}", list.name));
        }
        return out;
    }
    if refused {
        return out;
    }
    for k in corpus::keys() {
        if let Some((v1, b)) = corpus::expected_difference(list, &k, baseline) {
            let want = if bpf { b } else { v1 };
            let got = lxc.get(&k).map(String::as_str).unwrap_or("(missing)");
            if got != want {
                out.push(format!(
                    "{}: {k}: the corpus says LXC gives {want}, LXC gave {got}",
                    list.name
                ));
            }
        }
    }
    out
}

/// Every list of the corpus under LXC and lxc-rs with `prefix`'s keys: the table, and every
/// disagreement (and every LXC fact of the corpus LXC did not show).
fn differential(test: &str, prefix: &str, bpf: bool) {
    let lists = corpus::lists();
    assert!(lists.len() >= 15);
    assert_eq!(lists[0].name, "empty", "the baseline list comes first");
    let lxc = Side::new(&format!("{test}-lxc"), Runtime::Lxc);
    let rs = Side::new(&format!("{test}-rs"), Runtime::LxcRs);
    let mut table = String::new();
    let mut failures = Vec::new();
    let mut baseline = Outcome::new();
    for list in &lists {
        let (a, wa) = lxc.run(list, prefix);
        let (b, wb) = rs.run(list, prefix);
        if list.name == "empty" {
            assert_eq!(
                a.get("null r").map(String::as_str),
                Some("ok"),
                "with no rules the probe must open /dev/null-like nodes in the rootfs (is it \
                 on a nodev filesystem?): {a:?}\n{wa}"
            );
            baseline = a.clone();
        }
        failures.extend(lxc_facts(list, &a, &baseline, bpf));
        let ran = |o: &Outcome| {
            if o.contains_key("start") {
                "refused"
            } else {
                "ran"
            }
        };
        let mut diffs = Vec::new();
        if bpf && corpus::UNREADABLE.contains(&list.name) {
            // LXC starts without the rule it cannot read; lxc-rs refuses (corpus::UNREADABLE).
            if b != corpus::refused() {
                failures.push(format!(
                    "{}: lxc-rs must refuse a rule it cannot read, got {b:?}\n  {wb}",
                    list.name
                ));
            }
            table.push_str(&format!(
                "{:<28} LXC {:<8} lxc-rs {:<8} as meant (lxc-rs refuses an unreadable rule)\n",
                list.name,
                ran(&a),
                ran(&b)
            ));
            continue;
        }
        for k in a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (x, y) = (
                a.get(k).map(String::as_str).unwrap_or("(missing)"),
                b.get(k).map(String::as_str).unwrap_or("(missing)"),
            );
            if x != y {
                diffs.push(format!("{k}: LXC {x}, lxc-rs {y}"));
            }
        }
        table.push_str(&format!(
            "{:<28} LXC {:<8} lxc-rs {:<8} {}\n",
            list.name,
            ran(&a),
            ran(&b),
            if diffs.is_empty() {
                "agree".to_string()
            } else {
                format!("DIFFER: {}", diffs.join("; "))
            }
        ));
        if !diffs.is_empty() {
            failures.push(format!(
                "{}: {}\n  {wa}\n  {wb}",
                list.name,
                diffs.join("; ")
            ));
        }
    }
    println!("device rules ({prefix}devices.*), LXC 5.0.2 vs lxc-rs:\n{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_v1_rules_end_every_probe_as_under_lxc() {
    require_root!();
    if host() != Host::V1Devices {
        eprintln!(
            "skipped: no v1 devices controller here ({:?}): the cgroup2 test below compares the \
             corpus on pure cgroup2",
            host()
        );
        return;
    }
    if !common::lxc_tools_present(&["lxc-execute"]) {
        eprintln!("skipped: LXC's lxc-execute is not installed (apt-get install lxc)");
        return;
    }
    differential("devv1", "lxc.cgroup.", false);
}

#[test]
fn corpus_cgroup2_rules_end_every_probe_as_under_lxc() {
    require_root!();
    if host() != Host::PureCgroup2 {
        assert!(
            !in_guest(),
            "LXC_RS_GUEST=1 but this host is not pure cgroup2 ({:?})",
            host()
        );
        eprintln!(
            "skipped: this host is not pure cgroup2 ({:?}); LXC makes a BPF device program only \
             there: run in the qemu guest (cargo xtask test-matrix --kernel)",
            host()
        );
        return;
    }
    if !lxc::has_api_extension("cgroup2") || !lxc::has_api_extension("cgroup2_devices") {
        eprintln!("skipped: this build has not both cgroup2 and cgroup2_devices");
        return;
    }
    if !common::lxc_tools_present(&["lxc-execute"]) {
        assert!(
            !in_guest(),
            "LXC_RS_GUEST=1 but LXC's lxc-execute is not there"
        );
        eprintln!("skipped: LXC's lxc-execute is not installed (apt-get install lxc)");
        return;
    }
    differential("devc2", "lxc.cgroup2.", true);
}

/// common.conf's `lxc.cgroup.devices` and (with the cgroup2 extension, which owns the keys)
/// `lxc.cgroup2.devices` lines.
fn common_conf_device_lines() -> Option<String> {
    let text = fs::read_to_string(COMMON_CONF).ok()?;
    let cgroup2 = lxc::has_api_extension("cgroup2");
    let lines: String = text
        .lines()
        .filter(|l| {
            l.starts_with("lxc.cgroup.devices.")
                || (cgroup2 && l.starts_with("lxc.cgroup2.devices."))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    (!lines.is_empty()).then_some(lines)
}

/// `sh -c SCRIPT` attached to the running container: its stdout and stderr together.
fn attach_sh(t: &TestContainer, script: &str) -> String {
    let o = t.lxc(&["attach", "--", "/bin/sh", "-c", script]);
    format!("{}{}", stdout(&o), stderr(&o))
}

#[test]
fn default_rules_allow_zero_refuse_block_devices_and_take_a_live_rule() {
    require_root!();
    let h = host();
    match h {
        Host::Other => {
            assert!(
                !in_guest(),
                "LXC_RS_GUEST=1 but this host is not pure cgroup2"
            );
            eprintln!(
                "skipped: no devices controller and not pure cgroup2: nothing enforces rules"
            );
            return;
        }
        Host::PureCgroup2 if !lxc::has_api_extension("cgroup2_devices") => {
            eprintln!(
                "skipped: this build has no cgroup2_devices (the refusal test below covers it)"
            );
            return;
        }
        Host::PureCgroup2 if !lxc::has_api_extension("cgroup2") => {
            eprintln!("skipped: this build has no cgroup2 extension for lxc.cgroup2.* keys");
            return;
        }
        _ => {}
    }
    if h == Host::V1Devices {
        assert!(
            !in_guest(),
            "LXC_RS_GUEST=1 but this host has v1 controllers"
        );
    }
    let Some(lines) = common_conf_device_lines() else {
        eprintln!("skipped: {COMMON_CONF} (LXC's liblxc-common) is not installed");
        return;
    };
    let t = TestContainer::busybox("devdefault");
    t.append_config(&lines);
    t.ok(&["start"]);

    let zero = attach_sh(&t, "head -c1 /dev/zero | wc -c");
    assert_eq!(zero.trim(), "1", "head -c1 /dev/zero: {zero}");

    // `b *:* m` lets it be made; no rule lets it be opened.
    let out = attach_sh(
        &t,
        "mknod /tmp/lxcrs-t-loop0 b 7 0 && echo made; (exec 3</tmp/lxcrs-t-loop0) && echo opened",
    );
    assert!(out.contains("made"), "mknod of a block device: {out}");
    assert!(
        out.contains("Operation not permitted") && !out.contains("opened"),
        "open of a block device must be refused: {out}"
    );

    let o = t.lxc(&["cgroup", "devices.allow", "b 7:0 rwm"]);
    assert!(
        o.status.success(),
        "lxc-rs cgroup devices.allow: {}",
        show(&o)
    );
    let out = attach_sh(&t, "(exec 3</tmp/lxcrs-t-loop0) && echo opened");
    // Allowed now: it opens, or the device itself says why not (no loop driver in a guest).
    assert!(
        !out.contains("Operation not permitted"),
        "the live rule did not take effect: {out}"
    );
    // And a live deny takes /dev/zero away.
    let o = t.lxc(&["cgroup", "devices.deny", "c 1:5 rwm"]);
    assert!(
        o.status.success(),
        "lxc-rs cgroup devices.deny: {}",
        show(&o)
    );
    let out = attach_sh(&t, "head -c1 /dev/zero | wc -c");
    assert!(
        out.contains("Operation not permitted"),
        "after deny c 1:5: {out}"
    );
    // A malformed live rule is refused with the key and the value.
    let o = t.lxc(&["cgroup", "devices.allow", "c 1"]);
    assert!(
        !o.status.success(),
        "a malformed rule must fail: {}",
        show(&o)
    );
    if h == Host::PureCgroup2 {
        let e = stderr(&o);
        assert!(e.contains("devices.allow") && e.contains("c 1"), "{e}");
    }
    t.ok(&["stop", "-k"]);
}

#[test]
fn cgroup2_rules_without_their_extension_refuse_on_pure_cgroup2() {
    require_root!();
    if host() != Host::PureCgroup2 {
        eprintln!(
            "skipped: not pure cgroup2 ({:?}); tests/no_silent_skips.rs covers the hybrid host",
            host()
        );
        return;
    }
    if lxc::has_api_extension("cgroup2_devices") || !lxc::has_api_extension("cgroup2") {
        eprintln!("skipped: needs a build with cgroup2 but without cgroup2_devices");
        return;
    }
    let t = TestContainer::busybox("devnoext");
    t.append_config("lxc.cgroup2.devices.deny = a\n");
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let e = stderr(&o);
    assert!(
        e.contains("lxc.cgroup2.devices.deny") && e.contains("cgroup2_devices"),
        "{e}"
    );
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();

    // Without rules it starts; a live rule is refused with the reason.
    let cfg = fs::read_to_string(t.config_file()).unwrap();
    fs::write(
        t.config_file(),
        cfg.replace("lxc.cgroup2.devices.deny = a\n", ""),
    )
    .unwrap();
    t.ok(&["start"]);
    let o = t.lxc(&["cgroup", "devices.allow", "c 1:3 rwm"]);
    assert!(!o.status.success(), "{}", show(&o));
    assert!(stderr(&o).contains("cgroup2_devices"), "{}", show(&o));
    t.ok(&["stop", "-k"]);
}
