//! The facade's promise, checked for whatever feature set this test is built with (the
//! `cargo xtask test-matrix` builds it with none, each alone, and all): an extension is
//! reported exactly when its feature is on, and its config keys are supported exactly then.

/// Every extension the facade has a feature for, and whether it is on in this build.
fn extensions() -> Vec<(&'static str, bool)> {
    vec![
        ("lxc_log", cfg!(feature = "lxc_log")),
        (
            "lxc_config_item_is_supported",
            cfg!(feature = "lxc_config_item_is_supported"),
        ),
        ("pidfd", cfg!(feature = "pidfd")),
        ("init_pidfd", cfg!(feature = "init_pidfd")),
        ("reboot2", cfg!(feature = "reboot2")),
        (
            "cgroup_advanced_isolation",
            cfg!(feature = "cgroup_advanced_isolation"),
        ),
        ("time_namespace", cfg!(feature = "time_namespace")),
        ("devpts_fd", cfg!(feature = "devpts_fd")),
        ("console_log", cfg!(feature = "console_log")),
        (
            "seccomp_allow_nesting",
            cfg!(feature = "seccomp_allow_nesting"),
        ),
        ("seccomp_notify", cfg!(feature = "seccomp_notify")),
        (
            "seccomp_allow_deny_syntax",
            cfg!(feature = "seccomp_allow_deny_syntax"),
        ),
        (
            "seccomp_notify_fd_active",
            cfg!(feature = "seccomp_notify_fd_active"),
        ),
        (
            "seccomp_proxy_send_notify_fd",
            cfg!(feature = "seccomp_proxy_send_notify_fd"),
        ),
        ("network_veth_routes", cfg!(feature = "network_veth_routes")),
        ("network_ipvlan", cfg!(feature = "network_ipvlan")),
        ("network_l2proxy", cfg!(feature = "network_l2proxy")),
        (
            "network_gateway_device_route",
            cfg!(feature = "network_gateway_device_route"),
        ),
        (
            "network_phys_macvlan_mtu",
            cfg!(feature = "network_phys_macvlan_mtu"),
        ),
        ("network_veth_router", cfg!(feature = "network_veth_router")),
        ("network_bridge_vlan", cfg!(feature = "network_bridge_vlan")),
        ("cgroup2", cfg!(feature = "cgroup2")),
        ("cgroup2_devices", cfg!(feature = "cgroup2_devices")),
        ("cgroup_relative", cfg!(feature = "cgroup_relative")),
        (
            "cgroup2_auto_mounting",
            cfg!(feature = "cgroup2_auto_mounting"),
        ),
        ("mount_injection", cfg!(feature = "mount_injection")),
        (
            "mount_injection_file",
            cfg!(feature = "mount_injection_file"),
        ),
        ("idmapped_mounts", cfg!(feature = "idmapped_mounts")),
        ("idmapped_mounts_v2", cfg!(feature = "idmapped_mounts_v2")),
        ("core_scheduling", cfg!(feature = "core_scheduling")),
        (
            "environment_runtime_hooks",
            cfg!(feature = "environment_runtime_hooks"),
        ),
    ]
}

#[test]
fn reported_extensions_are_exactly_the_enabled_features() {
    let mut want: Vec<&str> = extensions()
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| n)
        .collect();
    want.sort_unstable();
    assert_eq!(lxc::api_extensions(), want);
    for (name, on) in extensions() {
        assert_eq!(lxc::has_api_extension(name), on, "{name}");
    }
}

#[test]
fn extension_keys_follow_their_feature() {
    let on = cfg!(feature = "lxc_log");
    for key in ["lxc.log.file", "lxc.log.level", "lxc.log.syslog"] {
        assert_eq!(lxc::config_item_is_supported(key), on, "{key}");
    }
    // The always-on parts: the core, cgroup, mount and network base keys.
    for key in [
        "lxc.uts.name",
        "lxc.rootfs.path",
        "lxc.mount.entry",
        "lxc.cgroup.memory.limit_in_bytes",
        "lxc.net.0.type",
    ] {
        assert!(lxc::config_item_is_supported(key), "{key}");
    }
    // The seccomp subsystem is always on; its extensions' keys follow their features.
    assert!(lxc::config_item_is_supported("lxc.seccomp.profile"));
    for (key, feature) in [
        (
            "lxc.seccomp.allow_nesting",
            cfg!(feature = "seccomp_allow_nesting"),
        ),
        ("lxc.seccomp.notify.proxy", cfg!(feature = "seccomp_notify")),
        (
            "lxc.seccomp.notify.cookie",
            cfg!(feature = "seccomp_notify"),
        ),
    ] {
        assert_eq!(lxc::config_item_is_supported(key), feature, "{key}");
    }
    // Typos.
    assert!(!lxc::config_item_is_supported("lxc.no.such.key"));
}

