//! The crate registers `network_ipvlan` and the ipvlan keys when it is linked, with LXC's
//! semantics (the differential test in lxc-net compares them with liblxc).

use lxc_core::config::Config;
use lxc_ext_network_ipvlan as _;
use lxc_net::{IpvlanIsolation, IpvlanMode};

#[test]
fn registers_its_name_and_keys() {
    assert!(lxc_core::registry::has_api_extension("network_ipvlan"));
    for k in ["lxc.net.0.ipvlan.mode", "lxc.net.3.ipvlan.isolation"] {
        assert!(lxc_core::registry::config_item_is_supported(k), "{k}");
    }
}

#[test]
fn modes_parse_and_print_like_lxc() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "ipvlan").unwrap();
    // LXC's zeroed interface: l2 and bridge, whatever its documentation says.
    assert_eq!(c.get("lxc.net.0.ipvlan.mode").unwrap(), "l2");
    assert_eq!(c.get("lxc.net.0.ipvlan.isolation").unwrap(), "bridge");
    for m in ["l3", "l3s", "l2"] {
        c.set("lxc.net.0.ipvlan.mode", m).unwrap();
        assert_eq!(c.get("lxc.net.0.ipvlan.mode").unwrap(), m);
    }
    for i in ["private", "vepa", "bridge"] {
        c.set("lxc.net.0.ipvlan.isolation", i).unwrap();
        assert_eq!(c.get("lxc.net.0.ipvlan.isolation").unwrap(), i);
    }
    c.set("lxc.net.0.ipvlan.mode", "l3s").unwrap();
    c.set("lxc.net.0.ipvlan.isolation", "private").unwrap();
    let d = &lxc_net::netdevs(&c).unwrap()[0];
    assert_eq!(
        (d.ipvlan_mode, d.ipvlan_isolation),
        (IpvlanMode::L3s, IpvlanIsolation::Private)
    );
    for bad in ["L3", "l4", ""] {
        if !bad.is_empty() {
            assert!(c.set("lxc.net.0.ipvlan.mode", bad).is_err(), "{bad}");
        }
    }
    assert!(c.set("lxc.net.0.ipvlan.isolation", "none").is_err());
    c.clear("lxc.net.0.ipvlan.mode").unwrap();
    assert_eq!(c.get("lxc.net.0.ipvlan.mode").unwrap(), "(invalid)");
    // ipvlan only.
    c.set("lxc.net.1.type", "veth").unwrap();
    assert!(c.set("lxc.net.1.ipvlan.mode", "l3").is_err());
    assert!(c.get("lxc.net.1.ipvlan.mode").is_err());
}

#[test]
fn listed_for_an_ipvlan() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "ipvlan").unwrap();
    let keys = lxc_net::list_net_keys(&c, 0);
    assert!(
        keys.ends_with(&["ipvlan.mode".to_string(), "ipvlan.isolation".to_string()]),
        "{keys:?}"
    );
}
