//! lxc-rs cgroup driver: finds the host's cgroup layout (legacy, hybrid, unified), creates a
//! container's cgroups with LXC's names below the caller's cgroup, writes `lxc.cgroup.*` /
//! `lxc.cgroup2.*` limits, attaches the container's init, freezes, and removes them again.
//!
//! The lifecycle reaches it through the `cgroup` component's phase hooks (below); the CLI and
//! the monitor call [`ContainerCgroup`] directly.

use lxc_core::commands::body;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx};
use lxc_core::phase::{CommandCtx, CommandError};
use lxc_core::registry::{
    CheckScope, CommandDef, EntryKind, KeyCheck, KeyPattern, PhaseHook, Registration, KEY_CHECKS,
    REGISTRY,
};
use lxc_core::Phase;

mod cgroup;
mod config;
pub mod devices;
mod error;
pub mod keys;
mod layout;
mod sys;

pub use cgroup::{ContainerCgroup, FreezerState, HierarchyPaths};
pub use config::{CgroupConfig, Setting};
pub use error::{Error, Result};
pub use layout::{detect, Hierarchy, Layout, LayoutKind, Version};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP: Registration = Registration {
    name: "cgroup",
    kind: EntryKind::Component,
    // lxc.cgroup.*, lxc.cgroup.dir, .dir.monitor.pivot (lxc.cgroup2.* and .relative belong to
    // the cgroup2 and cgroup_relative extensions).
    keys: keys::CGROUP_KEYS,
    hooks: &[
        PhaseHook {
            phase: Phase::Load,
            order: order::DEFAULT,
            run: refuse_unenforceable,
        },
        PhaseHook {
            phase: Phase::PreClone,
            order: order::CGROUPS,
            run: pre_clone,
        },
        PhaseHook {
            phase: Phase::HostSetup,
            order: order::DEFAULT,
            run: host_setup,
        },
        // Device rules of a pure cgroup2 host, once the child's setup is done (devices.rs).
        PhaseHook {
            phase: Phase::PreExec,
            order: order::DEFAULT,
            run: devices::activate,
        },
        PhaseHook {
            phase: Phase::Stop,
            order: order::DEFAULT,
            run: stop,
        },
    ],
    commands: &[
        CommandDef {
            name: "cgroup.get",
            handler: cmd_get,
        },
        CommandDef {
            name: "cgroup.set",
            handler: cmd_set,
        },
    ],
};

// Whether a lxc.cgroup.* / lxc.cgroup2.* key names a file this driver can write is checked
// apart from the key's parser (LXC's setter takes any name), by `config check` and by `start`
// before it makes anything.
#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static CHECK_V1: KeyCheck = KeyCheck {
    owner: "cgroup",
    pattern: KeyPattern::Prefix("lxc.cgroup."),
    scope: CheckScope::Static,
    check: check_setting_key,
};

/// A setting must name one file directly in the container's cgroup (what the writer checks).
/// The cgroup2 extension checks its `lxc.cgroup2.*` keys with it too.
pub fn check_setting_key(key: &str, _value: &str) -> std::result::Result<(), String> {
    let setting = Setting::new(key, "");
    cgroup::checked_file(key, setting.file())
        .map(|_| ())
        .map_err(|_| {
            format!(
                "a key naming one file in the container's cgroup (no `/`, not `.` or `..`), \
                 e.g. {}",
                if setting.is_v2() {
                    "lxc.cgroup2.memory.max"
                } else {
                    "lxc.cgroup.memory.limit_in_bytes"
                }
            )
        })
}

fn running_cgroup<'a>(
    ctx: &'a CommandCtx<'_>,
) -> std::result::Result<&'a ContainerCgroup, CommandError> {
    ctx.state.get::<ContainerCgroup>().ok_or_else(|| {
        CommandError::new(
            libc::ESRCH,
            format!("{}: no cgroup (container not running)", ctx.name),
        )
    })
}

fn cmd_error(e: Error) -> CommandError {
    CommandError::new(e.errno(), e.to_string())
}

/// The monitor's typed view of the container's cgroups (freeze, thaw, paths).
impl lxc_core::phase::ContainerCgroupOps for ContainerCgroup {
    fn freeze(&self) -> std::result::Result<(), CommandError> {
        ContainerCgroup::freeze(self).map_err(cmd_error)
    }
    fn thaw(&self) -> std::result::Result<(), CommandError> {
        ContainerCgroup::thaw(self).map_err(cmd_error)
    }
    /// The container's cgroup in each hierarchy (the inner one, where its processes are).
    fn paths(&self) -> Vec<std::path::PathBuf> {
        ContainerCgroup::paths(self)
            .iter()
            .map(|h| h.inner.clone())
            .collect()
    }
}

/// `get_cgroup_item`: the body is the key (`memory.limit_in_bytes`).
fn cmd_get(ctx: &mut CommandCtx<'_>, body: &[u8]) -> std::result::Result<Vec<u8>, CommandError> {
    let key: String = body::decode(body)?;
    let value = running_cgroup(ctx)?.get_item(&key).map_err(cmd_error)?;
    body::encode(&value)
}

/// `set_cgroup_item`: the body is `[key, value]`. A device rule on a pure cgroup2 host goes
/// to the device program (devices.rs); everything else is a cgroup file.
fn cmd_set(ctx: &mut CommandCtx<'_>, body: &[u8]) -> std::result::Result<Vec<u8>, CommandError> {
    let (key, value): (String, String) = body::decode(body)?;
    if let Some(r) = devices::set_live(ctx.state, &key, &value) {
        return r.map(|()| Vec::new()).map_err(cmd_error);
    }
    running_cgroup(ctx)?
        .set_item(&key, &value)
        .map_err(cmd_error)?;
    Ok(Vec::new())
}

