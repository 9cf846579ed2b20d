//! API extension `seccomp_notify`: the `notify` action of LXC's seccomp policies, the listener
//! fd the kernel gives for it, and LXC's notify proxy.
//!
//! The container's first process loads a policy with `notify` rules with
//! SECCOMP_FILTER_FLAG_NEW_LISTENER and hands the listener to the monitor (lxc-seccomp does
//! that); this crate takes it there (PreExec) and:
//! - keeps it for the container's life ([`NotifyListener`], in the monitor's state; the
//!   `seccomp_notify_fd_active` extension gives copies of it), and, in the process that runs
//!   the monitor, for [`seccomp_notify_fd`];
//! - with `lxc.seccomp.notify.proxy` set, connects to the proxy (the start fails when it
//!   cannot, as LXC's) and forwards every notification to it in LXC's layout (see [`proxy`]).
//!   Without a proxy nothing reads the listener: whoever holds a copy answers the
//!   notifications, as with LXC.
//!
//! An attached process under a notify policy sends its own listener to the monitor, which serves
//! it through the proxy too ([`attach`]; the `seccomp_notify_add_listener` request).
//!
//! The registration below is everything this crate does to a container.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, CommandCtx, CommandError, HookCtx};
use lxc_core::reactor;
use lxc_core::registry::{CommandDef, EntryKind, KeyDef, PhaseHook, Registration, REGISTRY};
use lxc_core::start::sync;
use lxc_core::{Container, Error, Phase};
use lxc_seccomp::policy::{ActionKind, PolicyWord, WordMeaning, POLICY_WORDS};
use lxc_seccomp::{ListenerSinkDef, LISTENER_SINKS, LISTENER_TAG};

pub mod attach;
pub mod keys;
pub mod proxy;
pub mod sys;

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SECCOMP_NOTIFY: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[
        KeyDef::single(
            keys::PROXY,
            keys::proxy,
            keys::get_proxy,
            "the seccomp notify proxy: unix:/PATH or unix:@ABSTRACT (a SOCK_SEQPACKET socket)",
        ),
        KeyDef::single(
            keys::COOKIE,
            lxc_core::keys::parse::any_string,
            keys::get_cookie,
            "a string sent to the seccomp notify proxy with every notification",
        ),
    ],
    hooks: &[
        PhaseHook {
            phase: Phase::PreExec,
            order: order::DEFAULT,
            run: keep_listener,
        },
        PhaseHook {
            phase: Phase::Stop,
            order: order::DEFAULT,
            run: forget_listener,
        },
    ],
    commands: &[CommandDef {
        name: ADD_LISTENER,
        handler: add_listener,
    }],
};

#[distributed_slice(LISTENER_SINKS)]
#[linkme(crate = lxc_core::linkme)]
static SINK: ListenerSinkDef = ListenerSinkDef {
    owner: NAME,
    prepare: attach::prepare,
};

/// The `notify` action word of LXC's policies (`mknod notify`): the syscall waits for an
/// answer on the listener.
#[distributed_slice(POLICY_WORDS)]
#[linkme(crate = lxc_core::linkme)]
static WORD_NOTIFY: PolicyWord = PolicyWord {
    owner: NAME,
    word: "notify",
    meaning: WordMeaning::Action(ActionKind::Notify),
};

/// The registration's name, and the owner named in its errors.
pub const NAME: &str = "seccomp_notify";
/// The request that hands the monitor an attached process's listener (LXC:
/// `LXC_CMD_SECCOMP_NOTIFY_ADD_LISTENER`).
pub const ADD_LISTENER: &str = "seccomp_notify_add_listener";

