//! Typed views of the config that the start code needs. Values were validated when they were
//! set; what can still go wrong here (a name that only means something at start) is reported
//! with the key and where it was written.

use std::path::PathBuf;

use crate::config::Config;
use crate::error::{Error, Origin};
use crate::keys::typed;
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
    /// CLONE_NEW* flags for clone3 (cgroup is unshared later, in the child).
    pub clone_flags: i32,
    /// Bring `lo` up in a new network namespace (LXC does for an `empty` network with
    /// `flags = up`).
    pub loopback_up: bool,
    pub new_cgroup: bool,
    pub share: Vec<Share>,
    /// CLONE_NEW* flags of namespaces this start makes that are not in `clone_flags`: a
    /// subsystem's child hook creates them (see [`crate::phase::NsRequest`]).
    pub in_child: i32,
}

impl NsPlan {
    pub fn has(&self, flag: i32) -> bool {
        self.clone_flags & flag != 0
    }
}

/// Compute the namespaces as LXC does: by default every namespace but time (user only with an
/// idmap, net unless the network is the host's), plus what subsystems asked for (`request`);
/// `lxc.namespace.clone` replaces the set, `lxc.namespace.keep` removes from it,
/// `lxc.namespace.share.*` joins another's.
pub fn namespaces(
    config: &Config,
    lxcpath: &std::path::Path,
    share_net_host: bool,
    request: crate::phase::NsRequest,
) -> Result<NsPlan, Error> {
    let mut flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP
        | request.default;
    if !share_net_host {
        flags |= libc::CLONE_NEWNET;
    }
    if !typed::idmaps(config).is_empty() {
        flags |= libc::CLONE_NEWUSER;
    }
    let clone = typed::namespaces_clone(config);
    if clone != 0 {
        flags = clone;
    }
    flags &= !typed::namespaces_keep(config);
    let mut share = Vec::new();
    for (name, value) in typed::namespace_shares(config) {
        let key = format!("lxc.namespace.share.{name}");
        let ns = ns_by_name(name).ok_or_else(|| {
            err(
                config,
                Phase::Load,
                &key,
                format!("unknown namespace {name:?}"),
            )
        })?;
        if ns.flag == libc::CLONE_NEWPID || ns.flag == libc::CLONE_NEWTIME {
            return Err(err(
                config,
                Phase::Load,
                &key,
                "sharing a pid or time namespace is not supported by lxc-rs",
            ));
        }
        let path =
            resolve_share(&value, ns, lxcpath).map_err(|m| err(config, Phase::Load, &key, m))?;
        flags &= !ns.flag;
        share.push(Share { ns, path });
    }
    let new_cgroup = flags & libc::CLONE_NEWCGROUP != 0;
    let in_child = flags & request.in_child & !libc::CLONE_NEWCGROUP;
    Ok(NsPlan {
        // A time namespace is created by clone3 itself, with zero offsets, unless a subsystem
        // makes it in the child (the time_namespace extension, to write lxc.time.offset.*
        // before any process enters it). The cgroup namespace is unshared later, after the
        // cgroup attach.
        clone_flags: flags & !libc::CLONE_NEWCGROUP & !in_child,
        loopback_up: false,
        new_cgroup,
        share,
        in_child,
    })
}

