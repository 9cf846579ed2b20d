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

/// `lxc-checkconfig` under LXC's name: the report Debian's LXC 5.0.2 script prints, read from
/// the kernel's config (`$CONFIG`, else /proc/config.gz, else the headers' or /boot's), line
/// for line as the script prints it, coloured only when stdout is a terminal. `argv0` is how
/// this run was called (its usage line names it).
pub fn run_lxc_form(argv0: &str) -> ExitCode {
    let color = io::stdout().is_terminal();
    let mut out = String::new();
    let mut err = String::new();
    let code = lxc_form(argv0, color, &mut out, &mut err);
    // The report as far as it got, then the error lines, as the script's streams.
    let _ = super::print(&out);
    eprint!("{err}");
    code
}

/// The kernel config's text: gzip'ed ones through `gzip -dc`, as the script's `zcat`.
fn kernel_config_text(path: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let o = std::process::Command::new("gzip")
            .arg("-dc")
            .arg(path)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        return Some(String::from_utf8_lossy(&o.stdout).into_owned());
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The kernel's major and minor version from the config's `# Linux... Kernel Configuration`
/// line (`6.18.44` gives 6 and 18; a one-digit major, as the script reads it).
fn config_version(text: &str) -> Option<(u32, u32)> {
    let line = text
        .lines()
        .find(|l| l.starts_with("# Linux") && l.contains("Kernel Configuration"))?;
    line.split(' ').find_map(|w| {
        let mut parts = w.split('.');
        let major = parts.next().filter(|m| m.len() == 1)?.parse().ok()?;
        let minor: &str = parts.next().filter(|m| (1..=3).contains(&m.len()))?;
        let micro = parts.next()?;
        let digits = micro.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0).then_some(())?;
        Some((major, minor.parse().ok()?))
    })
}

