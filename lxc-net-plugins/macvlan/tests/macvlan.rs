//! The macvlan plugin against the real kernel, on a veth the test made in a network namespace
//! of its own (see `shared/world.rs`); the container side checked with `ip -d -j link`.

#[path = "../../shared/world.rs"]
mod world;

use lxc_net_api::testing::build_plugin;
use lxc_net_api::NetPluginRef;
use world::{require_root, World, LOWER};

fn module() -> NetPluginRef {
    lxc_net_plugin_macvlan::module()
}

/// Each `macvlan.mode` reaches the kernel (private when unset, LXC's default); the link is
/// inside the container under its name, down, on the host's lower device, with `mtu`.
#[test]
fn every_mode_is_honoured() {
    require_root!("every_mode_is_honoured");
    let w = World::new("mvm", 1500);
    let m = module();
    assert_eq!(m.name().as_str(), "macvlan");
    assert_eq!(m.types().len(), 1);
    assert_eq!(m.types()[0].as_str(), "macvlan");
    assert!(m.keys().is_empty());
    assert!((m.check_key())("macvlan.mode".into(), "bridge".into()).is_err());

    let lower = w.host_nl().index_of(LOWER).expect("lower");
    for (mode, want) in [
        (None, "private"),
        (Some("private"), "private"),
        (Some("vepa"), "vepa"),
        (Some("bridge"), "bridge"),
        (Some("passthru"), "passthru"),
    ] {
        let mut config = vec![("link", LOWER), ("name", "eth1"), ("mtu", "1400")];
        if let Some(mode) = mode {
            config.push(("macvlan.mode", mode));
        }
        let req = w.req("macvlan", 0, &config);
        let c = w.create(m, &req).expect("create");
        assert_eq!(c.ifname.as_str(), "eth1");
        assert!(c.host_ifname.is_none());
        let l = w.ct_link("eth1");
        assert_eq!(l["linkinfo"]["info_kind"], "macvlan", "{l}");
        assert_eq!(l["linkinfo"]["info_data"]["mode"], want, "{mode:?}: {l}");
        assert_eq!(l["mtu"], 1400, "{l}");
        assert_eq!(l["link_index"], lower, "on the lower device: {l}");
        assert!(l["link_netnsid"].is_number(), "the lower is elsewhere: {l}");
        assert_eq!(l["operstate"], "DOWN", "{l}");
        assert!(
            !l["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
            "{l}"
        );
        let d = w.describe(m, &req, &c);
        assert_eq!(d, format!("macvlan eth1 on {LOWER} (mode {want})"));
        w.destroy(m, &req, &c).expect("destroy");
        // A passthru macvlan takes the lower device for itself: destroy deletes it at once
        // (a reboot's new one would collide); the others are left to the namespace.
        let kept = w.ct_names().contains(&"eth1".to_string());
        assert_eq!(kept, want != "passthru", "{want}: {:?}", w.ct_names());
        // Nothing on the host side: only the test's pair there.
        assert_eq!(w.host_names(), ["lo", LOWER, world::LOWER_PEER]);
        w.clear_ct();
    }
    w.finish();
}

/// A fixed `hwaddr` must be unique among the lower device's macvlans: destroy deletes such a
/// macvlan at once; a random one (`xx`) is left to the namespace.
#[test]
fn destroy_deletes_what_would_collide() {
    require_root!("destroy_deletes_what_would_collide");
    let w = World::new("mvd", 1500);
    let m = module();
    for (hwaddr, kept) in [("00:16:3e:12:34:56", false), ("00:16:3e:xx:xx:xx", true)] {
        let req = w.req(
            "macvlan",
            0,
            &[("link", LOWER), ("name", "eth0"), ("hwaddr", hwaddr)],
        );
        let c = w.create(m, &req).expect("create");
        w.destroy(m, &req, &c).expect("destroy");
        assert_eq!(w.ct_names().contains(&"eth0".to_string()), kept, "{hwaddr}");
        // A second destroy finds nothing to do.
        w.destroy(m, &req, &c).expect("destroy again");
        w.clear_ct();
    }
    w.finish();
}

/// Without a name (or with LXC's `eth%d`) the kernel numbers it inside the container, after
/// LXC's transient `macvXXXXXX` name; a second one gets the next number.
#[test]
fn kernel_numbered_names() {
    require_root!("kernel_numbered_names");
    let w = World::new("mvn", 1500);
    let m = module();
    let a = w.req("macvlan", 0, &[("link", LOWER), ("macvlan.mode", "bridge")]);
    let ca = w.create(m, &a).expect("create");
    assert_eq!(ca.ifname.as_str(), "eth0");
    let b = w.req(
        "macvlan",
        1,
        &[
            ("link", LOWER),
            ("macvlan.mode", "bridge"),
            ("name", "eth%d"),
        ],
    );
    let cb = w.create(m, &b).expect("create");
    assert_eq!(cb.ifname.as_str(), "eth1");
    assert_eq!(w.ct_names(), ["eth0", "eth1", "lo"]);
    assert_eq!(w.ct_link("eth1")["linkinfo"]["info_data"]["mode"], "bridge");
    w.finish();
}

/// What cannot work fails in one line naming the interface, and leaves nothing.
#[test]
fn errors_name_the_interface_and_leave_nothing() {
    require_root!("errors_name_the_interface_and_leave_nothing");
    let w = World::new("mve", 1500);
    let m = module();
    let err = |config: &[(&str, &str)]| {
        let e = w
            .create(m, &w.req("macvlan", 2, config))
            .expect_err("refused");
        assert!(e.starts_with("lxc.net.2 (macvlan): "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(w.ct_names(), ["lo"], "{e}");
        e
    };
    let e = err(&[("name", "eth0")]);
    assert!(
        e.contains("no lower device for the macvlan: lxc.net.2.link is not set"),
        "{e}"
    );
    let e = err(&[("link", "lxcrs-t-nope")]);
    assert!(e.contains("lower device lxcrs-t-nope"), "{e}");
    assert!(e.contains("does not exist"), "{e}");
    let e = err(&[("link", LOWER), ("macvlan.mode", "sideways")]);
    assert!(e.contains("macvlan.mode = sideways"), "{e}");
    let e = err(&[
        ("link", LOWER),
        ("macvlan.mode", "bridge"),
        ("macvlan.mode", ""),
    ]);
    assert!(e.contains("macvlan.mode was cleared"), "{e}");
    // Larger than the lower device's MTU: the kernel refuses.
    let e = err(&[("link", LOWER), ("mtu", "9000")]);
    assert!(e.contains("lower device lxcrs-t-lw0"), "{e}");
    // A name already taken inside.
    w.ct.exec(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth9",
    ])
    .expect("a veth inside");
    let e = w
        .create(
            m,
            &w.req("macvlan", 2, &[("link", LOWER), ("name", "eth0")]),
        )
        .expect_err("taken");
    assert!(e.contains("exists"), "{e}");
    assert_eq!(w.ct_names(), ["eth0", "eth9", "lo"]);
    w.finish();
}

/// The built `.so`, loaded as the host loads it, makes a macvlan.
#[test]
fn loaded_from_the_shared_object() {
    require_root!("loaded_from_the_shared_object");
    let so = build_plugin(env!("CARGO_MANIFEST_DIR")).expect("build the .so");
    assert!(
        so.ends_with("liblxc_net_plugin_macvlan.so"),
        "{}",
        so.display()
    );
    let m = lxc_net_api::load(&so).expect("load");
    assert_eq!(m.name().as_str(), "macvlan");
    let w = World::new("mvs", 1500);
    let req = w.req(
        "macvlan",
        0,
        &[("link", LOWER), ("name", "eth0"), ("macvlan.mode", "vepa")],
    );
    let c = w.create(m, &req).expect("create through the .so");
    assert_eq!(c.ifname.as_str(), "eth0");
    assert_eq!(w.ct_link("eth0")["linkinfo"]["info_data"]["mode"], "vepa");
    w.destroy(m, &req, &c).expect("destroy");
    w.finish();
}
