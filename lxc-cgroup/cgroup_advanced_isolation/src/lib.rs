//! API extension `cgroup_advanced_isolation`.
//!
//! The registration below is everything this crate does to a container: the keys it owns,
//! the phases it hooks and the command-socket requests it answers.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP_ADVANCED_ISOLATION: Registration = Registration {
    name: "cgroup_advanced_isolation",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};
