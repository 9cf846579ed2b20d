//! The container's first process: from clone to exec of init.
//!
//! This runs in a fork-like copy of the single-threaded monitor, inside the new namespaces. It
//! waits for the monitor's go-ahead, runs the child phases' hooks in order (mounts, pivot,
//! final), and execs init; any failure is reported to the monitor with its phase and key, and
//! the process exits (its namespaces die with it).

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use linkme::distributed_slice;

use super::spec::{self, err};
use super::sync::{Channel, ChildLink, Msg};
use crate::config::bytes;
use crate::error::Error;
use crate::phase::{order, HookCtx, Phase, StartMode};
use crate::registry::{self, EntryKind, PhaseHook, Registration, REGISTRY};
use crate::sys;

/// The core's own child-side work, registered like any subsystem's so the phase table in the
/// registry shows the whole sequence.
#[distributed_slice(REGISTRY)]
static INIT_SETUP: Registration = Registration {
    name: "init",
    kind: EntryKind::Component,
    keys: &[],
    hooks: &[
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::SETTINGS,
            run: settings,
        },
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::START_HOOK,
            run: start_hooks,
        },
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::CREDENTIALS_CAPS,
            run: credentials_caps,
        },
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::CREDENTIALS_IDS,
            run: credentials_ids,
        },
    ],
    commands: &[],
};

/// What the monitor hands the child besides the context.
pub struct ChildPlan {
    pub ns: spec::NsPlan,
    pub argv: Vec<String>,
    /// cgroup1 `tasks` files to write `0` to ([`crate::phase::CgroupEntry`]).
    pub cgroup_tasks: Vec<(std::path::PathBuf, OwnedFd)>,
}

/// Run the child to exec; never returns.
pub fn main(ctx: &mut HookCtx<'_>, chan: Channel, plan: ChildPlan) -> ! {
    match run(ctx, &chan, &plan) {
        Ok(never) => match never {},
        Err((phase, e)) => {
            let _ = chan.send(&Msg::from_error(&e, phase));
            sys::exit_now(1)
        }
    }
}

pub enum Never {}

/// Move into the container's cgroup1 cgroups before anything else: while single-threaded (a
/// thread moving itself is the whole process) and with the monitor's credentials (after
/// setresuid in a user namespace, the kernel would refuse the move).
fn enter_cgroups(
    ctx: &HookCtx<'_>,
    tasks: &[(std::path::PathBuf, OwnedFd)],
) -> Result<(), (Phase, Error)> {
    for (path, fd) in tasks {
        match sys::write_all(fd.as_fd(), b"0") {
            Ok(()) => {}
            Err(e) => {
                return Err((
                    Phase::Clone,
                    Error::Hook {
                        phase: Phase::Clone,
                        owner: "cgroup",
                        key: None,
                        message: format!(
                            "container {}: move init into {}: {e}",
                            ctx.name,
                            path.display()
                        ),
                    },
                ))
            }
        }
    }
    Ok(())
}

/// The fds child hooks handed over since the last message.
fn link_pending(ctx: &HookCtx<'_>) -> Vec<(String, Vec<OwnedFd>)> {
    ctx.state
        .get::<ChildLink>()
        .map(ChildLink::take_pending)
        .unwrap_or_default()
}

