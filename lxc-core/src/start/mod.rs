//! The start sequence, monitor side: PreClone → Clone → HostSetup, then hand-off to the child
//! and, once init runs, to the monitor's loop (`crate::monitor`).
//!
//! Everything a phase makes is pushed on the start's undo stack; a failure anywhere unwinds it,
//! kills the half-started child through its pidfd, and returns an error that names the phase
//! and the config key.

pub mod child;
pub mod init;
pub mod restore;
pub mod spec;
pub mod sync;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use linkme::distributed_slice;

use crate::config::Config;
use crate::error::Error;
use crate::phase::{
    order, CgroupEntered, CgroupEntry, HookCtx, Phase, StartMode, StateMap, UndoStack,
};
use crate::registry::{self, EntryKind, PhaseHook, Registration, REGISTRY};
use crate::sys::{self, Forked};

use sync::{Channel, Msg};

/// The core's own monitor-side steps, registered like any subsystem's so that others can
/// place themselves before or after them (`phase::order`).
#[distributed_slice(REGISTRY)]
static START_STEPS: Registration = Registration {
    name: "start",
    kind: EntryKind::Component,
    keys: &[],
    hooks: &[
        PhaseHook {
            phase: Phase::PreClone,
            order: order::PRE_START_HOOK,
            run: pre_start_hook,
        },
        PhaseHook {
            phase: Phase::PreExec,
            order: order::START_HOST_HOOK,
            run: start_host_hook,
        },
    ],
    commands: &[],
};

/// What the core's own hooks need of the start besides the context.
#[derive(Debug, Clone)]
pub struct StartInfo {
    pub opts: StartOptions,
}

/// How to start.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub mode: StartMode,
    /// The command: for `execute` the application, for `start` an override of `lxc.init.cmd`.
    pub argv: Vec<String>,
    /// Init keeps this process's stdio (foreground starts, execute); otherwise the subsystem
    /// that owns terminals gives it a console or /dev/null (`phase::InitStdio`).
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

/// The `Load` phase, in the caller before a monitor is spawned: hooks that check the config
/// (and may refuse the start) with nothing made yet. Whatever one pushes on its undo stack is
/// undone right after.
pub fn load_hooks(
    name: &str,
    lxcpath: &Path,
    config_file: &Path,
    config: &Config,
    mode: StartMode,
) -> Result<(), Error> {
    let t = Target {
        name,
        lxcpath,
        config_file: config_file.to_path_buf(),
        config,
    };
    let mut undo = UndoStack::default();
    let mut state = StateMap::default();
    let r = {
        let mut ctx = hook_ctx(&t, mode, Phase::Load, None, &mut undo, &mut state);
        run_hooks(&mut ctx, Phase::Load)
    };
    undo.unwind();
    r
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
    attempt(t, |undo, state| start_inner(t, opts, undo, state))
}

