//! `start -p FILE` (lxc-start's `--pidfile`): the monitor writes its own pid into FILE before
//! it makes anything, and the file goes when the container stops, as LXC's monitor does.
//!
//! The monitor is forked from this process (a daemonized start) or is this process (`-F`), so
//! the path travels in a process-wide cell, and the writing is a start hook registered like
//! any subsystem's: the core needs no pidfile of its own, and the file joins the start's undo
//! stack, which the monitor's stop path runs.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, Phase, StartMode};
use lxc_core::registry::{EntryKind, PhaseHook, Registration, REGISTRY};

use crate::error::CliError;

static PIDFILE: OnceLock<PathBuf> = OnceLock::new();

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static START_PIDFILE: Registration = Registration {
    name: "lxc-rs start --pidfile",
    kind: EntryKind::Component,
    keys: &[],
    hooks: &[PhaseHook {
        phase: Phase::PreClone,
        order: order::FIRST,
        run: write_pid,
    }],
    commands: &[],
};

/// Make FILE now, as lxc-start's `ensure_path` does (so a path that cannot be written fails
/// the command before anything starts), and remember it by its absolute path: the daemonized
/// monitor does not run in this directory.
pub fn prepare(path: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::failed(format!("pidfile {}: {e}", path.display()));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    let abs = std::fs::canonicalize(path).map_err(fail)?;
    let _ = PIDFILE.set(abs);
    Ok(())
}

/// PreClone, in the monitor: its pid into the file; removing the file is the last undo.
fn write_pid(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let Some(path) = PIDFILE.get() else {
        return Ok(());
    };
    if ctx.mode != StartMode::Start {
        return Ok(());
    }
    let written = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| write!(f, "{}", std::process::id()));
    if let Err(e) = written {
        return Err(lxc_core::Error::Hook {
            phase: Phase::PreClone,
            owner: "lxc-rs",
            key: None,
            message: format!("write monitor pid to {}: {e}", path.display()),
        });
    }
    let p = path.clone();
    ctx.undo.push(
        format!("remove pidfile {}", path.display()),
        move || match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("remove {}: {e}", p.display()))
            }
            _ => Ok(()),
        },
    );
    Ok(())
}
