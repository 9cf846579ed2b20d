//! The config keys the core owns, registered as the `core` component, with LXC 5.0's
//! semantics (checked against Debian's liblxc 5.0.2 by `tests/differential.rs`).
//!
//! Each key's parser validates a value the way LXC's setter does and returns the string LXC's
//! getter would print; custom getters exist where LXC prints something else than the last value
//! (lists of tokens, flags, bare keys such as `lxc.sysctl` that print every subkey), and custom
//! clearers where LXC's clearer does more (or less) than forgetting the key's own values.
//!
//! Three things LXC's setters do that a `KeyDef` cannot say yet are kept in this module and
//! consulted by the config engine for core keys: what an empty value does ([`on_empty`]; other
//! registrations declare theirs in [`crate::registry::EMPTY_VALUE_RULES`]), checks against
//! other keys ([`check_set`]) and keys whose value cannot be read ([`get_refused`]).
//!
//! The subsystems' keys are not here: the cgroup keys are lxc-cgroup's, the mount keys
//! lxc-mount's, each registered beside the code that applies them.

pub mod check;
pub mod ops;
pub mod parse;
pub mod typed;

use linkme::distributed_slice;

use crate::config::lxc_keys::{LXC_CONFIG_ITEMS, LXC_SUBKEYS};
use crate::config::Config;
use crate::registry::{
    self, EntryKind, GetFn, KeyDef, KeyPattern, ParseFn, Registration, ValueKind, REGISTRY,
};

use ops::*;
use parse::*;

/// The registration name of the core's always-on keys.
pub const CORE: &str = "core";

#[distributed_slice(REGISTRY)]
static CORE_REG: Registration = Registration {
    name: CORE,
    kind: EntryKind::Component,
    keys: CORE_KEYS,
    hooks: &[],
    commands: &[],
};

/// LXC's hook types, in the order LXC runs them.
pub const HOOK_TYPES: &[&str] = &[
    "pre-start",
    "pre-mount",
    "mount",
    "autodev",
    "start",
    "stop",
    "post-stop",
    "clone",
    "destroy",
    "start-host",
];

use KeyPattern::{Exact, Prefix};
use ValueKind::{List, Single};

/// A single-valued key printed by [`get_scalar`] (its default when unset).
const fn single(name: &'static str, parse: ParseFn, doc: &'static str) -> KeyDef {
    KeyDef {
        pattern: Exact(name),
        kind: Single,
        parse,
        get: Some(get_scalar),
        clear: None,
        doc,
    }
}

/// A list key: values accumulate, printed by `get`.
const fn list(name: &'static str, parse: ParseFn, get: GetFn, doc: &'static str) -> KeyDef {
    KeyDef {
        pattern: Exact(name),
        kind: List,
        parse,
        get: Some(get),
        clear: None,
        doc,
    }
}

const fn hook(name: &'static str, doc: &'static str) -> KeyDef {
    list(name, any_string, get_lines, doc)
}

const fn share(name: &'static str, doc: &'static str) -> KeyDef {
    single(name, any_string, doc)
}