/// One attempt at a running init (a start, or a restore): what it made is handed to the
/// monitor when it succeeds, and undone when it fails.
fn attempt(
    t: &Target<'_>,
    run: impl FnOnce(&mut UndoStack, &mut StateMap) -> Result<(i32, OwnedFd), Error>,
) -> Result<Started, Error> {
    let mut undo = UndoStack::default();
    let mut state = StateMap::default();
    match run(&mut undo, &mut state) {
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
    state.insert(StartInfo { opts: opts.clone() });
    {
        let _t = crate::timing::phase("MonitorSpawn");
        let mut ctx = hook_ctx(t, opts.mode, Phase::MonitorSpawn, None, undo, state);
        run_hooks(&mut ctx, Phase::MonitorSpawn)?;
    }
    // PreClone: subsystems (network, cgroups, terminals, ...), the pre-start hook.
    let pre_clone = crate::timing::phase("PreClone");
    {
        let mut ctx = hook_ctx(t, opts.mode, Phase::PreClone, None, undo, state);
        run_hooks(&mut ctx, Phase::PreClone)?;
    }
    // The network subsystem's PreClone hook decides whether the host's namespace is shared.
    let net = state.get::<crate::phase::NetNamespace>();
    let share_net = net.is_some_and(|n| n.share_host);
    let loopback_up = net.is_some_and(|n| n.loopback_up);
    let request = state
        .get::<crate::phase::NsRequest>()
        .copied()
        .unwrap_or_default();
    let mut ns = spec::namespaces(t.config, t.lxcpath, share_net, request)?;
    ns.loopback_up = loopback_up;
    // The child's hooks see the final plan (what they asked for may have been dropped by
    // lxc.namespace.clone or .keep).
    state.insert(ns.clone());

    drop(pre_clone);
    // Clone.
    let clone_timer = crate::timing::phase("Clone");
    let (mon_end, child_end) = sys::seqpacket_pair().map_err(|e| sys_err(t, "socketpair", e))?;
    let _span = tracing::debug_span!("phase", phase = "Clone").entered();
    let entry = state.remove::<CgroupEntry>().unwrap_or_default();
    let (forked, into) = clone_init(t, ns.clone_flags as u64, entry.into.as_ref())?;
    let (pid, pidfd) = match forked {
        Forked::Child => {
            drop(mon_end);
            std::mem::forget(clone_timer);
            let mut ctx = hook_ctx(t, opts.mode, Phase::ChildMounts, None, undo, state);
            let plan = child::ChildPlan {
                ns,
                argv,
                cgroup_tasks: entry.self_move,
            };
            child::main(&mut ctx, Channel::new(child_end), plan)
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    state.insert(CgroupEntered {
        into,
        self_moved: !entry.self_move.is_empty(),
    });
    drop(entry);
    drop(child_end);
    drop(_span);
    drop(clone_timer);
    let chan = Channel::new(mon_end);
    let clone_hooks = {
        let mut ctx = hook_ctx(t, opts.mode, Phase::Clone, Some(pid), undo, state);
        run_hooks(&mut ctx, Phase::Clone)
    };
    let result = clone_hooks.and_then(|()| {
        drive_child(
            t,
            opts,
            &ns_user(&maps, ns.has(libc::CLONE_NEWUSER)),
            pid,
            &chan,
            undo,
            state,
        )
    });
    if let Err(e) = result {
        // Nothing of the child may survive a failed start.
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = sys::pidfd_wait(pidfd.as_fd(), false);
        return Err(e);
    }
    Ok((pid, pidfd))
}

/// clone3 for init, born in its cgroup2 directory when the cgroup driver gave one; a kernel
/// that refuses CLONE_INTO_CGROUP there (older than 5.7, or a cgroup that cannot take
/// processes) gets a plain clone3, and the driver's HostSetup moves init instead. Whether the
/// directory was used is the second value.
fn clone_init(t: &Target<'_>, flags: u64, into: Option<&OwnedFd>) -> Result<(Forked, bool), Error> {
    if let Some(dir) = into {
        match sys::clone3_pidfd_into(flags, Some(dir.as_fd())) {
            Ok(f) => return Ok((f, true)),
            Err(e) => {
                tracing::debug!(container = t.name, error = %e, "CLONE_INTO_CGROUP refused, init is moved after clone")
            }
        }
    }
    let forked = sys::clone3_pidfd(flags).map_err(|e| sys_err(t, "clone3", e))?;
    Ok((forked, false))
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
        let (msg, fds) = match chan.recv_with() {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(()),
            Err(e) => return Err(sys_err(t, "read from child", e)),
        };
        match msg {
            Msg::PhaseDone { phase, handed } if phase == Phase::ChildMounts.name() => {
                keep_handed(t, state, handed, fds)?;
                let _t = crate::timing::phase("PostMounts");
                let mut ctx = hook_ctx(t, opts.mode, Phase::PostMounts, Some(pid), undo, state);
                run_hooks(&mut ctx, Phase::PostMounts)?;
                chan.send(&Msg::Continue)
                    .map_err(|e| sys_err(t, "send continue to child", e))?;
            }
            Msg::Ready { handed } => {
                keep_handed(t, state, handed, fds)?;
                let _t = crate::timing::phase("PreExec");
                let mut ctx = hook_ctx(t, opts.mode, Phase::PreExec, Some(pid), undo, state);
                run_hooks(&mut ctx, Phase::PreExec)?;
                chan.send(&Msg::Exec)
                    .map_err(|e| sys_err(t, "send exec to child", e))?;
            }
            Msg::Fds { handed } => keep_handed(t, state, handed, fds)?,
            Msg::Ask { request, body } => {
                let answer = match registry::start_request(&request) {
                    None => Err(format!("no subsystem in this build answers {request:?}")),
                    Some(def) => {
                        let _span = tracing::debug_span!("start request", request = %request, owner = def.owner).entered();
                        let mut ctx =
                            hook_ctx(t, opts.mode, Phase::PostMounts, Some(pid), undo, state);
                        (def.handler)(&mut ctx, &body, fds).map_err(|e| e.to_string())
                    }
                };
                let sent = match answer {
                    Ok((body, fds)) => {
                        let b: Vec<BorrowedFd<'_>> = fds.iter().map(|f| f.as_fd()).collect();
                        chan.send_with(&Msg::Answer { body }, &b)
                    }
                    Err(message) => chan.send(&Msg::Refused { message }),
                };
                sent.map_err(|e| sys_err(t, "answer the container", e))?;
            }
            Msg::Failed {
                phase,
                owner,
                key,
                message,
            } => return Err(sync::to_error(&phase, &owner, key, message)),
            other => {
                return Err(Error::Start {
                    name: t.name.to_string(),
                    message: format!("unexpected message from the container: {other:?}"),
                })
            }
        }
    }
}

/// File the fds a message carried under their tags (`handed`: (tag, count) in order).
fn keep_handed(
    t: &Target<'_>,
    state: &mut StateMap,
    handed: Vec<(String, usize)>,
    fds: Vec<OwnedFd>,
) -> Result<(), Error> {
    let announced: usize = handed.iter().map(|(_, n)| n).sum();
    if announced != fds.len() {
        return Err(Error::Start {
            name: t.name.to_string(),
            message: format!(
                "the container sent {} fds, announced {announced} ({handed:?})",
                fds.len()
            ),
        });
    }
    let mut fds = fds.into_iter();
    for (tag, n) in handed {
        let these: Vec<OwnedFd> = fds.by_ref().take(n).collect();
        tracing::debug!(tag = %tag, count = n, "fds from the container");
        sync::keep_fds(state, tag, these);
    }
    Ok(())
}

fn write_idmaps(pid: i32, maps: &[spec::IdMap]) -> Result<(), Error> {
    for uid in [true, false] {
        let these: Vec<&spec::IdMap> = maps.iter().filter(|m| m.uid == uid).collect();
        if these.is_empty() {
            continue;
        }
        // The one map writer (setgroups denied first for an unprivileged gid map, as LXC).
        crate::idmap::write_id_map(pid, uid, &these).map_err(|e| Error::Hook {
            phase: Phase::HostSetup,
            owner: "core",
            key: Some("lxc.idmap".into()),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

fn pre_start_hook(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    crate::hooks::run(ctx, "pre-start")
}

fn start_host_hook(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    crate::hooks::run(ctx, "start-host")
}

pub(crate) fn sys_err(t: &Target<'_>, op: &'static str, source: std::io::Error) -> Error {
    Error::Sys {
        name: t.name.to_string(),
        op,
        source,
    }
}
