//! API extension `cgroup2_auto_mounting`: the `lxc.mount.auto` tokens `cgroup2`, `cgroup2:ro`,
//! `cgroup2:force` and `cgroup2:ro:force`, which mount a pure cgroup2 layout into the container
//! (its own subtree, read-write or read-only) even on a host with a hybrid layout.
//!
//! The registration below is everything this crate does: it names the extension. The grammar
//! of `lxc.mount.auto` is one table in lxc-mount (`auto::parse_token`) and mounting is part of
//! lxc-mount's automount pass; the key's parser accepts the cgroup2 tokens only when this
//! extension is linked in, and refuses them as "not in this build" otherwise.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP2_AUTO_MOUNTING: Registration = Registration {
    name: lxc_mount::auto::CGROUP2_AUTO_MOUNTING,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};
