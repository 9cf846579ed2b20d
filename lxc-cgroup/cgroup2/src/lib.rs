//! API extension `cgroup2`: the `lxc.cgroup2.*` keys, the limits of the unified hierarchy
//! (`lxc.cgroup2.memory.max`, `lxc.cgroup2.pids.max`, ...), which the cgroup driver writes
//! into the container's cgroup on a pure cgroup2 host, as LXC does, and the `lxc.cgroup2` key
//! that clears them all.
//!
//! The driver (lxc-cgroup) finds and uses the unified hierarchy whatever the build: a host
//! booted with cgroup2 alone still gets its containers contained. What this extension adds is
//! the configuration of that hierarchy; without it the keys are "not supported by this build"
//! and a config naming them fails to load, never silently runs without its limits.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_cgroup::keys::{clear_cgroup_all, get_cgroup_all};
use lxc_core::keys::ops::get_lines;
use lxc_core::keys::parse::{any_string, only_empty};
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{
    CheckScope, EntryKind, KeyCheck, KeyDef, KeyPattern, Registration, ValueKind, KEY_CHECKS,
    REGISTRY,
};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CGROUP2: Registration = Registration {
    name: "cgroup2",
    kind: EntryKind::ApiExtension,
    keys: &[
        KeyDef {
            pattern: KeyPattern::Exact("lxc.cgroup2"),
            kind: ValueKind::Single,
            parse: only_empty,
            get: Some(get_cgroup_all),
            clear: Some(clear_cgroup_all),
            doc: "takes no value: clearing it clears every lxc.cgroup2.* setting",
        },
        KeyDef {
            pattern: KeyPattern::Prefix("lxc.cgroup2."),
            kind: ValueKind::List,
            parse: any_string,
            get: Some(get_lines),
            clear: None,
            doc: "a cgroup2 controller file to write, e.g. lxc.cgroup2.memory.max",
        },
    ],
    hooks: &[],
    commands: &[],
};

// LXC's setter takes any name; whether it names one file of the container's cgroup is checked
// by `config check` and by `start` before anything is made, as for lxc.cgroup.*.
#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static CHECK_V2: KeyCheck = KeyCheck {
    owner: "cgroup2",
    pattern: KeyPattern::Prefix("lxc.cgroup2."),
    scope: CheckScope::Static,
    check: lxc_cgroup::check_setting_key,
};