/// Device rules that nothing here would enforce fail the start before anything is made:
/// starting without them would give the container every device the rules deny. The rules of
/// a pure cgroup2 host are checked by the backend that enforces them (devices.rs).
fn refuse_unenforceable(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    devices::check_at_load(ctx)
}

/// PreClone: create the container's cgroups and write its limits; the handle goes into
/// `ctx.state` for later phases and an undo removes the cgroups if the start fails.
fn pre_clone(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let phase = ctx.phase;
    let layout = layout::home().map_err(|e| e.into_hook(phase))?;
    let cfg = CgroupConfig::from_config(ctx.name, ctx.config);
    // On a pure cgroup2 host the monitor has LXC's cgroup of its own, and goes there before
    // the container's cgroups are made: a base cgroup it stayed in could not hand them
    // controllers (cgroup2 takes none from a cgroup with processes).
    if cfg.dir_monitor.is_some() || layout.kind == layout::LayoutKind::Unified {
        monitor_cgroup(ctx, &layout, &cfg)?;
    }
    let cg = ContainerCgroup::create(&layout, &cfg).map_err(|e| e.into_hook(phase))?;
    let undo = cg.clone();
    ctx.undo
        .push(format!("remove cgroups of {}", ctx.name), move || {
            undo.remove().map_err(|e| e.to_string())
        });
    // The monitor freezes, thaws and shows the paths through this, without knowing the driver.
    ctx.state
        .insert(lxc_core::phase::CgroupHandle(Box::new(cg.clone())));
    devices::note(ctx.state, &layout, &cg, &cfg);
    ctx.state
        .insert(cg.entry().map_err(|e| e.into_hook(phase))?);
    ctx.state.insert(cg);
    Ok(())
}

/// The monitor's own cgroup (`lxc.cgroup.dir.monitor`, else LXC's `lxc.monitor.NAME` beside
/// the container's): the monitor moves itself in and, at stop, back where it came from (or,
/// where that is refused, into LXC's pivot cgroup) before removing it.
fn monitor_cgroup(
    ctx: &mut HookCtx<'_>,
    layout: &Layout,
    cfg: &CgroupConfig,
) -> Result<(), lxc_core::Error> {
    let phase = ctx.phase;
    let mon = ContainerCgroup::create_monitor(layout, cfg).map_err(|e| e.into_hook(phase))?;
    let origins = mon.origins(layout);
    let pivots = mon.pivots(layout, cfg);
    let undo = mon.clone();
    // Undone after the container's cgroups are gone. Whoever runs it (the monitor, or its
    // watchdog if the monitor died) moves itself out first.
    ctx.undo.push(
        format!("remove the monitor cgroup of {}", ctx.name),
        move || {
            ContainerCgroup::move_self_home(&origins, &pivots).map_err(|e| e.to_string())?;
            undo.remove().map_err(|e| e.to_string())
        },
    );
    // A reboot's start, after a move through the pivot, still places things from here.
    layout::remember_home(layout);
    let pid = std::process::id() as i32;
    mon.attach(pid).map_err(|e| e.into_hook(phase))?;
    tracing::info!(pid, cgroup = ?mon.paths().first().map(|d| d.inner.display().to_string()), "monitor moved into its cgroup");
    Ok(())
}

/// HostSetup: move the container's init into the cgroups it did not enter by itself.
fn host_setup(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let hook_err = |message: &str| lxc_core::Error::Hook {
        phase: ctx.phase,
        owner: "cgroup",
        key: None,
        message: message.to_string(),
    };
    let pid = ctx
        .init_pid
        .ok_or_else(|| hook_err("no init pid to attach"))?;
    let cg = ctx
        .state
        .get::<ContainerCgroup>()
        .ok_or_else(|| hook_err("no container cgroup (PreClone did not run)"))?;
    // What init did not do itself (lxc_core::phase::CgroupEntry); all of it for a restore.
    let entered = ctx
        .state
        .get::<lxc_core::phase::CgroupEntered>()
        .copied()
        .unwrap_or_default();
    cg.attach_rest(pid, entered)
        .map_err(|e| e.into_hook(ctx.phase))
}

/// Stop: remove the container's cgroups (the handle leaves `ctx.state`, so a reboot's
/// PreClone makes fresh ones).
fn stop(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    devices::stop(ctx.state);
    ctx.state.remove::<lxc_core::phase::CgroupHandle>();
    match ctx.state.remove::<ContainerCgroup>() {
        Some(cg) => cg.remove().map_err(|e| e.into_hook(ctx.phase)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::check_setting_key;

    #[test]
    fn setting_keys_name_one_file() {
        for ok in [
            "lxc.cgroup.memory.limit_in_bytes",
            "lxc.cgroup.devices.allow",
            "lxc.cgroup2.memory.max",
            "lxc.cgroup2.cgroup.freeze",
        ] {
            assert_eq!(check_setting_key(ok, "1"), Ok(()), "{ok}");
        }
        for bad in [
            "lxc.cgroup.../../x",
            "lxc.cgroup.memory.../../x",
            "lxc.cgroup.devices.allow/../x",
            "lxc.cgroup...",
            "lxc.cgroup2.../x",
            "lxc.cgroup2.a/b",
        ] {
            let e = check_setting_key(bad, "1").expect_err(bad);
            assert!(
                e.contains("one file in the container's cgroup"),
                "{bad}: {e}"
            );
        }
        assert!(check_setting_key("lxc.cgroup2.x/y", "1")
            .unwrap_err()
            .contains("lxc.cgroup2.memory.max"));
    }
}
