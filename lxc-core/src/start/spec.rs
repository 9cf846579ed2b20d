//! Typed views of the config that the start code needs. Values were validated when they were
//! set; what can still go wrong here (a name that only means something at start) is reported
//! with the key and where it was written.

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Origin};
use crate::phase::Phase;

/// A namespace kind as LXC names it in `lxc.namespace.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ns {
    pub name: &'static str,
    pub flag: i32,
    /// The file under /proc/PID/ns/.
    pub proc_name: &'static str,
}

pub const NAMESPACES: [Ns; 8] = [
    Ns {
        name: "cgroup",
        flag: libc::CLONE_NEWCGROUP,
        proc_name: "cgroup",
    },
    Ns {
        name: "ipc",
        flag: libc::CLONE_NEWIPC,
        proc_name: "ipc",
    },
    Ns {
        name: "mnt",
        flag: libc::CLONE_NEWNS,
        proc_name: "mnt",
    },
    Ns {
        name: "net",
        flag: libc::CLONE_NEWNET,
        proc_name: "net",
    },
    Ns {
        name: "pid",
        flag: libc::CLONE_NEWPID,
        proc_name: "pid",
    },
    Ns {
        name: "time",
        flag: libc::CLONE_NEWTIME,
        proc_name: "time",
    },
    Ns {
        name: "user",
        flag: libc::CLONE_NEWUSER,
        proc_name: "user",
    },
    Ns {
        name: "uts",
        flag: libc::CLONE_NEWUTS,
        proc_name: "uts",
    },
];

pub fn ns_by_name(name: &str) -> Option<Ns> {
    NAMESPACES.iter().copied().find(|n| n.name == name)
}

pub(crate) fn err(config: &Config, phase: Phase, key: &str, message: impl Into<String>) -> Error {
    let origin = config.origin_of(key).cloned().unwrap_or_else(Origin::api);
    Error::Hook {
        phase,
        owner: "core",
        key: Some(if origin.line == 0 {
            key.to_string()
        } else {
            format!("{key} ({origin})")
        }),
        message: message.into(),
    }
}

/// A namespace to join instead of creating (`lxc.namespace.share.<ns>`).
#[derive(Debug, Clone)]
pub struct Share {
    pub ns: Ns,
    /// A /proc/PID/ns/<ns> path or any namespace file.
    pub path: PathBuf,
}

/// Which namespaces the start creates and which it joins.
#[derive(Debug, Clone)]
pub struct NsPlan {
    /// CLONE_NEW* flags for clone3 (cgroup and time are unshared later, in the child).
    pub clone_flags: i32,
    pub new_cgroup: bool,
    pub share: Vec<Share>,
}

impl NsPlan {
    pub fn has(&self, flag: i32) -> bool {
        self.clone_flags & flag != 0
    }
}

/// Compute the namespaces as LXC does: by default every namespace but time (user only with an
/// idmap, net unless the network is the host's); `lxc.namespace.clone` replaces the set,
/// `lxc.namespace.keep` removes from it, `lxc.namespace.share.*` joins another's.
pub fn namespaces(
    config: &Config,
    lxcpath: &std::path::Path,
    share_net_host: bool,
) -> Result<NsPlan, Error> {
    let mut flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    if !share_net_host {
        flags |= libc::CLONE_NEWNET;
    }
    if config.all("lxc.idmap").next().is_some() {
        flags |= libc::CLONE_NEWUSER;
    }
    if let Some(v) = config.last("lxc.namespace.clone") {
        flags = 0;
        for name in v.split_whitespace() {
            let ns = ns_by_name(name).ok_or_else(|| {
                err(
                    config,
                    Phase::Load,
                    "lxc.namespace.clone",
                    format!("unknown namespace {name:?}"),
                )
            })?;
            flags |= ns.flag;
        }
    }
    if let Some(v) = config.last("lxc.namespace.keep") {
        for name in v.split_whitespace() {
            let ns = ns_by_name(name).ok_or_else(|| {
                err(
                    config,
                    Phase::Load,
                    "lxc.namespace.keep",
                    format!("unknown namespace {name:?}"),
                )
            })?;
            flags &= !ns.flag;
        }
    }
    let mut share = Vec::new();
    for e in config.with_prefix("lxc.namespace.share.") {
        let name = &e.key["lxc.namespace.share.".len()..];
        let ns = ns_by_name(name).ok_or_else(|| {
            err(
                config,
                Phase::Load,
                &e.key,
                format!("unknown namespace {name:?}"),
            )
        })?;
        if ns.flag == libc::CLONE_NEWPID || ns.flag == libc::CLONE_NEWTIME {
            return Err(err(
                config,
                Phase::Load,
                &e.key,
                "sharing a pid or time namespace is not supported by lxc-rs",
            ));
        }
        let path = resolve_share(&e.value, ns, lxcpath)
            .map_err(|m| err(config, Phase::Load, &e.key, m))?;
        flags &= !ns.flag;
        share.push(Share { ns, path });
    }
    let new_cgroup = flags & libc::CLONE_NEWCGROUP != 0;
    Ok(NsPlan {
        clone_flags: flags & !(libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME),
        new_cgroup,
        share,
    })
}

