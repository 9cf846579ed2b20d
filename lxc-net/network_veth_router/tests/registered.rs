//! The crate registers `network_veth_router` and `veth.mode` when it is linked, with LXC's
//! semantics (the differential test in lxc-net compares them with liblxc).

use lxc_core::config::Config;
use lxc_ext_network_veth_router as _;
use lxc_net::VethMode;

#[test]
fn registers_its_name_and_key() {
    assert!(lxc_core::registry::has_api_extension("network_veth_router"));
    assert!(lxc_core::registry::config_item_is_supported(
        "lxc.net.0.veth.mode"
    ));
}

#[test]
fn modes_like_lxc() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "veth").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.mode").unwrap(), "bridge");
    c.set("lxc.net.0.veth.mode", "router").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.mode").unwrap(), "router");
    assert_eq!(
        lxc_net::netdevs(&c).unwrap()[0].veth.mode,
        Some(VethMode::Router)
    );
    let e = c.set("lxc.net.0.veth.mode", "routed").unwrap_err();
    assert!(e.to_string().contains("bridge router"), "{e}");
    c.clear("lxc.net.0.veth.mode").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.mode").unwrap(), "(invalid)");
    // Setting the type again starts the interface afresh: bridge.
    c.set("lxc.net.0.type", "veth").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.mode").unwrap(), "bridge");
    c.set("lxc.net.1.type", "phys").unwrap();
    assert!(c.set("lxc.net.1.veth.mode", "router").is_err());
}
