//! API extension `cgroup_advanced_isolation`: the monitor and the container in cgroups of their
//! own (`lxc.cgroup.dir.monitor`, `lxc.cgroup.dir.container`), and the container's processes in
//! a cgroup below the one its limits are written to (`lxc.cgroup.dir.container.inner`), so a
//! privileged container cannot raise its own limits.
//!
//! The registration below is everything this crate does to a container: it owns the three
//! keys. Acting on them is part of creating the cgroups, which the cgroup driver (lxc-cgroup,
//! `CgroupConfig::from_config` and `monitor_cgroup`) does; the driver reads the keys only when
//! this extension is linked in, and without it the keys are "not supported by this build".

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::config::Config;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyDef, KeyPattern, Registration, ValueKind, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP_ADVANCED_ISOLATION: Registration = Registration {
    name: "cgroup_advanced_isolation",
    kind: EntryKind::ApiExtension,
    keys: &[
        key(
            "lxc.cgroup.dir.monitor",
            cgroup_dir,
            "the cgroup of the monitor, relative to the cgroup root",
        ),
        key(
            "lxc.cgroup.dir.container.inner",
            cgroup_inner_dir,
            "a cgroup below lxc.cgroup.dir.container the container's processes run in",
        ),
        key(
            "lxc.cgroup.dir.container",
            cgroup_dir,
            "the cgroup of the container, relative to the cgroup root",
        ),
    ],
    hooks: &[],
    commands: &[],
};

const fn key(name: &'static str, parse: lxc_core::registry::ParseFn, doc: &'static str) -> KeyDef {
    KeyDef {
        pattern: KeyPattern::Exact(name),
        kind: ValueKind::Single,
        parse,
        get: Some(get_dir),
        clear: None,
        doc,
    }
}

/// LXC keeps these as `char *` and prints an unset one with `%s`: `(null)`.
fn get_dir(config: &Config, key: &str) -> String {
    config.last(key).unwrap_or("(null)").to_string()
}

/// `lxc.cgroup.dir.monitor`, `.dir.container`: a path relative to the cgroup root that does not
/// walk upwards (LXC refuses any `..` in it), simplified like LXC's path keys.
/// The `lxc.cgroup.dir` rule of the cgroup driver, which owns that key.
pub use lxc_cgroup::keys::cgroup_dir;

/// `lxc.cgroup.dir.container.inner`: a single directory name.
pub fn cgroup_inner_dir(_key: &str, value: &str) -> Result<String, String> {
    if value.contains('/') || value == "." || value == ".." {
        return Err("a single directory name (no '/', not . or ..)".into());
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_values() {
        assert_eq!(cgroup_dir("k", "a//b/").as_deref(), Ok("a/b"));
        assert!(cgroup_dir("k", "/abs").is_err());
        assert!(cgroup_dir("k", "a/../b").is_err());
        assert_eq!(cgroup_inner_dir("k", "inner").as_deref(), Ok("inner"));
        for bad in ["a/b", "/x", ".", ".."] {
            assert!(cgroup_inner_dir("k", bad).is_err(), "{bad}");
        }
    }
}
