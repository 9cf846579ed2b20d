//! The network API extensions end to end, through the `lxc-rs` binary (built with every
//! extension, as by default) and the veth plugin built beside it: `veth.ipv4.route` /
//! `veth.ipv6.route` (network_veth_routes), `l2proxy` with LXC's sysctl checks
//! (network_l2proxy), `ipv4.gateway = dev` / `ipv6.gateway = dev`
//! (network_gateway_device_route), `veth.mode = router` (network_veth_router), the bridge
//! VLAN keys (network_bridge_vlan), the ipvlan keys (network_ipvlan). Needs root.
//!
//! As in net_veth.rs, nothing touches the machine's own interfaces: each test makes a network
//! namespace of its own with a bridge `br0` (10.250.0.1/24, fd00:250::1/64) standing in for
//! the host, and runs every lxc-rs command inside it (common::net). After each container: no
//! link but `lo` and `br0` there, no route, proxy entry or process of the container's left,
//! and the fixture's checks. What the kernel removes in the background after a stop (the veth
//! pair goes with the container's network namespace, and the routes through its host end with
//! it) is waited for, within a bound.

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use common::net::{kill_monitor, require_plugins, run, NetContainer, TestNet, BRIDGE, HOST_V4};
use common::{show, stderr, stdout, TestContainer};

/// A short name unique to this test process (host-side link names have 15 bytes).
fn short(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 100_000)
}

/// The route to `dst` in a list from `ip -j route`.
fn route_to<'v>(routes: &'v [Value], dst: &str) -> Option<&'v Value> {
    routes.iter().find(|r| r["dst"] == dst)
}

/// network_veth_routes: each `veth.ipv4.route` / `veth.ipv6.route` is a route on the host
/// through the host side (scope link, no gateway), gone with the veth.
#[test]
fn veth_routes_are_on_the_host_side() {
    require_root!();
    require_plugins(&["veth"]);
    let net = TestNet::new("vroutes");
    let pair = short("lxt-vr");
    let c = NetContainer::new(
        &net,
        "vroutes",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.6/24\n\
             lxc.net.0.veth.ipv4.route = 10.251.0.0/24\n\
             lxc.net.0.veth.ipv4.route = 10.252.7.7/32\n\
             lxc.net.0.veth.ipv6.route = fd00:251::/64\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.veth.ipv4.route"]).trim(),
        "10.251.0.0/24\n10.252.7.7/32"
    );
    c.ok(&["start"]);
    let routes = net.routes();
    for dst in ["10.251.0.0/24", "10.252.7.7", "fd00:251::/64"] {
        let r = route_to(&routes, dst).unwrap_or_else(|| panic!("no route to {dst}: {routes:?}"));
        assert_eq!(r["dev"], pair.as_str(), "{r}");
        assert!(r.get("gateway").is_none(), "a device route: {r}");
        if !dst.contains(':') {
            assert_eq!(r["scope"], "link", "{r}");
        }
    }
    c.stop();
    // Through the host end, which goes with the container's network namespace.
    net.assert_no_routes_to(&["10.251.0.0/24", "10.252.7.7", "fd00:251::/64"]);
    c.assert_network_gone();
}

/// network_l2proxy: LXC's sysctl checks, one at a time and in its order, each a one-line
/// failure naming the key and the sysctl, leaving nothing; then the proxy entries on the link
/// for each address, gone after the stop.
#[test]
fn l2proxy_checks_sysctls_and_proxies_the_addresses() {
    require_root!();
    require_plugins(&["veth"]);
    let net = TestNet::new("l2proxy");
    let c = NetContainer::new(
        &net,
        "l2proxy",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.l2proxy = 1\n\
             lxc.net.0.ipv4.address = 10.250.0.7/24\n\
             lxc.net.0.ipv6.address = fd00:250::7/64\n"
        ),
    );
    let config = c.t.config_file().display().to_string();
    let lines = fs::read_to_string(&config).unwrap().lines().count();
    for (sysctl, shown) in [
        (
            "net/ipv4/conf/br0/forwarding",
            "net.ipv4.conf.br0.forwarding=1",
        ),
        (
            "net/ipv6/conf/br0/proxy_ndp",
            "net.ipv6.conf.br0.proxy_ndp=1",
        ),
        (
            "net/ipv6/conf/br0/forwarding",
            "net.ipv6.conf.br0.forwarding=1",
        ),
    ] {
        let err = c.start_fails();
        assert!(
            err.contains(&format!("lxc.net.0.l2proxy ({config}:{})", lines - 2)),
            "{err}"
        );
        // Refused before anything is made, as LXC checks before it creates the interface.
        assert!(err.contains("phase PreClone"), "{err}");
        assert!(err.contains(&format!("needs sysctl {shown}")), "{err}");
        net.assert_only_bridge_left();
        net.sysctl(sysctl, "1");
    }
    c.ok(&["start"]);
    let mut proxies = net.proxies();
    proxies.sort();
    assert_eq!(
        proxies,
        [
            ("10.250.0.7".to_string(), BRIDGE.to_string()),
            ("fd00:250::7".to_string(), BRIDGE.to_string())
        ]
    );
    c.stop();
    c.assert_network_gone();
}

