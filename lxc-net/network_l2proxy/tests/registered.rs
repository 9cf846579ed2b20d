//! The crate registers `network_l2proxy`, its key (LXC's semantics: 0 or 1, any type) and its
//! interface step; what the step requires of the host, in LXC's order. The step's work on a
//! real link is tested end to end in lxc-cli/tests/net_extensions.rs.

use lxc_core::config::Config;
use lxc_ext_network_l2proxy::{addresses, required_sysctls};

#[test]
fn registers_its_name_key_and_step() {
    assert!(lxc_core::registry::has_api_extension("network_l2proxy"));
    assert!(lxc_core::registry::config_item_is_supported(
        "lxc.net.0.l2proxy"
    ));
    assert!(lxc_net::ext::INTERFACE_STEPS
        .iter()
        .any(|s| s.owner == "network_l2proxy"));
}

#[test]
fn zero_or_one_on_any_type() {
    let mut c = Config::new();
    for t in ["veth", "macvlan", "ipvlan", "phys", "vlan"] {
        c.set("lxc.net.0.type", t).unwrap();
        assert_eq!(c.get("lxc.net.0.l2proxy").unwrap(), "0", "{t}");
        c.set("lxc.net.0.l2proxy", "1").unwrap();
        assert_eq!(c.get("lxc.net.0.l2proxy").unwrap(), "1", "{t}");
        assert!(lxc_net::netdevs(&c).unwrap()[0].l2proxy);
    }
    for bad in ["2", "yes", "-1"] {
        assert!(c.set("lxc.net.0.l2proxy", bad).is_err(), "{bad}");
    }
    c.clear("lxc.net.0.l2proxy").unwrap();
    assert_eq!(c.get("lxc.net.0.l2proxy").unwrap(), "0");
}

#[test]
fn sysctls_as_lxc_checks_them() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "veth").unwrap();
    c.set("lxc.net.0.link", "br0").unwrap();
    c.set("lxc.net.0.l2proxy", "1").unwrap();
    let d = lxc_net::netdevs(&c).unwrap().remove(0);
    assert!(
        required_sysctls(&d).is_empty(),
        "no address, nothing to check"
    );
    c.set("lxc.net.0.ipv6.address", "fd00::2/64").unwrap();
    c.set("lxc.net.0.ipv4.address", "10.0.0.2/24").unwrap();
    let d = lxc_net::netdevs(&c).unwrap().remove(0);
    let names: Vec<String> = required_sysctls(&d).into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        [
            "net.ipv4.conf.br0.forwarding=1",
            "net.ipv6.conf.br0.proxy_ndp=1",
            "net.ipv6.conf.br0.forwarding=1"
        ]
    );
    assert_eq!(
        required_sysctls(&d)[0].0,
        "net/ipv4/conf/br0/forwarding",
        "the /proc/sys path"
    );
    let a: Vec<String> = addresses(&d).iter().map(|a| a.to_string()).collect();
    assert_eq!(a, ["10.0.0.2", "fd00::2"]);
}