static CORE_KEYS: &[KeyDef] = &[
    single(
        "lxc.arch",
        arch,
        "the architecture (personality) the container runs with: i686, x86_64, ...",
    ),
    // AppArmor and SELinux: accepted and printed like LXC; this kernel has no LSM, which the
    // start code reports.
    single(
        "lxc.apparmor.profile",
        any_string,
        "the AppArmor profile to run the container under",
    ),
    single(
        "lxc.apparmor.allow_incomplete",
        bool01,
        "1: start even if the kernel's AppArmor lacks mount restrictions",
    ),
    single(
        "lxc.apparmor.allow_nesting",
        bool01,
        "1: allow nested containers under the generated AppArmor profile",
    ),
    list(
        "lxc.apparmor.raw",
        any_string,
        get_lines,
        "a raw line to add to the generated AppArmor profile",
    ),
    single(
        "lxc.selinux.context",
        any_string,
        "the SELinux context to run the container under",
    ),
    single(
        "lxc.selinux.context.keyring",
        any_string,
        "the SELinux context of the container's session keyring",
    ),
    KeyDef {
        clear: Some(clear_caps),
        ..list(
            "lxc.cap.drop",
            cap_list,
            get_caps,
            "capabilities to drop (names like sys_admin, or numbers)",
        )
    },
    KeyDef {
        clear: Some(clear_caps),
        ..list(
            "lxc.cap.keep",
            cap_list,
            get_caps,
            "capabilities to keep, dropping all others; `none` drops all",
        )
    },
    list(
        "lxc.environment",
        environment,
        get_lines,
        "NAME=VALUE for the container's init, or NAME to pass the caller's variable",
    ),
    single(
        "lxc.ephemeral",
        bool01,
        "1: destroy the container when it stops",
    ),
    single(
        "lxc.execute.cmd",
        any_string,
        "the command lxc-execute runs when none is given",
    ),
    list(
        "lxc.group",
        word_list,
        get_words,
        "groups the container belongs to (for autostart)",
    ),
    hook(
        "lxc.hook.autodev",
        "a program to run after /dev is populated",
    ),
    hook(
        "lxc.hook.clone",
        "a program to run when the container is cloned",
    ),
    hook(
        "lxc.hook.destroy",
        "a program to run when the container is destroyed",
    ),
    hook(
        "lxc.hook.mount",
        "a program to run after the mounts, before pivot_root",
    ),
    hook(
        "lxc.hook.post-stop",
        "a program to run on the host after the container stopped",
    ),
    hook(
        "lxc.hook.pre-mount",
        "a program to run in the container's mount namespace before the rootfs is mounted",
    ),
    hook(
        "lxc.hook.pre-start",
        "a program to run on the host before the container starts",
    ),
    hook(
        "lxc.hook.start",
        "a program to run in the container right before init",
    ),
    hook(
        "lxc.hook.start-host",
        "a program to run on the host once the container's namespaces exist",
    ),
    hook(
        "lxc.hook.stop",
        "a program to run on the host when the container stops, with its namespaces",
    ),
    KeyDef {
        get: Some(get_scalar_skip_ignored),
        ..single(
            "lxc.hook.version",
            hook_version,
            "0: hooks get their arguments on the command line; 1: in environment variables",
        )
    },
    KeyDef {
        pattern: Exact("lxc.hook"),
        kind: Single,
        parse: hook_bare,
        get: None,
        clear: Some(clear_hooks),
        doc: "takes no value: clearing it clears every lxc.hook.* list",
    },
    list(
        "lxc.idmap",
        idmap,
        get_idmap,
        "a uid or gid mapping `u|g NSID HOSTID RANGE`",
    ),
    list(
        "lxc.include",
        any_string,
        get_lines,
        "a config file, or a directory of *.conf files, to read here",
    ),
    single("lxc.init.cmd", any_string, "the container's init program"),
    KeyDef {
        get: Some(get_scalar_skip_ignored),
        ..single("lxc.init.gid", id_number, "the gid init runs as")
    },
    list(
        "lxc.init.groups",
        init_groups,
        get_init_groups,
        "comma separated supplementary gids of init",
    ),
    KeyDef {
        get: Some(get_scalar_skip_ignored),
        ..single("lxc.init.uid", id_number, "the uid init runs as")
    },
    single("lxc.init.cwd", path, "the working directory of init"),
    single(
        "lxc.keyring.session",
        bool01,
        "whether the container gets a fresh session keyring",
    ),
    single(
        "lxc.monitor.unshare",
        uint_printed_signed,
        "non-zero: the monitor unshares its mount namespace",
    ),
    KeyDef {
        clear: Some(clear_to_zero),
        ..single(
            "lxc.monitor.signal.pdeath",
            signal_value,
            "the signal the container's init gets when the monitor dies (default SIGKILL)",
        )
    },
    list(
        "lxc.namespace.clone",
        namespace_list,
        get_namespaces,
        "namespaces to create (default: all the container needs)",
    ),
    list(
        "lxc.namespace.keep",
        namespace_list,
        get_namespaces,
        "namespaces to keep from the caller",
    ),
    share(
        "lxc.namespace.share.user",
        "a container name, pid or path whose user namespace to join",
    ),
    share(
        "lxc.namespace.share.mnt",
        "a container name, pid or path whose mount namespace to join",
    ),
    share(
        "lxc.namespace.share.pid",
        "a container name, pid or path whose pid namespace to join",
    ),
    share(
        "lxc.namespace.share.uts",
        "a container name, pid or path whose uts namespace to join",
    ),
    share(
        "lxc.namespace.share.ipc",
        "a container name, pid or path whose ipc namespace to join",
    ),
    share(
        "lxc.namespace.share.net",
        "a container name, pid or path whose network namespace to join",
    ),
    share(
        "lxc.namespace.share.cgroup",
        "a container name, pid or path whose cgroup namespace to join",
    ),
    share(
        "lxc.namespace.share.time",
        "a container name, pid or path whose time namespace to join",
    ),
    single(
        "lxc.no_new_privs",
        bool01,
        "1: set PR_SET_NO_NEW_PRIVS before running init",
    ),
    KeyDef {
        pattern: Exact("lxc.prlimit"),
        kind: Single,
        parse: only_empty,
        get: Some(get_replaced_all),
        clear: Some(clear_prefixed),
        doc: "takes no value: clearing it clears every lxc.prlimit.* limit",
    },
    KeyDef {
        pattern: Prefix("lxc.prlimit."),
        kind: Single,
        parse: prlimit,
        get: Some(get_scalar),
        clear: None,
        doc: "a resource limit `SOFT[:HARD]` for init, e.g. lxc.prlimit.nofile = 1024:4096",
    },
    single(
        "lxc.signal.halt",
        signal_value,
        "the signal that asks init to halt (default SIGPWR)",
    ),
    single(
        "lxc.signal.reboot",
        signal_value,
        "the signal that asks init to reboot (default SIGINT)",
    ),
    single(
        "lxc.signal.stop",
        signal_value,
        "the signal that kills init on a forced stop (default SIGKILL)",
    ),
    single(
        "lxc.start.auto",
        bool01,
        "1: start the container at boot (lxc-autostart)",
    ),
    single(
        "lxc.start.delay",
        uint_printed_signed,
        "seconds lxc-autostart waits after starting the container",
    ),
    single(
        "lxc.start.order",
        int,
        "lxc-autostart's order: lower starts first",
    ),
    single("lxc.uts.name", hostname, "the container's hostname"),
    KeyDef {
        pattern: Exact("lxc.sysctl"),
        kind: Single,
        parse: only_empty,
        get: Some(get_replaced_all),
        clear: Some(clear_prefixed),
        doc: "takes no value: clearing it clears every lxc.sysctl.* setting",
    },
    KeyDef {
        pattern: Prefix("lxc.sysctl."),
        kind: Single,
        parse: any_string,
        get: Some(get_scalar),
        clear: None,
        doc: "a sysctl to set in the container, e.g. lxc.sysctl.net.ipv4.ip_forward",
    },
    KeyDef {
        pattern: Exact("lxc.proc"),
        kind: Single,
        parse: only_empty,
        get: Some(get_all_lines),
        clear: Some(clear_prefixed),
        doc: "takes no value: clearing it clears every lxc.proc.* setting",
    },
    KeyDef {
        pattern: Prefix("lxc.proc."),
        kind: List,
        parse: any_string,
        get: Some(get_concat),
        clear: None,
        doc: "a /proc/<init pid>/ file to write, e.g. lxc.proc.oom_score_adj",
    },
];

