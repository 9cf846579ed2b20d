//! The vlan plugin against the real kernel, on a veth the test made in a network namespace of
//! its own (see `shared/world.rs`). A kernel without 802.1Q (this project's machines) must
//! refuse with "this kernel has no 802.1Q vlan" and leave nothing; a kernel with it (the qemu
//! guest) must make the VLAN device with the id asked, checked with `ip -d -j link`.

#[path = "../../shared/world.rs"]
mod world;

use lxc_net_api::testing::build_plugin;
use lxc_net_api::{NetPluginRef, Request};
use world::{require_root, World, LOWER};

fn module() -> NetPluginRef {
    lxc_net_plugin_vlan::module()
}

#[test]
fn the_id_or_a_clear_error() {
    require_root!("the_id_or_a_clear_error");
    let w = World::new("vlm", 1500);
    let m = module();
    assert_eq!(m.name().as_str(), "vlan");
    assert_eq!(m.types()[0].as_str(), "vlan");
    assert!(m.keys().is_empty());
    let has = world::kernel_has("vlan");
    for (id, name, want_id, want_name) in [
        (Some("10"), Some("eth1"), 10, "eth1"),
        (None, None, 0, "eth0"),
        (Some("4094"), Some("eth%d"), 4094, "eth0"),
    ] {
        let mut config = vec![("link", LOWER), ("mtu", "1400")];
        if let Some(v) = id {
            config.push(("vlan.id", v));
        }
        if let Some(v) = name {
            config.push(("name", v));
        }
        let req = w.req("vlan", 1, &config);
        let got = w.create(m, &req);
        if !has {
            let e = got.expect_err("this kernel has no 802.1Q vlan");
            assert!(
                e.starts_with("lxc.net.1 (vlan): this kernel has no 802.1Q vlan"),
                "{e}"
            );
            assert!(e.contains(LOWER), "{e}");
            assert!(!e.contains('\n'), "{e}");
            assert_eq!(w.ct_names(), ["lo"], "nothing left inside");
            continue;
        }
        let c = got.expect("create");
        assert_eq!(c.ifname.as_str(), want_name);
        let l = w.ct_link(want_name);
        assert_eq!(l["linkinfo"]["info_kind"], "vlan", "{l}");
        assert_eq!(l["linkinfo"]["info_data"]["id"], want_id, "{l}");
        assert_eq!(l["linkinfo"]["info_data"]["protocol"], "802.1Q", "{l}");
        assert_eq!(l["mtu"], 1400, "{l}");
        assert_eq!(
            w.describe(m, &req, &c),
            format!("vlan {want_name} (id {want_id}) on {LOWER}")
        );
        w.destroy(m, &req, &c).expect("destroy");
        w.clear_ct();
    }
    assert_eq!(w.host_names(), ["lo", LOWER, world::LOWER_PEER]);
    if !has {
        eprintln!("NOTE: this kernel has no 802.1Q vlan: only the error was checked");
    }
    w.finish();
}

#[test]
fn ids_as_lxc_reads_them() {
    use lxc_net_plugin_vlan::vlan_id;
    let r = |c: &[(&str, &str)]| Request::new("c", "/p", 0, "vlan", -1, 0, c);
    assert_eq!(vlan_id(&r(&[])), Ok(0));
    assert_eq!(vlan_id(&r(&[("vlan.id", "7")])), Ok(7));
    // A clear is LXC's 0.
    assert_eq!(vlan_id(&r(&[("vlan.id", "7"), ("vlan.id", "")])), Ok(0));
    let e = vlan_id(&r(&[("vlan.id", "4095")])).unwrap_err();
    assert!(e.contains("vlan.id = 4095"), "{e}");
}

#[test]
fn loaded_from_the_shared_object() {
    require_root!("loaded_from_the_shared_object");
    let so = build_plugin(env!("CARGO_MANIFEST_DIR")).expect("build the .so");
    let m = lxc_net_api::load(&so).expect("load");
    assert_eq!(m.name().as_str(), "vlan");
    let w = World::new("vls", 1500);
    let req = w.req("vlan", 0, &[("link", LOWER), ("vlan.id", "5")]);
    match w.create(m, &req) {
        Ok(c) => {
            assert!(world::kernel_has("vlan"));
            assert_eq!(
                w.ct_link(c.ifname.as_str())["linkinfo"]["info_data"]["id"],
                5
            );
        }
        Err(e) => {
            assert!(!world::kernel_has("vlan"), "{e}");
            assert!(e.contains("this kernel has no 802.1Q vlan"), "{e}");
        }
    }
    w.finish();
}
