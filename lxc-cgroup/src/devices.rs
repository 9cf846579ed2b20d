//! Device rules on a pure cgroup2 host, where there is no devices controller: LXC turns
//! `lxc.cgroup2.devices.*` into a BPF program there. This driver makes no program itself and
//! names no crate that does; a linked crate (the cgroup2_devices extension) fills
//! [`DEVICES_BACKENDS`], and the driver decides when it is used, as LXC decides:
//!
//! - only on a pure cgroup2 layout (`pure_unified_layout`); on legacy and hybrid hosts the v1
//!   devices controller enforces `lxc.cgroup.devices.*` and cgroup2 device rules are ignored;
//! - Load: every rule is checked by the backend, and one LXC cannot read is reported at error
//!   level as ignored (LXC 5.0.2 logs it and starts without it); without a backend, rules
//!   nothing would enforce refuse the start, before anything is made;
//! - PreExec, before the start-host hook, once the child has finished its setup (LXC's
//!   `devices_activate` after `START_SYNC_CGROUP_LIMITS`): the rules go to the backend with
//!   the container's limit cgroup, and its handle stays in the start's state;
//! - `cgroup.set` of a `devices.*` key (`lxc-rs cgroup NAME devices.allow 'c 1:5 rwm'`,
//!   `add_device_node`): the handle applies it (LXC's `LXC_CMD_ADD_BPF_DEVICE_CGROUP`); on
//!   other layouts the key is a v1 file, written as any other;
//! - Stop: the handle detaches the program before the cgroup is removed.

use std::path::{Path, PathBuf};

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{HookCtx, StateMap};

use crate::cgroup::ContainerCgroup;
use crate::config::{CgroupConfig, Setting};
use crate::error::{Error, Result};
use crate::layout::{Layout, LayoutKind, Version};

/// What a crate that enforces device rules on cgroup2 provides.
pub struct DevicesBackend {
    /// The registration (extension) that provides it.
    pub owner: &'static str,
    /// Load: whether one `lxc.cgroup2.devices*` setting is a rule the backend can read (the
    /// driver reports one it cannot as ignored; `activate` leaves it out, as LXC does).
    pub check: fn(&Setting) -> Result<()>,
    /// PreExec: put the rules (config order) in force on the container's cgroup2 limit cgroup.
    /// The handle is kept by the monitor for live changes and stop.
    pub activate: ActivateFn,
}

/// [`DevicesBackend::activate`]: the container's cgroup2 limit cgroup and its rules.
pub type ActivateFn = fn(&Path, &[Setting]) -> Result<Box<dyn ActiveDevices>>;

/// A running container's device rules, held by its monitor.
pub trait ActiveDevices: Send {
    /// One rule for the running container: `key` is the item key (`devices.allow`,
    /// `devices.deny`), `value` the rule.
    fn update(&mut self, key: &str, value: &str) -> Result<()>;
    /// Take the rules off the cgroup (Stop).
    fn detach(&mut self) -> Result<()>;
}

/// The backends linked in (at most one is used: the first).
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static DEVICES_BACKENDS: [DevicesBackend];

pub fn backend() -> Option<&'static DevicesBackend> {
    DEVICES_BACKENDS.iter().next()
}

/// Whether a `lxc.cgroup2.*` setting's file is a device rule: LXC sends every file starting
/// with `devices` to its rule parser (which denies with any file but `devices.allow`).
pub fn is_config_rule(file: &str) -> bool {
    file.starts_with("devices")
}

/// Whether an item key of a running container is a device rule: its controller (up to the
/// first `.`) is `devices`, as in LXC's `cgfsng_set`.
pub fn is_item_rule(key: &str) -> bool {
    key.split('.').next() == Some("devices")
}

/// Put in the start's state at PreClone on a pure cgroup2 host: the rules and where they go.
struct Pending {
    cgroup: PathBuf,
    rules: Vec<Setting>,
}

/// The backend's handle, from PreExec to Stop.
struct Active(Box<dyn ActiveDevices>);

/// A pure cgroup2 host without a backend: live device rules are refused with a reason.
struct Unenforced;

