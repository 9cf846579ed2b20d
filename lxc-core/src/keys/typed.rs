//! Typed views of the core's keys for the start code: what LXC's in-memory `lxc_conf` would
//! hold after reading the config, so the lifecycle code never re-parses printed values.

use crate::config::Config;

use super::ops;
use super::parse::{self, IdMap, Personality};

/// The personality `lxc.arch` selects, if set.
pub fn personality(config: &Config) -> Option<Personality> {
    config.last("lxc.arch").and_then(|v| match v {
        "i686" => Some(Personality::Linux32),
        "x86_64" => Some(Personality::Linux),
        _ => None,
    })
}

/// The capability list of `lxc.cap.drop` / `lxc.cap.keep`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps {
    /// The list names the capabilities to keep (all others are dropped).
    pub keep: bool,
    /// Capability numbers, in the order written.
    pub caps: Vec<u32>,
}

pub fn caps(config: &Config) -> Caps {
    let (keep, names) = ops::cap_state(config);
    Caps {
        keep,
        caps: names.into_iter().filter_map(parse::cap).collect(),
    }
}

/// Every `lxc.idmap`, in order.
pub fn idmaps(config: &Config) -> Vec<IdMap> {
    config
        .all("lxc.idmap")
        .filter_map(parse::idmap_entry)
        .collect()
}

/// The clone flags of `lxc.namespace.clone` (0 when unset).
pub fn namespaces_clone(config: &Config) -> i32 {
    ops::namespace_flags(config, "lxc.namespace.clone")
}

/// The clone flags of `lxc.namespace.keep` (0 when unset).
pub fn namespaces_keep(config: &Config) -> i32 {
    ops::namespace_flags(config, "lxc.namespace.keep")
}

/// `lxc.namespace.share.<ns>` that are set: (namespace name, what to join).
pub fn namespace_shares(config: &Config) -> Vec<(&'static str, String)> {
    parse::NAMESPACES
        .iter()
        .filter_map(|(ns, _)| {
            let v = config.last(&format!("lxc.namespace.share.{ns}"))?;
            (!v.is_empty()).then(|| (*ns, v.to_string()))
        })
        .collect()
}

/// One `lxc.prlimit.<resource>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The name as written after `lxc.prlimit.`; [`parse::rlimit_resource`] maps it.
    pub resource: String,
    pub soft: u64,
    pub hard: u64,
}

/// Every limit, in LXC's order.
pub fn prlimits(config: &Config) -> Vec<Limit> {
    ops::ordered_subkeys(config, "lxc.prlimit.")
        .into_iter()
        .filter_map(|(res, v)| {
            let (soft, hard) = parse::prlimit_value(v)?;
            Some(Limit {
                resource: res.to_string(),
                soft,
                hard,
            })
        })
        .collect()
}

/// Every `lxc.sysctl.<name>` as (name, value), in LXC's order.
pub fn sysctls(config: &Config) -> Vec<(String, String)> {
    ops::ordered_subkeys(config, "lxc.sysctl.")
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every `lxc.proc.<file>` as (file, value), in order (a file may come twice).
pub fn procs(config: &Config) -> Vec<(String, String)> {
    config
        .with_prefix("lxc.proc.")
        .map(|e| (e.key["lxc.proc.".len()..].to_string(), e.value.clone()))
        .collect()
}

/// The programs of one hook type (`pre-start`, `mount`, ...), in order.
pub fn hooks(config: &Config, hook_type: &str) -> Vec<String> {
    config
        .all(&format!("lxc.hook.{hook_type}"))
        .map(str::to_string)
        .collect()
}

/// `lxc.environment` as (name, value), in order.
pub fn environment(config: &Config) -> Vec<(String, String)> {
    config
        .all("lxc.environment")
        .map(|v| match v.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (v.to_string(), String::new()),
        })
        .collect()
}

/// `lxc.init.groups`, in order.
pub fn init_groups(config: &Config) -> Vec<u32> {
    config
        .all("lxc.init.groups")
        .flat_map(|v| parse::tokens(v, ","))
        .filter_map(|g| g.parse::<i32>().ok().map(|g| g as u32))
        .collect()
}

/// A number-valued key as the unsigned value LXC holds (its default when unset). Values LXC
/// prints with `%d` (4294967295 as -1) are read back to the unsigned number.
pub fn number(config: &Config, key: &str) -> u32 {
    let v = config.get(key).unwrap_or_default();
    v.parse::<u32>()
        .ok()
        .or_else(|| v.parse::<i32>().ok().map(|n| n as u32))
        .unwrap_or(0)
}

/// A 0/1 key as a bool (its default when unset).
pub fn flag(config: &Config, key: &str) -> bool {
    number(config, key) != 0
}

/// A signal key (`lxc.signal.*`, `lxc.monitor.signal.pdeath`): `None` when 0 (not set, or set
/// to "no signal").
pub fn signal(config: &Config, key: &str) -> Option<i32> {
    config
        .get(key)
        .unwrap_or_default()
        .parse::<i32>()
        .ok()
        .filter(|&n| n != 0)
}

/// A string-valued key: `None` when unset or empty.
pub fn string(config: &Config, key: &str) -> Option<String> {
    config
        .last(key)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}