/// The proxy entries go with a start that fails after them (at a later interface), and with
/// a killed monitor (its cleanup watchdog undoes them).
#[test]
fn l2proxy_entries_go_with_a_failed_start_and_a_killed_monitor() {
    require_root!();
    require_plugins(&["veth"]);
    let net = TestNet::new("l2pundo");
    net.sysctl("net/ipv4/conf/br0/forwarding", "1");
    let first = format!(
        "lxc.net.0.type = veth\n\
         lxc.net.0.link = {BRIDGE}\n\
         lxc.net.0.flags = up\n\
         lxc.net.0.l2proxy = 1\n\
         lxc.net.0.ipv4.address = 10.250.0.9/24\n"
    );
    let c = NetContainer::new(
        &net,
        "l2pundo",
        &format!(
            "{first}\
             lxc.net.1.type = veth\n\
             lxc.net.1.link = {BRIDGE}\n\
             lxc.net.1.flags = up\n\
             lxc.net.1.ipv4.gateway = {HOST_V4}\n"
        ),
    );
    let err = c.start_fails();
    assert!(err.contains("lxc.net.1.ipv4.gateway"), "{err}");
    net.assert_only_bridge_left();
    c.t.assert_nothing_left();

    // Only the first interface now: it starts; then its monitor is killed.
    let text = fs::read_to_string(c.t.config_file()).unwrap();
    let cut = text.find("lxc.net.1.type").unwrap();
    fs::write(c.t.config_file(), &text[..cut]).unwrap();
    c.ok(&["start"]);
    assert_eq!(
        net.proxies(),
        [("10.250.0.9".to_string(), BRIDGE.to_string())]
    );
    kill_monitor(&c.t);
    c.assert_network_gone();
}

/// network_gateway_device_route: `dev` gateways are default routes through the interface with
/// no gateway address, inside the container.
#[test]
fn a_dev_gateway_is_a_device_default_route_inside() {
    require_root!();
    require_plugins(&["veth"]);
    let net = TestNet::new("gwdev");
    let c = NetContainer::new(
        &net,
        "gwdev",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 10.250.0.8/24\n\
             lxc.net.0.ipv4.gateway = dev\n\
             lxc.net.0.ipv6.address = fd00:250::8/64\n\
             lxc.net.0.ipv6.gateway = dev\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.ipv4.gateway"]).trim(),
        "dev"
    );
    c.ok(&["start"]);
    for family in ["-4", "-6"] {
        let routes = c.ip_inside(&[family, "route", "show", "default"]);
        let r = &routes[0];
        assert_eq!(r["dst"], "default", "{routes}");
        assert_eq!(r["dev"], "eth0", "{routes}");
        assert!(r.get("gateway").is_none(), "no gateway address: {routes}");
    }
    c.ping(HOST_V4);
    c.stop();
    c.assert_network_gone();
}

/// network_veth_router: no bridge; the host routes the container's addresses to the host side
/// and answers ARP/NDP there for the container's gateways, so pings go both ways through it.
#[test]
fn router_mode_routes_without_a_bridge() {
    require_root!();
    require_plugins(&["veth"]);
    let net = TestNet::new("router");
    // Like a real host: a default route of its own (the proxied gateway must be routable
    // for the kernel to answer ARP for it), IPv6 forwarding on (LXC requires it).
    net.ip_in(&["route", "add", "default", "dev", BRIDGE]);
    net.sysctl("net/ipv6/conf/all/forwarding", "1");
    let pair = short("lxt-rt");
    let c = NetContainer::new(
        &net,
        "router",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.veth.mode = router\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.name = eth0\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.ipv4.address = 192.0.2.2/32\n\
             lxc.net.0.ipv4.gateway = 169.254.0.1\n\
             lxc.net.0.ipv6.address = 2001:db8:252::2/128\n\
             lxc.net.0.ipv6.gateway = fe80::1\n"
        ),
    );
    c.ok(&["start"]);
    let veths = net.veths();
    assert_eq!(veths.len(), 1, "{veths:?}");
    assert!(veths[0].get("master").is_none(), "no bridge: {}", veths[0]);
    let routes = net.routes();
    for dst in ["192.0.2.2", "2001:db8:252::2"] {
        let r = route_to(&routes, dst).unwrap_or_else(|| panic!("no route to {dst}: {routes:?}"));
        assert_eq!(r["dev"], pair.as_str(), "{r}");
    }
    let mut proxies = net.proxies();
    proxies.sort();
    assert_eq!(
        proxies,
        [
            ("169.254.0.1".to_string(), pair.clone()),
            ("fe80::1".to_string(), pair.clone())
        ]
    );
    // Inside: a route to the gateway, and the default route through it.
    let inside = c.ip_inside(&["-4", "route", "show", "default"]);
    assert_eq!(inside[0]["gateway"], "169.254.0.1", "{inside}");
    // Both ways, both families.
    net.ping_within("192.0.2.2", Duration::from_secs(5));
    c.ping(HOST_V4);
    net.ping_within("2001:db8:252::2", Duration::from_secs(10));
    c.stop();
    net.assert_no_routes_to(&["192.0.2.2", "2001:db8:252::2"]);
    c.assert_network_gone();
}