fn hook_error(ctx: &HookCtx<'_>, e: &lxc_core::config::Entry, message: String) -> lxc_core::Error {
    let key = if e.origin.line == 0 {
        e.key.clone()
    } else {
        format!("{} ({})", e.key, e.origin)
    };
    lxc_core::Error::Hook {
        phase: ctx.phase,
        owner: "cgroup",
        key: Some(key),
        message,
    }
}

/// Which device rules a pure cgroup2 host enforces, of a config's `(key, item)` pairs in
/// config order: its `lxc.cgroup2.devices.*` rules, as LXC; when it has none, its
/// `lxc.cgroup.devices.*` ones, which LXC ignores there (leaving the container every device
/// the kernel allows) and lxc-rs enforces rather than drop rules the config asked for.
pub(crate) fn unified_rules<T: Clone>(items: &[(&str, T)]) -> Vec<T> {
    let of = |prefix: &str| -> Vec<T> {
        items
            .iter()
            .filter(|(key, _)| key.strip_prefix(prefix).is_some_and(is_config_rule))
            .map(|(_, t)| t.clone())
            .collect()
    };
    let v2 = of("lxc.cgroup2.");
    if v2.is_empty() {
        of("lxc.cgroup.")
    } else {
        v2
    }
}

/// Load: the device rules must be enforced by something, and readable.
///
/// Pure cgroup2: the rules of [`unified_rules`]; the backend checks each one, and one it
/// cannot read refuses the start (LXC 5.0.2 starts without it); without a backend the start
/// is refused. Legacy and
/// hybrid hosts: LXC never makes a BPF program there (the v1 devices controller enforces
/// `lxc.cgroup.devices.*`), so with a backend the cgroup2 rules are ignored as LXC ignores
/// them; without one, a config with cgroup2 rules starts only when v1 device rules beside them
/// are enforced by a v1 devices controller (as LXC's own common.conf).
pub(crate) fn check_at_load(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    // Only device rules are checked here: without any, the layout need not be read (it is,
    // again, at PreClone).
    let any_rule = ctx.config.entries().any(|e| {
        ["lxc.cgroup.", "lxc.cgroup2."]
            .iter()
            .any(|p| e.key.strip_prefix(p).is_some_and(is_config_rule))
    });
    if !any_rule {
        return Ok(());
    }
    // A host whose cgroups cannot be read fails at PreClone, with that reason.
    let Ok(layout) = crate::layout::detect() else {
        return Ok(());
    };
    let rules: Vec<&lxc_core::config::Entry> = if layout.kind == LayoutKind::Unified {
        let items: Vec<_> = ctx.config.entries().map(|e| (e.key.as_str(), e)).collect();
        unified_rules(&items)
    } else {
        ctx.config
            .entries()
            .filter(|e| {
                e.key
                    .strip_prefix("lxc.cgroup2.")
                    .is_some_and(is_config_rule)
            })
            .collect()
    };
    let Some(first) = rules.first() else {
        return Ok(());
    };
    if layout.kind == LayoutKind::Unified {
        let Some(b) = backend() else {
            return Err(hook_error(
                ctx,
                first,
                "on this pure cgroup2 host device rules are enforced by a BPF program of the \
                 cgroup2_devices extension, which this build does not have: refusing to start \
                 without them"
                    .into(),
            ));
        };
        // LXC 5.0.2 logs a rule it cannot read and starts without it (its prepare step's
        // positive EINVAL passes for success); the v1 controller it uses elsewhere refuses the
        // same rule. Starting with a rule missing could give the container a device the list
        // denies, so lxc-rs refuses, as on a v1 host (docs/decisions.md).
        for e in &rules {
            let s = Setting::new(e.key.clone(), e.value.clone());
            if let Err(err) = (b.check)(&s) {
                return Err(hook_error(
                    ctx,
                    e,
                    format!(
                        "{}: refusing to start without this device rule",
                        err.detail()
                    ),
                ));
            }
        }
        return Ok(());
    }
    if backend().is_some() {
        tracing::debug!(
            container = ctx.name,
            key = %first.key,
            "cgroup2 device rules are not used on a host with cgroup v1 controllers (as LXC)"
        );
        return Ok(());
    }
    let v1_rules = ctx
        .config
        .entries()
        .any(|e| e.key.starts_with("lxc.cgroup.devices."));
    if v1_rules && layout.v1_controller("devices").is_some() {
        tracing::info!(
            container = ctx.name,
            key = %first.key,
            "cgroup2 device rules are not used on this host's cgroup v1 devices controller, \
             which enforces the lxc.cgroup.devices rules (as LXC)"
        );
        return Ok(());
    }
    Err(hook_error(
        ctx,
        first,
        "cgroup2 device rules are enforced by a BPF program of the cgroup2_devices extension, \
         which this build does not have: refusing to start without them"
            .into(),
    ))
}