fn run(ctx: &mut HookCtx<'_>, chan: &Channel, plan: &ChildPlan) -> Result<Never, (Phase, Error)> {
    let fail = |phase: Phase, op: &'static str| {
        let name = ctx.name.to_string();
        move |e: std::io::Error| {
            (
                phase,
                Error::Sys {
                    name: name.clone(),
                    op,
                    source: e,
                },
            )
        }
    };
    // The container must not outlive its monitor.
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64)
        .map_err(fail(Phase::Clone, "set parent-death signal"))?;
    match chan.recv() {
        Ok(Some(Msg::Go)) => {}
        // The monitor gave up on this start; leave quietly.
        _ => sys::exit_now(1),
    }
    // After the go-ahead, so that a failure reaches a monitor that listens.
    enter_cgroups(ctx, &plan.cgroup_tasks)?;

    if plan.ns.has(libc::CLONE_NEWUSER) {
        // Become root of the new user namespace now that the maps exist, without the
        // caller's supplementary groups (LXC drops them here, before any seccomp policy; an
        // unprivileged start may not, as with LXC).
        match sys::setgroups(&[]) {
            Err(e) if e.raw_os_error() != Some(libc::EPERM) => {
                return Err(fail(Phase::Clone, "drop groups in user namespace")(e));
            }
            _ => {}
        }
        sys::setresgid(0).map_err(fail(Phase::Clone, "setresgid(0) in user namespace"))?;
        sys::setresuid(0).map_err(fail(Phase::Clone, "setresuid(0) in user namespace"))?;
        // Changing the uid made us non-dumpable, which gives our /proc/self files to the host's
        // root: the container's root could not write its own /proc/self/timens_offsets (or
        // anything else there). LXC makes the child dumpable again here too.
        sys::prctl(libc::PR_SET_DUMPABLE, 1)
            .map_err(fail(Phase::Clone, "become dumpable in user namespace"))?;
        // A change of credentials clears the parent-death signal: set it again (LXC does too).
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64)
            .map_err(fail(Phase::Clone, "set parent-death signal"))?;
    }
    for share in &plan.ns.share {
        let f = File::open(&share.path).map_err(|e| {
            (
                Phase::Clone,
                err(
                    ctx.config,
                    Phase::Clone,
                    &format!("lxc.namespace.share.{}", share.ns.name),
                    format!("open {}: {e}", share.path.display()),
                ),
            )
        })?;
        sys::setns(f.as_fd(), share.ns.flag).map_err(fail(Phase::Clone, "setns"))?;
    }
    if plan.ns.new_cgroup {
        // After the monitor attached us to the container's cgroup, so that it is our root.
        sys::unshare(libc::CLONE_NEWCGROUP)
            .map_err(fail(Phase::Clone, "unshare cgroup namespace"))?;
    }
    if plan.ns.has(libc::CLONE_NEWNET) && plan.ns.loopback_up {
        sys::loopback_up().map_err(fail(Phase::Clone, "bring up loopback"))?;
    }

    let link = ChildLink::new(chan, ctx.name).map_err(fail(Phase::Clone, "dup start channel"))?;
    ctx.state.insert(link);
    for phase in [Phase::ChildMounts, Phase::ChildPivot, Phase::ChildFinal] {
        let _t = crate::timing::phase(phase.name());
        ctx.phase = phase;
        for (owner, hook) in registry::hooks_for(phase) {
            let _span = tracing::debug_span!("hook", %phase, owner).entered();
            (hook.run)(ctx).map_err(|e| (phase, e))?;
        }
        // The monitor's PostMounts hooks run while we wait; without any, no round trip.
        if phase == Phase::ChildMounts && !registry::hooks_for(Phase::PostMounts).is_empty() {
            let pending = link_pending(ctx);
            super::sync::send_handed(chan, pending, |handed| Msg::PhaseDone {
                phase: phase.name().to_string(),
                handed,
            })
            .map_err(fail(phase, "report mounts done"))?;
            match chan.recv() {
                Ok(Some(Msg::Continue)) => {}
                _ => sys::exit_now(1),
            }
        }
    }
    let pending = link_pending(ctx);
    // execute's init stays in this process: no copy of the channel may keep the monitor
    // from seeing it close.
    drop(ctx.state.remove::<ChildLink>());

    super::sync::send_handed(chan, pending, |handed| Msg::Ready { handed })
        .map_err(fail(Phase::ChildFinal, "report ready"))?;
    match chan.recv() {
        Ok(Some(Msg::Exec)) => {}
        _ => sys::exit_now(1),
    }

    if let Some(stdio) = ctx.state.remove::<crate::phase::InitStdio>() {
        let fd = stdio.fd.as_raw_fd();
        sys::setsid().map_err(fail(Phase::ChildFinal, "setsid"))?;
        if stdio.controlling {
            sys::set_controlling_tty(fd)
                .map_err(fail(Phase::ChildFinal, "set controlling terminal"))?;
        }
        for target in 0..3 {
            if target != fd {
                sys::dup2(fd, target).map_err(fail(Phase::ChildFinal, "dup init's stdio"))?;
            }
        }
        if fd < 3 {
            // It is one of 0-2 itself now: closing it would take that one away.
            std::mem::forget(stdio.fd);
        }
    }
    // Nothing the caller left open may reach init.
    sys::cloexec_from(3).map_err(fail(Phase::ChildFinal, "mark fds close-on-exec"))?;

    let env: Vec<CString> = spec::environment(ctx.config)
        .into_iter()
        .filter_map(|e| bytes::to_cstring(&e).ok())
        .collect();
    let argv: Vec<CString> = plan
        .argv
        .iter()
        .filter_map(|a| bytes::to_cstring(a).ok())
        .collect();
    let Some(cmd) = plan.argv.first() else {
        return Err((
            Phase::ChildFinal,
            err(
                ctx.config,
                Phase::ChildFinal,
                "lxc.init.cmd",
                "no command to run",
            ),
        ));
    };
    let key = match ctx.mode {
        StartMode::Start => "lxc.init.cmd",
        StartMode::Execute => "lxc.execute.cmd",
    };
    match ctx.mode {
        StartMode::Start => {
            sys::reset_signal_handlers();
            let e = sys::execvpe(cmd, &argv, &env);
            Err((
                Phase::ChildFinal,
                err(
                    ctx.config,
                    Phase::ChildFinal,
                    key,
                    format!("exec {}: {e}", bytes::shown(cmd)),
                ),
            ))
        }
        StartMode::Execute => super::init::run(chan, cmd, &argv, &env).map_err(|m| {
            (
                Phase::ChildFinal,
                err(ctx.config, Phase::ChildFinal, key, m),
            )
        }),
    }
}