fn hook_bare(_key: &str, _value: &str) -> Result<String, String> {
    Err("an empty value (lxc.hook must not have a value; set lxc.hook.<type>)".into())
}

pub use crate::registry::OnEmpty;

/// What an empty value does to a core key.
pub fn on_empty(key: &str) -> OnEmpty {
    match key {
        // LXC has no empty architecture: the value is looked up and refused.
        "lxc.arch" => OnEmpty::Reject("an architecture; use clear to unset lxc.arch"),
        _ => OnEmpty::Clear,
    }
}

/// Checks of a new value against the rest of the config, as LXC's setters make them.
pub fn check_set(config: &Config, key: &str, _value: &str) -> Result<(), String> {
    match key {
        // Only whether the newest cap line is a keep line matters here (cap_state's flag).
        "lxc.cap.drop"
            if config
                .newest_of(&["lxc.cap.keep", "lxc.cap.drop"])
                .is_some_and(|e| e.key == "lxc.cap.keep") =>
        {
            Err(
                "capabilities to drop, but lxc.cap.keep is set (keeping and dropping capabilities \
             are mutually exclusive; clear lxc.cap.keep first)"
                    .into(),
            )
        }
        "lxc.cap.keep" => {
            let (keep, list) = cap_state(config);
            if !keep && !list.is_empty() {
                return Err(
                    "capabilities to keep, but lxc.cap.drop is set (keeping and dropping \
                            capabilities are mutually exclusive; clear lxc.cap.drop first)"
                        .into(),
                );
            }
            Ok(())
        }
        "lxc.namespace.clone" if namespace_flags(config, "lxc.namespace.keep") != 0 => {
            Err("namespaces to clone, but lxc.namespace.keep is set (set only one of them)".into())
        }
        "lxc.namespace.keep" if namespace_flags(config, "lxc.namespace.clone") != 0 => {
            Err("namespaces to keep, but lxc.namespace.clone is set (set only one of them)".into())
        }
        _ => Ok(()),
    }
}