/// PreClone, once the container's cgroups exist: on a pure cgroup2 host, note the rules and
/// the limit cgroup for PreExec.
pub(crate) fn note(
    state: &mut StateMap,
    layout: &Layout,
    cg: &ContainerCgroup,
    cfg: &CgroupConfig,
) {
    if layout.kind != LayoutKind::Unified {
        return;
    }
    let Some(dir) = cg.paths().iter().find(|d| d.version == Version::V2) else {
        return;
    };
    let items: Vec<_> = cfg.settings.iter().map(|s| (s.key.as_str(), s)).collect();
    let rules = unified_rules(&items).into_iter().cloned().collect();
    state.insert(Pending {
        cgroup: dir.limit.clone(),
        rules,
    });
}

/// PreExec: hand the rules to the backend, which puts them in force before init execs.
pub(crate) fn activate(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let Some(p) = ctx.state.remove::<Pending>() else {
        return Ok(());
    };
    let Some(b) = backend() else {
        // Load refused any rule; an empty list needs nothing, but a live rule needs a reason.
        ctx.state.insert(Unenforced);
        return Ok(());
    };
    let active = (b.activate)(&p.cgroup, &p.rules).map_err(|e| e.into_hook(ctx.phase))?;
    tracing::info!(
        container = ctx.name,
        rules = p.rules.len(),
        backend = b.owner,
        "device rules in force"
    );
    ctx.state.insert(Active(active));
    Ok(())
}

/// `cgroup.set` of a device rule on a pure cgroup2 host: `Some` when the rule was handled
/// here, `None` when the key is an ordinary cgroup file (every other key, every other layout).
pub(crate) fn set_live(state: &mut StateMap, key: &str, value: &str) -> Option<Result<()>> {
    if !is_item_rule(key) {
        return None;
    }
    if let Some(Active(a)) = state.get_mut::<Active>() {
        return Some(a.update(key, value));
    }
    if state.get::<Unenforced>().is_some() {
        return Some(Err(Error::InvalidKey {
            key: key.to_string(),
            why: "on this pure cgroup2 host device rules need a BPF program of the \
                  cgroup2_devices extension, which this build does not have",
        }));
    }
    None
}

/// Stop: take the program off before the cgroup goes (a failure is only logged: removing the
/// cgroup frees the program anyway).
pub(crate) fn stop(state: &mut StateMap) {
    state.remove::<Pending>();
    state.remove::<Unenforced>();
    if let Some(Active(mut a)) = state.remove::<Active>() {
        if let Err(e) = a.detach() {
            tracing::warn!(error = %e, "device rules not detached");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_keys_are_rules() {
        for f in ["devices.allow", "devices.deny", "devices.list", "devicesx"] {
            assert!(is_config_rule(f), "{f}");
        }
        assert!(!is_config_rule("memory.max"));
        assert!(is_item_rule("devices.allow") && is_item_rule("devices.deny"));
        assert!(!is_item_rule("devicesx.allow") && !is_item_rule("memory.max"));
    }

    #[test]
    fn cgroup2_rules_win_and_v1_rules_stand_in_for_none() {
        let both = [
            ("lxc.cgroup.devices.deny", 1),
            ("lxc.cgroup2.devices.deny", 2),
            ("lxc.cgroup.devices.allow", 3),
            ("lxc.cgroup2.memory.max", 4),
            ("lxc.cgroup2.devices.allow", 5),
        ];
        assert_eq!(unified_rules(&both), [2, 5]);
        let v1_only = [
            ("lxc.cgroup.devices.deny", 1),
            ("lxc.cgroup.memory.limit_in_bytes", 2),
            ("lxc.cgroup.devices.allow", 3),
        ];
        assert_eq!(unified_rules(&v1_only), [1, 3]);
        assert!(unified_rules(&[("lxc.cgroup2.pids.max", 1)]).is_empty());
    }
}
