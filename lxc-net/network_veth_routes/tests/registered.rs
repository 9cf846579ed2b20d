//! The crate registers `network_veth_routes` and its two keys when it is linked, with LXC's
//! semantics (the differential test in lxc-net compares them with liblxc).

use lxc_core::config::Config;
use lxc_ext_network_veth_routes as _;

#[test]
fn registers_its_name_and_keys() {
    assert!(lxc_core::registry::has_api_extension("network_veth_routes"));
    for k in ["lxc.net.0.veth.ipv4.route", "lxc.net.7.veth.ipv6.route"] {
        assert!(lxc_core::registry::config_item_is_supported(k), "{k}");
    }
}

#[test]
fn routes_of_a_veth() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "veth").unwrap();
    c.set("lxc.net.0.veth.ipv4.route", "10.1.0.0/16").unwrap();
    c.set("lxc.net.0.veth.ipv4.route", "192.168.5.7/32")
        .unwrap();
    c.set("lxc.net.0.veth.ipv6.route", "fd00:1::/64").unwrap();
    assert_eq!(
        c.get("lxc.net.0.veth.ipv4.route").unwrap(),
        "10.1.0.0/16\n192.168.5.7/32"
    );
    assert_eq!(c.get("lxc.net.0.veth.ipv6.route").unwrap(), "fd00:1::/64");
    let d = &lxc_net::netdevs(&c).unwrap()[0];
    assert_eq!(d.veth.ipv4_routes.len(), 2);
    assert_eq!(d.veth.ipv6_routes[0].prefix, 64);
    // A prefix is required, and bounded.
    for bad in ["10.1.0.0", "10.1.0.0/33", "x/8"] {
        assert!(c.set("lxc.net.0.veth.ipv4.route", bad).is_err(), "{bad}");
    }
    assert!(c.set("lxc.net.0.veth.ipv6.route", "fd00::/129").is_err());
    c.clear("lxc.net.0.veth.ipv4.route").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.ipv4.route").unwrap(), "");
}

#[test]
fn veth_only() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "macvlan").unwrap();
    let e = c
        .set("lxc.net.0.veth.ipv4.route", "10.1.0.0/16")
        .unwrap_err();
    assert!(e.to_string().contains("type veth only"), "{e}");
}
