//! API extension `time_namespace`.
//!
//! The registration below is everything this crate does to a container: the keys it owns,
//! the phases it hooks and the command-socket requests it answers.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static TIME_NAMESPACE: Registration = Registration {
    name: "time_namespace",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};
