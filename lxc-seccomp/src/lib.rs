//! The seccomp subsystem: LXC's policy files (`lxc.seccomp.profile`), compiled with libseccomp
//! in the monitor before clone and loaded in the container's first process where LXC loads
//! it: after the bounding set and no_new_privs, before the uid/gid switch and exec, so the
//! policy already holds for the first thing init does. Attached processes get the same filter.
//!
//! The `seccomp_*` API extensions plug into this crate rather than into the core:
//! - [`policy::POLICY_WORDS`]: list words and actions a policy may use (`allowlist`,
//!   `notify`); a word no linked crate provides is an error naming its feature;
//! - [`NESTING`]: whether a container already under a filter loads its own on top;
//! - [`LISTENER_TAG`]: the listener fd of a `notify` policy, handed to the monitor for
//!   whoever serves notifications (seccomp_notify), and [`LISTENER_SINKS`] for an attached
//!   process's listener.
//!
//! The registration below is everything the base does to a container.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use lxc_core::attach::{AttachApply, AttachCtx};
use lxc_core::config::Config;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx};
use lxc_core::registry::{
    AttachHook, CheckScope, EntryKind, KeyCheck, KeyDef, KeyPattern, PhaseHook, Registration,
    ATTACH_HOOKS, KEY_CHECKS, REGISTRY,
};
use lxc_core::start::sync;
use lxc_core::Phase;

pub mod compile;
pub mod error;
pub mod policy;
pub mod sys;

pub use error::Error;

/// The registration's name, and the owner named in its errors.
pub const NAME: &str = "seccomp";
/// The key naming the policy file.
pub const PROFILE: &str = "lxc.seccomp.profile";
/// The tag under which the child hands the monitor a `notify` policy's listener fd.
pub const LISTENER_TAG: &str = "seccomp.listener";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static SECCOMP: Registration = Registration {
    name: NAME,
    kind: EntryKind::Component,
    keys: &[KeyDef::single(
        PROFILE,
        lxc_core::keys::parse::path,
        get_profile,
        "the seccomp policy file loaded into the container (LXC's format, version 1 or 2)",
    )],
    hooks: &[
        PhaseHook {
            phase: Phase::PreClone,
            order: order::DEFAULT,
            run: prepare_filter,
        },
        PhaseHook {
            phase: Phase::ChildFinal,
            order: order::SECCOMP,
            run: load_filter,
        },
    ],
    commands: &[],
};

fn get_profile(config: &Config, key: &str) -> String {
    lxc_core::registry::last_or(config, key, "")
}

/// `config check` reads the policy: a malformed one is reported with its own file and line.
/// It is host content, not the value, so it is a host-scope check; `start` fails on the same
/// error in PreClone, before anything of the container exists but its cgroups.
#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static CHECK_PROFILE: KeyCheck = KeyCheck {
    owner: NAME,
    pattern: KeyPattern::Exact(PROFILE),
    scope: CheckScope::Host,
    check: check_profile,
};

fn check_profile(_key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    // The core words this as "... cannot work at start: expected <this>".
    let valid = |e: String| format!("a valid seccomp policy ({e})");
    let policy = policy::parse_file(Path::new(value)).map_err(|e| valid(e.to_string()))?;
    compile::compile(&policy, &compile::CompileOptions::default())
        .map(|_| ())
        .map_err(|e| valid(e.to_string()))
}

#[distributed_slice(ATTACH_HOOKS)]
#[linkme(crate = lxc_core::linkme)]
static ATTACH: AttachHook = AttachHook {
    owner: NAME,
    order: 0,
    prepare: prepare_attach,
};

/// Whether a process already under a seccomp filter loads the container's filter on top of
/// it: true when any linked crate says so for this config (seccomp_allow_nesting, for
/// `lxc.seccomp.allow_nesting = 1`). Without one, LXC's rule holds: a confined process does
/// not load the policy.
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static NESTING: [fn(&Config) -> bool];