/// Keys LXC refuses to print, with what to ask for instead.
pub fn get_refused(key: &str) -> Option<&'static str> {
    match key {
        "lxc.hook" => Some("a hook type: get lxc.hook.<type>; lxc.hook itself has no value"),
        _ => None,
    }
}

/// `get_keys`: with no prefix, every key this build supports in LXC's order (keys LXC does not
/// have follow, sorted); with a prefix, LXC's subkeys of it that this build supports. An
/// unknown prefix gives an empty list (LXC fails; see [`get_keys`]).
pub fn list_keys(config: &Config, prefix: Option<&str>) -> Vec<String> {
    get_keys(config, prefix).unwrap_or_default()
}

/// `get_keys` with LXC's failure: `None` for a prefix LXC has no subkey list for.
pub fn get_keys(config: &Config, prefix: Option<&str>) -> Option<Vec<String>> {
    let Some(prefix) = prefix else {
        let mut keys: Vec<String> = LXC_CONFIG_ITEMS
            .iter()
            .filter(|k| !k.ends_with('.') && registry::config_item_is_supported(k))
            .map(|k| k.to_string())
            .collect();
        // Keys LXC has no entry for (LXC lists a family such as lxc.namespace.share.* not at
        // all).
        let lxc_has = |k: &str| {
            LXC_CONFIG_ITEMS
                .iter()
                .any(|i| *i == k || (i.ends_with('.') && k.starts_with(i)))
        };
        // The keys of loaded plugins (see `registry::runtime`) too.
        let mut extra: Vec<String> = REGISTRY
            .iter()
            .flat_map(|r| r.keys.iter().map(|d| d.pattern))
            .chain(registry::runtime::keys().into_iter().map(|k| k.pattern))
            .filter_map(|p| match p {
                Exact(k) if !lxc_has(k) => Some(k.to_string()),
                _ => None,
            })
            .collect();
        extra.sort();
        extra.dedup();
        keys.extend(extra);
        return Some(keys);
    };
    for rules in registry::KEY_RULES.iter() {
        if let Some((p, list)) = rules.subkeys {
            if prefix.starts_with(p) {
                return list(config, prefix);
            }
        }
    }
    if let Some(rest) = prefix.strip_prefix("lxc.net.") {
        return net_subkeys(config, rest);
    }
    let (_, subs) = LXC_SUBKEYS.iter().find(|(p, _)| *p == prefix)?;
    let out: Vec<String> = subs
        .iter()
        .filter(|s| {
            // LXC lists this one for lxc.hook although no such key exists.
            **s == "autodevtmpfssize"
                || registry::config_item_is_supported(&format!("{prefix}.{s}"))
        })
        .map(|s| s.to_string())
        .collect();
    (!out.is_empty()).then_some(out)
}

/// `lxc.net.<i>`: the subkeys the linked-in network code registers (LXC narrows them to the
/// interface's type; the network subsystem can do that when it owns this listing).
fn net_subkeys(_config: &Config, index: &str) -> Option<Vec<String>> {
    safe_uint(index)?;
    let mut out: Vec<String> = REGISTRY
        .iter()
        .flat_map(|r| r.keys.iter().map(|d| d.pattern))
        .chain(registry::runtime::keys().into_iter().map(|k| k.pattern))
        .filter_map(|p| match p {
            KeyPattern::Indexed {
                prefix: "lxc.net.",
                suffix,
            } => Some(suffix.to_string()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}
