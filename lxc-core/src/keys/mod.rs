//! The config keys the core owns, registered as the `core` component.
//!
//! Each key's parser validates a value the way LXC's setter does and returns the string LXC's
//! getter would print; custom getters exist where LXC prints something else than the last value
//! (lists of tokens, bare keys such as `lxc.sysctl` that print every subkey).

pub mod parse;

use linkme::distributed_slice;

use crate::config::Config;
use crate::registry::{EntryKind, KeyDef, KeyPattern, Registration, ValueKind, REGISTRY};

use parse::*;

#[distributed_slice(REGISTRY)]
static CORE: Registration = Registration {
    name: "core",
    kind: EntryKind::Component,
    keys: CORE_KEYS,
    hooks: &[],
    commands: &[],
};

const fn key(
    pattern: KeyPattern,
    kind: ValueKind,
    parse: crate::registry::ParseFn,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        pattern,
        kind,
        parse,
        get: None,
        clear: None,
        doc,
    }
}

use KeyPattern::{Exact, Prefix};
use ValueKind::{List, Single};

static CORE_KEYS: &[KeyDef] = &[
    key(
        Exact("lxc.uts.name"),
        Single,
        any_string,
        "the container's hostname",
    ),
    key(Exact("lxc.tty.max"), Single, uint, "number of ttys to make"),
    key(Exact("lxc.pty.max"), Single, uint, "maximum number of ptys"),
    key(
        Exact("lxc.mount.entry"),
        List,
        any_string,
        "an fstab-format mount line",
    ),
    KeyDef {
        pattern: Exact("lxc.sysctl"),
        kind: Single,
        parse: only_empty,
        get: Some(get_prefixed_lines),
        clear: Some(clear_prefixed),
        doc: "clears every lxc.sysctl.* key",
    },
    key(
        Prefix("lxc.sysctl."),
        Single,
        any_string,
        "a sysctl to set in the container",
    ),
];

/// `get_keys`: with no prefix, every key pattern linked in; with a prefix, the ones below it.
pub fn list_keys(_config: &Config, prefix: Option<&str>) -> Vec<String> {
    let all = crate::registry::supported_key_patterns();
    match prefix {
        None => all,
        Some(p) => all.into_iter().filter(|k| k.starts_with(p)).collect(),
    }
}
