//! Whatever feature set this is built with, no two linked registrations claim the same name,
//! key pattern or command (lookups take the first match, so a clash would be silent).

#[test]
fn no_two_registrations_claim_one_thing() {
    let regs = lxc::registry::registrations();
    assert!(
        !regs.is_empty(),
        "the core's own components are always linked"
    );
    let clashes = lxc::registry::conflicts(&regs);
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

#[test]
fn no_two_start_requests_share_a_name() {
    let defs: Vec<_> = lxc::registry::START_REQUESTS.iter().collect();
    let clashes = lxc::registry::start_request_conflicts(&defs);
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

/// A key check runs on the keys that resolve to the key definition of its pattern: a check
/// whose pattern no linked registration defines would never run.
#[test]
fn every_key_check_belongs_to_a_linked_key() {
    let defined: Vec<lxc::registry::KeyPattern> = lxc::registry::registrations()
        .iter()
        .flat_map(|r| r.keys.iter().map(|k| k.pattern))
        .collect();
    assert!(!lxc::registry::KEY_CHECKS.is_empty());
    for c in lxc::registry::KEY_CHECKS.iter() {
        assert!(
            defined.contains(&c.pattern),
            "{}'s check of {} has no key definition",
            c.owner,
            c.pattern.display()
        );
    }
}

/// The cgroup, mount and terminal keys come from the components that apply them, not from
/// the core's table: the core holds no subsystem grammar.
#[test]
fn cgroup_mount_and_terminal_keys_belong_to_their_components() {
    let regs = lxc::registry::registrations();
    let core = regs
        .iter()
        .find(|r| r.name == "core")
        .expect("the core's registration");
    for k in core.keys {
        let p = k.pattern.display();
        for family in [
            "lxc.cgroup",
            "lxc.mount",
            "lxc.rootfs",
            "lxc.autodev",
            "lxc.tty",
            "lxc.pty",
            "lxc.console",
        ] {
            assert!(
                !(p == family
                    || p.starts_with(&format!("{family}."))
                    || (family == "lxc.cgroup" && p.starts_with("lxc.cgroup2"))),
                "the core's table holds {p}"
            );
        }
    }
    let owner = |key: &str| match lxc::registry::lookup(key) {
        lxc::registry::Lookup::Supported(r) => r.owner,
        _ => panic!("{key} is not supported"),
    };
    for key in [
        "lxc.cgroup",
        "lxc.cgroup.memory.limit_in_bytes",
        "lxc.cgroup.dir",
        "lxc.cgroup.dir.monitor.pivot",
    ] {
        assert_eq!(owner(key), "cgroup", "{key}");
    }
    // The extensions' keys, when their features are on.
    for (key, ext, on) in [
        ("lxc.cgroup2", "cgroup2", cfg!(feature = "cgroup2")),
        ("lxc.cgroup2.pids.max", "cgroup2", cfg!(feature = "cgroup2")),
        (
            "lxc.cgroup.relative",
            "cgroup_relative",
            cfg!(feature = "cgroup_relative"),
        ),
    ] {
        if on {
            assert_eq!(owner(key), ext, "{key}");
        }
    }
    for key in [
        "lxc.mount.auto",
        "lxc.mount.entry",
        "lxc.mount.fstab",
        "lxc.rootfs.path",
        "lxc.rootfs.mount",
        "lxc.rootfs.options",
        "lxc.rootfs.managed",
        "lxc.autodev",
        "lxc.autodev.tmpfs.size",
    ] {
        assert_eq!(owner(key), "mount", "{key}");
    }
    for key in [
        "lxc.tty.max",
        "lxc.tty.dir",
        "lxc.pty.max",
        "lxc.console.path",
    ] {
        assert_eq!(owner(key), "terminals", "{key}");
    }
}

/// An empty-value rule applies to the key definition of its owner and pattern: one that matches
/// no linked key would never apply.
#[test]
fn every_empty_value_rule_belongs_to_a_linked_key() {
    let regs = lxc::registry::registrations();
    for rule in lxc::registry::EMPTY_VALUE_RULES.iter() {
        assert!(
            regs.iter()
                .any(|r| r.name == rule.owner && r.keys.iter().any(|k| k.pattern == rule.pattern)),
            "{}'s empty-value rule for {} has no key definition",
            rule.owner,
            rule.pattern.display()
        );
    }
}

/// The monitor freezes and thaws through the typed cgroup handle, not a command: clients
/// cannot reach the driver's freezer by name.
#[test]
fn freezing_is_no_string_command() {
    for name in ["cgroup.freeze", "cgroup.thaw"] {
        assert!(lxc::registry::command(name).is_none(), "{name}");
    }
    for name in ["cgroup.get", "cgroup.set"] {
        assert!(lxc::registry::command(name).is_some(), "{name}");
    }
}
