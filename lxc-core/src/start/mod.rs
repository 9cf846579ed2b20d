//! The start sequence, monitor side: PreClone → Clone → HostSetup, then hand-off to the child
//! and, once init runs, to the monitor's loop (`crate::monitor`).
//!
//! Everything a phase makes is pushed on the start's undo stack; a failure anywhere unwinds it,
//! kills the half-started child through its pidfd, and returns an error that names the phase
//! and the config key.

pub mod child;
pub mod init;
pub mod spec;
pub mod sync;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::Error;
use crate::phase::{HookCtx, Phase, StartMode, StateMap, Terminals, UndoStack};
use crate::registry;
use crate::sys::{self, Forked};

use sync::{Channel, Msg};

/// How to start.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub mode: StartMode,
    /// The command: for `execute` the application, for `start` an override of `lxc.init.cmd`.
    pub argv: Vec<String>,
    /// Give init this process's stdio instead of a console pty (foreground starts, execute).
    pub inherit_stdio: bool,
    /// `lxc-start -C` (LXC's `want_close_all_fds`): a foreground start closes the fds this
    /// process inherited. A daemonised start always closes every fd of the caller's.
    pub close_all_fds: bool,
}

/// A container whose init is running, handed from the start sequence to the monitor loop.
pub struct Started {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub undo: UndoStack,
    pub state: StateMap,
}

/// The static part of a start: who and with what config.
pub struct Target<'a> {
    pub name: &'a str,
    pub lxcpath: &'a Path,
    pub config_file: PathBuf,
    pub config: &'a Config,
}

fn hook_ctx<'a>(
    t: &'a Target<'a>,
    mode: StartMode,
    phase: Phase,
    init_pid: Option<i32>,
    undo: &'a mut UndoStack,
    state: &'a mut StateMap,
) -> HookCtx<'a> {
    HookCtx {
        name: t.name,
        lxcpath: t.lxcpath.to_path_buf(),
        config_file: t.config_file.clone(),
        config: t.config,
        phase,
        mode,
        init_pid,
        undo,
        state,
    }
}

fn run_hooks(ctx: &mut HookCtx<'_>, phase: Phase) -> Result<(), Error> {
    ctx.phase = phase;
    for (owner, hook) in registry::hooks_for(phase) {
        let _span = tracing::debug_span!("hook", %phase, owner).entered();
        (hook.run)(ctx)?;
    }
    Ok(())
}

/// The argv init runs with.
fn init_argv(config: &Config, opts: &StartOptions) -> Vec<String> {
    if !opts.argv.is_empty() {
        return opts.argv.clone();
    }
    let key = match opts.mode {
        StartMode::Start => "lxc.init.cmd",
        StartMode::Execute => "lxc.execute.cmd",
    };
    match crate::keys::typed::string(config, key) {
        Some(v) => spec::split_cmd(&v),
        None if opts.mode == StartMode::Start => vec!["/sbin/init".to_string()],
        None => Vec::new(),
    }
}

/// Run the start up to a running init. On error everything made is undone.
pub fn start(t: &Target<'_>, opts: &StartOptions) -> Result<Started, Error> {
    let mut undo = UndoStack::default();
    let mut state = StateMap::default();
    match start_inner(t, opts, &mut undo, &mut state) {
        Ok((pid, pidfd)) => Ok(Started {
            pid,
            pidfd,
            undo: undo.take(),
            state,
        }),
        Err(e) => {
            tracing::debug!(container = t.name, error = %e, "start failed, undoing");
            undo.unwind();
            Err(e)
        }
    }
}