#[test]
fn a_key_of_a_missing_extension_is_refused_as_not_in_this_build() {
    let mut c = lxc::Config::new();
    let r = c.set("lxc.log.level", "DEBUG");
    if cfg!(feature = "lxc_log") {
        r.expect("lxc_log is built in");
        assert_eq!(c.get("lxc.log.level").expect("get"), "DEBUG");
    } else {
        let e = r.expect_err("lxc_log is not built in").to_string();
        assert!(e.contains("not supported by this build"), "{e}");
        assert!(e.contains("lxc_log"), "{e}");
    }
}

/// The keys of cgroup_advanced_isolation, cgroup2, cgroup_relative and time_namespace: supported and settable exactly
/// with their feature, else "not supported by this build" naming the feature (a family prefix
/// such as `lxc.cgroup.` does not take them as controller settings).
#[test]
fn advanced_isolation_and_time_keys_follow_their_feature() {
    let cases = [
        (
            "cgroup_advanced_isolation",
            cfg!(feature = "cgroup_advanced_isolation"),
            "lxc.cgroup.dir.monitor",
            "lxcrs-t-mon",
            "lxcrs-t-mon",
        ),
        (
            "cgroup_advanced_isolation",
            cfg!(feature = "cgroup_advanced_isolation"),
            "lxc.cgroup.dir.container",
            "lxcrs-t-c",
            "lxcrs-t-c",
        ),
        (
            "cgroup_advanced_isolation",
            cfg!(feature = "cgroup_advanced_isolation"),
            "lxc.cgroup.dir.container.inner",
            "inner",
            "inner",
        ),
        (
            "cgroup2",
            cfg!(feature = "cgroup2"),
            "lxc.cgroup2.memory.max",
            "10M",
            "10M\n",
        ),
        (
            "cgroup2",
            cfg!(feature = "cgroup2"),
            "lxc.cgroup2.devices.allow",
            "c 1:5 rwm",
            "c 1:5 rwm\n",
        ),
        (
            "cgroup_relative",
            cfg!(feature = "cgroup_relative"),
            "lxc.cgroup.relative",
            "1",
            "1",
        ),
        (
            "time_namespace",
            cfg!(feature = "time_namespace"),
            "lxc.time.offset.boot",
            "2h",
            "7200 s\n",
        ),
        (
            "time_namespace",
            cfg!(feature = "time_namespace"),
            "lxc.time.offset.monotonic",
            "5ms",
            "5000000ns\n",
        ),
    ];
    for (ext, on, key, value, shown) in cases {
        assert_eq!(lxc::config_item_is_supported(key), on, "{key}");
        let mut c = lxc::Config::new();
        let r = c.set(key, value);
        if on {
            r.unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(c.get(key).expect("get"), shown, "{key}");
            assert!(!c.get("lxc.cgroup").expect("get").contains(key), "{key}");
        } else {
            let e = r.expect_err(key).to_string();
            assert!(e.contains("not supported by this build"), "{e}");
            assert!(e.contains(ext), "{e}");
        }
    }
    // Still the core's, with or without the extension.
    assert!(lxc::config_item_is_supported("lxc.cgroup.dir"));
    // `lxc.cgroup2` clears every cgroup2 setting: the extension's too.
    assert_eq!(
        lxc::config_item_is_supported("lxc.cgroup2"),
        cfg!(feature = "cgroup2")
    );
    assert!(!lxc::config_item_is_supported("lxc.time.offset.realtime"));
}

/// The `cgroup2[:ro][:force]` tokens of `lxc.mount.auto` are cgroup2_auto_mounting's: without
/// it the value is refused naming the extension, and the other tokens still work.
#[test]
fn cgroup2_automount_tokens_follow_their_feature() {
    let on = cfg!(feature = "cgroup2_auto_mounting");
    for token in ["cgroup2", "cgroup2:ro", "cgroup2:force", "cgroup2:ro:force"] {
        let mut c = lxc::Config::new();
        let r = c.set("lxc.mount.auto", &format!("proc {token}"));
        if on {
            r.unwrap_or_else(|e| panic!("{token}: {e}"));
        } else {
            let e = r.expect_err(token).to_string();
            assert!(e.contains("cgroup2_auto_mounting"), "{e}");
            assert!(e.contains(token), "{e}");
        }
    }
    let mut c = lxc::Config::new();
    c.set("lxc.mount.auto", "proc sys:ro cgroup:mixed")
        .expect("the cgroup v1 tokens are the base's");
}

