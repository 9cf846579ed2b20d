//! The ipvlan plugin against the real kernel, on a veth the test made in a network namespace
//! of its own (see `shared/world.rs`). A kernel without ipvlan (this project's machines) must
//! refuse with "this kernel has no ipvlan" and leave nothing; a kernel with it (the qemu
//! guest) must make the link in the mode and isolation asked, checked with `ip -d -j link`.

#[path = "../../shared/world.rs"]
mod world;

use lxc_net_api::testing::build_plugin;
use lxc_net_api::NetPluginRef;
use world::{require_root, World, LOWER};

fn module() -> NetPluginRef {
    lxc_net_plugin_ipvlan::module()
}

#[test]
fn modes_and_isolation_or_a_clear_error() {
    require_root!("modes_and_isolation_or_a_clear_error");
    let w = World::new("ipm", 1500);
    let m = module();
    assert_eq!(m.name().as_str(), "ipvlan");
    assert_eq!(m.types()[0].as_str(), "ipvlan");
    assert!(m.keys().is_empty());
    let has = world::kernel_has("ipvlan");
    for (mode, isolation, want_mode, want_flags) in [
        // LXC 5.0.2's effective defaults: l2, bridge.
        (None, None, "l2", "bridge"),
        (Some("l3"), Some("private"), "l3", "private"),
        (Some("l3s"), Some("vepa"), "l3s", "vepa"),
        (Some("l2"), Some("bridge"), "l2", "bridge"),
    ] {
        let mut config = vec![("link", LOWER), ("name", "eth0")];
        if let Some(v) = mode {
            config.push(("ipvlan.mode", v));
        }
        if let Some(v) = isolation {
            config.push(("ipvlan.isolation", v));
        }
        let req = w.req("ipvlan", 3, &config);
        let got = w.create(m, &req);
        if !has {
            let e = got.expect_err("this kernel has no ipvlan");
            assert!(
                e.starts_with("lxc.net.3 (ipvlan): this kernel has no ipvlan"),
                "{e}"
            );
            assert!(e.contains(LOWER), "{e}");
            assert!(!e.contains('\n'), "{e}");
            assert_eq!(w.ct_names(), ["lo"], "nothing left inside");
            continue;
        }
        let c = got.expect("create");
        assert_eq!(c.ifname.as_str(), "eth0");
        let l = w.ct_link("eth0");
        assert_eq!(l["linkinfo"]["info_kind"], "ipvlan", "{l}");
        assert_eq!(l["linkinfo"]["info_data"]["mode"], want_mode, "{l}");
        // iproute2 prints the isolation as `"flags": NAME` or, in Debian 12's, as a flag of
        // its own (`"bridge": true`).
        let data = &l["linkinfo"]["info_data"];
        let isolation = data["flags"].as_str().or_else(|| {
            ["private", "vepa", "bridge"]
                .into_iter()
                .find(|k| data[*k] == true)
        });
        assert_eq!(isolation, Some(want_flags), "{l}");
        w.destroy(m, &req, &c).expect("destroy");
        w.clear_ct();
    }
    assert_eq!(w.host_names(), ["lo", LOWER, world::LOWER_PEER]);
    if !has {
        eprintln!("NOTE: this kernel has no ipvlan: only the error was checked");
    }
    w.finish();
}

#[test]
fn bad_settings_are_refused_before_the_kernel_is_asked() {
    let r = |c: &[(&str, &str)]| lxc_net_api::Request::new("c", "/p", 1, "ipvlan", -1, 0, c);
    use lxc_net_api::netlink::{IpvlanIsolation, IpvlanMode};
    use lxc_net_plugin_ipvlan::settings;
    assert_eq!(
        settings(&r(&[])),
        Ok((IpvlanMode::L2, IpvlanIsolation::Bridge))
    );
    assert_eq!(
        settings(&r(&[("ipvlan.mode", "l3s"), ("ipvlan.isolation", "vepa")])),
        Ok((IpvlanMode::L3s, IpvlanIsolation::Vepa))
    );
    // A cleared isolation is LXC's -1, never sent: bridge.
    assert_eq!(
        settings(&r(&[
            ("ipvlan.isolation", "private"),
            ("ipvlan.isolation", "")
        ])),
        Ok((IpvlanMode::L2, IpvlanIsolation::Bridge))
    );
    let e = settings(&r(&[("ipvlan.mode", "l3"), ("ipvlan.mode", "")])).unwrap_err();
    assert!(e.contains("lxc.net.1.ipvlan.mode was cleared"), "{e}");
    let e = settings(&r(&[("ipvlan.mode", "l4")])).unwrap_err();
    assert!(e.contains("ipvlan.mode = l4"), "{e}");
    let e = settings(&r(&[("ipvlan.isolation", "open")])).unwrap_err();
    assert!(e.contains("ipvlan.isolation = open"), "{e}");
}

/// No `link`: refused before the kernel is asked, on any kernel.
#[test]
fn no_lower_device() {
    require_root!("no_lower_device");
    let w = World::new("ipn", 1500);
    let e = w
        .create(module(), &w.req("ipvlan", 0, &[("name", "eth0")]))
        .expect_err("no link");
    assert!(
        e.starts_with(
            "lxc.net.0 (ipvlan): no lower device for the ipvlan: lxc.net.0.link is not set"
        ),
        "{e}"
    );
    w.finish();
}

#[test]
fn loaded_from_the_shared_object() {
    require_root!("loaded_from_the_shared_object");
    let so = build_plugin(env!("CARGO_MANIFEST_DIR")).expect("build the .so");
    let m = lxc_net_api::load(&so).expect("load");
    assert_eq!(m.name().as_str(), "ipvlan");
    let w = World::new("ips", 1500);
    let req = w.req("ipvlan", 0, &[("link", LOWER), ("ipvlan.mode", "l3")]);
    match w.create(m, &req) {
        Ok(c) => {
            assert!(world::kernel_has("ipvlan"));
            assert_eq!(c.ifname.as_str(), "eth0");
            assert_eq!(w.ct_link("eth0")["linkinfo"]["info_data"]["mode"], "l3");
        }
        Err(e) => {
            assert!(!world::kernel_has("ipvlan"), "{e}");
            assert!(e.contains("this kernel has no ipvlan"), "{e}");
        }
    }
    w.finish();
}
