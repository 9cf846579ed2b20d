//! The base's side of the network extensions' seams (`lxc_net::ext`), with none of the
//! extension crates linked: every gate is closed, no interface step runs, and what a missing
//! extension would give meaning to is refused, naming the key and the extension.

use std::path::Path;

use lxc_core::Config;
use lxc_net::ext::{self, Gated};

fn config(text: &str) -> Config {
    Config::parse_str(text, Some(Path::new("/lxcrs-t-netext/config"))).expect("config loads")
}

#[test]
fn nothing_opened_without_the_extensions() {
    assert!(!ext::is_open(Gated::GatewayDev));
    assert!(!ext::is_open(Gated::PhysMacvlanMtu));
    assert!(!ext::is_open(Gated::IpvlanType));
    assert!(ext::GATES.is_empty());
    assert!(ext::INTERFACE_STEPS.is_empty());
    assert_eq!(
        Gated::PhysMacvlanMtu.extension(),
        "network_phys_macvlan_mtu"
    );
    assert_eq!(
        Gated::GatewayDev.extension(),
        "network_gateway_device_route"
    );
}

/// The ipvlan type came with network_ipvlan: without it a network of that type is refused at
/// start, naming the type key and where it was set, before any plugin is looked for.
#[test]
fn an_ipvlan_network_is_refused_at_start() {
    let c = config("lxc.net.0.type = veth\nlxc.net.1.type = ipvlan\nlxc.net.1.link = eth9\n");
    let e = lxc_net::check_start(&c).expect_err("ipvlan without network_ipvlan");
    assert_eq!(e.key(), "lxc.net.1.type");
    let shown = e.to_string();
    assert!(shown.contains("/lxcrs-t-netext/config:2"), "{shown}");
    assert!(shown.contains("network_ipvlan"), "{shown}");
}

/// LXC without network_phys_macvlan_mtu ignores an MTU on phys and macvlan; this build refuses
/// the start instead, before anything is made (and before it looks for a plugin), naming the
/// key, where it was set and the extension.
#[test]
fn an_mtu_on_phys_or_macvlan_is_refused_at_start() {
    for t in ["phys", "macvlan"] {
        let c = config(&format!(
            "lxc.net.0.type = veth\nlxc.net.0.mtu = 1400\n\
             lxc.net.1.type = {t}\nlxc.net.1.link = eth9\nlxc.net.1.mtu = 1400\n"
        ));
        let e = lxc_net::check_start(&c).expect_err(t);
        assert_eq!(e.key(), "lxc.net.1.mtu", "{t}");
        let shown = e.to_string();
        assert!(shown.contains("/lxcrs-t-netext/config:5"), "{shown}");
        assert!(shown.contains("network_phys_macvlan_mtu"), "{shown}");
        assert!(shown.contains(&format!("type {t}")), "{shown}");
        let hook = e.into_hook(lxc_core::Phase::PreClone).to_string();
        assert!(hook.contains("lxc.net.1.mtu"), "{hook}");
        // Without an MTU the same network goes on to the plugin check.
        let c = config(&format!("lxc.net.0.type = {t}\nlxc.net.0.link = eth9\n"));
        let d = &lxc_net::netdevs(&c).expect("netdevs")[0];
        assert_eq!(ext::check_interface(d), Ok(()));
    }
    // Other types take an MTU without the extension.
    for t in ["veth", "vlan"] {
        let c = config(&format!("lxc.net.0.type = {t}\nlxc.net.0.mtu = 1400\n"));
        let d = &lxc_net::netdevs(&c).expect("netdevs")[0];
        assert_eq!(ext::check_interface(d), Ok(()), "{t}");
    }
}

#[test]
fn a_dev_gateway_is_refused_naming_the_extension() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "veth").expect("type");
    for key in ["lxc.net.0.ipv4.gateway", "lxc.net.0.ipv6.gateway"] {
        let e = c.set(key, "dev").expect_err(key).to_string();
        assert!(e.contains("network_gateway_device_route"), "{e}");
    }
    let e = Config::parse_str(
        "lxc.net.0.type = veth\nlxc.net.0.ipv4.gateway = dev\n",
        None,
    )
    .expect_err("a file with a dev gateway")
    .to_string();
    assert!(e.contains("network_gateway_device_route"), "{e}");
}

#[test]
fn no_steps_run_with_none_linked() {
    let c = config("lxc.net.0.type = veth\nlxc.net.0.link = br0\n");
    let d = &lxc_net::netdevs(&c).expect("netdevs")[0];
    let done = ext::run_steps(&ext::StepCtx {
        container: "lxcrs-t-netext",
        dev: d,
        ifname: "eth0",
        host_ifname: Some("vethX"),
    })
    .unwrap_or_else(|e| panic!("{}: {}", e.sub, e.message));
    assert!(done.is_empty());
    assert!(ext::undo_all(done).is_empty());
}
