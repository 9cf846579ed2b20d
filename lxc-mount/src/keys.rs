//! The mount keys (`lxc.rootfs.*`, `lxc.mount.*`, `lxc.autodev*`), beside the code that acts
//! on them, with LXC 5.0's semantics (checked against Debian's liblxc 5.0.2 by lxc-core's
//! `tests/differential.rs`): each parser validates a value the way LXC's setter does and
//! returns what LXC's getter prints.

use lxc_core::keys::ops::get_lines;
use lxc_core::keys::parse::{any_string, bool01, path, safe_int};
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{
    last_or, CheckScope, EmptyValueRule, KeyCheck, KeyDef, KeyPattern, OnEmpty, ParseFn, ValueKind,
    EMPTY_VALUE_RULES, KEY_CHECKS,
};
use lxc_core::Config;

use crate::auto;

/// The registration that owns these keys.
pub const OWNER: &str = "mount";

/// LXC's compile-time default for `lxc.rootfs.mount` in Debian's build (LXC prints it until the
/// key is set or cleared).
pub const DEFAULT_ROOTFS_MOUNT: &str = "/usr/lib/x86_64-linux-gnu/lxc/rootfs";

/// What LXC prints for a key nobody set.
fn default_of(key: &str) -> &'static str {
    match key {
        "lxc.autodev" | "lxc.rootfs.managed" => "1",
        "lxc.rootfs.mount" => DEFAULT_ROOTFS_MOUNT,
        "lxc.autodev.tmpfs.size" => "0",
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

/// The keys of the `mount` component.
pub static MOUNT_KEYS: &[KeyDef] = &[
    KeyDef {
        clear: Some(clear_autodev_tmpfs_size),
        ..single(
            "lxc.autodev.tmpfs.size",
            autodev_tmpfs_size,
            "size in bytes of the tmpfs on /dev (anything but an integer reads as 500000)",
        )
    },
    single(
        "lxc.autodev",
        bool01,
        "1 (default): mount a tmpfs on /dev and populate it",
    ),
    KeyDef {
        pattern: KeyPattern::Exact("lxc.mount.auto"),
        kind: ValueKind::List,
        parse: mount_auto,
        get: Some(get_mount_auto),
        clear: None,
        doc: "standard filesystems to mount: proc, sys, cgroup, ...",
    },
    KeyDef {
        pattern: KeyPattern::Exact("lxc.mount.entry"),
        kind: ValueKind::List,
        parse: any_string,
        get: Some(get_lines),
        clear: None,
        doc: "an fstab-format mount line",
    },
    single("lxc.mount.fstab", path, "an fstab-format file of mounts"),
    single(
        "lxc.rootfs.managed",
        bool01,
        "0: the rootfs is not managed (destroy leaves it alone)",
    ),
    KeyDef {
        clear: Some(clear_to_empty),
        ..single(
            "lxc.rootfs.mount",
            path,
            "where the rootfs is mounted on the host before pivot_root",
        )
    },
    single(
        "lxc.rootfs.options",
        rootfs_options,
        "mount options for the rootfs",
    ),
    single(
        "lxc.rootfs.path",
        rootfs_path,
        "the container's root filesystem: [TYPE:]PATH",
    ),
];

// LXC frees the path, then reports an error anyway.
#[distributed_slice(EMPTY_VALUE_RULES)]
#[linkme(crate = lxc_core::linkme)]
static EMPTY_FSTAB: EmptyValueRule = EmptyValueRule {
    owner: OWNER,
    pattern: KeyPattern::Exact("lxc.mount.fstab"),
    rule: OnEmpty::ClearThenReject("a path (an empty lxc.mount.fstab is refused, but clears it)"),
};

// LXC's setter stores 0, while clearing (or leaving it out) means 1.
#[distributed_slice(EMPTY_VALUE_RULES)]
#[linkme(crate = lxc_core::linkme)]
static EMPTY_AUTODEV: EmptyValueRule = EmptyValueRule {
    owner: OWNER,
    pattern: KeyPattern::Exact("lxc.autodev"),
    rule: OnEmpty::Memory("0"),
};

/// `lxc.mount.auto`: the tokens of [`auto::parse_token`], normalized to single spaces.
pub fn mount_auto(_key: &str, value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for t in auto::tokens(value) {
        match auto::parse_token(t) {
            None => return Err(auto::expected(t)),
            Some(auto::AutoToken::Cgroup(c))
                if c.kind == auto::CgroupKind::Cgroup2
                    && !lxc_core::registry::has_api_extension(auto::CGROUP2_AUTO_MOUNTING) =>
            {
                return Err(format!(
                    "a token this build supports ({t:?} needs the API extension {}, \
                     which this build does not have)",
                    auto::CGROUP2_AUTO_MOUNTING
                ));
            }
            Some(_) => {}
        }
        out.push(t);
    }
    Ok(out.join(" "))
}

#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static SHMOUNTS_CHECK: KeyCheck = KeyCheck {
    owner: OWNER,
    pattern: KeyPattern::Exact("lxc.mount.auto"),
    scope: CheckScope::Static,
    check: check_shmounts,
};

