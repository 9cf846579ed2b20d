//! With the crate linked, an `mtu` on `phys` and `macvlan` networks passes the start check
//! (lxc-net's own tests check the refusal without it).

use lxc_core::config::Config;
use lxc_ext_network_phys_macvlan_mtu as _;
use lxc_net::ext::{check_interface, is_open, Gated};

#[test]
fn registers_its_name_and_opens_its_gate() {
    assert!(lxc_core::registry::has_api_extension(
        "network_phys_macvlan_mtu"
    ));
    assert!(is_open(Gated::PhysMacvlanMtu));
    assert!(!is_open(Gated::GatewayDev));
}

#[test]
fn an_mtu_on_phys_and_macvlan_is_accepted() {
    for t in ["phys", "macvlan", "veth"] {
        let mut c = Config::new();
        c.set("lxc.net.0.type", t).unwrap();
        c.set("lxc.net.0.link", "eth9").unwrap();
        c.set("lxc.net.0.mtu", "1400").unwrap();
        let d = &lxc_net::netdevs(&c).unwrap()[0];
        assert_eq!(check_interface(d), Ok(()), "{t}");
        assert_eq!(d.mtu_value(), Some(1400));
    }
}
