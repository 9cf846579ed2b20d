//! The typed view of the networks, what the keys print, `get_keys("lxc.net.N")`, which keys
//! this build supports, and save/load round trips through real files.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use lxc_core::registry::config_item_is_supported;
use lxc_core::{Config, Error};
use lxc_net::{Gateway, MacvlanMode, NetType};

fn config(text: &str) -> Config {
    Config::parse_str(text, Some(Path::new("/lxcrs-t-net/config"))).expect("config loads")
}

const WEB: &str = "\
# a veth, a vlan and an empty network
lxc.net.0.type = veth
lxc.net.0.link = br0
lxc.net.0.flags = up
lxc.net.0.name = averylonginterfacename
lxc.net.0.hwaddr = 00:16:3e:12:34:56
lxc.net.0.mtu = 1400
lxc.net.0.ipv4.address = 10.0.3.5/24
lxc.net.0.ipv4.address = 192.168.7.9 192.168.255.255
lxc.net.0.ipv4.gateway = 10.0.3.1
lxc.net.0.ipv6.address = fd00::5
lxc.net.0.ipv6.gateway = auto
lxc.net.0.veth.pair = vethweb
lxc.net.0.script.up = /usr/bin/up arg
lxc.net.2.type = vlan
lxc.net.2.vlan.id = 0x10
lxc.net.2.link = eth0
lxc.net.1.type = empty
lxc.net.1.flags = up
";

#[test]
fn typed_view() {
    let devs = lxc_net::netdevs(&config(WEB)).expect("netdevs");
    let idx: Vec<u32> = devs.iter().map(|d| d.index).collect();
    assert_eq!(idx, [0, 1, 2], "by index, not by order of appearance");

    let d = &devs[0];
    assert_eq!(d.type_, NetType::VETH);
    assert_eq!(d.link, "br0");
    assert!(d.flags_up);
    assert_eq!(d.name, "averylonginterf", "cut to IFNAMSIZ - 1 like LXC");
    assert_eq!(d.hwaddr.as_deref(), Some("00:16:3e:12:34:56"));
    assert_eq!(d.mtu_value(), Some(1400));
    assert_eq!(d.ipv4.len(), 2);
    assert_eq!(d.ipv4[0].addr, Ipv4Addr::new(10, 0, 3, 5));
    assert_eq!(d.ipv4[0].prefix, 24);
    assert_eq!(d.ipv4[0].broadcast, Ipv4Addr::new(10, 0, 3, 255));
    // LXC's class-based default prefix reads the address in network byte order as a host
    // integer: on this little-endian machine 192.168.7.9 is "class A".
    assert_eq!(d.ipv4[1].prefix, 8);
    assert_eq!(d.ipv4[1].broadcast, Ipv4Addr::new(192, 168, 255, 255));
    assert_eq!(
        d.ipv4_gateway.effective(),
        Some(Gateway::Addr(Ipv4Addr::new(10, 0, 3, 1)))
    );
    assert_eq!(d.ipv6[0].addr, "fd00::5".parse::<Ipv6Addr>().expect("v6"));
    assert_eq!(d.ipv6[0].prefix, 64);
    assert_eq!(d.ipv6_gateway.effective(), Some(Gateway::Auto));
    assert_eq!(d.veth.pair, "vethweb");
    assert_eq!(d.script_up.as_deref(), Some("/usr/bin/up arg"));
    let o = d.type_origin.as_ref().expect("origin");
    assert_eq!(o.line, 2);

    assert_eq!(devs[1].type_, NetType::EMPTY);
    assert_eq!(devs[1].name, "lo");
    assert_eq!(devs[2].type_, NetType::VLAN);
    assert_eq!(devs[2].vlan_id, 16);
    assert_eq!(devs[2].link, "eth0");
}

#[test]
fn printed_like_lxc() {
    let c = config(WEB);
    let get = |k: &str| c.get(k).unwrap_or_else(|e| panic!("{k}: {e}"));
    assert_eq!(get("lxc.net"), "veth\nempty\nvlan\n");
    assert_eq!(get("lxc.net.0.type"), "veth");
    assert_eq!(get("lxc.net.0.flags"), "up");
    assert_eq!(get("lxc.net.0.ipv4.address"), "10.0.3.5/24\n192.168.7.9/8");
    assert_eq!(get("lxc.net.0.ipv6.address"), "fd00::5/64");
    assert_eq!(get("lxc.net.0.ipv6.gateway"), "auto");
    assert_eq!(get("lxc.net.2.vlan.id"), "16");
    assert_eq!(get("lxc.net.1.flags"), "up");
    assert_eq!(get("lxc.net.1.link"), "");
}

