//! The l2proxy step on real links, in a network namespace the test makes (standing in for the
//! host, with a bridge `br0`): LXC's sysctl checks in its order, the proxy entries for each
//! address and their removal, the ipvlan rules and its routes to `lo`. Needs root (skips saying so without).

use lxc_core::config::Config;
use lxc_ext_network_ipvlan as _;
use lxc_ext_network_l2proxy as _;
use lxc_net::ext::{run_steps, undo_all, StepCtx, Undo};
use lxc_net::NetDev;
use lxc_net_api::netlink::{Family, Netlink};
use lxc_net_api::testing::{can_run, TestNetns};

fn dev(text: &str) -> NetDev {
    let c = Config::parse_str(text, None).expect("config");
    lxc_net::netdevs(&c).expect("netdevs").remove(0)
}

/// The steps for `d`, run from inside `ns` (the monitor runs them in the host's namespace).
fn steps(ns: &TestNetns, d: &NetDev) -> Result<Vec<Undo>, String> {
    ns.run(|| {
        run_steps(&StepCtx {
            container: "lxcrs-t-l2p",
            dev: d,
            ifname: "eth0",
            host_ifname: None,
        })
        .map_err(|e| {
            assert_eq!(e.sub, "l2proxy");
            e.message
        })
    })
}

fn proxies(ns: &TestNetns) -> Vec<String> {
    ns.run(|| {
        let nl = Netlink::current().expect("netlink");
        let br = nl.index_of("br0").expect("br0");
        let mut all: Vec<String> = nl
            .proxy_neighs(br)
            .expect("proxy entries")
            .iter()
            .map(|a| a.to_string())
            .collect();
        all.sort();
        all
    })
}

fn sysctl(ns: &TestNetns, key: &str) {
    ns.exec(&["sh", "-c", &format!("echo 1 > /proc/sys/{key}")])
        .expect("sysctl");
}

#[test]
fn checks_adds_and_removes_like_lxc() {
    if !can_run() {
        eprintln!("skipped: network namespaces need root and iproute2");
        return;
    }
    let ns = TestNetns::new("l2p-step").expect("netns");
    ns.exec(&["ip", "link", "add", "br0", "type", "bridge"])
        .expect("bridge");
    ns.exec(&["ip", "link", "set", "br0", "up"]).expect("up");

    // Nothing without a link, or with l2proxy off.
    let d =
        dev("lxc.net.0.type = veth\nlxc.net.0.l2proxy = 1\nlxc.net.0.ipv4.address = 10.9.0.2/24\n");
    assert!(steps(&ns, &d).expect("no link").is_empty());
    let d =
        dev("lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.ipv4.address = 10.9.0.2/24\n");
    assert!(steps(&ns, &d).expect("off").is_empty());

    let d = dev("lxc.net.0.type = veth\nlxc.net.0.link = nosuch0\nlxc.net.0.l2proxy = 1\n");
    let e = steps(&ns, &d).map(|_| ()).expect_err("no such link");
    assert!(e.contains("the link nosuch0 does not exist"), "{e}");

    let d = dev(
        "lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.l2proxy = 1\n\
         lxc.net.0.ipv4.address = 10.9.0.2/24\nlxc.net.0.ipv4.address = 10.9.0.3/24\n\
         lxc.net.0.ipv6.address = fd09::2/64\n",
    );
    for (key, shown) in [
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
        let e = steps(&ns, &d).map(|_| ()).expect_err(shown);
        assert_eq!(e, format!("needs sysctl {shown} (it is 0)"));
        assert!(
            proxies(&ns).is_empty(),
            "nothing added before the checks pass"
        );
        sysctl(&ns, key);
    }
    let done = steps(&ns, &d).expect("l2proxy");
    assert_eq!(done.len(), 1);
    assert_eq!(proxies(&ns), ["10.9.0.2", "10.9.0.3", "fd09::2"]);
    let failed = ns.run(|| undo_all(done));
    assert!(failed.is_empty(), "{failed:?}");
    assert!(proxies(&ns).is_empty());

    // An entry that was there before is left as it was, at the stop too.
    ns.exec(&["ip", "neigh", "add", "proxy", "10.9.0.3", "dev", "br0"])
        .expect("a proxy entry");
    let done = steps(&ns, &d).expect("l2proxy");
    assert_eq!(proxies(&ns), ["10.9.0.2", "10.9.0.3", "fd09::2"]);
    let failed = ns.run(|| undo_all(done));
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(proxies(&ns), ["10.9.0.3"], "only the entry that was there");
}

/// The routes of both families to `lo` in `ns`, as "ADDR/PREFIX" (the namespace's own local
/// routes are in the local table, which `routes` does not list).
fn routes_to_lo(ns: &TestNetns) -> Vec<String> {
    ns.run(|| {
        let nl = Netlink::current().expect("netlink");
        let lo = nl.index_of("lo").expect("lo");
        let mut all: Vec<String> = [Family::V4, Family::V6]
            .into_iter()
            .flat_map(|f| nl.routes(f).expect("routes"))
            .filter(|r| r.dev == Some(lo))
            .map(|r| format!("{}/{}", r.dest, r.prefix))
            .collect();
        all.sort();
        all
    })
}

