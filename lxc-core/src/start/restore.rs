//! A start whose init is not cloned but handed over: a restorer (CRIU, in `lxc-criu`)
//! recreates a dumped process tree as a child of the monitor, and the monitor then serves it
//! exactly as one it started.
//!
//! As LXC's restore does, only the steps before clone run (`MonitorSpawn`, `PreClone`: the
//! container's cgroups, the pre-start hook, what subsystems open): the restored tree brings its
//! own namespaces, mounts, network devices and cgroup settings, so the later phases, which
//! would make them again, do not run. The undo stack of those steps is the one the monitor's
//! stop unwinds, so a restored container's stop removes what a started one's does.

use std::os::fd::{AsFd, OwnedFd};

use crate::error::Error;
use crate::phase::{HookCtx, Phase, StateMap, UndoStack};
use crate::sys;

use super::{hook_ctx, run_hooks, StartInfo, StartOptions, Started, Target};

/// Recreates a container's process tree as a child of the calling process (the monitor).
pub trait Restorer: Send {
    /// Called in the monitor after `PreClone` (the container's cgroups exist, their paths in
    /// `ctx.state`'s [`crate::phase::CgroupHandle`]). Returns the restored init's pid, which
    /// must be a child of this process. Whatever it makes that outlives it goes on `ctx.undo`.
    fn restore(&mut self, ctx: &mut HookCtx<'_>) -> Result<i32, Error>;
}

/// How the monitor gets the container's init.
pub enum Launch {
    /// Cloned and set up by the start sequence.
    Clone,
    /// Handed over by a restorer.
    Restore(Box<dyn Restorer>),
}

/// Run the steps before clone, then the restorer, up to a running init; on error everything
/// made is undone (and a restored tree that outlived the error is killed).
pub fn restore(
    t: &Target<'_>,
    opts: &StartOptions,
    restorer: &mut dyn Restorer,
) -> Result<Started, Error> {
    super::attempt(t, |undo, state| {
        restore_inner(t, opts, restorer, undo, state)
    })
}

fn restore_inner(
    t: &Target<'_>,
    opts: &StartOptions,
    restorer: &mut dyn Restorer,
    undo: &mut UndoStack,
    state: &mut StateMap,
) -> Result<(i32, OwnedFd), Error> {
    state.insert(StartInfo { opts: opts.clone() });
    for phase in [Phase::MonitorSpawn, Phase::PreClone] {
        let mut ctx = hook_ctx(t, opts.mode, phase, None, undo, state);
        run_hooks(&mut ctx, phase)?;
    }
    // CRIU puts the restored tree in its cgroups itself; the ways in for a clone are not used.
    state.remove::<crate::phase::CgroupEntry>();
    let pid = {
        let _span = tracing::debug_span!("phase", phase = "Restore").entered();
        let mut ctx = hook_ctx(t, opts.mode, Phase::Clone, None, undo, state);
        restorer.restore(&mut ctx)?
    };
    let pidfd = sys::pidfd_open(pid).map_err(|e| super::sys_err(t, "pidfd_open", e))?;
    // The restored init is the monitor's child: it is reaped through the pidfd like a cloned
    // one. One that is not ours would never be reaped here.
    let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().nth(1)?.to_string();
            after.parse::<u32>().ok()
        });
    if parent != Some(std::process::id()) {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        return Err(Error::Start {
            name: t.name.to_string(),
            message: format!(
                "the restored init {pid} is not a child of the monitor {} (its parent: {parent:?})",
                std::process::id()
            ),
        });
    }
    Ok((pid, pidfd))
}
