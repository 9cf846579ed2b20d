//! The crate registers `network_bridge_vlan` and the veth VLAN keys when it is linked, with
//! LXC's semantics (the differential test in lxc-net compares them with liblxc).

use lxc_core::config::Config;
use lxc_ext_network_bridge_vlan as _;

#[test]
fn registers_its_name_and_keys() {
    assert!(lxc_core::registry::has_api_extension("network_bridge_vlan"));
    for k in ["lxc.net.0.veth.vlan.id", "lxc.net.0.veth.vlan.tagged.id"] {
        assert!(lxc_core::registry::config_item_is_supported(k), "{k}");
    }
}

#[test]
fn vlans_like_lxc() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "veth").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.vlan.id").unwrap(), "0");
    c.set("lxc.net.0.veth.vlan.id", "none").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.vlan.id").unwrap(), "-1");
    c.set("lxc.net.0.veth.vlan.id", "0x10").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.vlan.id").unwrap(), "16");
    c.set("lxc.net.0.veth.vlan.tagged.id", "10").unwrap();
    c.set("lxc.net.0.veth.vlan.tagged.id", "4094").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.vlan.tagged.id").unwrap(), "10\n4094");
    let d = &lxc_net::netdevs(&c).unwrap()[0];
    assert_eq!((d.veth.vlan_id, d.veth.vlan_id_set), (16, true));
    assert_eq!(d.veth.vlan_tagged_ids, [10, 4094]);
    for bad in ["4095", "-1", "x"] {
        assert!(c.set("lxc.net.0.veth.vlan.id", bad).is_err(), "{bad}");
        assert!(
            c.set("lxc.net.0.veth.vlan.tagged.id", bad).is_err(),
            "{bad}"
        );
    }
    assert!(c.set("lxc.net.0.veth.vlan.tagged.id", "none").is_err());
    c.clear("lxc.net.0.veth.vlan.tagged.id").unwrap();
    assert_eq!(c.get("lxc.net.0.veth.vlan.tagged.id").unwrap(), "");
    c.set("lxc.net.1.type", "macvlan").unwrap();
    assert!(c.set("lxc.net.1.veth.vlan.id", "5").is_err());
}