fn lxc_form(argv0: &str, color: bool, out: &mut String, err: &mut String) -> ExitCode {
    let base = std::path::Path::new(argv0)
        .file_name()
        .map_or_else(|| argv0.to_string(), |b| b.to_string_lossy().into_owned());
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0;39m")
        } else {
            text.to_string()
        }
    };
    out.push_str(&format!("LXC version {}\n", lxc::LXC_VERSION));

    let mut config = std::path::PathBuf::from(
        std::env::var_os("CONFIG")
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "/proc/config.gz".into()),
    );
    if !config.is_file() {
        out.push_str(&format!(
            "Kernel configuration not found at {}; searching...\n",
            config.display()
        ));
        let kver = read_trim("/proc/sys/kernel/osrelease").unwrap_or_default();
        let headers = std::path::PathBuf::from(format!("/lib/modules/{kver}/build/.config"));
        let boot = std::path::PathBuf::from(format!("/boot/config-{kver}"));
        for candidate in [headers, boot] {
            if candidate.is_file() {
                config = candidate;
            }
        }
        if !config.is_file() {
            err.push_str(&format!(
                "{base}: unable to retrieve kernel configuration\n\n"
            ));
            let module = std::path::Path::new("/lib/modules")
                .join(&kver)
                .join("kernel/kernel/configs.ko");
            if module.exists() {
                err.push_str("Try modprobe configs module, or\n");
            }
            err.push_str(
                "Try recompiling with IKCONFIG_PROC, installing the kernel headers,\n\
                 or specifying the kernel configuration path with:\n",
            );
            err.push_str(&format!("  CONFIG=<path> {base}\n"));
            return ExitCode::FAILURE;
        }
        out.push_str(&format!(
            "Kernel configuration found at {}\n",
            config.display()
        ));
    }
    let text = kernel_config_text(&config).unwrap_or_default();
    let (major, minor) = match config_version(&text) {
        Some(v) => v,
        None => {
            out.push_str(
                "WARNING: Unable to detect version from configuration, assuming latest\n\n",
            );
            (100, 0)
        }
    };
    // The script's `grep "OPT=[y|m]"`: anywhere on a line.
    let set = |opt: &str| {
        ["y", "m", "|"]
            .iter()
            .any(|v| text.contains(&format!("{opt}={v}")))
    };
    let shown = |ok: bool, mandatory: bool| match (ok, mandatory) {
        (true, _) => paint("1;32", "enabled"),
        (false, true) => paint("1;31", "required"),
        (false, false) => paint("1;33", "missing"),
    };
    // Loaded modules, as the script greps lsmod's output (nothing without /proc/modules).
    let modules = std::fs::read_to_string("/proc/modules").ok();
    let probed = |module: &str| match &modules {
        None => String::new(),
        Some(m) if m.contains(module) => ", loaded".to_string(),
        Some(_) => ", not loaded".to_string(),
    };
    let row = |label: &str, opt: &str, mandatory: bool| {
        format!("{label}: {}\n", shown(set(opt), mandatory))
    };
    let probe_row = |label: &str, opt: &str, module: &str| {
        let ok = set(opt);
        let loaded = if ok { probed(module) } else { String::new() };
        format!("{label}: {}{loaded}\n", shown(ok, false))
    };

    out.push_str("\n--- Namespaces ---\n");
    out.push_str(&row("Namespaces", "CONFIG_NAMESPACES", true));
    out.push_str(&row("Utsname namespace", "CONFIG_UTS_NS", false));
    out.push_str(&row("Ipc namespace", "CONFIG_IPC_NS", true));
    out.push_str(&row("Pid namespace", "CONFIG_PID_NS", true));
    out.push_str(&row("User namespace", "CONFIG_USER_NS", false));
    if set("CONFIG_USER_NS") {
        for tool in ["newuidmap", "newgidmap"] {
            match which(tool) {
                Some(p) if !is_setuid(&p) => {
                    out.push_str(&format!("Warning: {tool} is not setuid-root\n"))
                }
                Some(_) => {}
                None => out.push_str(&format!("{tool} is not installed\n")),
            }
        }
    }
    out.push_str(&row("Network namespace", "CONFIG_NET_NS", false));
    if major < 4 || (major == 4 && minor < 7) {
        out.push_str(&row(
            "Multiple /dev/pts instances",
            "DEVPTS_MULTIPLE_INSTANCES",
            false,
        ));
    }
    out.push('\n');

    out.push_str("--- Control groups ---\n");
    out.push_str(&row("Cgroups", "CONFIG_CGROUPS", false));
    let cgroup_ns = std::path::Path::new("/proc/self/ns/cgroup").is_file();
    out.push_str(&format!("Cgroup namespace: {}\n", shown(cgroup_ns, false)));
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let points = |fstype: &str| -> Vec<String> {
        mounts
            .lines()
            .filter(|l| !l.split(' ').next().unwrap_or("").contains('#'))
            .filter(|l| l.split(' ').nth(2) == Some(fstype))
            .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
            .collect()
    };
    let (v1, v2) = (points("cgroup"), points("cgroup2"));
    out.push_str("Cgroup v1 mount points: \n");
    for m in &v1 {
        out.push_str(&format!(" - {m}\n"));
    }
    out.push_str("Cgroup v2 mount points: \n");
    for m in &v2 {
        out.push_str(&format!(" - {m}\n"));
    }
    if v2.join("\n") != "/sys/fs/cgroup" {
        for (ctrl, label) in [
            ("/systemd", "Cgroup v1 systemd controller"),
            ("/freezer", "Cgroup v1 freezer controller"),
        ] {
            if !v1.iter().any(|m| m.contains(ctrl)) {
                out.push_str(&format!("{label}: {}\n", paint("1;31", "missing")));
            }
        }
        let first = v1.first().map(String::as_str).unwrap_or("");
        if std::path::Path::new(&format!("{first}/cgroup.clone_children")).is_file() {
            // The script's colour ends after the line's newline.
            let text = paint("1;32", "enabled\n");
            out.push_str(&format!("Cgroup v1 clone_children flag: {text}"));
        }
    }
    out.push_str(&row("Cgroup device", "CONFIG_CGROUP_DEVICE", false));
    out.push_str(&row("Cgroup sched", "CONFIG_CGROUP_SCHED", false));
    out.push_str(&row("Cgroup cpu account", "CONFIG_CGROUP_CPUACCT", false));
    if (major >= 3 && minor >= 6) || major > 3 {
        out.push_str(&row("Cgroup memory controller", "CONFIG_MEMCG", false));
    } else {
        out.push_str(&row(
            "Cgroup memory controller",
            "CONFIG_CGROUP_MEM_RES_CTLR",
            false,
        ));
    }
    if set("CONFIG_SMP") {
        // The script ends this line only when cpusets are there; the blank line after it
        // ends it otherwise.
        let ok = set("CONFIG_CPUSETS");
        out.push_str(&format!("Cgroup cpuset: {}", shown(ok, false)));
        if ok {
            out.push('\n');
        }
    }
    out.push('\n');

    out.push_str("--- Misc ---\n");
    out.push_str(&probe_row("Veth pair device", "CONFIG_VETH", "veth"));
    out.push_str(&probe_row("Macvlan", "CONFIG_MACVLAN", "macvlan"));
    out.push_str(&probe_row("Vlan", "CONFIG_VLAN_8021Q", "8021q"));
    out.push_str(&probe_row("Bridges", "CONFIG_BRIDGE", "bridge"));
    out.push_str(&probe_row(
        "Advanced netfilter",
        "CONFIG_NETFILTER_ADVANCED",
        "nf_tables",
    ));
    if major > 3 && minor > 6 && major < 5 {
        out.push_str(&probe_row(
            "CONFIG_NF_NAT_IPV4",
            "CONFIG_NF_NAT_IPV4",
            "nf_nat_ipv4",
        ));
        out.push_str(&probe_row(
            "CONFIG_NF_NAT_IPV6",
            "CONFIG_NF_NAT_IPV6",
            "nf_nat_ipv6",
        ));
    }
    for (opt, module) in [
        ("CONFIG_IP_NF_TARGET_MASQUERADE", "nf_nat_masquerade_ipv4"),
        ("CONFIG_IP6_NF_TARGET_MASQUERADE", "nf_nat_masquerade_ipv6"),
        ("CONFIG_NETFILTER_XT_TARGET_CHECKSUM", "xt_CHECKSUM"),
        ("CONFIG_NETFILTER_XT_MATCH_COMMENT", "xt_comment"),
    ] {
        out.push_str(&probe_row(opt, opt, module));
    }
    out.push_str(&probe_row(
        "FUSE (for use with lxcfs)",
        "CONFIG_FUSE_FS",
        "fuse",
    ));
    out.push('\n');

    out.push_str("--- Checkpoint/Restore ---\n");
    out.push_str(&row(
        "checkpoint restore",
        "CONFIG_CHECKPOINT_RESTORE",
        false,
    ));
    for opt in [
        "CONFIG_FHANDLE",
        "CONFIG_EVENTFD",
        "CONFIG_EPOLL",
        "CONFIG_UNIX_DIAG",
        "CONFIG_INET_DIAG",
        "CONFIG_PACKET_DIAG",
        "CONFIG_NETLINK_DIAG",
    ] {
        out.push_str(&row(opt, opt, false));
    }
    if major == 2 && minor < 33 {
        out.push_str(&row(
            "File capabilities",
            "CONFIG_SECURITY_FILE_CAPABILITIES",
            false,
        ));
    } else {
        out.push_str(&format!(
            "File capabilities: {}",
            paint("1;32", "enabled\n")
        ));
    }
    out.push_str(&format!(
        "\nNote : Before booting a new kernel, you can check its configuration\n\
         usage : CONFIG=/path/to/config {argv0}\n\n"
    ));
    ExitCode::SUCCESS
}

/// `command -v TOOL`: the first executable of that name in PATH.
fn which(tool: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn is_setuid(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o4000 != 0)
}