/// Crates that make the proxy get the listener as a third fd with every message
/// (seccomp_proxy_send_notify_fd registers its name here).
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static PROXY_GETS_LISTENER: [&'static str];

/// The container's listener, in the monitor's state while the container runs (present only
/// for a policy with `notify` rules). Non-blocking, as LXC makes it.
#[derive(Debug)]
pub struct NotifyListener(pub OwnedFd);

/// The monitor's proxy forwarder, in its state when a proxy is configured.
pub struct NotifyProxy(pub Arc<proxy::Shared>);

fn hook_err(phase: Phase, message: String) -> Error {
    Error::Hook {
        phase,
        owner: NAME,
        key: Some(keys::PROXY.into()),
        message,
    }
}

/// The listeners of containers whose monitor is this process, by lxcpath and name.
struct Started {
    lxcpath: PathBuf,
    name: String,
    listener: OwnedFd,
}

static STARTED_HERE: Mutex<Vec<Started>> = Mutex::new(Vec::new());

fn started_here() -> std::sync::MutexGuard<'static, Vec<Started>> {
    match STARTED_HERE.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Monitor: take the listener the child sent; serve it through the proxy if there is one.
fn keep_listener(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let Some(listener) = sync::take_fds(ctx.state, LISTENER_TAG).into_iter().next() else {
        return Ok(());
    };
    let err = |what: &str, e: std::io::Error| hook_err(Phase::PreExec, format!("{what}: {e}"));
    sys::set_nonblocking(listener.as_fd()).map_err(|e| err("seccomp listener", e))?;
    if let Some(addr) = keys::proxy_of(ctx.config) {
        let setup = proxy::ProxySetup {
            container: ctx.name.to_string(),
            addr,
            cookie: keys::cookie_of(ctx.config),
            monitor_pid: std::process::id() as i32,
            init_pid: ctx.init_pid.unwrap_or(0),
            send_listener: !PROXY_GETS_LISTENER.is_empty(),
        };
        let copy = listener
            .try_clone()
            .map_err(|e| err("dup the seccomp listener", e))?;
        let shared =
            proxy::Shared::new(setup, copy).map_err(|e| hook_err(Phase::PreExec, e.to_string()))?;
        reactor::add_handler(ctx.state, Box::new(proxy::Handler(shared.clone())));
        ctx.state.insert(NotifyProxy(shared));
    }
    // Last, so that a start failing above leaves no listener here.
    let copy = listener
        .try_clone()
        .map_err(|e| err("dup the seccomp listener", e))?;
    {
        let mut here = started_here();
        here.retain(|s| !(s.name == ctx.name && s.lxcpath == ctx.lxcpath));
        here.push(Started {
            lxcpath: ctx.lxcpath.clone(),
            name: ctx.name.to_string(),
            listener: copy,
        });
    }
    ctx.state.insert(NotifyListener(listener));
    Ok(())
}

fn forget_listener(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    started_here().retain(|s| !(s.name == ctx.name && s.lxcpath == ctx.lxcpath));
    Ok(())
}

/// The command: serve an attached process's listener (the request's one fd) through the
/// proxy. Refused (EINVAL) without a proxy, as LXC refuses it.
fn add_listener(ctx: &mut CommandCtx<'_>, _body: &[u8]) -> Result<Vec<u8>, CommandError> {
    let Some(listener) = ctx.fds_in.drain(..).next() else {
        return Err(CommandError::invalid(
            "no seccomp listener fd came with the request",
        ));
    };
    // A listener answers ENOENT (or success) for an id; anything else is not one.
    match sys::notif_id_valid(listener.as_fd(), 0) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(_) => {
            return Err(CommandError::invalid(
                "the fd sent is not a seccomp listener",
            ))
        }
    }
    let Some(NotifyProxy(shared)) = ctx.state.get::<NotifyProxy>() else {
        return Err(CommandError::invalid(format!(
            "{} has no seccomp notify proxy ({} is not set, or its policy has no notify rules)",
            ctx.name,
            keys::PROXY
        )));
    };
    shared
        .add_listener(listener)
        .map_err(|e| CommandError::io("serve the attached process's seccomp listener", &e))?;
    Ok(Vec::new())
}

/// LXC's `seccomp_notify_fd()`: the listener of a container whose monitor is this process
/// (started here in the foreground: `start_foreground`, `execute`, `lxc-rs start -F`), while
/// it runs. A container started in the background has its monitor elsewhere: use
/// `seccomp_notify_fd_active`.
pub fn seccomp_notify_fd(c: &Container) -> Result<OwnedFd, Error> {
    let fail = |errno: i32, message: String| Error::Command {
        name: c.name().to_string(),
        request: "seccomp_notify_fd".into(),
        message,
        errno,
    };
    let here = started_here();
    let Some(s) = here
        .iter()
        .find(|s| s.name == c.name() && Path::new(&s.lxcpath) == c.config_path())
    else {
        return Err(fail(
            libc::EBADF,
            format!(
                "no seccomp listener of {} in this process: it is not running, has no notify \
                 policy, or was not started in the foreground here (seccomp_notify_fd_active \
                 asks its monitor)",
                c.name()
            ),
        ));
    };
    s.listener.try_clone().map_err(|e| {
        fail(
            e.raw_os_error().unwrap_or(libc::EIO),
            format!("dup the listener: {e}"),
        )
    })
}