/// network_bridge_vlan: the keys reach the veth plugin, which sets the port's VLANs on a
/// bridge that filters VLANs. This kernel has no bridge VLAN filtering
/// (CONFIG_BRIDGE_VLAN_FILTERING): then the start fails with the plugin's clear error naming
/// the bridge, and leaves nothing. Where the kernel has it (the qemu guest), the VLANs are
/// checked with `bridge -j vlan`.
#[test]
fn bridge_vlans_or_a_clear_error_without_vlan_filtering() {
    require_root!();
    require_plugins(&["veth"]);
    let net = TestNet::new("brvlan");
    let filtering = run(Command::new("ip").args([
        "-n",
        &net.name,
        "link",
        "set",
        BRIDGE,
        "type",
        "bridge",
        "vlan_filtering",
        "1",
    ]));
    let pair = short("lxt-bv");
    let c = NetContainer::new(
        &net,
        "brvlan",
        &format!(
            "lxc.net.0.type = veth\n\
             lxc.net.0.link = {BRIDGE}\n\
             lxc.net.0.veth.pair = {pair}\n\
             lxc.net.0.flags = up\n\
             lxc.net.0.veth.vlan.id = 10\n\
             lxc.net.0.veth.vlan.tagged.id = 20\n\
             lxc.net.0.veth.vlan.tagged.id = 30\n"
        ),
    );
    assert_eq!(
        c.ok(&["config", "get", "lxc.net.0.veth.vlan.tagged.id"])
            .trim(),
        "20\n30"
    );
    if !filtering.status.success() {
        println!(
            "this kernel has no bridge VLAN filtering ({}): checking the clear error instead \
             (the VLANs themselves are tested in the qemu guest)",
            stderr(&filtering).trim()
        );
        let err = c.start_fails();
        assert!(err.contains("lxc.net.0.type"), "{err}");
        assert!(
            err.contains("vlan_filtering is not enabled on bridge br0"),
            "{err}"
        );
        net.assert_only_bridge_left();
        c.t.assert_nothing_left();
        return;
    }
    c.ok(&["start"]);
    let o = run(Command::new("bridge").args(["-n", &net.name, "-j", "vlan", "show", "dev", &pair]));
    assert!(o.status.success(), "{}", show(&o));
    let vlans: Value = serde_json::from_str(&stdout(&o)).expect("bridge -j vlan");
    let port = &vlans[0]["vlans"];
    let find = |vid: u64| {
        port.as_array()
            .and_then(|a| a.iter().find(|v| v["vlan"] == vid))
            .cloned()
            .unwrap_or_else(|| panic!("no VLAN {vid}: {vlans}"))
    };
    let untagged = find(10);
    assert!(untagged["flags"].to_string().contains("PVID"), "{untagged}");
    assert!(
        untagged["flags"].to_string().contains("Egress Untagged"),
        "{untagged}"
    );
    for vid in [20, 30] {
        assert!(find(vid).get("flags").is_none(), "tagged {vid}: {vlans}");
    }
    c.stop();
    c.assert_network_gone();
}

/// network_ipvlan: the keys set, print and save through the binary as LXC's do; starting an
/// ipvlan needs a kernel with ipvlan (the qemu guest), which this one lacks.
#[test]
fn ipvlan_keys_parse_and_print() {
    require_root!();
    let t = TestContainer::new("ipvlankeys");
    let file = t.lxcpath.join("ipvlan.conf");
    fs::write(&file, "lxc.net.0.type = ipvlan\nlxc.net.0.link = eth0\n").unwrap();
    t.ok(&["create", "-t", "none", "-f", file.to_str().unwrap()]);
    assert_eq!(
        t.ok(&["config", "get", "lxc.net.0.ipvlan.mode"]).trim(),
        "l2"
    );
    assert_eq!(
        t.ok(&["config", "get", "lxc.net.0.ipvlan.isolation"])
            .trim(),
        "bridge"
    );
    t.ok(&["config", "set", "lxc.net.0.ipvlan.mode", "l3s"]);
    t.ok(&["config", "set", "lxc.net.0.ipvlan.isolation", "private"]);
    assert_eq!(
        t.ok(&["config", "get", "lxc.net.0.ipvlan.mode"]).trim(),
        "l3s"
    );
    let saved = fs::read_to_string(t.config_file()).unwrap();
    assert!(saved.contains("lxc.net.0.ipvlan.mode = l3s"), "{saved}");
    assert!(
        saved.contains("lxc.net.0.ipvlan.isolation = private"),
        "{saved}"
    );
    let o = t.lxc(&["config", "set", "lxc.net.0.ipvlan.mode", "l4"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("l3 l3s l2"), "{}", show(&o));
    let o = t.lxc(&["config", "set", "lxc.net.0.veth.mode", "router"]);
    assert!(!o.status.success(), "a veth key on an ipvlan: {}", show(&o));
}