#[test]
fn ipvlan_needs_l3s() {
    if !can_run() {
        eprintln!("skipped: network namespaces need root and iproute2");
        return;
    }
    let ns = TestNetns::new("l2p-ipvlan").expect("netns");
    ns.exec(&["ip", "link", "add", "br0", "type", "bridge"])
        .expect("bridge");
    let d = dev("lxc.net.0.type = ipvlan\nlxc.net.0.link = br0\nlxc.net.0.l2proxy = 1\n");
    let e = steps(&ns, &d).map(|_| ()).expect_err("l2");
    assert!(e.contains("mode l3s"), "{e}");
    assert!(e.contains("lxc.net.0.ipvlan.mode is l2"), "{e}");
    assert!(proxies(&ns).is_empty());
    assert!(routes_to_lo(&ns).is_empty());
}

/// For an ipvlan (its lower device `br0` here: the step needs no ipvlan link, which this
/// kernel cannot make), each address gets LXC's host route to `lo` after its proxy entry, and
/// both go at the stop; the sysctl checks come first, as for any type.
#[test]
fn ipvlan_routes_its_addresses_to_lo() {
    if !can_run() {
        eprintln!("skipped: network namespaces need root and iproute2");
        return;
    }
    let ns = TestNetns::new("l2p-iplo").expect("netns");
    ns.exec(&["ip", "link", "add", "br0", "type", "bridge"])
        .expect("bridge");
    ns.exec(&["ip", "link", "set", "br0", "up"]).expect("up");
    ns.exec(&["ip", "link", "set", "lo", "up"]).expect("lo up");
    let d = dev(
        "lxc.net.0.type = ipvlan\nlxc.net.0.link = br0\nlxc.net.0.l2proxy = 1\n\
         lxc.net.0.ipvlan.mode = l3s\nlxc.net.0.ipv4.address = 10.9.0.2/24\n\
         lxc.net.0.ipv4.address = 10.9.0.3/24\nlxc.net.0.ipv6.address = fd09::2/64\n",
    );
    let e = steps(&ns, &d).map(|_| ()).expect_err("sysctls first");
    assert_eq!(e, "needs sysctl net.ipv4.conf.br0.forwarding=1 (it is 0)");
    for key in [
        "net/ipv4/conf/br0/forwarding",
        "net/ipv6/conf/br0/proxy_ndp",
        "net/ipv6/conf/br0/forwarding",
    ] {
        sysctl(&ns, key);
    }
    let done = steps(&ns, &d).expect("l2proxy on an ipvlan");
    assert_eq!(done.len(), 1);
    assert_eq!(proxies(&ns), ["10.9.0.2", "10.9.0.3", "fd09::2"]);
    assert_eq!(
        routes_to_lo(&ns),
        ["10.9.0.2/32", "10.9.0.3/32", "fd09::2/128"]
    );
    // As `ip route` shows LXC's: a host route of scope link, protocol boot.
    let shown = ns
        .exec(&["ip", "-d", "route", "show", "10.9.0.2/32"])
        .expect("ip route");
    assert_eq!(
        shown.trim(),
        "unicast 10.9.0.2 dev lo proto boot scope link"
    );
    let failed = ns.run(|| undo_all(done));
    assert!(failed.is_empty(), "{failed:?}");
    assert!(proxies(&ns).is_empty());
    assert!(routes_to_lo(&ns).is_empty());

    // A route that is already there fails the step, as under LXC (its add is exclusive), and
    // what the step made before it goes again; the route that was there stays.
    ns.exec(&["ip", "route", "add", "10.9.0.3/32", "dev", "lo"])
        .expect("a route to lo");
    let e = steps(&ns, &d).map(|_| ()).expect_err("the route is there");
    assert!(e.starts_with("route of 10.9.0.3 to lo: "), "{e}");
    assert!(e.contains("File exists"), "{e}");
    assert!(proxies(&ns).is_empty(), "undone: {:?}", proxies(&ns));
    assert_eq!(routes_to_lo(&ns), ["10.9.0.3/32"]);

    // A route someone else removed in the meantime is no failure at the stop.
    ns.exec(&["ip", "route", "del", "10.9.0.3/32", "dev", "lo"])
        .expect("del");
    let done = steps(&ns, &d).expect("l2proxy on an ipvlan");
    ns.exec(&["ip", "route", "del", "10.9.0.2/32", "dev", "lo"])
        .expect("del");
    let failed = ns.run(|| undo_all(done));
    assert!(failed.is_empty(), "{failed:?}");
    assert!(proxies(&ns).is_empty());
    assert!(routes_to_lo(&ns).is_empty());
}