/// `idmap=` in `lxc.rootfs.options` is idmapped_mounts', in a mount line idmapped_mounts_v2':
/// without its extension the check every start runs first refuses the value, naming it.
#[test]
fn idmap_options_follow_their_features() {
    for (ext, on, key, value) in [
        (
            "idmapped_mounts",
            cfg!(feature = "idmapped_mounts"),
            "lxc.rootfs.options",
            "idmap=container",
        ),
        (
            "idmapped_mounts_v2",
            cfg!(feature = "idmapped_mounts_v2"),
            "lxc.mount.entry",
            "/srv mnt none bind,idmap=container 0 0",
        ),
    ] {
        let c = lxc::Config::parse_str(&format!("{key} = {value}\n"), Some("c.conf".as_ref()))
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        let problems = lxc::check::check_config(&c, &[lxc::registry::CheckScope::Static]);
        if on {
            assert!(problems.is_empty(), "{key}: {problems:?}");
        } else {
            assert_eq!(problems.len(), 1, "{key}: {problems:?}");
            let e = problems[0].to_string();
            assert!(e.contains(key) && e.contains(ext), "{e}");
        }
    }
}

/// The network extensions' keys: supported and settable exactly with their feature, else
/// "not supported by this build" naming the feature; `dev` gateways and an MTU on phys and
/// macvlan (uses of base keys) follow theirs too.
#[test]
fn network_extension_keys_follow_their_feature() {
    let cases = [
        (
            "network_veth_routes",
            cfg!(feature = "network_veth_routes"),
            "veth",
            "veth.ipv4.route",
            "10.1.0.0/16",
            "10.1.0.0/16",
        ),
        (
            "network_veth_routes",
            cfg!(feature = "network_veth_routes"),
            "veth",
            "veth.ipv6.route",
            "fd00:1::/64",
            "fd00:1::/64",
        ),
        (
            "network_ipvlan",
            cfg!(feature = "network_ipvlan"),
            "ipvlan",
            "ipvlan.mode",
            "l3s",
            "l3s",
        ),
        (
            "network_ipvlan",
            cfg!(feature = "network_ipvlan"),
            "ipvlan",
            "ipvlan.isolation",
            "vepa",
            "vepa",
        ),
        (
            "network_l2proxy",
            cfg!(feature = "network_l2proxy"),
            "veth",
            "l2proxy",
            "1",
            "1",
        ),
        (
            "network_veth_router",
            cfg!(feature = "network_veth_router"),
            "veth",
            "veth.mode",
            "router",
            "router",
        ),
        (
            "network_bridge_vlan",
            cfg!(feature = "network_bridge_vlan"),
            "veth",
            "veth.vlan.id",
            "none",
            "-1",
        ),
        (
            "network_bridge_vlan",
            cfg!(feature = "network_bridge_vlan"),
            "veth",
            "veth.vlan.tagged.id",
            "0x10",
            "16",
        ),
    ];
    for (ext, on, type_, sub, value, shown) in cases {
        let key = format!("lxc.net.0.{sub}");
        assert_eq!(lxc::config_item_is_supported(&key), on, "{key}");
        let mut c = lxc::Config::new();
        c.set("lxc.net.0.type", type_).expect("type");
        let r = c.set(&key, value);
        if on {
            r.unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(c.get(&key).expect("get"), shown, "{key}");
        } else {
            let e = r.expect_err(&key).to_string();
            assert!(e.contains("not supported by this build"), "{e}");
            assert!(e.contains(ext), "{e}");
        }
    }

    let mut c = lxc::Config::new();
    c.set("lxc.net.0.type", "veth").expect("type");
    let r = c.set("lxc.net.0.ipv4.gateway", "dev");
    if cfg!(feature = "network_gateway_device_route") {
        r.expect("dev gateway");
        assert_eq!(c.get("lxc.net.0.ipv4.gateway").expect("get"), "dev");
    } else {
        let e = r.expect_err("no dev gateways").to_string();
        assert!(e.contains("network_gateway_device_route"), "{e}");
    }

    // An MTU on phys is refused at start (before anything is made) without its extension.
    let c = lxc::Config::parse_str(
        "lxc.net.0.type = phys\nlxc.net.0.link = eth9\nlxc.net.0.mtu = 1400\n",
        None,
    )
    .expect("config");
    let d = &lxc::net::netdevs(&c).expect("netdevs")[0];
    let r = lxc::net::ext::check_interface(d);
    if cfg!(feature = "network_phys_macvlan_mtu") {
        assert_eq!(r, Ok(()));
    } else {
        let (sub, why) = r.expect_err("refused");
        assert_eq!(sub, "mtu");
        assert!(why.contains("network_phys_macvlan_mtu"), "{why}");
    }

    // So is an ipvlan network without network_ipvlan (the type came with the extension).
    let c = lxc::Config::parse_str("lxc.net.0.type = ipvlan\nlxc.net.0.link = eth9\n", None)
        .expect("config");
    let d = &lxc::net::netdevs(&c).expect("netdevs")[0];
    let r = lxc::net::ext::check_interface(d);
    if cfg!(feature = "network_ipvlan") {
        assert_eq!(r, Ok(()));
    } else {
        let (sub, why) = r.expect_err("refused");
        assert_eq!(sub, "type");
        assert!(why.contains("network_ipvlan"), "{why}");
    }
}
