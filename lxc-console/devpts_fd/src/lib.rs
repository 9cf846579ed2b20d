//! API extension `devpts_fd`: an fd of a running container's own devpts instance (its
//! /dev/pts), kept by the monitor and given to an authorised caller over the command socket,
//! as LXC's `lxc_cmd_get_devpts_fd`. With it the host allocates ptys inside the container
//! (open `ptmx` below it, unlock, TIOCGPTPEER) without entering its mount namespace.
//!
//! The registration below is everything this crate does to a container: the child hands the
//! monitor an O_PATH fd of its devpts instance right after lxc-mount mounted it (ChildPivot),
//! the monitor keeps it (PreExec), and the `devpts_fd` command returns a copy. Like LXC, only a
//! container with `lxc.pty.max` above 0 has an instance of its own.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use lxc_core::commands::{self, Request, Response};
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, CommandCtx, CommandError, HookCtx, Phase};
use lxc_core::registry::{CommandDef, EntryKind, PhaseHook, Registration, REGISTRY};
use lxc_core::start::sync;
use lxc_core::{Container, Error};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static DEVPTS_FD: Registration = Registration {
    name: "devpts_fd",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[
        PhaseHook {
            phase: Phase::ChildPivot,
            // After lxc-mount's devpts, before pivot_root.
            order: order::DEVPTS + 1,
            run: send_devpts,
        },
        PhaseHook {
            phase: Phase::PreExec,
            order: order::DEFAULT,
            run: keep_devpts,
        },
    ],
    commands: &[CommandDef {
        name: COMMAND,
        handler: give_devpts,
    }],
};

/// The command's name on the socket (LXC: `LXC_CMD_GET_DEVPTS_FD`).
pub const COMMAND: &str = "devpts_fd";
const TAG: &str = "devpts_fd";

/// The container's devpts instance, in the monitor's state while the container runs.
#[derive(Debug)]
pub struct DevptsFd(pub OwnedFd);

fn hook_err(phase: Phase, message: String) -> Error {
    Error::Hook {
        phase,
        owner: "devpts_fd",
        key: Some("lxc.pty.max".into()),
        message,
    }
}

/// Child: the instance lxc-mount mounted on the rootfs' /dev/pts, to the monitor.
fn send_devpts(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    if lxc_core::keys::typed::number(ctx.config, "lxc.pty.max") == 0 {
        return Ok(());
    }
    let Some(prepared) = ctx.state.get::<lxc_mount::Prepared>() else {
        return Ok(());
    };
    let fd = prepared
        .rootfs
        .open(
            Path::new("dev/pts"),
            lxc_mount::sys::oflag::PATH | lxc_mount::sys::oflag::DIRECTORY,
        )
        .map_err(|e| {
            hook_err(
                ctx.phase,
                format!(
                    "open {}: {e}",
                    prepared.rootfs.display(Path::new("dev/pts")).display()
                ),
            )
        })?;
    let link = sync::child_link(ctx.state)
        .ok_or_else(|| hook_err(ctx.phase, "no start channel in the child".into()))?;
    link.send_fds(TAG, &[fd.as_fd()])
}

/// Monitor: keep what the child sent.
fn keep_devpts(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    if let Some(fd) = sync::take_fds(ctx.state, TAG).into_iter().next() {
        ctx.state.insert(DevptsFd(fd));
    }
    Ok(())
}

/// The command: a copy of the devpts fd, for root or the monitor's own user only (the fd
/// gives a pty inside the container to whoever holds it).
fn give_devpts(ctx: &mut CommandCtx<'_>, _body: &[u8]) -> Result<Vec<u8>, CommandError> {
    let me = nix::unistd::geteuid().as_raw();
    if ctx.peer_uid != 0 && ctx.peer_uid != me {
        return Err(CommandError::new(
            libc::EPERM,
            format!("uid {} may not have {}'s devpts fd", ctx.peer_uid, ctx.name),
        ));
    }
    let Some(DevptsFd(fd)) = ctx.state.get::<DevptsFd>() else {
        return Err(CommandError::new(
            libc::ENOENT,
            format!(
                "{} has no devpts instance of its own (lxc.pty.max is 0)",
                ctx.name
            ),
        ));
    };
    let copy = fd
        .try_clone()
        .map_err(|e| CommandError::io("dup the devpts fd", &e))?;
    ctx.fds_out.push(copy);
    Ok(Vec::new())
}

/// LXC's `devpts_fd()` (`lxc_cmd_get_devpts_fd`): an O_PATH fd (close-on-exec) of the running
/// container's devpts instance.
pub fn devpts_fd(c: &Container) -> Result<OwnedFd, Error> {
    let req = Request::Ext {
        name: COMMAND.into(),
        body: Vec::new(),
    };
    let unexpected = |message: String| Error::Command {
        name: c.name().to_string(),
        request: COMMAND.into(),
        message,
        errno: libc::EPROTO,
    };
    match commands::call(c.config_path(), c.name(), &req, Duration::from_secs(10)) {
        Ok((Response::Ext(_), fds)) => fds
            .into_iter()
            .next()
            .ok_or_else(|| unexpected("the monitor sent no fd".into())),
        Ok((Response::Error { message, errno }, _)) => Err(Error::Command {
            name: c.name().to_string(),
            request: COMMAND.into(),
            message,
            errno,
        }),
        Ok((other, _)) => Err(unexpected(format!("unexpected answer {other:?}"))),
        Err(e) if e.is_not_running() || matches!(e, commands::Error::Closed { .. }) => {
            Err(Error::NotRunning {
                name: c.name().to_string(),
            })
        }
        Err(e) => Err(Error::Command {
            name: c.name().to_string(),
            request: COMMAND.into(),
            message: e.to_string(),
            errno: e.errno(),
        }),
    }
}
