//! The device-rule corpus both runtimes read, and the probe that tries each device.
//!
//! Each `*.rules` file is one rule list, a line `devices.allow = VALUE` or `devices.deny =
//! VALUE` per rule; [`config`] turns it into `lxc.cgroup.devices.*` (v1) or
//! `lxc.cgroup2.devices.*` (BPF) lines, written to a file both runtimes include. Used by this
//! crate's `tests/bpf.rs` (the BPF program in-process, against the v1 devices controller) and
//! by lxc-cli's `tests/devices.rs` (LXC and lxc-rs containers), which takes this file by path.
//!
//! A result is keyed `PROBE OP` (`null m`, `zero rw`): `ok`, or the errno's name (`EPERM`:
//! the device rules said no; `ENXIO`: the device itself, there being no driver). A start that
//! fails is the one key `start` = `refused`.
//!
//! Where LXC 5.0.2's BPF program answers otherwise than the v1 devices controller for the
//! same list, [`RuleList::differs`] says so and why (from LXC's cgroup2_devices.c and
//! cgfsng.c, and the kernel's security/device_cgroup.c).

#![allow(dead_code)] // Each test file uses a different part.

use std::collections::BTreeMap;

/// One device node the probe makes and opens.
pub struct Probe {
    pub name: &'static str,
    pub kind: char,
    pub major: u32,
    pub minor: u32,
}

const fn probe(name: &'static str, kind: char, major: u32, minor: u32) -> Probe {
    Probe {
        name,
        kind,
        major,
        minor,
    }
}

/// The devices tried: memory devices, a char major no driver has (ENXIO when allowed), and
/// loop block devices.
pub const PROBES: &[Probe] = &[
    probe("null", 'c', 1, 3),
    probe("zero", 'c', 1, 5),
    probe("full", 'c', 1, 7),
    probe("random", 'c', 1, 8),
    probe("nodrv", 'c', 42, 0),
    probe("loop0", 'b', 7, 0),
    probe("loop1", 'b', 7, 1),
];

/// What is tried on each: mknod of a new node, and open for read, write, read-write of the
/// node made beforehand (by the host, which no rule restricts). Opens are flagged as busybox
/// ash opens `<`, `>` and `<>`.
pub const OPS: &[&str] = &["m", "r", "w", "rw"];

/// A result that differs between the v1 controller and LXC's BPF program.
pub struct Differs {
    /// Probe names separated by spaces, `*` for all, or `start` (a start one refuses).
    pub probes: &'static str,
    /// Ops separated by spaces, or `*`.
    pub ops: &'static str,
    /// The v1 result: an outcome, `baseline` (what the device does unrestricted), or for
    /// `start`, `ran` / `refused`.
    pub v1: &'static str,
    pub bpf: &'static str,
}

pub struct RuleList {
    pub name: &'static str,
    pub text: &'static str,
    pub differs: &'static [Differs],
    /// Why LXC's BPF program answers otherwise (empty when it does not).
    pub why: &'static str,
}

/// A `Differs` (a macro, so that `&[d!(..)]` is a constant).
macro_rules! d {
    ($probes:expr, $ops:expr, $v1:expr, $bpf:expr) => {
        Differs {
            probes: $probes,
            ops: $ops,
            v1: $v1,
            bpf: $bpf,
        }
    };
}

macro_rules! list {
    ($name:literal) => {
        list!($name, &[], "")
    };
    ($name:literal, $differs:expr, $why:expr) => {
        RuleList {
            name: $name,
            text: include_str!(concat!($name, ".rules")),
            differs: $differs,
            why: $why,
        }
    };
}