/// A share target is a path, a pid, or the name of a running container in the same lxcpath.
fn resolve_share(value: &str, ns: Ns, lxcpath: &std::path::Path) -> Result<PathBuf, String> {
    if value.starts_with('/') {
        return Ok(crate::config::bytes::to_path(value));
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
pub use crate::keys::parse::IdMap;

/// Every `lxc.idmap` (validated when set).
pub fn idmaps(config: &Config) -> Vec<IdMap> {
    typed::idmaps(config)
}

/// The host id that container id `id` maps to (identity without a user namespace).
pub fn map_to_host(maps: &[IdMap], uid: bool, id: u64) -> Option<u64> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter()
        .filter(|m| m.uid == uid)
        .find(|m| id >= m.nsid && id < m.nsid + m.range)
        .map(|m| m.hostid + (id - m.nsid))
}

/// `lxc.signal.halt` (default SIGPWR), `.reboot` (SIGINT), `.stop` (SIGKILL).
pub fn configured_signal(config: &Config, which: &str) -> i32 {
    let (key, default) = match which {
        "halt" => ("lxc.signal.halt", libc::SIGPWR),
        "reboot" => ("lxc.signal.reboot", libc::SIGINT),
        _ => ("lxc.signal.stop", libc::SIGKILL),
    };
    typed::signal(config, key).unwrap_or(default)
}

/// The capabilities the container keeps, as a bit mask over 0..=last_cap.
pub fn cap_mask(config: &Config, last_cap: u32) -> u64 {
    let all: u64 = if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    };
    let caps = typed::caps(config);
    let listed = caps
        .caps
        .iter()
        .filter(|c| **c <= last_cap)
        .fold(0u64, |m, c| m | (1 << c));
    if caps.keep {
        listed
    } else {
        all & !listed
    }
}

/// One `lxc.prlimit.<resource>`: its key (for errors), resource number and limits.
pub struct Prlimit {
    pub key: String,
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

/// `lxc.prlimit.*`.
pub fn prlimits(config: &Config) -> Result<Vec<Prlimit>, Error> {
    typed::prlimits(config)
        .into_iter()
        .map(|l| {
            let key = format!("lxc.prlimit.{}", l.resource);
            match crate::keys::parse::rlimit_resource(&l.resource) {
                Some(resource) => Ok(Prlimit {
                    key,
                    resource,
                    soft: l.soft,
                    hard: l.hard,
                }),
                None => Err(err(config, Phase::ChildFinal, &key, "unknown resource")),
            }
        })
        .collect()
}

/// Who a variable of an environment key reaches (`lxc.environment` reaches both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvScope {
    /// Init, and the processes `attach` starts in the container.
    Init,
    /// The hook scripts the container's first process runs (pre-mount, mount, autodev, start).
    Hooks,
}

/// A config key of `NAME=VALUE` values that reach only `scope`, applied after
/// `lxc.environment` (so the narrower key wins a name both set). Owned by the crate that
/// registers the key (environment_runtime_hooks: `lxc.environment.runtime`, `.hooks`).
pub struct EnvKey {
    pub key: &'static str,
    pub scope: EnvScope,
}

/// The environment keys linked in besides `lxc.environment`.
#[linkme::distributed_slice]
pub static ENV_KEYS: [EnvKey];

/// `lxc.environment`, then the linked keys of `scope`, as `NAME=VALUE` in the order they
/// apply (a bare `NAME` takes the caller's value; a later entry replaces an earlier one).
pub fn environment_entries(config: &Config, scope: EnvScope) -> Vec<String> {
    let mut keys: Vec<&str> = ENV_KEYS
        .iter()
        .filter(|k| k.scope == scope)
        .map(|k| k.key)
        .collect();
    keys.sort_unstable();
    let mut env: Vec<String> = Vec::new();
    for key in std::iter::once("lxc.environment").chain(keys) {
        for value in config.all(key) {
            let entry = match value.split_once('=') {
                Some(_) => value.to_string(),
                // The caller's value as its bytes (see `config::bytes`).
                None => match std::env::var_os(crate::config::bytes::to_os(value)) {
                    Some(val) => format!("{value}={}", crate::config::bytes::from_os(&val)),
                    None => continue,
                },
            };
            let name = entry.split('=').next().unwrap_or_default().to_string();
            env.retain(|e| e.split('=').next() != Some(name.as_str()));
            env.push(entry);
        }
    }
    env
}

/// The environment init starts with: LXC clears the caller's and sets `container=lxc` plus
/// `lxc.environment` and the init-only keys (`lxc.environment.runtime`).
pub fn environment(config: &Config) -> Vec<String> {
    let mut env = vec!["container=lxc".to_string()];
    for entry in environment_entries(config, EnvScope::Init) {
        let name = entry.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(name));
        env.push(entry);
    }
    env
}

/// Split a command line the way LXC splits `lxc.init.cmd` / `lxc.execute.cmd`: on blanks.
pub fn split_cmd(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}