#[test]
fn a_type_resets_and_clears_record_in_order() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "macvlan").expect("type");
    c.set("lxc.net.0.link", "eth0").expect("link");
    c.set("lxc.net.0.macvlan.mode", "bridge").expect("mode");
    let d = &lxc_net::netdevs(&c).expect("netdevs")[0];
    assert_eq!(d.macvlan_mode, MacvlanMode::Bridge);
    c.clear("lxc.net.0.macvlan.mode").expect("clear");
    assert_eq!(c.get("lxc.net.0.macvlan.mode").expect("get"), "(invalid)");
    c.set("lxc.net.0.type", "veth").expect("type again");
    let d = &lxc_net::netdevs(&c).expect("netdevs")[0];
    assert_eq!(d.link, "", "setting the type resets the network, as in LXC");
    c.clear("lxc.net.0.type").expect("clear type");
    assert_eq!(c.get("lxc.net.0.type").expect("get"), "(null)");
    assert_eq!(c.get("lxc.net").expect("get"), "(invalid)\n");
    c.set("lxc.net", "").expect("clear all");
    assert!(lxc_net::netdevs(&c).expect("netdevs").is_empty());
    assert!(c.set("lxc.net", "x").is_err(), "lxc.net takes no value");
}

#[test]
fn keys_per_type() {
    let c = config(
        "lxc.net.0.type = veth\nlxc.net.1.type = empty\nlxc.net.2.type = macvlan\n\
         lxc.net.3.type = vlan\nlxc.net.4.type = ipvlan\n",
    );
    let common = [
        "type",
        "script.up",
        "script.down",
        "flags",
        "link",
        "name",
        "hwaddr",
        "mtu",
        "ipv6.address",
        "ipv6.gateway",
        "ipv4.address",
        "ipv4.gateway",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    // veth.ipv4.route and veth.ipv6.route are network_veth_routes', veth.vlan.id
    // network_bridge_vlan's, ipvlan.* network_ipvlan's: not in this build, so not listed.
    assert_eq!(lxc_net::list_net_keys(&c, 0), with(&["veth.pair"]));
    assert_eq!(
        lxc_net::list_net_keys(&c, 1),
        ["type", "script.up", "script.down"]
    );
    assert_eq!(lxc_net::list_net_keys(&c, 2), with(&["macvlan.mode"]));
    assert_eq!(lxc_net::list_net_keys(&c, 3), with(&["vlan.id"]));
    assert_eq!(lxc_net::list_net_keys(&c, 4), with(&[]));
    assert!(lxc_net::list_net_keys(&c, 5).is_empty());
    assert_eq!(lxc_net::net_keys(&c, 5), None);
    assert_eq!(
        lxc_net::get_keys(&c, "lxc.net.3.anything"),
        Some(with(&["vlan.id"]))
    );
    assert_eq!(lxc_net::get_keys(&c, "lxc.net.3x"), None);
}

#[test]
fn extension_keys_are_not_in_this_build() {
    for sub in [
        "type",
        "flags",
        "link",
        "name",
        "hwaddr",
        "mtu",
        "vlan.id",
        "macvlan.mode",
        "veth.pair",
        "veth.n_rxqueues",
        "veth.n_txqueues",
        "script.up",
        "script.down",
        "ipv4.address",
        "ipv4.gateway",
        "ipv6.address",
        "ipv6.gateway",
    ] {
        assert!(
            config_item_is_supported(&format!("lxc.net.0.{sub}")),
            "{sub}"
        );
        assert!(
            config_item_is_supported(&format!("lxc.net.12.{sub}")),
            "{sub}"
        );
    }
    assert!(config_item_is_supported("lxc.net"));
    for sub in [
        "veth.ipv4.route",
        "veth.ipv6.route",
        "ipvlan.mode",
        "ipvlan.isolation",
        "l2proxy",
        "veth.mode",
        "veth.vlan.id",
        "veth.vlan.tagged.id",
    ] {
        let key = format!("lxc.net.0.{sub}");
        assert!(!config_item_is_supported(&key), "{key}");
        let mut c = Config::new();
        c.set("lxc.net.0.type", "veth").expect("type");
        match c.set(&key, "x") {
            Err(Error::NotInBuild { .. }) => {}
            other => panic!("{key}: expected not-in-build, got {other:?}"),
        }
    }
    // `dev` gateways are network_gateway_device_route's.
    let mut c = Config::new();
    let e = c.set("lxc.net.0.ipv4.gateway", "dev").unwrap_err();
    assert!(
        e.to_string().contains("network_gateway_device_route"),
        "{e}"
    );
}

#[test]
fn hwaddr_templates_are_filled_once() {
    let mut c = Config::new();
    c.set("lxc.net.0.type", "veth").expect("type");
    c.set("lxc.net.0.hwaddr", "00:16:3e:xx:xx:xx")
        .expect("hwaddr");
    let a = c.get("lxc.net.0.hwaddr").expect("get");
    assert!(a.starts_with("00:16:3e:") && !a.contains('x'), "{a}");
    assert_eq!(c.get("lxc.net.0.hwaddr").expect("get"), a, "stable");
    assert_eq!(
        lxc_net::netdevs(&c).expect("netdevs")[0].hwaddr.as_deref(),
        Some(a.as_str())
    );
}

/// Save what was set (and cleared) through the API, read it back: the same networks.
#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::Builder::new()
        .prefix("lxcrs-t-net-")
        .tempdir()
        .expect("tempdir");
    let mut c = config(WEB);
    let ops: &[(&str, &str)] = &[
        ("lxc.net.0.link", "br1"),
        ("lxc.net.0.ipv4.address", "10.9.9.9/16"),
        ("lxc.net.0.ipv6.address", ""),
        ("lxc.net.0.ipv6.address", "fe80::2/10"),
        ("lxc.net.3.type", "macvlan"),
        ("lxc.net.3.macvlan.mode", "passthru"),
        ("lxc.net.3.link", "eth1"),
        ("lxc.net.4.type", "phys"),
        ("lxc.net.4.link", "eth2"),
        ("lxc.net.5.type", "none"),
        ("lxc.net.2.type", "veth"),
        ("lxc.net.2.veth.n_rxqueues", "4"),
    ];
    for (k, v) in ops {
        c.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    c.clear("lxc.net.0.script.up").expect("clear");
    c.clear("lxc.net.1.flags").expect("clear");
    let file = dir.path().join("config");
    c.save(&file).expect("save");
    let back = Config::load(&file).expect("load");
    let strip = |c: &Config| -> Vec<lxc_net::NetDev> {
        lxc_net::netdevs(c)
            .expect("netdevs")
            .into_iter()
            .map(|mut d| {
                d.type_origin = None;
                d.name_origin = None;
                d
            })
            .collect()
    };
    assert_eq!(strip(&c), strip(&back));
    for i in 0..6 {
        for k in lxc_net::list_net_keys(&c, i) {
            let key = format!("lxc.net.{i}.{k}");
            assert_eq!(c.get(&key).ok(), back.get(&key).ok(), "{key}");
        }
    }
    // Saving the loaded config again gives the same text.
    let again = dir.path().join("again");
    back.save(&again).expect("save again");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        std::fs::read_to_string(&again).expect("read")
    );
}

#[test]
fn an_index_past_u32_is_out_of_range_not_missing_from_the_build() {
    for idx in [
        "2147483647",
        "4294967295",
        "4294967296",
        "99999999999",
        "000000000000000000009999999999",
    ] {
        let key = format!("lxc.net.{idx}.type");
        assert!(config_item_is_supported(&key), "{key}");
        let mut c = Config::new();
        let e = c.set(&key, "veth").expect_err("out of range");
        assert!(
            matches!(&e, Error::InvalidValue { expected, .. } if expected.contains("network index below 2147483647")),
            "{key}: {e}"
        );
        let e = Config::parse_str(&format!("{key} = veth\n"), None).expect_err("out of range");
        assert!(
            e.to_string().contains("network index below 2147483647"),
            "{e}"
        );
    }
}
