//! The cgroup keys of the always-on driver (`lxc.cgroup.*`, `lxc.cgroup.dir`,
//! `lxc.cgroup.dir.monitor.pivot`), beside the driver that applies them, and the helpers the
//! extensions owning `lxc.cgroup2.*` (cgroup2) and `lxc.cgroup.relative` (cgroup_relative)
//! declare theirs with, with LXC 5.0's semantics (checked against Debian's liblxc 5.0.2 by lxc-core's
//! `tests/differential.rs`).

use lxc_core::config::Entry;
use lxc_core::keys::ops::get_lines;
use lxc_core::keys::parse::{any_string, only_empty, path};
use lxc_core::registry::{last_or, KeyDef, KeyPattern, ParseFn, ValueKind};
use lxc_core::Config;

use crate::config::META_KEYS;

/// What LXC prints for a key nobody set (`(null)`: LXC formats its unset `char *` with `%s`).
fn default_of(key: &str) -> &'static str {
    match key {
        "lxc.cgroup.dir" | "lxc.cgroup.dir.monitor.pivot" => "(null)",
        _ => "",
    }
}

/// A single value: the last one set, else LXC's default.
fn get_scalar(config: &Config, key: &str) -> String {
    last_or(config, key, default_of(key))
}

const fn single(name: &'static str, parse: ParseFn, doc: &'static str) -> KeyDef {
    KeyDef::single(name, parse, get_scalar, doc)
}

/// The keys of the `cgroup` component.
pub static CGROUP_KEYS: &[KeyDef] = &[
    single(
        "lxc.cgroup.dir.monitor.pivot",
        cgroup_dir,
        "the cgroup the monitor moves to when the container stops",
    ),
    single(
        "lxc.cgroup.dir",
        cgroup_dir,
        "the cgroup of the container and its monitor, relative to the cgroup root",
    ),
    KeyDef {
        pattern: KeyPattern::Exact("lxc.cgroup"),
        kind: ValueKind::Single,
        parse: only_empty,
        get: Some(get_cgroup_all),
        clear: Some(clear_cgroup_all),
        doc: "takes no value: clearing it clears every lxc.cgroup.* controller setting",
    },
    KeyDef {
        pattern: KeyPattern::Prefix("lxc.cgroup."),
        kind: ValueKind::List,
        parse: any_string,
        get: Some(get_lines),
        clear: None,
        doc: "a cgroup v1 controller file to write, e.g. lxc.cgroup.memory.limit_in_bytes",
    },
];

/// `lxc.cgroup.dir`, `.dir.monitor.pivot`: a relative path that does not walk upwards (LXC
/// refuses any `..` in it), simplified like LXC's path keys.
pub fn cgroup_dir(key: &str, value: &str) -> Result<String, String> {
    if value.starts_with('/') {
        return Err(format!(
            "a path relative to the cgroup root ({key} may not be absolute)"
        ));
    }
    if value.contains("..") {
        return Err(format!("a relative path ({key} may not contain \"..\")"));
    }
    path(key, value)
}

/// Keys of the cgroup v1 settings list (`lxc.cgroup.<controller.file>`), which excludes the
/// `lxc.cgroup.dir*` and `lxc.cgroup.relative` keys.
pub fn is_cgroup_v1_setting(key: &str) -> bool {
    key.starts_with("lxc.cgroup.") && !META_KEYS.contains(&key)
}

fn is_cgroup_setting(e: &Entry, bare: &str) -> bool {
    match bare {
        "lxc.cgroup" => is_cgroup_v1_setting(&e.key),
        _ => e.key.starts_with("lxc.cgroup2."),
    }
}

/// `lxc.cgroup` / `lxc.cgroup2`: every setting of that version as `key = value`, in order.
pub fn get_cgroup_all(config: &Config, key: &str) -> String {
    config
        .entries()
        .filter(|e| is_cgroup_setting(e, key))
        .map(|e| format!("{} = {}\n", e.key, e.value))
        .collect()
}

/// Clearing `lxc.cgroup` or `lxc.cgroup2` empties that version's settings. What the saved text
/// loses differs (see `Config::drop_saved_lines`): `lxc.cgroup` drops every line starting with
/// it, `lxc.cgroup2` none of the settings.
pub fn clear_cgroup_all(config: &mut Config, key: &str) {
    let bare = key.to_string();
    config.forget_where(|e| is_cgroup_setting(e, &bare));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_keys_are_not_settings() {
        assert!(is_cgroup_v1_setting("lxc.cgroup.memory.limit_in_bytes"));
        for k in META_KEYS {
            assert!(!is_cgroup_v1_setting(k), "{k}");
        }
        assert!(cgroup_dir("lxc.cgroup.dir", "/abs").is_err());
        assert!(cgroup_dir("lxc.cgroup.dir", "a/../b").is_err());
        assert_eq!(cgroup_dir("lxc.cgroup.dir", "a//b/"), Ok("a/b".into()));
    }
}
