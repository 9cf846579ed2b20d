//! `lxc-rs checkconfig`: what this kernel offers to containers, found by trying it rather
//! than by reading a kernel config file: each namespace is unshared in a forked child, each link
//! type is created inside a throw-away network namespace (through the netlink layer the network
//! plugins use), the BPF device program is loaded, an idmapped mount is made on a detached
//! tmpfs. Nothing it does outlives the command. It also lists the network plugins found.

use std::collections::BTreeSet;
use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::process::ExitCode;

use clap::Args;
use serde::{Serialize, Serializer};

use lxc::net::netlink::Netlink;
use lxc::net::plugins;

use crate::error::CliError;
use crate::sys;

#[derive(Debug, Args)]
pub struct CheckconfigArgs {
    /// Print one JSON object: {"kernel", "namespaces": {NAME: {"available", "detail"}}, "cgroups",
    /// "seccomp", "pidfd", "idmapped_mounts", "bpf_cgroup_device", "network": {TYPE: {...}},
    /// "network_plugins": {"search_path", "loaded", "refused", "shadowed"}}
    #[arg(long)]
    pub json: bool,
}

/// One thing the kernel offers, or not, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub available: bool,
    pub detail: Option<String>,
}

impl Check {
    fn yes(detail: Option<String>) -> Check {
        Check {
            available: true,
            detail,
        }
    }
    fn no(detail: impl Into<String>) -> Check {
        Check {
            available: false,
            detail: Some(detail.into()),
        }
    }
}

/// Named checks in the order they are printed; serialized as a JSON object in that order.
type Named = Vec<(&'static str, Check)>;

fn as_map<S: Serializer>(v: &Named, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, c)| (k, c)))
}

fn as_string_map<S: Serializer>(v: &[(String, Check)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, c)| (k, c)))
}

#[derive(Debug, Serialize)]
struct Report {
    kernel: String,
    #[serde(serialize_with = "as_map")]
    namespaces: Named,
    cgroups: Cgroups,
    seccomp: Seccomp,
    pidfd: Check,
    idmapped_mounts: Check,
    bpf_cgroup_device: Check,
    #[serde(serialize_with = "as_map")]
    network: Named,
    network_plugins: NetPlugins,
}

/// The network plugins this lxc-rs found, as `start` would use them.
#[derive(Debug, Serialize)]
struct NetPlugins {
    /// The directories (or files) searched, in order.
    search_path: Vec<String>,
    loaded: Vec<LoadedPlugin>,
    /// Files that were refused, each with the one-line cause.
    refused: Vec<RefusedPlugin>,
    /// Files not loaded because an earlier one has the same name.
    shadowed: Vec<ShadowedPlugin>,
}

#[derive(Debug, Serialize)]
struct LoadedPlugin {
    file: String,
    name: String,
    types: Vec<String>,
    keys: Vec<String>,
    api_version: u32,
}

#[derive(Debug, Serialize)]
struct RefusedPlugin {
    file: String,
    cause: String,
}

#[derive(Debug, Serialize)]
struct ShadowedPlugin {
    file: String,
    by: String,
}

