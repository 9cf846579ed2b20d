//! API extension `cgroup2_devices`: on a pure cgroup2 host, where no devices controller
//! exists, `lxc.cgroup2.devices.allow` / `.deny` become a BPF_PROG_TYPE_CGROUP_DEVICE program
//! attached to the container's cgroup, generated at run time from the rule list with LXC
//! 5.0.2's semantics ([`list`]), its instructions ([`program`]), and its way of attaching and
//! replacing it ([`device`]). `lxc-rs cgroup NAME devices.allow 'c 1:5 rwm'` changes the list
//! of the running container and swaps the new program in.
//!
//! The registration below is everything this crate does to a container: it owns no keys
//! (`lxc.cgroup2.*` are the cgroup2 extension's) and hooks no phase itself; it fills the
//! cgroup driver's [`DEVICES_BACKENDS`] seam, and the driver decides when it is used (pure
//! cgroup2 layouts only, as LXC).
//!
//! Raw bpf(2), not aya: the program is generated per rule list at run time as LXC does (aya
//! 0.14 wants an ELF with BTF), and a legacy BPF_PROG_ATTACH stays in force after the
//! monitor is gone, where aya's bpf_link detaches when dropped.

// Unsafe code only in `sys`, each block with a `// SAFETY:` line.
#![deny(unsafe_code)]

use std::path::Path;

use lxc_cgroup::devices::{ActiveDevices, DevicesBackend, DEVICES_BACKENDS};
use lxc_cgroup::Setting;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};

pub mod device;
mod error;
pub mod list;
pub mod program;
pub mod rule;
#[allow(unsafe_code)]
mod sys;

pub use device::{attached_programs, DeviceCgroup, Swap};
pub use error::{Error, Result};
pub use list::{DeviceList, ListType};
pub use rule::{DevType, DeviceRule};

/// The extension's name.
pub const NAME: &str = "cgroup2_devices";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP2_DEVICES: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(DEVICES_BACKENDS)]
#[linkme(crate = lxc_core::linkme)]
static BACKEND: DevicesBackend = DevicesBackend {
    owner: NAME,
    check: check_rule,
    activate,
};

/// Load: whether LXC reads the rule (the driver refuses the start on one it cannot read).
fn check_rule(s: &Setting) -> lxc_cgroup::Result<()> {
    rule::from_config(&s.key, s.file(), &s.value)
        .map(drop)
        .map_err(Into::into)
}

/// The list of `rules` (config order), as LXC builds it in `cgfsng_setup_limits`, and the
/// rules it cannot read (a malformed value, a `/dev/PATH` that is no device). LXC 5.0.2 logs
/// those and goes on without them (its `bpf_device_cgroup_prepare` returns the positive EINVAL
/// of `syserror_set`, which `cgfsng_setup_limits` takes for success); lxc-rs refuses them.
pub fn list_from_settings(rules: &[Setting]) -> (DeviceList, Vec<Error>) {
    let mut list = DeviceList::new();
    let mut skipped = Vec::new();
    for s in rules {
        match rule::from_config(&s.key, s.file(), &s.value) {
            Ok(r) => {
                list.add(r);
            }
            Err(e) => skipped.push(e),
        }
    }
    (list, skipped)
}

/// Before init execs: the program for the container's rules on its cgroup `cgroup`.
fn activate(cgroup: &Path, rules: &[Setting]) -> lxc_cgroup::Result<Box<dyn ActiveDevices>> {
    let (list, skipped) = list_from_settings(rules);
    // The driver refused these at Load; a rule that still cannot be read is never dropped.
    if let Some(e) = skipped.into_iter().next() {
        return Err(e.into());
    }
    let mut dc = DeviceCgroup::new(cgroup, list);
    dc.activate()?;
    Ok(Box::new(dc))
}

/// The monitor's handle on the running container's program.
impl ActiveDevices for DeviceCgroup {
    /// `set_cgroup_item("devices.allow", "c 1:5 rwm")`: read as LXC's `cgfsng_set` reads it
    /// (no `/dev/PATH` form; `devices.allow` allows, any other `devices.*` denies).
    fn update(&mut self, key: &str, value: &str) -> lxc_cgroup::Result<()> {
        let r = rule::parse(key, key, value)?;
        let changed = DeviceCgroup::update(self, r)?;
        tracing::info!(cgroup = %self.path().display(), key, value, changed, "device rule of the running container");
        Ok(())
    }

    fn detach(&mut self) -> lxc_cgroup::Result<()> {
        DeviceCgroup::detach(self).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_lxc_cannot_read_are_left_out_as_lxc_does() {
        let rules = [
            Setting::new("lxc.cgroup2.devices.deny", "a"),
            Setting::new("lxc.cgroup2.devices.allow", "c 1:3 rwm"),
            Setting::new("lxc.cgroup2.devices.allow", "c 1:08 r"),
            Setting::new("lxc.cgroup2.devices.allow", "/dev/lxcrs-t-none rw"),
            Setting::new("lxc.cgroup2.devices.allow", "c 1:5 r"),
        ];
        let (list, skipped) = list_from_settings(&rules);
        assert_eq!(list.list_type, ListType::Allowlist);
        assert_eq!(list.rules.len(), 2, "{list:?}");
        assert_eq!(skipped.len(), 2);
        let e = skipped[0].to_string();
        assert!(
            e.starts_with("lxc.cgroup2.devices.allow: invalid device rule \"c 1:08 r\""),
            "{e}"
        );
        assert!(skipped[1].to_string().contains("/dev/lxcrs-t-none"));
        // The driver's error for the same rule names the key and the value too.
        let e: lxc_cgroup::Error = rule::parse("devices.allow", "devices.allow", "c 1")
            .unwrap_err()
            .into();
        assert_eq!(e.key(), Some("devices.allow"));
        assert!(e.to_string().contains("\"c 1\""), "{e}");
    }
}