/// Where the listener fd of an attached process's `notify` filter goes (seccomp_notify sends
/// it to the monitor). `prepare` runs in the caller before the fork; the sink's `send` runs in
/// the attached process and must not allocate.
pub struct ListenerSinkDef {
    pub owner: &'static str,
    pub prepare: fn(&AttachCtx<'_>) -> Result<Box<dyn ListenerSink>, lxc_core::Error>,
}

/// Takes a listener fd in the attached process (allocation-free); the error is an errno.
pub trait ListenerSink: Send + Sync {
    fn send(&self, listener: OwnedFd) -> Result<(), i32>;
}

/// The listener sinks linked in (at most one is used: the first).
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static LISTENER_SINKS: [ListenerSinkDef];

/// A compiled policy, made in the monitor before clone; the child, a copy of the monitor,
/// loads it.
pub struct Prepared {
    pub path: PathBuf,
    pub program: Vec<libc::sock_filter>,
    pub notify: bool,
}

fn hook_err(phase: Phase, message: String) -> lxc_core::Error {
    lxc_core::Error::Hook {
        phase,
        owner: NAME,
        key: Some(PROFILE.into()),
        message,
    }
}

/// Whether a policy is loaded here at all, as LXC's `use_seccomp` decides: not when the
/// kernel has no seccomp, and not when this process is already confined unless nesting is
/// allowed. A skipped policy is said at warning level: the config asked for it.
fn policy_applies(config: &Config, name: &str, path: &str) -> bool {
    if NESTING.iter().any(|allows| allows(config)) {
        return true;
    }
    match sys::seccomp_mode() {
        Ok(Some(0)) => true,
        Ok(Some(mode)) => {
            tracing::warn!(
                container = name,
                policy = path,
                mode,
                "already seccomp-confined: the policy is not loaded (as LXC; \
                 lxc.seccomp.allow_nesting = 1 loads it on top)"
            );
            false
        }
        Ok(None) => {
            tracing::warn!(
                container = name,
                policy = path,
                "the kernel has no seccomp: the policy is not loaded (as LXC)"
            );
            false
        }
        // Unknown: try, and let the kernel say.
        Err(_) => true,
    }
}

/// Read and compile the policy (once per start; the child only loads the program).
pub fn prepare(config: &Config, name: &str) -> Result<Option<Prepared>, Error> {
    let Some(path) = config.last(PROFILE).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if !policy_applies(config, name, path) {
        return Ok(None);
    }
    let path = PathBuf::from(path);
    let policy = policy::parse_file(&path)?;
    let compiled = compile::compile(&policy, &compile::CompileOptions::default())?;
    Ok(Some(Prepared {
        path,
        program: compiled.program,
        notify: compiled.notify,
    }))
}

fn prepare_filter(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let _span = tracing::debug_span!("seccomp.compile").entered();
    if let Some(p) =
        prepare(ctx.config, ctx.name).map_err(|e| hook_err(ctx.phase, e.to_string()))?
    {
        ctx.state.insert(p);
    }
    Ok(())
}

/// Child: load the filter; a `notify` policy's listener goes to the monitor.
fn load_filter(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let Some(p) = ctx.state.get::<Prepared>() else {
        return Ok(());
    };
    let flags = if p.notify { sys::FLAG_NEW_LISTENER } else { 0 };
    let listener = sys::load_filter(&p.program, flags).map_err(|errno| {
        hook_err(
            ctx.phase,
            Error::Load {
                path: p.path.clone(),
                errno,
            }
            .to_string(),
        )
    })?;
    if let Some(listener) = listener {
        let link = sync::child_link(ctx.state)
            .ok_or_else(|| hook_err(ctx.phase, "no start channel in the child".into()))?;
        link.send_fds(LISTENER_TAG, &[listener.as_fd()])?;
    }
    Ok(())
}

/// What an attached process loads: the container's filter and, for a `notify` policy, where
/// its listener goes.
struct AttachFilter {
    program: Vec<libc::sock_filter>,
    sink: Option<Box<dyn ListenerSink>>,
}

impl AttachApply for AttachFilter {
    fn apply(&self) -> Result<(), i32> {
        let flags = if self.sink.is_some() {
            sys::FLAG_NEW_LISTENER
        } else {
            0
        };
        let listener = sys::load_filter(&self.program, flags)?;
        match (listener, &self.sink) {
            (Some(l), Some(sink)) => sink.send(l),
            _ => Ok(()),
        }
    }
}

/// As lxc-attach: the container's policy, unless the attach keeps the caller's mount
/// namespace or is elevated (no LSM, which for LXC includes seccomp).
fn prepare_attach(ctx: &AttachCtx<'_>) -> Result<Option<Box<dyn AttachApply>>, lxc_core::Error> {
    if !ctx.options.applies_lsm() {
        return Ok(None);
    }
    if let Some(ns) = &ctx.options.namespaces {
        let mnt = ns
            .iter()
            .any(|n| matches!(n.to_ascii_lowercase().as_str(), "mnt" | "mount"));
        if !mnt {
            return Ok(None);
        }
    }
    let name = ctx.container.name();
    let err = |message: String| lxc_core::Error::Hook {
        phase: Phase::Running,
        owner: NAME,
        key: Some(PROFILE.into()),
        message,
    };
    let Some(p) = prepare(ctx.container.config(), name).map_err(|e| err(e.to_string()))? else {
        return Ok(None);
    };
    let sink = if p.notify {
        let def = LISTENER_SINKS.iter().next().ok_or_else(|| {
            err(format!(
                "{}: a notify policy needs the seccomp_notify feature",
                p.path.display()
            ))
        })?;
        Some((def.prepare)(ctx)?)
    } else {
        None
    };
    Ok(Some(Box::new(AttachFilter {
        program: p.program,
        sink,
    })))
}