/// A share target is a path, a pid, or the name of a running container in the same lxcpath.
fn resolve_share(value: &str, ns: Ns, lxcpath: &std::path::Path) -> Result<PathBuf, String> {
    if value.starts_with('/') {
        return Ok(PathBuf::from(value));
    }
    if let Ok(pid) = value.parse::<u32>() {
        return Ok(PathBuf::from(format!("/proc/{pid}/ns/{}", ns.proc_name)));
    }
    match crate::commands::call(
        lxcpath,
        value,
        &crate::commands::Request::GetInitPid,
        std::time::Duration::from_secs(5),
    ) {
        Ok((crate::commands::Response::InitPid(pid), _)) => {
            Ok(PathBuf::from(format!("/proc/{pid}/ns/{}", ns.proc_name)))
        }
        Ok((other, _)) => Err(format!("container {value:?} answered {other:?}")),
        Err(e) => Err(format!("container {value:?} is not running: {e}")),
    }
}

/// One `lxc.idmap` line: `u|g nsid hostid range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub uid: bool,
    pub ns_id: u64,
    pub host_id: u64,
    pub range: u64,
}

pub fn idmaps(config: &Config) -> Result<Vec<IdMap>, Error> {
    config
        .all("lxc.idmap")
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let parse = |s: &str| s.parse::<u64>().ok();
            match f.as_slice() {
                [t @ ("u" | "g"), a, b, c] => match (parse(a), parse(b), parse(c)) {
                    (Some(ns_id), Some(host_id), Some(range)) => Ok(IdMap {
                        uid: *t == "u",
                        ns_id,
                        host_id,
                        range,
                    }),
                    _ => Err(line),
                },
                _ => Err(line),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|line| {
            err(
                config,
                Phase::Load,
                "lxc.idmap",
                format!("{line:?}: expected `u|g NSID HOSTID RANGE`"),
            )
        })
}

/// The host id that container id `id` maps to (identity without a user namespace).
pub fn map_to_host(maps: &[IdMap], uid: bool, id: u64) -> Option<u64> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter()
        .filter(|m| m.uid == uid)
        .find(|m| id >= m.ns_id && id < m.ns_id + m.range)
        .map(|m| m.host_id + (id - m.ns_id))
}

/// Signal numbers by LXC's names: `SIGKILL`, `KILL`, `9`, and `SIGRTMIN+N`.
pub fn signal(value: &str) -> Option<i32> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i32>() {
        return (1..=libc::SIGRTMAX()).contains(&n).then_some(n);
    }
    let upper = v.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rest) = name.strip_prefix("RTMIN+") {
        return rest
            .parse::<i32>()
            .ok()
            .map(|n| libc::SIGRTMIN() + n)
            .filter(|s| *s <= libc::SIGRTMAX());
    }
    if let Some(rest) = name.strip_prefix("RTMAX-") {
        return rest
            .parse::<i32>()
            .ok()
            .map(|n| libc::SIGRTMAX() - n)
            .filter(|s| *s >= libc::SIGRTMIN());
    }
    SIGNALS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `lxc.signal.halt` (default SIGPWR), `.reboot` (SIGINT), `.stop` (SIGKILL).
pub fn configured_signal(config: &Config, which: &str) -> i32 {
    let (key, default) = match which {
        "halt" => ("lxc.signal.halt", libc::SIGPWR),
        "reboot" => ("lxc.signal.reboot", libc::SIGINT),
        _ => ("lxc.signal.stop", libc::SIGKILL),
    };
    config.last(key).and_then(signal).unwrap_or(default)
}

/// Capability names as LXC writes them (`sys_admin`), with their numbers.
pub const CAPS: &[(&str, u32)] = &[
    ("chown", 0),
    ("dac_override", 1),
    ("dac_read_search", 2),
    ("fowner", 3),
    ("fsetid", 4),
    ("kill", 5),
    ("setgid", 6),
    ("setuid", 7),
    ("setpcap", 8),
    ("linux_immutable", 9),
    ("net_bind_service", 10),
    ("net_broadcast", 11),
    ("net_admin", 12),
    ("net_raw", 13),
    ("ipc_lock", 14),
    ("ipc_owner", 15),
    ("sys_module", 16),
    ("sys_rawio", 17),
    ("sys_chroot", 18),
    ("sys_ptrace", 19),
    ("sys_pacct", 20),
    ("sys_admin", 21),
    ("sys_boot", 22),
    ("sys_nice", 23),
    ("sys_resource", 24),
    ("sys_time", 25),
    ("sys_tty_config", 26),
    ("mknod", 27),
    ("lease", 28),
    ("audit_write", 29),
    ("audit_control", 30),
    ("setfcap", 31),
    ("mac_override", 32),
    ("mac_admin", 33),
    ("syslog", 34),
    ("wake_alarm", 35),
    ("block_suspend", 36),
    ("audit_read", 37),
    ("perfmon", 38),
    ("bpf", 39),
    ("checkpoint_restore", 40),
];

