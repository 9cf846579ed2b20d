//! API extension `seccomp_notify_fd_active`: the seccomp listener of a running container,
//! from its monitor, as LXC's `seccomp_notify_fd_active()` (`LXC_CMD_GET_SECCOMP_NOTIFY_FD`).
//!
//! The monitor keeps the listener of a policy with `notify` rules (seccomp_notify's
//! [`NotifyListener`]); the `seccomp_notify_fd` request returns a copy to root or to the
//! monitor's own user. The copy shares the listener's open file (non-blocking, as LXC's):
//! whoever holds it can read notifications and answer them, next to a proxy the monitor may
//! serve.
//!
//! The registration below is everything this crate does to a container.

#![forbid(unsafe_code)]

use std::os::fd::OwnedFd;

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{CommandCtx, CommandError};
use lxc_core::registry::{CommandDef, EntryKind, Registration, REGISTRY};
use lxc_core::{Container, Error};
use lxc_ext_seccomp_notify::NotifyListener;

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SECCOMP_NOTIFY_FD_ACTIVE: Registration = Registration {
    name: "seccomp_notify_fd_active",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[CommandDef {
        name: COMMAND,
        handler: give_listener,
    }],
};

/// The request's name on the command socket (LXC: `get_seccomp_notify_fd`).
pub const COMMAND: &str = "seccomp_notify_fd";

/// The command: a copy of the listener, for root or the monitor's own user only (it lets its
/// holder decide the container's system calls).
fn give_listener(ctx: &mut CommandCtx<'_>, _body: &[u8]) -> Result<Vec<u8>, CommandError> {
    let me = nix::unistd::geteuid().as_raw();
    if ctx.peer_uid != 0 && ctx.peer_uid != me {
        return Err(CommandError::new(
            libc::EPERM,
            format!(
                "uid {} may not have {}'s seccomp listener",
                ctx.peer_uid, ctx.name
            ),
        ));
    }
    // LXC answers -EBADF when the container has no listener.
    let Some(NotifyListener(fd)) = ctx.state.get::<NotifyListener>() else {
        return Err(CommandError::new(
            libc::EBADF,
            format!(
                "{} has no seccomp listener (no lxc.seccomp.profile with notify rules)",
                ctx.name
            ),
        ));
    };
    let copy = fd
        .try_clone()
        .map_err(|e| CommandError::io("dup the seccomp listener", &e))?;
    ctx.fds_out.push(copy);
    Ok(Vec::new())
}

/// LXC's `seccomp_notify_fd_active()`: the running container's seccomp listener (close-on-exec,
/// non-blocking), from its monitor.
pub fn seccomp_notify_fd_active(c: &Container) -> Result<OwnedFd, Error> {
    let (_, fds) = c.ext_request(COMMAND, Vec::new(), &[])?;
    fds.into_iter().next().ok_or_else(|| Error::Command {
        name: c.name().to_string(),
        request: COMMAND.into(),
        message: "the monitor sent no fd".into(),
        errno: libc::EPROTO,
    })
}
