//! With the crate linked, `ipv4.gateway = dev` / `ipv6.gateway = dev` are taken and printed as
//! LXC 5.0 does (lxc-net's own tests check the refusal without it).

use lxc_core::config::Config;
use lxc_ext_network_gateway_device_route as _;
use lxc_net::ext::{is_open, Gated};
use lxc_net::Gateway;

#[test]
fn registers_its_name_and_opens_its_gate() {
    assert!(lxc_core::registry::has_api_extension(
        "network_gateway_device_route"
    ));
    assert!(is_open(Gated::GatewayDev));
    assert!(!is_open(Gated::PhysMacvlanMtu));
}

#[test]
fn dev_gateways() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "ipvlan").unwrap();
    c.set("lxc.net.0.ipv4.gateway", "dev").unwrap();
    c.set("lxc.net.0.ipv6.gateway", "dev").unwrap();
    assert_eq!(c.get("lxc.net.0.ipv4.gateway").unwrap(), "dev");
    assert_eq!(c.get("lxc.net.0.ipv6.gateway").unwrap(), "dev");
    let d = &lxc_net::netdevs(&c).unwrap()[0];
    assert_eq!(d.ipv4_gateway.effective(), Some(Gateway::Dev));
    assert_eq!(d.ipv6_gateway.effective(), Some(Gateway::Dev));
    // As in LXC, `dev` outlives a later address and a clear (only the address goes).
    c.set("lxc.net.0.ipv4.gateway", "10.0.0.1").unwrap();
    assert_eq!(c.get("lxc.net.0.ipv4.gateway").unwrap(), "dev");
    assert!(c.set("lxc.net.0.ipv4.gateway", "devx").is_err());
}