fn net_plugins() -> NetPlugins {
    let p = plugins::plugins();
    let shown = |f: &std::path::Path| f.display().to_string();
    NetPlugins {
        search_path: p.searched.iter().map(|d| shown(&d.path)).collect(),
        loaded: p
            .loaded
            .iter()
            .map(|l| LoadedPlugin {
                file: shown(&l.file),
                name: l.name.clone(),
                types: l.types.clone(),
                keys: l.keys.clone(),
                api_version: l.api_version,
            })
            .collect(),
        refused: p
            .refused
            .iter()
            .map(|r| RefusedPlugin {
                file: shown(&r.file),
                cause: r.cause.clone(),
            })
            .collect(),
        shadowed: p
            .shadowed
            .iter()
            .map(|(f, by)| ShadowedPlugin {
                file: shown(f),
                by: shown(by),
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
struct Hierarchy {
    mountpoint: String,
    controllers: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Cgroups {
    /// "v1", "hybrid", "unified" or "none".
    layout: &'static str,
    v1: Vec<Hierarchy>,
    v2: Vec<Hierarchy>,
    #[serde(serialize_with = "as_string_map")]
    controllers: Vec<(String, Check)>,
}

#[derive(Debug, Serialize)]
struct Seccomp {
    available: bool,
    detail: Option<String>,
    /// The filter return actions this kernel accepts (`actions_avail`).
    actions: Vec<String>,
}

/// Every seccomp action LXC's policies can name, in the kernel's order.
const SECCOMP_ACTIONS: &[&str] = &[
    "kill_process",
    "kill_thread",
    "trap",
    "errno",
    "user_notif",
    "trace",
    "log",
    "allow",
];

pub fn run(args: &CheckconfigArgs) -> Result<ExitCode, CliError> {
    // Namespaces and the idmap probe fork: do them before the network probe starts a thread.
    let namespaces = namespaces();
    let idmapped_mounts = idmapped_mounts();
    let report = Report {
        kernel: read_trim("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
        namespaces,
        cgroups: cgroups(),
        seccomp: seccomp(),
        pidfd: match sys::pidfd_open_self() {
            Ok(_fd) => Check::yes(None),
            Err(e) => Check::no(format!("pidfd_open: {}", errno_text(&e))),
        },
        idmapped_mounts,
        bpf_cgroup_device: bpf_cgroup_device(),
        network: network(),
        network_plugins: net_plugins(),
    };
    if args.json {
        super::print_json(&report)?;
    } else {
        let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        super::print(&human(&report, color))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// `EOPNOTSUPP: Operation not supported` rather than `(os error 95)`.
fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(c) => {
            let errno = nix::errno::Errno::from_raw(c);
            format!("{errno:?}: {}", errno.desc())
        }
        None => e.to_string(),
    }
}

fn not_root_hint(e: &io::Error) -> &'static str {
    if e.raw_os_error() == Some(libc::EPERM) && !sys::is_root() {
        " (run as root to test)"
    } else {
        ""
    }
}

fn namespaces() -> Named {
    // Named as in /proc/self/ns.
    const KINDS: &[(&str, libc::c_int)] = &[
        ("mnt", libc::CLONE_NEWNS),
        ("uts", libc::CLONE_NEWUTS),
        ("ipc", libc::CLONE_NEWIPC),
        ("pid", libc::CLONE_NEWPID),
        ("net", libc::CLONE_NEWNET),
        ("user", libc::CLONE_NEWUSER),
        ("cgroup", libc::CLONE_NEWCGROUP),
        ("time", libc::CLONE_NEWTIME),
    ];
    KINDS
        .iter()
        .map(|&(name, flag)| {
            let in_proc = std::path::Path::new("/proc/self/ns").join(name).exists();
            let mut probe = sys::unshare_in_child(flag);
            let mut via_userns = false;
            if matches!(&probe, Ok(Err(e)) if e.raw_os_error() == Some(libc::EPERM))
                && !sys::is_root()
                && flag != libc::CLONE_NEWUSER
            {
                // Unprivileged users get every namespace kind inside a user namespace.
                probe = sys::unshare_in_child(flag | libc::CLONE_NEWUSER);
                via_userns = true;
            }
            let check = match probe {
                Ok(Ok(())) if via_userns => Check::yes(Some("inside a user namespace".into())),
                Ok(Ok(())) => Check::yes(None),
                Ok(Err(e)) if !in_proc => Check::no(format!(
                    "kernel has no {name} namespaces (/proc/self/ns/{name} missing; unshare: {})",
                    errno_text(&e)
                )),
                Ok(Err(e)) => Check::no(format!(
                    "unshare: {}{}{}",
                    errno_text(&e),
                    not_root_hint(&e),
                    if name == "user" {
                        user_ns_limit()
                    } else {
                        String::new()
                    }
                )),
                Err(e) if in_proc => Check::yes(Some(format!(
                    "/proc/self/ns/{name} exists; could not fork to test: {e}"
                ))),
                Err(e) => Check::no(format!("could not fork to test: {e}")),
            };
            (name, check)
        })
        .collect()
}

fn user_ns_limit() -> String {
    match read_trim("/proc/sys/user/max_user_namespaces").as_deref() {
        Some("0") => "; /proc/sys/user/max_user_namespaces is 0".into(),
        _ => String::new(),
    }
}

/// One line of /proc/self/mountinfo, the parts we need.
struct Mount {
    mountpoint: String,
    fstype: String,
    super_options: String,
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts() -> Vec<Mount> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some(Mount {
                mountpoint: unescape(f.get(4)?),
                fstype: f.get(sep + 1)?.to_string(),
                super_options: f.get(sep + 3).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// `/proc/cgroups`: (name, v1 hierarchy id, enabled).
fn proc_cgroups() -> Vec<(String, u32, bool)> {
    let text = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.parse().ok()?,
                *f.get(3)? == "1",
            ))
        })
        .collect()
}

fn cgroups() -> Cgroups {
    let known = proc_cgroups();
    let mounts = mounts();
    let v1: Vec<Hierarchy> = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup")
        .map(|m| Hierarchy {
            mountpoint: m.mountpoint.clone(),
            controllers: m
                .super_options
                .split(',')
                .filter(|o| o.starts_with("name=") || known.iter().any(|(k, _, _)| k == o))
                .map(str::to_string)
                .collect(),
        })
        .collect();
    let v2: Vec<Hierarchy> = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .map(|m| Hierarchy {
            controllers: std::fs::read_to_string(format!("{}/cgroup.controllers", m.mountpoint))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            mountpoint: m.mountpoint.clone(),
        })
        .collect();
    let v1_controllers = v1
        .iter()
        .any(|h| h.controllers.iter().any(|c| !c.starts_with("name=")));
    let layout = match (v1_controllers, !v2.is_empty()) {
        (true, true) => "hybrid",
        (true, false) => "v1",
        (false, true) => "unified",
        (false, false) => "none",
    };

    let mut names: Vec<String> = known.iter().map(|(n, _, _)| n.clone()).collect();
    let mut seen: BTreeSet<String> = names.iter().cloned().collect();
    for h in &v2 {
        for c in &h.controllers {
            if seen.insert(c.clone()) {
                names.push(c.clone());
            }
        }
    }
    let controllers = names
        .into_iter()
        .map(|name| {
            let at_v1 = v1.iter().find(|h| h.controllers.contains(&name));
            let at_v2 = v2.iter().find(|h| h.controllers.contains(&name));
            let enabled = known
                .iter()
                .find(|(n, _, _)| *n == name)
                .is_none_or(|(_, _, e)| *e);
            let check = match (at_v1, at_v2) {
                (Some(h), _) => Check::yes(Some(format!("v1 at {}", h.mountpoint))),
                (None, Some(h)) => Check::yes(Some(format!("v2 at {}", h.mountpoint))),
                (None, None) if !enabled => Check::no("disabled on the kernel command line"),
                (None, None) => Check::no("in the kernel, but in no mounted hierarchy"),
            };
            (name, check)
        })
        .collect();
    Cgroups {
        layout,
        v1,
        v2,
        controllers,
    }
}

fn seccomp() -> Seccomp {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let in_kernel = status.lines().any(|l| l.starts_with("Seccomp:"));
    let actions: Vec<String> = read_trim("/proc/sys/kernel/seccomp/actions_avail")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    match (in_kernel, actions.is_empty()) {
        (_, false) => Seccomp {
            available: true,
            detail: Some("filter mode".into()),
            actions,
        },
        (true, true) => Seccomp {
            available: false,
            detail: Some("strict mode only: no /proc/sys/kernel/seccomp/actions_avail".into()),
            actions,
        },
        (false, true) => Seccomp {
            available: false,
            detail: Some("kernel built without seccomp".into()),
            actions,
        },
    }
}

fn kernel_version() -> Option<(u32, u32)> {
    let r = read_trim("/proc/sys/kernel/osrelease")?;
    let mut it = r.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Idmap a detached tmpfs through a fresh user namespace. When that cannot be tried here (not
/// root), say what the kernel version implies: idmapped mounts since 5.12, on tmpfs since 6.3.
fn idmapped_mounts() -> Check {
    let by_version = |why: String| match kernel_version() {
        Some(v) if v >= (6, 3) => Check::yes(Some(format!(
            "not tested ({why}); kernel {}.{} has them, tmpfs included",
            v.0, v.1
        ))),
        Some(v) if v >= (5, 12) => Check::yes(Some(format!(
            "not tested ({why}); kernel {}.{} has them (not on tmpfs before 6.3)",
            v.0, v.1
        ))),
        _ => Check::no(format!("not tested ({why}); kernel older than 5.12")),
    };
    let userns = match sys::userns_with_map("0 100000 65536\n") {
        Ok(fd) => fd,
        Err(e) => return by_version(format!("user namespace: {e}")),
    };
    let mnt = match sys::detached_tmpfs() {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            return Check::no("kernel has no fsopen/fsmount (older than 5.2)")
        }
        Err(e) => return by_version(format!("tmpfs: {}", errno_text(&e))),
    };
    match sys::mount_setattr_idmap(mnt.as_fd(), userns.as_fd()) {
        Ok(()) => Check::yes(Some("tested on tmpfs".into())),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            Check::no("kernel has no mount_setattr (older than 5.12)")
        }
        Err(e) => Check::no(format!(
            "mount_setattr(MOUNT_ATTR_IDMAP) on tmpfs: {}{}",
            errno_text(&e),
            not_root_hint(&e)
        )),
    }
}

fn bpf_cgroup_device() -> Check {
    match sys::bpf_load_cgroup_device_allow_all() {
        Ok(_prog) => Check::yes(Some("loaded a test program".into())),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Check::no("kernel has no bpf syscall"),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Check::no(format!(
            "BPF_PROG_TYPE_CGROUP_DEVICE refused: {} (kernel without CONFIG_CGROUP_BPF?)",
            errno_text(&e)
        )),
        Err(e) => Check::no(format!(
            "BPF_PROG_LOAD: {}{}",
            errno_text(&e),
            not_root_hint(&e)
        )),
    }
}

/// The link types LXC's `lxc.net.[i].type` needs from the kernel, tried for real in a network
/// namespace that lives as long as the probe (the netlink layer's thread is its only member):
/// when it ends, the namespace and links go too.
fn network() -> Named {
    let kinds: Vec<&str> = LINK_TYPES.iter().map(|(t, _)| *t).collect();
    match Netlink::probe_link_kinds(&kinds) {
        Ok(found) => LINK_TYPES
            .iter()
            .map(|(t, _)| {
                let c = match found.iter().find(|(k, _)| k == t) {
                    Some((_, Ok(()))) => Check::yes(None),
                    Some((_, Err(why))) => Check::no(why.clone()),
                    None => Check::no("could not test: not probed"),
                };
                (*t, c)
            })
            .collect(),
        Err(e) => {
            let hint = match e.errno() {
                Some(errno) => not_root_hint(&io::Error::from_raw_os_error(errno)),
                None => "",
            };
            LINK_TYPES
                .iter()
                .map(|(t, _)| (*t, Check::no(format!("could not test: {e}{hint}"))))
                .collect()
        }
    }
}

/// (type, what lxc-checkconfig calls it).
const LINK_TYPES: &[(&str, &str)] = &[
    ("veth", "Veth pair device"),
    ("macvlan", "Macvlan"),
    ("ipvlan", "Ipvlan"),
    ("vlan", "Vlan"),
    ("bridge", "Bridges"),
    ("dummy", "Dummy"),
];

/// The report as lxc-checkconfig prints it: one feature per line, green or red on a terminal.
fn human(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let line = |out: &mut String, label: &str, c: &Check| {
        let (word, code) = if c.available {
            ("enabled", "32")
        } else {
            ("missing", "31")
        };
        let word = if color {
            format!("\x1b[1;{code}m{word}\x1b[0m")
        } else {
            word.to_string()
        };
        match &c.detail {
            Some(d) => out.push_str(&format!("{label}: {word} ({d})\n")),
            None => out.push_str(&format!("{label}: {word}\n")),
        }
    };
    out.push_str(&format!("Kernel: {}\n", r.kernel));

    out.push_str("\n--- Namespaces ---\n");
    for (name, c) in &r.namespaces {
        line(&mut out, &format!("{} namespace", title(name)), c);
    }

    out.push_str("\n--- Control groups ---\n");
    let layout = Check {
        available: r.cgroups.layout != "none",
        detail: Some(
            match r.cgroups.layout {
                "hybrid" => "hybrid: v1 controllers and a cgroup2 hierarchy",
                "v1" => "v1: no cgroup2 hierarchy",
                "unified" => "unified: cgroup2 only",
                _ => "no cgroup hierarchy mounted",
            }
            .to_string(),
        ),
    };
    line(&mut out, "Cgroups", &layout);
    for (label, hs) in [("v1", &r.cgroups.v1), ("v2", &r.cgroups.v2)] {
        if hs.is_empty() {
            continue;
        }
        out.push_str(&format!("Cgroup {label} mount points:\n"));
        for h in hs {
            out.push_str(&format!(
                " - {} ({})\n",
                h.mountpoint,
                h.controllers.join(",")
            ));
        }
    }
    for (name, c) in &r.cgroups.controllers {
        line(&mut out, &format!("Cgroup controller {name}"), c);
    }

    out.push_str("\n--- Seccomp ---\n");
    let sc = Check {
        available: r.seccomp.available,
        detail: r.seccomp.detail.clone(),
    };
    line(&mut out, "Seccomp", &sc);
    for a in SECCOMP_ACTIONS {
        let c = Check {
            available: r.seccomp.actions.iter().any(|x| x == a),
            detail: None,
        };
        line(&mut out, &format!("Seccomp action {a}"), &c);
    }

    out.push_str("\n--- Processes, mounts, devices ---\n");
    line(&mut out, "pidfd", &r.pidfd);
    line(&mut out, "Idmapped mounts", &r.idmapped_mounts);
    line(&mut out, "BPF cgroup device programs", &r.bpf_cgroup_device);

    out.push_str("\n--- Network link types ---\n");
    for (t, c) in &r.network {
        let label = LINK_TYPES
            .iter()
            .find(|(k, _)| k == t)
            .map(|(_, l)| *l)
            .unwrap_or(t);
        line(&mut out, label, c);
    }

    let p = &r.network_plugins;
    out.push_str("\n--- Network plugins ---\n");
    out.push_str(&format!("Search path: {}\n", p.search_path.join(":")));
    for l in &p.loaded {
        let c = Check::yes(Some(format!(
            "types {}; interface {}; {}",
            l.types.join(" "),
            l.api_version,
            l.file
        )));
        line(&mut out, &format!("Plugin {}", l.name), &c);
    }
    for f in &p.refused {
        line(
            &mut out,
            &format!("Plugin file {}", f.file),
            &Check::no(f.cause.clone()),
        );
    }
    for f in &p.shadowed {
        out.push_str(&format!("Plugin file {}: shadowed by {}\n", f.file, f.by));
    }
    if p.loaded.is_empty() && p.refused.is_empty() {
        out.push_str("No plugin found: only network types empty and none can start\n");
    }
    out
}

fn title(ns: &str) -> String {
    match ns {
        "mnt" => "Mount".into(),
        "uts" => "Utsname".into(),
        "ipc" => "Ipc".into(),
        "pid" => "Pid".into(),
        "net" => "Network".into(),
        "user" => "User".into(),
        "cgroup" => "Cgroup".into(),
        "time" => "Time".into(),
        other => other.into(),
    }
}
