//! API extension `mount_injection_file`: a single file (not only a directory) as the source of
//! a bind mount injected into a running container, made on an empty file target, also in a
//! container with a user namespace, where the target is made by the container's root (LXC
//! 3.1's fix of its mount API, lxc/lxc#2757, which LXD checks before injecting files).
//!
//! The registration below is everything this crate does: it names the extension. The work is
//! mount_injection's (`lxc_ext_mount_injection::inject`), which refuses a file source as "not
//! in this build" unless this name is registered; linking this crate links mount_injection
//! too, as the facade's feature turns it on.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
// A file injection is a mount injection: the extension is nothing without it.
use lxc_ext_mount_injection as _;

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static MOUNT_INJECTION_FILE: Registration = Registration {
    name: lxc_ext_mount_injection::inject::FILE_EXTENSION,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};
