//! API extension `seccomp_proxy_send_notify_fd`: the seccomp notify proxy gets the listener
//! too.
//!
//! LXC 5.0 sends three fds with every message to the proxy: the target's `/proc/PID`
//! directory, its `/proc/PID/mem`, and the listener the notification came from (the container's,
//! or an attached process's), in that order. With the listener the proxy can answer a
//! notification itself later, or add fds to the target (SECCOMP_IOCTL_NOTIF_ADDFD). Without
//! this extension the proxy gets the first two only.
//!
//! The registration below is everything this crate does to a container: it owns no key, hook
//! or request; it tells seccomp_notify's forwarder to add the listener
//! ([`lxc_ext_seccomp_notify::PROXY_GETS_LISTENER`]).

#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_ext_seccomp_notify::PROXY_GETS_LISTENER;

/// The registration's name.
pub const NAME: &str = "seccomp_proxy_send_notify_fd";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SECCOMP_PROXY_SEND_NOTIFY_FD: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

/// The listener goes to the proxy as the third fd of every message.
#[distributed_slice(PROXY_GETS_LISTENER)]
#[linkme(crate = lxc_core::linkme)]
static SENDS_LISTENER: &str = NAME;