/// A capability by LXC's name (case-insensitive, optional `CAP_` prefix) or number.
pub fn cap_number(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Some(n);
    }
    let lower = name.to_ascii_lowercase();
    let n = lower.strip_prefix("cap_").unwrap_or(&lower);
    CAPS.iter().find(|(c, _)| *c == n).map(|(_, v)| *v)
}

/// The capabilities the container keeps, as a bit mask over 0..=last_cap.
pub fn cap_mask(config: &Config, last_cap: u32) -> Result<u64, Error> {
    let all: u64 = if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    };
    let words = |key: &'static str| -> Result<Vec<u32>, Error> {
        let mut out = Vec::new();
        for v in config.all(key) {
            for w in v.split_whitespace() {
                if key == "lxc.cap.keep" && w == "none" {
                    continue;
                }
                let n = cap_number(w).ok_or_else(|| {
                    err(
                        config,
                        Phase::ChildFinal,
                        key,
                        format!("unknown capability {w:?}"),
                    )
                })?;
                out.push(n);
            }
        }
        Ok(out)
    };
    let keep = words("lxc.cap.keep")?;
    if config.all("lxc.cap.keep").next().is_some() {
        return Ok(keep
            .iter()
            .filter(|c| **c <= last_cap)
            .fold(0u64, |m, c| m | (1 << c)));
    }
    let drop = words("lxc.cap.drop")?;
    Ok(drop
        .iter()
        .filter(|c| **c <= last_cap)
        .fold(all, |m, c| m & !(1 << c)))
}

/// `lxc.prlimit.<name> = soft[:hard]`, "unlimited" allowed.
pub fn prlimits(config: &Config) -> Result<Vec<(i32, u64, u64)>, Error> {
    let mut out = Vec::new();
    for e in config.with_prefix("lxc.prlimit.") {
        let name = &e.key["lxc.prlimit.".len()..];
        let res = rlimit_by_name(name).ok_or_else(|| {
            err(
                config,
                Phase::ChildFinal,
                &e.key,
                format!("unknown resource {name:?}"),
            )
        })?;
        let lim = |s: &str| -> Option<u64> {
            if s == "unlimited" {
                Some(libc::RLIM64_INFINITY)
            } else {
                s.parse().ok()
            }
        };
        let (soft, hard) = match e.value.split_once(':') {
            Some((s, h)) => (lim(s), lim(h)),
            None => (lim(&e.value), lim(&e.value)),
        };
        match (soft, hard) {
            (Some(s), Some(h)) => out.push((res, s, h)),
            _ => {
                return Err(err(
                    config,
                    Phase::ChildFinal,
                    &e.key,
                    format!("{:?}: expected SOFT[:HARD] numbers or unlimited", e.value),
                ))
            }
        }
    }
    Ok(out)
}

fn rlimit_by_name(name: &str) -> Option<i32> {
    let n = name.to_ascii_lowercase();
    let n = n.strip_prefix("rlimit_").unwrap_or(&n);
    Some(match n {
        "as" => libc::RLIMIT_AS,
        "core" => libc::RLIMIT_CORE,
        "cpu" => libc::RLIMIT_CPU,
        "data" => libc::RLIMIT_DATA,
        "fsize" => libc::RLIMIT_FSIZE,
        "locks" => libc::RLIMIT_LOCKS,
        "memlock" => libc::RLIMIT_MEMLOCK,
        "msgqueue" => libc::RLIMIT_MSGQUEUE,
        "nice" => libc::RLIMIT_NICE,
        "nofile" => libc::RLIMIT_NOFILE,
        "nproc" => libc::RLIMIT_NPROC,
        "rss" => libc::RLIMIT_RSS,
        "rtprio" => libc::RLIMIT_RTPRIO,
        "rttime" => libc::RLIMIT_RTTIME,
        "sigpending" => libc::RLIMIT_SIGPENDING,
        "stack" => libc::RLIMIT_STACK,
        _ => return None,
    } as i32)
}

/// The environment init starts with: LXC clears the caller's and sets `container=lxc` plus
/// `lxc.environment` (a bare `NAME` takes the caller's value).
pub fn environment(config: &Config) -> Vec<String> {
    let mut env = vec!["container=lxc".to_string()];
    for v in config.all("lxc.environment") {
        let entry = match v.split_once('=') {
            Some(_) => v.to_string(),
            None => match std::env::var(v) {
                Ok(val) => format!("{v}={val}"),
                Err(_) => continue,
            },
        };
        let name = entry.split('=').next().unwrap_or_default().to_string();
        env.retain(|e| e.split('=').next() != Some(name.as_str()));
        env.push(entry);
    }
    env
}

/// Split a command line the way LXC splits `lxc.init.cmd` / `lxc.execute.cmd`: on blanks.
pub fn split_cmd(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}