/// Hostname, sysctls, `lxc.proc.*`, resource limits: everything that needs the container's
/// /proc (after pivot) but still full privileges.
fn settings(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let c = ctx.config;
    if let Some(name) = crate::keys::typed::string(c, "lxc.uts.name") {
        sys::sethostname(&name).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.uts.name",
                format!("sethostname {}: {e}", bytes::quote(&name)),
            )
        })?;
    }
    for (name, value) in crate::keys::typed::sysctls(c) {
        let path = format!("/proc/sys/{}", name.replace('.', "/"));
        std::fs::write(&path, bytes::encode(&value)).map_err(|x| {
            err(
                c,
                Phase::ChildFinal,
                &format!("lxc.sysctl.{name}"),
                format!("write {path}: {x}"),
            )
        })?;
    }
    for (name, value) in crate::keys::typed::procs(c) {
        let path = format!("/proc/self/{name}");
        std::fs::write(&path, bytes::encode(&value)).map_err(|x| {
            err(
                c,
                Phase::ChildFinal,
                &format!("lxc.proc.{name}"),
                format!("write {path}: {x}"),
            )
        })?;
    }
    for l in spec::prlimits(c)? {
        sys::setrlimit(l.resource, l.soft, l.hard).map_err(|e| {
            let show = |v: u64| {
                if v == libc::RLIM_INFINITY {
                    "unlimited".to_string()
                } else {
                    v.to_string()
                }
            };
            err(
                c,
                Phase::ChildFinal,
                &l.key,
                format!("setrlimit soft {} hard {}: {e}", show(l.soft), show(l.hard)),
            )
        })?;
    }
    if let Some(cwd) = crate::keys::typed::string(c, "lxc.init.cwd") {
        sys::chdir(&bytes::to_path(&cwd)).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.init.cwd",
                format!("chdir {}: {e}", bytes::shown(&cwd)),
            )
        })?;
    }
    Ok(())
}

fn start_hooks(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    crate::hooks::run(ctx, "start")
}

/// The bounding set and no_new_privs: privileges the container never gets back. A seccomp
/// filter goes on after this (it needs no_new_privs or CAP_SYS_ADMIN) and before the ids.
fn credentials_caps(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let c = ctx.config;
    let last = sys::caps::last_cap();
    let keep = spec::cap_mask(c, last);
    for cap in 0..=last {
        if keep & (1 << cap) == 0 {
            sys::caps::drop_bounding(cap).map_err(|e| {
                err(
                    c,
                    Phase::ChildFinal,
                    "lxc.cap.drop",
                    format!("drop capability {cap}: {e}"),
                )
            })?;
        }
    }
    if crate::keys::typed::flag(c, "lxc.no_new_privs") {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.no_new_privs",
                format!("prctl: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Groups, gid and uid of init, and the capabilities a non-root init keeps: last, since
/// they take privileges away.
fn credentials_ids(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let c = ctx.config;
    let last = sys::caps::last_cap();
    let keep = spec::cap_mask(c, last);
    let groups = crate::keys::typed::init_groups(c);
    let uid = crate::keys::typed::number(c, "lxc.init.uid");
    let gid = crate::keys::typed::number(c, "lxc.init.gid");
    // The container's seccomp policy is in force here: as LXC, make no id call that changes
    // nothing (a policy may refuse setresuid and still start under LXC). LXC sets the groups
    // of a container without a user namespace every time; with one it dropped them when it
    // became its root, and only `lxc.init.groups` needs another call.
    let userns = !spec::idmaps(c).is_empty();
    if !userns || !groups.is_empty() {
        sys::setgroups(&groups).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.init.groups",
                format!("setgroups: {e}"),
            )
        })?;
    }
    if uid != 0 {
        // Keep the permitted set across the uid change so the kept capabilities survive.
        sys::prctl(libc::PR_SET_KEEPCAPS, 1).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.init.uid",
                format!("keepcaps: {e}"),
            )
        })?;
    }
    // The child is root (of its user namespace) here: ids of 0 change nothing.
    if gid != 0 {
        sys::setresgid(gid).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.init.gid",
                format!("setresgid({gid}): {e}"),
            )
        })?;
    }
    if uid != 0 {
        sys::setresuid(uid).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.init.uid",
                format!("setresuid({uid}): {e}"),
            )
        })?;
    }
    if uid != 0 {
        // Root's exec gets the whole bounding set back; a non-root init only keeps what is
        // permitted, inheritable and ambient. Never more than we hold ourselves: the host may
        // have withheld some capabilities from us.
        let held = sys::caps::permitted()
            .map_err(|e| err(c, Phase::ChildFinal, "lxc.cap.drop", format!("capget: {e}")))?;
        sys::caps::set(keep & held)
            .map_err(|e| err(c, Phase::ChildFinal, "lxc.cap.drop", format!("capset: {e}")))?;
        sys::caps::raise_ambient(keep & held);
    }
    if uid != 0 || gid != 0 {
        // The id change cleared the parent-death signal (the watchdog would still kill init,
        // but not at once): set it again, as LXC does after switching ids.
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64).map_err(|e| {
            err(
                c,
                Phase::ChildFinal,
                "lxc.init.uid",
                format!("set parent-death signal: {e}"),
            )
        })?;
    }
    Ok(())
}