/// `shmounts:` needs the extension that shares its host directory: without it the container's
/// bind would receive nothing, so the start is refused before anything is made.
pub fn check_shmounts(_key: &str, value: &str) -> Result<(), String> {
    let shmounts = auto::tokens(value)
        .any(|t| matches!(auto::parse_token(t), Some(auto::AutoToken::Shmounts(_))));
    if shmounts && !lxc_core::registry::has_api_extension(auto::MOUNT_INJECTION) {
        return Err(format!(
            "no shmounts: (shared mounts need the API extension {}, which this build does \
             not have)",
            auto::MOUNT_INJECTION
        ));
    }
    Ok(())
}

/// `lxc.mount.auto`: every value replayed (each token replaces its group), printed LXC's way.
pub fn get_mount_auto(config: &Config, key: &str) -> String {
    let mut a = auto::AutoMounts::default();
    for t in config.all(key).flat_map(auto::tokens) {
        if let Some(t) = auto::parse_token(t) {
            a.apply(t);
        }
    }
    a.to_lxc_string()
}

/// `lxc.rootfs.path`: `[TYPE:]PATH`; LXC prints only the path part (the type is kept apart).
pub fn rootfs_path(key: &str, value: &str) -> Result<String, String> {
    let (ty, p) = split_rootfs_path(value);
    if let Some(t) = ty {
        path(key, t).map_err(|_| "a storage type shorter than 4096 bytes".to_string())?;
    }
    path(key, p)
}

/// Split `lxc.rootfs.path`'s raw value into its storage type (the part before the first `:`)
/// and path.
pub fn split_rootfs_path(value: &str) -> (Option<&str>, &str) {
    match value.split_once(':') {
        Some((t, p)) => (Some(t), p),
        None => (None, value),
    }
}

/// `lxc.rootfs.options`: mount options; LXC refuses its own `lxc.mount.entry` options here
/// (anywhere in the string, as it searches for them as substrings), and checks that an
/// `idmap=PATH` names `container` or a file it can open.
pub fn rootfs_options(_key: &str, value: &str) -> Result<String, String> {
    if let Some(pos) = value.find("idmap=") {
        let rest = &value[pos + "idmap=".len()..];
        let p = rest.split(',').next().unwrap_or_default();
        if p.is_empty() {
            return Err("mount options; idmap= needs a path or `container`".into());
        }
        if p.len() >= 4096 {
            return Err("mount options; the idmap= path is too long".into());
        }
        if p != "container" && std::fs::File::open(p).is_err() {
            return Err(format!(
                "mount options; idmap={p} must name `container` or a user namespace file that \
                 exists"
            ));
        }
    }
    for bad in ["create=dir", "create=file", "optional", "relative"] {
        if value.contains(bad) {
            return Err(format!(
                "mount options for the rootfs; {bad:?} is only valid in lxc.mount.entry"
            ));
        }
    }
    Ok(value.to_string())
}

/// `lxc.autodev.tmpfs.size`: LXC takes any value, and reads what is not an integer as its
/// default, 500000.
pub fn autodev_tmpfs_size(_key: &str, value: &str) -> Result<String, String> {
    Ok(safe_int(value).unwrap_or(500_000).to_string())
}

/// LXC's clearer sets 500000, while a config without the key reads 0.
pub fn clear_autodev_tmpfs_size(config: &mut Config, key: &str) {
    config.forget_where(|e| e.key == key);
    config.push_memory_only(key, "500000");
}

/// LXC's clearer frees the path, so it prints empty rather than the built-in default.
pub fn clear_to_empty(config: &mut Config, key: &str) {
    config.forget_where(|e| e.key == key);
    config.push_memory_only(key, "");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_auto_normalizes_and_refuses_like_lxc() {
        assert_eq!(
            mount_auto("lxc.mount.auto", " proc\t\tsys:ro  "),
            Ok("proc sys:ro".into())
        );
        assert_eq!(
            mount_auto("lxc.mount.auto", "shmounts:"),
            Ok("shmounts:".into())
        );
        let e = mount_auto("lxc.mount.auto", "proc bogus").unwrap_err();
        assert!(
            e.contains("automount tokens") && e.contains("\"bogus\""),
            "{e}"
        );
    }

    /// lxc-mount's own tests link no mount_injection: `shmounts:` cannot start.
    #[test]
    fn shmounts_need_mount_injection_to_start() {
        assert_eq!(check_shmounts("lxc.mount.auto", "proc sys:ro"), Ok(()));
        if lxc_core::registry::has_api_extension(auto::MOUNT_INJECTION) {
            eprintln!("SKIP: mount_injection is linked into this test");
            return;
        }
        for v in ["shmounts:/run/x", "proc shmounts:", "shmounts:/a:/b"] {
            let e = check_shmounts("lxc.mount.auto", v).expect_err(v);
            assert!(e.contains("mount_injection"), "{v}: {e}");
        }
    }

    #[test]
    fn rootfs_path_splits_type() {
        assert_eq!(
            split_rootfs_path("overlay:/a:/b"),
            (Some("overlay"), "/a:/b")
        );
        assert_eq!(
            rootfs_path("lxc.rootfs.path", "dir:/a//b/"),
            Ok("/a/b".into())
        );
    }
}