fn start_inner(
    t: &Target<'_>,
    opts: &StartOptions,
    undo: &mut UndoStack,
    state: &mut StateMap,
) -> Result<(i32, OwnedFd), Error> {
    let argv = init_argv(t.config, opts);
    if argv.is_empty() {
        return Err(Error::Start {
            name: t.name.to_string(),
            message: "execute needs a command (after --, or lxc.execute.cmd)".into(),
        });
    }
    let maps = spec::idmaps(t.config);

    crate::timing::init();
    // PreClone: subsystems (cgroups, ...), then the terminals, then the pre-start hook.
    let pre_clone = crate::timing::phase("PreClone");
    {
        let mut ctx = hook_ctx(t, opts.mode, Phase::PreClone, None, undo, state);
        run_hooks(&mut ctx, Phase::PreClone)?;
    }
    // The network subsystem's PreClone hook decides whether the host's namespace is shared.
    let net = state.get::<crate::phase::NetNamespace>();
    let share_net = net.is_some_and(|n| n.share_host);
    let loopback_up = net.is_some_and(|n| n.loopback_up);
    let mut ns = spec::namespaces(t.config, t.lxcpath, share_net)?;
    ns.loopback_up = loopback_up;
    let userns = ns_user(&maps, ns.has(libc::CLONE_NEWUSER));
    let console_peer = allocate_terminals(t, opts, &userns, state)?;
    {
        let ctx = hook_ctx(t, opts.mode, Phase::PreClone, None, undo, state);
        crate::hooks::run(&ctx, "pre-start")?;
    }

    drop(pre_clone);
    // Clone.
    let clone_timer = crate::timing::phase("Clone");
    let (mon_end, child_end) = sys::seqpacket_pair().map_err(|e| sys_err(t, "socketpair", e))?;
    let _span = tracing::debug_span!("phase", phase = "Clone").entered();
    let forked = sys::clone3_pidfd(ns.clone_flags as u64).map_err(|e| sys_err(t, "clone3", e))?;
    let (pid, pidfd) = match forked {
        Forked::Child => {
            drop(mon_end);
            std::mem::forget(clone_timer);
            let mut ctx = hook_ctx(t, opts.mode, Phase::ChildMounts, None, undo, state);
            let plan = child::ChildPlan {
                ns,
                console: console_peer,
                argv,
            };
            child::main(&mut ctx, Channel::new(child_end), plan)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_end);
    drop(_span);
    drop(clone_timer);
    let chan = Channel::new(mon_end);
    let result = drive_child(
        t,
        opts,
        &ns_user(&maps, ns.has(libc::CLONE_NEWUSER)),
        pid,
        &chan,
        undo,
        state,
    );
    if let Err(e) = result {
        // Nothing of the child may survive a failed start.
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = sys::pidfd_wait(pidfd.as_fd(), false);
        return Err(e);
    }
    Ok((pid, pidfd))
}

fn ns_user(maps: &[spec::IdMap], userns: bool) -> Vec<spec::IdMap> {
    if userns {
        maps.to_vec()
    } else {
        Vec::new()
    }
}

/// HostSetup, the go-ahead, and waiting for the child to exec.
fn drive_child(
    t: &Target<'_>,
    opts: &StartOptions,
    maps: &[spec::IdMap],
    pid: i32,
    chan: &Channel,
    undo: &mut UndoStack,
    state: &mut StateMap,
) -> Result<(), Error> {
    let host_setup = crate::timing::phase("HostSetup");
    if !maps.is_empty() {
        write_idmaps(pid, maps)?;
    }
    {
        let mut ctx = hook_ctx(t, opts.mode, Phase::HostSetup, Some(pid), undo, state);
        run_hooks(&mut ctx, Phase::HostSetup)?;
    }
    drop(host_setup);
    chan.send(&Msg::Go)
        .map_err(|e| sys_err(t, "send go-ahead to child", e))?;
    loop {
        match chan.recv() {
            Ok(Some(Msg::Ready)) => {
                let ctx = hook_ctx(t, opts.mode, Phase::HostSetup, Some(pid), undo, state);
                crate::hooks::run(&ctx, "start-host")?;
                chan.send(&Msg::Exec)
                    .map_err(|e| sys_err(t, "send exec to child", e))?;
            }
            Ok(Some(Msg::Failed {
                phase,
                owner,
                key,
                message,
            })) => return Err(sync::to_error(&phase, &owner, key, message)),
            Ok(Some(other)) => {
                return Err(Error::Start {
                    name: t.name.to_string(),
                    message: format!("unexpected message from the container: {other:?}"),
                })
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(sys_err(t, "read from child", e)),
        }
    }
}

fn write_idmaps(pid: i32, maps: &[spec::IdMap]) -> Result<(), Error> {
    for (uid, file) in [(true, "uid_map"), (false, "gid_map")] {
        let text: String = maps
            .iter()
            .filter(|m| m.uid == uid)
            .map(|m| format!("{} {} {}\n", m.nsid, m.hostid, m.range))
            .collect();
        if text.is_empty() {
            continue;
        }
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, &text).map_err(|e| Error::Hook {
            phase: Phase::HostSetup,
            owner: "core",
            key: Some("lxc.idmap".into()),
            message: format!("write {path}: {e}"),
        })?;
    }
    Ok(())
}

/// Console and ttys: ptys whose masters stay with the monitor.
fn allocate_terminals(
    t: &Target<'_>,
    opts: &StartOptions,
    maps: &[spec::IdMap],
    state: &mut StateMap,
) -> Result<Option<PathBuf>, Error> {
    let mut terms = Terminals::default();
    // An application container has no getty to serve ttys: like lxc-execute, make none.
    let tty_max = match opts.mode {
        StartMode::Execute => 0,
        StartMode::Start => crate::keys::typed::number(t.config, "lxc.tty.max") as usize,
    };
    for i in 0..tty_max {
        let pty = sys::openpty().map_err(|e| {
            spec::err(
                t.config,
                Phase::PreClone,
                "lxc.tty.max",
                format!("allocate tty {} of {tty_max}: {e}", i + 1),
            )
        })?;
        terms.ttys.push(pty);
    }
    let mut peer = None;
    if !opts.inherit_stdio {
        let (master, path) = sys::openpty().map_err(|e| sys_err(t, "allocate console", e))?;
        peer = Some(path.clone());
        terms.console = Some((master, path));
    }
    if !maps.is_empty() {
        // The container's root must be able to open its terminals, as with LXC.
        let uid = spec::map_to_host(maps, true, 0);
        let gid = spec::map_to_host(maps, false, 0);
        for (_, path) in terms.console.iter().chain(terms.ttys.iter()) {
            std::os::unix::fs::chown(path, uid.map(|u| u as u32), gid.map(|g| g as u32))
                .map_err(|e| sys_err(t, "chown terminal to the container's root", e))?;
        }
    }
    state.insert(terms);
    Ok(peer)
}

pub(crate) fn sys_err(t: &Target<'_>, op: &'static str, source: std::io::Error) -> Error {
    Error::Sys {
        name: t.name.to_string(),
        op,
        source,
    }
}
