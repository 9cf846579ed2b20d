//! API extension `init_pidfd`: a pidfd for a running container's init, obtained from its
//! monitor over the command socket.

#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_core::{Container, Error};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static INIT_PIDFD: Registration = Registration {
    name: "init_pidfd",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

/// LXC's `init_pidfd()`: a pidfd (close-on-exec) for the container's init.
pub fn init_pidfd(c: &Container) -> Result<OwnedFd, Error> {
    c.init_pidfd()
}
