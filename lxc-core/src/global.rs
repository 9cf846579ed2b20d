//! LXC's global configuration (`lxc.lxcpath` and friends), read from the system's lxc.conf,
//! overridable from the environment and the command line.

use std::path::{Path, PathBuf};

use crate::config::{split_line, ParsedLine};

/// LXC's default lxcpath for root.
pub const DEFAULT_LXCPATH: &str = "/var/lib/lxc";
/// LXC's system-wide global config file.
pub const GLOBAL_CONFIG: &str = "/etc/lxc/lxc.conf";
/// Environment variable that overrides `lxc.lxcpath` (below `-P`, above the global file).
pub const LXCPATH_ENV: &str = "LXC_LXCPATH";
/// Environment variable naming another global config file (tests use it).
pub const GLOBAL_CONFIG_ENV: &str = "LXC_GLOBAL_CONF";

/// LXC's global keys and their defaults for root, as `lxc-config -l` lists them.
pub const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("lxc.default_config", "/etc/lxc/default.conf"),
    ("lxc.lxcpath", DEFAULT_LXCPATH),
    ("lxc.bdev.lvm.vg", "lxc"),
    ("lxc.bdev.lvm.thin_pool", "lxc"),
    ("lxc.bdev.zfs.root", "lxc"),
    ("lxc.cgroup.use", ""),
    ("lxc.cgroup.pattern", ""),
];

fn global_file() -> PathBuf {
    std::env::var_os(GLOBAL_CONFIG_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(GLOBAL_CONFIG))
}

/// `lxc_get_global_config_item`: the value from the global file, else the default.
/// Returns `None` for a key that is not a global key.
pub fn get_global_config_item(key: &str) -> Option<String> {
    let default = GLOBAL_KEYS.iter().find(|(k, _)| *k == key)?.1;
    if key == "lxc.lxcpath" {
        if let Some(p) = std::env::var_os(LXCPATH_ENV) {
            return Some(p.to_string_lossy().into_owned());
        }
    }
    Some(read_global(&global_file(), key).unwrap_or_else(|| default.to_string()))
}

fn read_global(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter_map(|l| match split_line(l) {
            ParsedLine::Setting { key: k, value } if k == key => Some(value.to_string()),
            _ => None,
        })
        .next_back()
}

/// The lxcpath to use: the one given (`-P`), else `$LXC_LXCPATH`, else the global config's
/// `lxc.lxcpath`, else `/var/lib/lxc`.
pub fn default_lxcpath() -> PathBuf {
    get_global_config_item("lxc.lxcpath")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LXCPATH))
}