pub fn lists() -> Vec<RuleList> {
    vec![
        list!("empty"),
        list!("common"),
        list!("allowlist-basic"),
        list!(
            "denylist-partial",
            &[d!("zero loop0", "rw", "EPERM", "baseline")],
            "a denylist rule matches in BPF only an access it fully covers (`(access & mask) == \
             access`): `deny c 1:5 w` does not catch an O_RDWR open, which the v1 controller \
             denies on any overlap (match_exception_partial)"
        ),
        list!(
            "deny-all",
            &[d!("*", "*", "EPERM", "baseline")],
            "`a` empties the list, and LXC attaches no program for an empty list \
             (cgfsng_devices_activate returns early): `deny a` alone allows everything"
        ),
        list!("allow-all"),
        list!("wildcards"),
        list!("wildcard-major"),
        list!(
            "split-access",
            &[d!("null", "rw", "ok", "EPERM")],
            "LXC keeps `c 1:3 r` and `c 1:3 w` as two rules (compared by their access text) and \
             neither covers rw; v1 merges them into one exception with rw"
        ),
        list!("mknod-only"),
        list!("flip-back-deny"),
        list!(
            "partial-deny-in-allowlist",
            &[d!("null", "w rw", "EPERM", "ok")],
            "in an allowlist LXC's program has only allow rules: `deny c 1:3 w` is kept in the \
             list but not emitted, so `allow c 1:3 rwm` still allows writes; v1 takes w out of \
             the exception"
        ),
        list!("denylist-allow-back"),
        list!("reset-middle"),
        list!("devpath"),
        list!(
            "devpath-missing",
            &[d!("start", "", "refused", "ran")],
            "LXC 5.0.2 logs a rule it cannot read and starts without it (bpf_device_cgroup_prepare \
             returns syserror_set's positive EINVAL, which cgfsng_setup_limits takes for \
             success); the v1 kernel refuses the write and LXC fails the start"
        ),
        list!(
            "devpath-deny",
            &[d!("start", "", "refused", "ran")],
            "LXC 5.0.2 logs a rule it cannot read and starts without it (bpf_device_cgroup_prepare \
             returns syserror_set's positive EINVAL, which cgfsng_setup_limits takes for \
             success); the v1 kernel refuses the write and LXC fails the start"
        ),
        list!(
            "missing-access",
            &[d!("start", "", "refused", "ran")],
            "LXC 5.0.2 logs a rule it cannot read and starts without it (bpf_device_cgroup_prepare \
             returns syserror_set's positive EINVAL, which cgfsng_setup_limits takes for \
             success); the v1 kernel refuses the write and LXC fails the start"
        ),
        list!(
            "double-space",
            &[d!("start", "", "refused", "ran")],
            "LXC 5.0.2 logs a rule it cannot read and starts without it (bpf_device_cgroup_prepare \
             returns syserror_set's positive EINVAL, which cgfsng_setup_limits takes for \
             success); the v1 kernel refuses the write and LXC fails the start"
        ),
        list!("tab-separated"),
        list!(
            "type-a-wildcard",
            &[d!("start", "", "ran", "refused")],
            "v1 reads any value starting with `a` as `a` (allow all, then `deny c 1:3` is an \
             exception); LXC reads `a *:* rwm` as an allow rule with no test, whose verdict \
             returns before the program's default: the kernel's verifier refuses the program \
             (unreachable instruction) and the start fails"
        ),
        list!(
            "type-a-numbers",
            &[d!(
                "zero full random nodrv loop0 loop1",
                "*",
                "baseline",
                "EPERM"
            )],
            "v1 reads `a 1:3 rwm` as `a` (allow all); LXC as a rule for char and block 1:3 in an \
             allowlist"
        ),
        list!(
            "allow-only",
            &[d!(
                "zero full random nodrv loop0 loop1",
                "*",
                "baseline",
                "EPERM"
            )],
            "LXC's list starts as an allowlist whatever the host allows: one allow rule denies \
             every other device; a v1 cgroup starts with its parent's allow-all"
        ),
        list!(
            "deny-only",
            &[d!(
                "null full random nodrv loop0 loop1",
                "*",
                "baseline",
                "EPERM"
            )],
            "LXC's list starts as an allowlist and emits no deny rule: everything is denied; v1 \
             denies only c 1:5 below an allow-all parent"
        ),
        list!("access-extra"),
        list!(
            "octal",
            &[d!("random", "r", "ok", "EPERM")],
            "LXC reads numbers with strtol(.., 0): `08` is bad octal, and LXC starts without \
             the rule (see devpath-missing); the kernel reads 8 (base 10), so v1 allows c 1:8 r"
        ),
        list!("flip-twice"),
        list!(
            "denylist-wildcard-write",
            &[d!("null zero full random", "rw", "EPERM", "baseline")],
            "as denylist-partial: a deny of w does not catch O_RDWR in LXC's program"
        ),
    ]
}

