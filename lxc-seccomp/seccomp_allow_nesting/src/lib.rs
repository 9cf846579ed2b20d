//! API extension `seccomp_allow_nesting`: `lxc.seccomp.allow_nesting = 1` makes a container
//! that is started by a process already under a seccomp filter (a container inside a confined
//! container) load its own policy on top. Without it LXC leaves such a policy out, and so does
//! lxc-seccomp (with a warning).
//!
//! The registration below is everything this crate does: the key, and its answer to
//! lxc-seccomp's nesting question.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::config::Config;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyDef, Registration, REGISTRY};
use lxc_seccomp::NESTING;

/// The key, as LXC names it.
pub const KEY: &str = "lxc.seccomp.allow_nesting";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SECCOMP_ALLOW_NESTING: Registration = Registration {
    name: "seccomp_allow_nesting",
    kind: EntryKind::ApiExtension,
    keys: &[KeyDef::single(
        KEY,
        parse,
        get,
        "1: load the container's seccomp policy even when the starting process is confined",
    )],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(NESTING)]
#[linkme(crate = lxc_core::linkme)]
static ALLOWS: fn(&Config) -> bool = allows;

/// LXC's setter: an unsigned integer, 0 or 1.
fn parse(_key: &str, value: &str) -> Result<String, String> {
    match lxc_core::keys::parse::safe_uint(value) {
        Some(n @ (0 | 1)) => Ok(n.to_string()),
        _ => Err("0 or 1".into()),
    }
}

fn get(config: &Config, key: &str) -> String {
    lxc_core::registry::last_or(config, key, "0")
}

/// Does this config load its policy on top of one already in force?
pub fn allows(config: &Config) -> bool {
    config.last(KEY) == Some("1")
}
