//! API extension `core_scheduling`: `lxc.sched.core = 1` gives the container a core-scheduling
//! domain of its own (the kernel's `PR_SCHED_CORE`), so no task of another domain shares an SMT
//! core with the container's tasks at the same time.
//!
//! As LXC 5.0 does: the key is 0 or 1 (empty clears it to 0); right after clone the monitor
//! creates a new cookie for init's whole thread group (it needs a pid namespace of its own:
//! every process of the container inherits the cookie from init); a kernel without core
//! scheduling (EINVAL) fails the start naming the key, a machine without SMT (ENODEV) starts
//! without a domain, and processes `attach` puts into the container's pid namespace take init's
//! cookie before they exec.

#![deny(unsafe_code)]

pub mod sys;

use lxc_core::attach::{AttachApply, AttachCtx};
use lxc_core::config::Config;
use lxc_core::keys::parse::bool01;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx};
use lxc_core::registry::{
    last_or, AttachHook, EntryKind, KeyDef, PhaseHook, Registration, ATTACH_HOOKS, REGISTRY,
};
use lxc_core::start::spec::NsPlan;
use lxc_core::{Error, Phase};

/// The registration's name, and the owner named in its errors.
pub const NAME: &str = "core_scheduling";
pub const KEY: &str = "lxc.sched.core";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CORE_SCHEDULING: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[KeyDef::single(
        KEY,
        bool01,
        get_sched_core,
        "1: put the container in a core-scheduling domain of its own",
    )],
    hooks: &[PhaseHook {
        phase: Phase::Clone,
        order: order::FIRST,
        run: new_domain,
    }],
    commands: &[],
};

#[distributed_slice(ATTACH_HOOKS)]
#[linkme(crate = lxc_core::linkme)]
static ATTACH: AttachHook = AttachHook {
    owner: NAME,
    order: 0,
    prepare: prepare_attach,
};

/// LXC keeps the key as a bool and prints it as `0` or `1`.
fn get_sched_core(config: &Config, key: &str) -> String {
    last_or(config, key, "0")
}

/// Whether the config asks for a domain of its own.
pub fn enabled(config: &Config) -> bool {
    config.last(KEY) == Some("1")
}

/// The cookie init got at start, kept in the start's state (0 when the machine has no SMT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookie(pub u64);

fn hook_err(config: &Config, phase: Phase, message: String) -> Error {
    let key = match config.origin_of(KEY) {
        Some(o) if o.line != 0 => format!("{KEY} ({o})"),
        _ => KEY.to_string(),
    };
    Error::Hook {
        phase,
        owner: NAME,
        key: Some(key),
        message,
    }
}

/// Clone, first (monitor): a new cookie for init's thread group, read back to prove it.
fn new_domain(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    if !enabled(ctx.config) {
        return Ok(());
    }
    let (config, phase) = (ctx.config, ctx.phase);
    let own_pid_ns = ctx
        .state
        .get::<NsPlan>()
        .is_some_and(|p| p.has(libc::CLONE_NEWPID));
    if !own_pid_ns {
        return Err(hook_err(
            config,
            phase,
            "core scheduling needs the container's own pid namespace (lxc.namespace.keep or \
             lxc.namespace.share.pid keeps the host's)"
                .into(),
        ));
    }
    let Some(pid) = ctx.init_pid else {
        return Err(hook_err(config, phase, "no init pid after clone".into()));
    };
    match sys::create_for_process(pid) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
            // LXC's rule: no SMT, nothing to isolate from; the start goes on without a domain.
            tracing::info!(
                key = KEY,
                "the kernel does not use simultaneous multithreading (SMT): no core-scheduling domain"
            );
            ctx.state.insert(Cookie(0));
            return Ok(());
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            return Err(hook_err(
                config,
                phase,
                format!(
                    "the kernel does not support core scheduling (CONFIG_SCHED_CORE; \
                     prctl(PR_SCHED_CORE): {e}): expected a kernel with it, or {KEY} = 0"
                ),
            ))
        }
        Err(e) => {
            return Err(hook_err(
                config,
                phase,
                format!("create a core-scheduling domain for init (pid {pid}): {e}"),
            ))
        }
    }
    let cookie = sys::cookie(pid).map_err(|e| {
        hook_err(
            config,
            phase,
            format!("read init's core-scheduling cookie: {e}"),
        )
    })?;
    if cookie == 0 || cookie == u64::MAX {
        return Err(hook_err(
            config,
            phase,
            format!("init (pid {pid}) has no valid core-scheduling cookie ({cookie}) after create"),
        ));
    }
    tracing::debug!(cookie, pid, "new core-scheduling domain");
    ctx.state.insert(Cookie(cookie));
    Ok(())
}

/// Attach (caller, before the fork): when init has a cookie and the attached process enters
/// the container's pid namespace, it takes init's cookie (pid 1 there) before it execs.
fn prepare_attach(ctx: &AttachCtx<'_>) -> Result<Option<Box<dyn AttachApply>>, Error> {
    let enters_pid_ns = ctx
        .options
        .namespaces
        .as_ref()
        .is_none_or(|ns| ns.iter().any(|n| n.eq_ignore_ascii_case("pid")));
    if !enters_pid_ns {
        return Ok(None);
    }
    match sys::cookie(ctx.init_pid) {
        Ok(c) if c != 0 && c != u64::MAX => {
            tracing::debug!(
                cookie = c,
                "attached process joins init's core-scheduling domain"
            );
            Ok(Some(Box::new(ShareFromInit)))
        }
        // No cookie, or a kernel without core scheduling: nothing to share, as LXC.
        _ => Ok(None),
    }
}

struct ShareFromInit;

impl AttachApply for ShareFromInit {
    fn apply(&self) -> Result<(), i32> {
        // Inside the container's pid namespace, init is pid 1.
        sys::share_from(1).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parses_and_prints_like_lxc() {
        let mut c = Config::new();
        assert_eq!(get_sched_core(&c, KEY), "0");
        c.set(KEY, "1").unwrap();
        assert_eq!(get_sched_core(&c, KEY), "1");
        assert!(enabled(&c));
        for bad in ["2", "yes", "-1", "1 x"] {
            assert!(c.set(KEY, bad).is_err(), "{bad:?}");
        }
        c.set(KEY, "0").unwrap();
        assert!(!enabled(&c));
    }
}