/// The rules of a list as (file, value): `devices.allow`, `c 1:3 rwm`.
pub fn rules(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("a `devices.X = VALUE` line");
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// The list as config lines under `prefix` (`lxc.cgroup.` or `lxc.cgroup2.`).
pub fn config(text: &str, prefix: &str) -> String {
    rules(text)
        .iter()
        .map(|(k, v)| format!("{prefix}{k} = {v}\n"))
        .collect()
}

/// The lists with a rule LXC 5.0.2 cannot read. With cgroup2 rules LXC logs it and starts
/// without the rule; lxc-rs refuses the start, as both do with v1 rules (docs/decisions.md).
pub const UNREADABLE: &[&str] = &[
    "devpath-missing",
    "devpath-deny",
    "missing-access",
    "double-space",
    "octal",
];

pub type Outcome = BTreeMap<String, String>;

pub fn refused() -> Outcome {
    [("start".to_string(), "refused".to_string())].into()
}

/// The keys a probe run has.
pub fn keys() -> Vec<String> {
    PROBES
        .iter()
        .flat_map(|p| OPS.iter().map(move |op| format!("{} {op}", p.name)))
        .collect()
}

/// What `list` says for each key, v1 or BPF, given the unrestricted `baseline`; `None` for
/// keys the list does not name.
pub fn expected_difference(
    list: &RuleList,
    key: &str,
    baseline: &Outcome,
) -> Option<(String, String)> {
    let (probe, op) = key.split_once(' ').unwrap_or((key, ""));
    let resolve = |v: &str| match v {
        "baseline" => baseline
            .get(key)
            .cloned()
            .unwrap_or_else(|| "(no baseline)".into()),
        other => other.to_string(),
    };
    list.differs.iter().find_map(|d| {
        let hit = if probe == "start" || d.probes == "start" {
            probe == d.probes
        } else {
            (d.probes == "*" || d.probes.split(' ').any(|p| p == probe))
                && (d.ops == "*" || d.ops.split(' ').any(|o| o == op))
        };
        hit.then(|| (resolve(d.v1), resolve(d.bpf)))
    })
}

/// Compare a v1 run with a BPF run of `list` (each an outcome) as the list says they relate:
/// one line per disagreement.
pub fn compare_v1_bpf(
    list: &RuleList,
    v1: &Outcome,
    bpf: &Outcome,
    baseline: &Outcome,
) -> Vec<String> {
    let mut out = Vec::new();
    let ran = |o: &Outcome| {
        if o.contains_key("start") {
            "refused"
        } else {
            "ran"
        }
    };
    let (want_v1, want_bpf) = expected_difference(list, "start", baseline)
        .unwrap_or_else(|| (ran(v1).to_string(), ran(bpf).to_string()));
    if ran(v1) != want_v1 || ran(bpf) != want_bpf {
        out.push(format!(
            "{}: start: want v1 {want_v1} / BPF {want_bpf}, got v1 {} / BPF {}",
            list.name,
            ran(v1),
            ran(bpf)
        ));
        return out;
    }
    if ran(v1) == "refused" || ran(bpf) == "refused" {
        return out;
    }
    for k in keys() {
        let (a, b) = (
            v1.get(&k).map(String::as_str).unwrap_or("(missing)"),
            bpf.get(&k).map(String::as_str).unwrap_or("(missing)"),
        );
        match expected_difference(list, &k, baseline) {
            Some((wa, wb)) if (a, b) != (wa.as_str(), wb.as_str()) => out.push(format!(
                "{}: {k}: want v1 `{wa}` / BPF `{wb}` (LXC's BPF differs here), got v1 `{a}` / BPF `{b}`",
                list.name
            )),
            Some(_) => {}
            None if a != b => out.push(format!("{}: {k}: v1 `{a}`, BPF `{b}`", list.name)),
            None => {}
        }
    }
    out
}

/// The errno names a probe reports.
pub fn errno_name(e: i32) -> String {
    match e {
        0 => "ok".into(),
        libc::EPERM => "EPERM".into(),
        libc::ENXIO => "ENXIO".into(),
        libc::ENODEV => "ENODEV".into(),
        libc::EACCES => "EACCES".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EIO => "EIO".into(),
        libc::EROFS => "EROFS".into(),
        n => format!("errno{n}"),
    }
}

/// The probe as a busybox sh script for a container: `sh probe.sh DIR`, where DIR holds a
/// node `n_NAME` per probe, made by the host. It prints one `PROBE OP RESULT` line per key,
/// mknod-ing `m_NAME` and opening `n_NAME` as the in-process probe does; the errno comes from
/// the error text (busybox prints strerror).
pub fn shell_probe() -> String {
    let mut s = String::from(
        "#!/bin/sh\n\
         d=$1\n\
         name() {\n\
         \tcase \"$1\" in\n\
         \t*'Operation not permitted'*) echo EPERM ;;\n\
         \t*'No such device or address'*) echo ENXIO ;;\n\
         \t*'No such device'*) echo ENODEV ;;\n\
         \t*'Permission denied'*) echo EACCES ;;\n\
         \t*'No such file or directory'*) echo ENOENT ;;\n\
         \t*'Device or resource busy'*) echo EBUSY ;;\n\
         \t*'Invalid argument'*) echo EINVAL ;;\n\
         \t*'Input/output error'*) echo EIO ;;\n\
         \t*'Read-only file system'*) echo EROFS ;;\n\
         \t*) echo \"other($1)\" | tr ' ' _ ;;\n\
         \tesac\n\
         }\n\
         try() {\n\
         \tif out=$( (eval \"$2\") 2>&1 ); then echo \"$1 ok\"; else echo \"$1 $(name \"$out\")\"; fi\n\
         }\n",
    );
    for p in PROBES {
        let n = p.name;
        s.push_str(&format!(
            "try '{n} m' 'mknod $d/m_{n} {} {} {}'\n\
             try '{n} r' 'exec 3<$d/n_{n}'\n\
             try '{n} w' 'exec 3>$d/n_{n}'\n\
             try '{n} rw' 'exec 3<>$d/n_{n}'\n",
            p.kind, p.major, p.minor
        ));
    }
    s.push_str("echo probe done\n");
    s
}

/// Parse the shell probe's output: None when it did not finish.
pub fn parse_probe_output(stdout: &str) -> Option<Outcome> {
    if !stdout.lines().any(|l| l == "probe done") {
        return None;
    }
    Some(
        stdout
            .lines()
            .filter_map(|l| {
                let (key, result) = l.rsplit_once(' ')?;
                key.contains(' ')
                    .then(|| (key.to_string(), result.to_string()))
            })
            .collect(),
    )
}
