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
    // lxc.cgroup.*, lxc.cgroup2.*, lxc.cgroup.dir, .dir.monitor.pivot, .relative.
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

#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static CHECK_V2: KeyCheck = KeyCheck {
    owner: "cgroup",
    pattern: KeyPattern::Prefix("lxc.cgroup2."),
    scope: CheckScope::Static,
    check: check_setting_key,
};

/// A setting must name one file directly in the container's cgroup (what the writer checks).
fn check_setting_key(key: &str, _value: &str) -> std::result::Result<(), String> {
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

/// `set_cgroup_item`: the body is `[key, value]`.
fn cmd_set(ctx: &mut CommandCtx<'_>, body: &[u8]) -> std::result::Result<Vec<u8>, CommandError> {
    let (key, value): (String, String) = body::decode(body)?;
    running_cgroup(ctx)?
        .set_item(&key, &value)
        .map_err(cmd_error)?;
    Ok(Vec::new())
}

/// Device rules that nothing here would enforce fail the start before anything is made:
/// starting without them would give the container every device the rules deny.
///
/// On a legacy or hybrid host LXC itself never turns `lxc.cgroup2.devices.*` into a BPF
/// program (its unified hierarchy gets the devices utility only on a pure cgroup2 layout):
/// the v1 devices controller enforces `lxc.cgroup.devices.*` there. A config that has both,
/// as LXC's own common.conf, starts as with LXC; the cgroup2 rules alone are refused.
fn refuse_unenforceable(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    if lxc_core::has_api_extension("cgroup2_devices") {
        return Ok(());
    }
    let Some(e) = ctx
        .config
        .entries()
        .find(|e| e.key.starts_with("lxc.cgroup2.devices."))
    else {
        return Ok(());
    };
    let v1_rules = ctx
        .config
        .entries()
        .any(|e| e.key.starts_with("lxc.cgroup.devices."));
    let v1_enforces = || {
        detect().is_ok_and(|l| {
            l.kind != layout::LayoutKind::Unified && l.v1_controller("devices").is_some()
        })
    };
    if v1_rules && v1_enforces() {
        tracing::info!(
            container = ctx.name,
            key = %e.key,
            "cgroup2 device rules are not used on this host's cgroup v1 devices controller, \
             which enforces the lxc.cgroup.devices rules (as LXC)"
        );
        return Ok(());
    }
    let key = if e.origin.line == 0 {
        e.key.clone()
    } else {
        format!("{} ({})", e.key, e.origin)
    };
    Err(lxc_core::Error::Hook {
        phase: ctx.phase,
        owner: "cgroup",
        key: Some(key),
        message: "cgroup2 device rules are enforced by a BPF program of the cgroup2_devices \
                  extension, which this build does not have: refusing to start without them"
            .into(),
    })
}

/// PreClone: create the container's cgroups and write its limits; the handle goes into
/// `ctx.state` for later phases and an undo removes the cgroups if the start fails.
fn pre_clone(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let phase = ctx.phase;
    let layout = detect().map_err(|e| e.into_hook(phase))?;
    let cfg = CgroupConfig::from_config(ctx.name, ctx.config);
    let cg = ContainerCgroup::create(&layout, &cfg).map_err(|e| e.into_hook(phase))?;
    let undo = cg.clone();
    ctx.undo
        .push(format!("remove cgroups of {}", ctx.name), move || {
            undo.remove().map_err(|e| e.to_string())
        });
    // The monitor freezes, thaws and shows the paths through this, without knowing the driver.
    ctx.state
        .insert(lxc_core::phase::CgroupHandle(Box::new(cg.clone())));
    ctx.state.insert(cg);
    if let Some(dir) = cfg.dir_monitor.clone() {
        monitor_cgroup(ctx, &layout, &cfg, dir)?;
    }
    Ok(())
}

/// `lxc.cgroup.dir.monitor`: the monitor moves itself into that cgroup (created below its own
/// cgroup in each hierarchy) and, at stop, back where it came from before removing it.
fn monitor_cgroup(
    ctx: &mut HookCtx<'_>,
    layout: &Layout,
    cfg: &CgroupConfig,
    dir: String,
) -> Result<(), lxc_core::Error> {
    let phase = ctx.phase;
    let mcfg = CgroupConfig {
        name: cfg.name.clone(),
        dir_container: Some(dir.clone()),
        dir_monitor: Some(dir),
        use_controllers: cfg.use_controllers.clone(),
        ..Default::default()
    };
    let mon = ContainerCgroup::create(layout, &mcfg).map_err(|e| e.into_hook(phase))?;
    let origins = mon.origins(layout);
    let undo = mon.clone();
    let back = origins.clone();
    // Pushed after the container's cgroups, so undone before them. Whoever runs it (the
    // monitor, or its watchdog if the monitor died) moves itself back first.
    ctx.undo.push(
        format!("remove the monitor cgroup of {}", ctx.name),
        move || {
            ContainerCgroup::move_self_to(&back).map_err(|e| e.to_string())?;
            undo.remove().map_err(|e| e.to_string())
        },
    );
    let pid = std::process::id() as i32;
    mon.attach(pid).map_err(|e| e.into_hook(phase))?;
    tracing::info!(pid, "monitor moved into lxc.cgroup.dir.monitor");
    Ok(())
}

/// HostSetup: move the container's init into its cgroups.
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
    cg.attach(pid).map_err(|e| e.into_hook(ctx.phase))
}

/// Stop: remove the container's cgroups (the handle leaves `ctx.state`, so a reboot's
/// PreClone makes fresh ones).
fn stop(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
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
