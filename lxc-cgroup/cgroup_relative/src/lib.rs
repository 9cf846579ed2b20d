//! API extension `cgroup_relative`: `lxc.cgroup.relative = 1` places the container's cgroups
//! below the cgroup of the process that starts it rather than below the hierarchy's root.
//!
//! LXC lists this name in its code's extension list, not in its document. The key is all this
//! crate owns: the driver (lxc-cgroup's `CgroupConfig::from_config`) reads it, and reads it as
//! unset (`0`) when this extension is not linked in, where the key cannot be set at all.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::config::Config;
use lxc_core::keys::parse::bool01;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{last_or, EntryKind, KeyDef, Registration, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP_RELATIVE: Registration = Registration {
    name: "cgroup_relative",
    kind: EntryKind::ApiExtension,
    keys: &[KeyDef::single(
        "lxc.cgroup.relative",
        bool01,
        get_relative,
        "1: create the container's cgroups below the caller's own cgroup",
    )],
    hooks: &[],
    commands: &[],
};

/// LXC keeps the key as an int and prints an unset one as `0`.
fn get_relative(config: &Config, key: &str) -> String {
    last_or(config, key, "0")
}
