//! Getters and clearers of the core's keys: how LXC's `get_config_item` prints each key from
//! the values in use, and what LXC's clearers take out of use.
//!
//! The config keeps the values as written, in order; a getter replays them the way LXC's
//! setters built its in-memory state (flags that OR together, lists shared by two keys, sysctls
//! replaced in place), so the printed answer is LXC's.

use crate::config::Config;

use super::parse::{self, NAMESPACES};

/// What LXC prints for a single-valued key nobody set. Keys LXC keeps as a `char *` print as
/// `(null)` where its getter formats them with `%s` instead of copying the string (odd, but it
/// is what scripts reading `lxc-info -c` see).
pub fn default_of(key: &str) -> &'static str {
    match key {
        "lxc.monitor.signal.pdeath" => "9",
        k if k.starts_with("lxc.namespace.share.") => "(null)",
        "lxc.apparmor.allow_incomplete"
        | "lxc.apparmor.allow_nesting"
        | "lxc.ephemeral"
        | "lxc.hook.version"
        | "lxc.init.uid"
        | "lxc.init.gid"
        | "lxc.keyring.session"
        | "lxc.monitor.unshare"
        | "lxc.no_new_privs"
        | "lxc.sched.core"
        | "lxc.signal.halt"
        | "lxc.signal.reboot"
        | "lxc.signal.stop"
        | "lxc.start.auto"
        | "lxc.start.delay"
        | "lxc.start.order" => "0",
        _ => "",
    }
}

/// A single value: the last one set, else LXC's default.
pub fn get_scalar(config: &Config, key: &str) -> String {
    config
        .last(key)
        .unwrap_or_else(|| default_of(key))
        .to_string()
}

/// The last value that changed something (see `parse::id_number`), else the default.
pub fn get_scalar_skip_ignored(config: &Config, key: &str) -> String {
    config
        .all(key)
        .filter(|v| !v.is_empty())
        .last()
        .unwrap_or_else(|| default_of(key))
        .to_string()
}

/// Each value on its own line.
pub fn get_lines(config: &Config, key: &str) -> String {
    config.all(key).map(|v| format!("{v}\n")).collect()
}

/// `lxc.idmap`: LXC separates the maps by newlines but ends the last one without.
pub fn get_idmap(config: &Config, key: &str) -> String {
    config.all(key).collect::<Vec<_>>().join("\n")
}

/// `lxc.group`: every group of every line, one per line.
pub fn get_words(config: &Config, key: &str) -> String {
    config
        .all(key)
        .flat_map(|v| parse::tokens(v, " "))
        .map(|w| format!("{w}\n"))
        .collect()
}

/// `lxc.init.groups`: all groups of all lines, comma separated.
pub fn get_init_groups(config: &Config, key: &str) -> String {
    config.all(key).collect::<Vec<_>>().join(",")
}

/// The capability list `lxc.cap.drop` and `lxc.cap.keep` share, replayed in order: whether it
/// keeps (rather than drops), and the capability names as written.
pub fn cap_state(config: &Config) -> (bool, Vec<&str>) {
    let mut keep = false;
    let mut list: Vec<&str> = Vec::new();
    for e in config.entries() {
        let is_keep = match e.key.as_str() {
            "lxc.cap.keep" => true,
            "lxc.cap.drop" => false,
            _ => continue,
        };
        for t in parse::tokens(&e.value, " ") {
            if t == "none" {
                list.clear();
            } else {
                list.push(t);
            }
        }
        keep = is_keep;
    }
    (keep, list)
}

/// Both cap keys print the one list LXC keeps for them, whichever was set.
pub fn get_caps(config: &Config, _key: &str) -> String {
    cap_state(config)
        .1
        .into_iter()
        .map(|c| format!("{c}\n"))
        .collect()
}

/// Clearing either cap key empties the shared list; LXC drops only the cleared key's lines
/// from the saved text, so the other key's lines come back when the file is read again.
pub fn clear_caps(config: &mut Config, _key: &str) {
    config.forget_where(|e| e.key == "lxc.cap.drop" || e.key == "lxc.cap.keep");
}

/// The OR of the clone flags of `lxc.namespace.clone` or `lxc.namespace.keep`.
pub fn namespace_flags(config: &Config, key: &str) -> i32 {
    config
        .all(key)
        .flat_map(|v| parse::tokens(v, " "))
        .filter_map(parse::namespace_flag)
        .fold(0, |a, f| a | f)
}

pub fn get_namespaces(config: &Config, key: &str) -> String {
    let flags = namespace_flags(config, key);
    NAMESPACES
        .iter()
        .filter(|(_, f)| flags & f != 0)
        .map(|(n, _)| format!("{n}\n"))
        .collect()
}

/// Keys below `prefix` in the order LXC's list has them: a key keeps the place where it first
/// appeared and takes the last value (LXC replaces sysctls and limits in place).
pub fn ordered_subkeys<'a>(config: &'a Config, prefix: &str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for e in config.entries().filter(|e| e.key.starts_with(prefix)) {
        let sub = &e.key[prefix.len()..];
        match out.iter_mut().find(|(k, _)| *k == sub) {
            Some(slot) => slot.1 = &e.value,
            None => out.push((sub, &e.value)),
        }
    }
    out
}

/// `lxc.sysctl` and `lxc.prlimit`: every subkey as `key = value`.
pub fn get_replaced_all(config: &Config, key: &str) -> String {
    let prefix = format!("{key}.");
    ordered_subkeys(config, &prefix)
        .into_iter()
        .map(|(k, v)| format!("{prefix}{k} = {v}\n"))
        .collect()
}

/// `lxc.proc.X`: LXC appends a second setting of the same file and prints all values run
/// together, without a separator.
pub fn get_concat(config: &Config, key: &str) -> String {
    config.all(key).collect()
}

/// `lxc.proc`: every setting as `key = value`, in order.
pub fn get_all_lines(config: &Config, key: &str) -> String {
    let prefix = format!("{key}.");
    config
        .with_prefix(&prefix)
        .map(|e| format!("{} = {}\n", e.key, e.value))
        .collect()
}

/// `lxc.hook`: every hook list (not `lxc.hook.version`).
pub fn clear_hooks(config: &mut Config, _key: &str) {
    config.forget_where(|e| {
        e.key
            .strip_prefix("lxc.hook.")
            .is_some_and(|t| super::HOOK_TYPES.contains(&t))
    });
}

/// LXC's clearer for `lxc.tty.max` resets another field (the tty count of a running container),
/// so the value stays in use; only its lines leave the saved text. Kept as LXC has it.
pub fn clear_nothing(_config: &mut Config, _key: &str) {}

/// LXC's clearer sets 0 ("no signal"), while a config without the key reads SIGKILL.
pub fn clear_to_zero(config: &mut Config, key: &str) {
    config.forget_where(|e| e.key == key);
    config.push_memory_only(key, "0");
}
