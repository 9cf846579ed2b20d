//! The netlink layer against the real kernel, inside network namespaces the tests make (as
//! root). Every check that can be made independently is made with iproute2 (`ip -j`, `bridge
//! -j`) as well, and every test asserts its namespaces are gone at the end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

use lxc_net_api::netlink::{Family, LinkSettings, Netlink, Route, Scope, VethSpec};
use lxc_net_api::testing::{can_run, netns_exists, TestNetns};
use serde_json::Value;

macro_rules! require_root {
    ($name:literal) => {
        if !can_run() {
            eprintln!("SKIP {}: needs root and iproute2", $name);
            return;
        }
    };
}

fn json(ns: &TestNetns, argv: &[&str]) -> Value {
    let out = ns.exec(argv).expect("iproute2");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{argv:?}: {e}: {out}"))
}

/// Remove test namespaces (and every link in them) and check they are gone.
fn gone(nss: Vec<TestNetns>) {
    let names: Vec<String> = nss.iter().map(|n| n.name().to_string()).collect();
    drop(nss);
    for n in names {
        assert!(!netns_exists(&n), "{n} left behind");
    }
}

fn veth<'a>(name: &'a str, peer: &'a str, ns: Option<&'a TestNetns>) -> VethSpec<'a> {
    VethSpec {
        name,
        peer,
        peer_netns: ns.map(|n| n.fd()),
        mtu: None,
        rx_queues: None,
        tx_queues: None,
    }
}

/// A veth between two test namespaces: created with the peer straight in the other one,
/// queues crossed, MTU on both, addresses, routes, renaming, UDP across it, deletion.
#[test]
fn veth_between_two_netns_with_addresses_and_routes() {
    require_root!("veth_between_two_netns_with_addresses_and_routes");
    let a = TestNetns::new("nl-a").expect("netns a");
    let b = TestNetns::new("nl-b").expect("netns b");
    let names = (a.name().to_string(), b.name().to_string());
    {
        let na = Netlink::in_netns(a.fd()).expect("netlink in a");
        let nb = Netlink::in_netns(b.fd()).expect("netlink in b");
        let host = na
            .add_veth(&VethSpec {
                mtu: Some(1400),
                rx_queues: Some(2),
                tx_queues: Some(3),
                ..veth("lxcrs-t-va", "lxcrs-t-vb", Some(&b))
            })
            .expect("add veth");
        assert_eq!(host.kind.as_deref(), Some("veth"));
        assert_eq!(host.mtu, 1400);
        assert!(!host.up);
        assert!(
            na.link_by_name("lxcrs-t-vb").expect("lookup").is_none(),
            "the peer was made in b, not in a"
        );
        let peer = nb
            .link_by_name("lxcrs-t-vb")
            .expect("lookup")
            .expect("peer in b");
        assert_eq!(host.link, Some(peer.index), "IFLA_LINK names the peer");
        assert!(host.link_netnsid.is_some());
        assert_eq!(peer.mtu, 1400);
        assert_eq!(
            nb.link_by_index(peer.index).expect("by index"),
            Some(peer.clone())
        );
        assert_eq!(nb.index_of("lxcrs-t-vb").expect("index_of"), peer.index);
        assert!(nb.index_of("lxcrs-t-nope").is_err());

        // LXC's queue counts: the peer gets rx/tx as given, the host side crossed.
        let d = json(&b, &["ip", "-j", "-d", "link", "show", "lxcrs-t-vb"]);
        assert_eq!(d[0]["num_rx_queues"], 2, "{d}");
        assert_eq!(d[0]["num_tx_queues"], 3, "{d}");
        let d = json(&a, &["ip", "-j", "-d", "link", "show", "lxcrs-t-va"]);
        assert_eq!(d[0]["num_rx_queues"], 3, "{d}");
        assert_eq!(d[0]["num_tx_queues"], 2, "{d}");

        // Renaming (while down), MTU, hardware address.
        na.set_name(host.index, "lxcrs-t-vx").expect("rename");
        na.set_mtu(host.index, 1300).expect("mtu");
        let mac = [0xfe, 0x16, 0x3e, 0x01, 0x02, 0x03];
        na.set_address(host.index, &mac).expect("hwaddr");
        let h = na
            .link_by_index(host.index)
            .expect("by index")
            .expect("host");
        assert_eq!((h.name.as_str(), h.mtu), ("lxcrs-t-vx", 1300));
        assert_eq!(h.address, mac);
        let d = json(&a, &["ip", "-j", "link", "show", "lxcrs-t-vx"]);
        assert_eq!(d[0]["address"], "fe:16:3e:01:02:03");

        // Addresses, up.
        na.add_address(
            host.index,
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)),
            24,
            Some(Ipv4Addr::new(10, 99, 0, 255)),
        )
        .expect("v4 a");
        nb.add_address(
            peer.index,
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)),
            24,
            None,
        )
        .expect("v4 b");
        let v6: Ipv6Addr = "fd00:99::2".parse().expect("v6");
        nb.add_address(peer.index, IpAddr::V6(v6), 64, None)
            .expect("v6 b");
        assert!(na
            .add_address(
                host.index,
                IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)),
                33,
                None
            )
            .is_err());
        let e = na
            .add_address(
                host.index,
                IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)),
                24,
                Some(Ipv4Addr::new(10, 99, 0, 255)),
            )
            .expect_err("the same address twice");
        assert_eq!(e.errno(), Some(libc::EEXIST), "{e}");
        assert!(
            e.to_string().starts_with("adding address 10.99.0.1/24"),
            "{e}"
        );
        na.set_up(host.index).expect("up a");
        nb.set_up(peer.index).expect("up b");
        assert!(na.link_by_index(host.index).expect("a").expect("a").up);
        let addrs = na.addresses(Some(host.index)).expect("addresses a");
        assert!(addrs
            .iter()
            .any(|x| x.addr == IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1))
                && x.prefix == 24
                && x.broadcast == Some(Ipv4Addr::new(10, 99, 0, 255))));
        let addrs = nb.addresses(Some(peer.index)).expect("addresses b");
        assert!(addrs
            .iter()
            .any(|x| x.addr == IpAddr::V6(v6) && x.prefix == 64));
        let d = json(&b, &["ip", "-j", "addr", "show", "dev", "lxcrs-t-vb"]);
        let locals: Vec<&str> = d[0]["addr_info"]
            .as_array()
            .expect("addr_info")
            .iter()
            .filter_map(|x| x["local"].as_str())
            .collect();
        assert!(
            locals.contains(&"10.99.0.2") && locals.contains(&"fd00:99::2"),
            "{d}"
        );

        // Routes: LXC's default route through a gateway, a device default route, a scope-link
        // host route, a route via a gateway.
        nb.add_default_route(
            Family::V4,
            peer.index,
            Some(IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1))),
        )
        .expect("default v4");
        nb.add_default_route(Family::V6, peer.index, None)
            .expect("default v6 dev");
        nb.add_route(&Route {
            dest: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            prefix: 32,
            gateway: None,
            dev: Some(peer.index),
            scope: Scope::Link,
        })
        .expect("host route");
        nb.add_route(&Route {
            dest: IpAddr::V4(Ipv4Addr::new(10, 98, 0, 0)),
            prefix: 16,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1))),
            dev: None,
            scope: Scope::Universe,
        })
        .expect("route via");
        let r4 = nb.routes(Family::V4).expect("routes");
        let want = |dest: [u8; 4], prefix, gw: Option<[u8; 4]>, scope| Route {
            dest: IpAddr::V4(dest.into()),
            prefix,
            gateway: gw.map(|g| IpAddr::V4(g.into())),
            dev: Some(peer.index),
            scope,
        };
        for r in [
            want([0, 0, 0, 0], 0, Some([10, 99, 0, 1]), Scope::Universe),
            want([192, 0, 2, 7], 32, None, Scope::Link),
            want([10, 98, 0, 0], 16, Some([10, 99, 0, 1]), Scope::Universe),
        ] {
            assert!(r4.contains(&r), "{r:?} not in {r4:?}");
        }
        let r6 = nb.routes(Family::V6).expect("routes v6");
        assert!(
            r6.iter()
                .any(|r| r.prefix == 0 && r.gateway.is_none() && r.dev == Some(peer.index)),
            "{r6:?}"
        );
        let d = json(&b, &["ip", "-j", "route", "show", "default"]);
        assert_eq!(d[0]["gateway"], "10.99.0.1", "{d}");

        // Traffic crosses: a UDP datagram from a to b and the answer back.
        let got = b.run(|| {
            let rx = UdpSocket::bind("10.99.0.2:4999").expect("bind in b");
            let sent = a.run(|| {
                let tx = UdpSocket::bind("10.99.0.1:0").expect("bind in a");
                tx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .expect("timeout");
                tx.send_to(b"ping", "10.99.0.2:4999").expect("send");
                tx
            });
            rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .expect("timeout");
            let mut buf = [0u8; 16];
            let (n, from) = rx.recv_from(&mut buf).expect("recv in b");
            rx.send_to(b"pong", from).expect("answer");
            let mut back = [0u8; 16];
            let (m, _) = sent.recv_from(&mut back).expect("recv in a");
            (buf[..n].to_vec(), back[..m].to_vec())
        });
        assert_eq!(got, (b"ping".to_vec(), b"pong".to_vec()));

        // Down, then deleted: both ends go.
        na.set_down(host.index).expect("down");
        assert!(!na.link_by_index(host.index).expect("a").expect("a").up);
        na.del_link(host.index).expect("delete");
        assert!(na.link_by_name("lxcrs-t-vx").expect("lookup").is_none());
        assert!(nb.link_by_name("lxcrs-t-vb").expect("lookup").is_none());
        let e = na.del_link(host.index).expect_err("deleting twice");
        assert_eq!(e.errno(), Some(libc::ENODEV), "{e}");
    }
    drop((a, b));
    assert!(!netns_exists(&names.0) && !netns_exists(&names.1));
}

/// The kernel numbers a peer called `eth%d` inside the other namespace; IFLA_LINK finds it.
#[test]
fn veth_peer_with_a_kernel_assigned_name() {
    require_root!("veth_peer_with_a_kernel_assigned_name");
    let a = TestNetns::new("nl-pa").expect("netns");
    let b = TestNetns::new("nl-pb").expect("netns");
    let na = Netlink::in_netns(a.fd()).expect("netlink a");
    let nb = Netlink::in_netns(b.fd()).expect("netlink b");
    let first = na
        .add_veth(&veth("lxcrs-t-p0", "eth%d", Some(&b)))
        .expect("veth 0");
    let second = na
        .add_veth(&veth("lxcrs-t-p1", "eth%d", Some(&b)))
        .expect("veth 1");
    let names: Vec<String> = [first, second]
        .iter()
        .map(|h| {
            nb.link_by_index(h.link.expect("peer index"))
                .expect("lookup")
                .expect("peer")
                .name
        })
        .collect();
    assert_eq!(names, ["eth0", "eth1"]);
    // Moving a link (what a phys or macvlan plugin does) works too.
    let pair = na
        .add_veth(&veth("lxcrs-t-m0", "lxcrs-t-m1", None))
        .expect("local pair");
    let m1 = na.index_of("lxcrs-t-m1").expect("m1");
    na.move_to_netns(m1, b.fd()).expect("move");
    assert!(na.link_by_name("lxcrs-t-m1").expect("lookup").is_none());
    assert!(nb.link_by_name("lxcrs-t-m1").expect("lookup").is_some());
    assert!(pair.link.is_some());
    let name = na.unused_name("vethXXXXXX").expect("name");
    assert!(name.len() == 10 && name.starts_with("veth"), "{name}");
    assert!(
        name[4..].bytes().all(|c| c.is_ascii_alphanumeric()),
        "{name}"
    );
    assert!(na.link_by_name(&name).expect("lookup").is_none());
    assert!(na.unused_name("this-is-far-too-long").is_err());
    drop((na, nb));
    gone(vec![a, b]);
}

/// The message the tests print where this kernel lacks a feature (this machine's kernel has
/// neither 802.1Q VLAN links nor bridge VLAN filtering; Debian's 6.1 in qemu has both).
fn lacks(what: &str, e: &lxc_net_api::netlink::NetlinkError) -> bool {
    if e.errno() == Some(libc::EOPNOTSUPP) {
        eprintln!("SKIP (kernel lacks {what}): {e}");
        true
    } else {
        false
    }
}

/// A bridge and a port.
#[test]
fn bridge_ports() {
    require_root!("bridge_ports");
    let ns = TestNetns::new("nl-br").expect("netns");
    let nl = Netlink::in_netns(ns.fd()).expect("netlink");
    let br = nl.add_bridge("lxcrs-t-br", false).expect("bridge");
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    let info = br.bridge.expect("bridge info");
    assert!(!info.vlan_filtering);
    assert_eq!(info.default_pvid, 1);
    let port = nl
        .add_veth(&veth("lxcrs-t-pt", "lxcrs-t-pt1", None))
        .expect("veth");
    nl.set_master(port.index, br.index).expect("attach");
    let p = nl.link_by_index(port.index).expect("lookup").expect("port");
    assert_eq!(p.master, Some(br.index));
    let d = json(&ns, &["ip", "-j", "link", "show", "lxcrs-t-pt"]);
    assert_eq!(d[0]["master"], "lxcrs-t-br");
    nl.set_nomaster(port.index).expect("detach");
    assert_eq!(
        nl.link_by_index(port.index).expect("l").expect("l").master,
        None
    );
    let d = nl
        .add_link("lxcrs-t-br2", "bridge")
        .expect("plain add_link");
    assert_eq!(d.kind.as_deref(), Some("bridge"));
    drop(nl);
    gone(vec![ns]);
}

/// A VLAN-filtering bridge and LXC's `veth.vlan.id` / `veth.vlan.tagged.id` steps on a port.
#[test]
fn bridge_vlans() {
    require_root!("bridge_vlans");
    let ns = TestNetns::new("nl-bv").expect("netns");
    let nl = Netlink::in_netns(ns.fd()).expect("netlink");
    let br = match nl.add_bridge("lxcrs-t-br", true) {
        Ok(b) => b,
        Err(e) if lacks("bridge VLAN filtering", &e) => {
            drop(nl);
            return gone(vec![ns]);
        }
        Err(e) => panic!("{e}"),
    };
    let info = br.bridge.expect("bridge info");
    assert!(info.vlan_filtering);
    assert_eq!(info.default_pvid, 1);
    let port = nl
        .add_veth(&veth("lxcrs-t-pt", "lxcrs-t-pt1", None))
        .expect("veth");
    nl.set_master(port.index, br.index).expect("attach");

    // A new port starts in the default PVID, untagged.
    let vl = nl.bridge_vlans(port.index).expect("vlans");
    assert_eq!(vl.len(), 1, "{vl:?}");
    assert!(vl[0].vid == 1 && vl[0].pvid && vl[0].untagged, "{vl:?}");
    nl.bridge_vlan_del(port.index, 1).expect("del pvid 1");
    nl.bridge_vlan_add(port.index, 10, true).expect("pvid 10");
    nl.bridge_vlan_add(port.index, 20, false)
        .expect("tagged 20");
    nl.bridge_vlan_add(port.index, 30, false)
        .expect("tagged 30");
    let mut vl = nl.bridge_vlans(port.index).expect("vlans");
    vl.sort_by_key(|v| v.vid);
    let got: Vec<(u16, bool, bool)> = vl.iter().map(|v| (v.vid, v.pvid, v.untagged)).collect();
    assert_eq!(
        got,
        [(10, true, true), (20, false, false), (30, false, false)]
    );
    if let Ok(out) = ns.exec(&["bridge", "-j", "vlan", "show", "dev", "lxcrs-t-pt"]) {
        assert!(out.contains("\"vlan\":10") && out.contains("PVID"), "{out}");
        assert!(
            out.contains("\"vlan\":20") && out.contains("\"vlan\":30"),
            "{out}"
        );
    }
    drop(nl);
    gone(vec![ns]);
}

/// Proxy neighbour entries (LXC's router mode answers ARP/NDP for the gateway this way).
#[test]
fn proxy_neighbours() {
    require_root!("proxy_neighbours");
    let ns = TestNetns::new("nl-nb").expect("netns");
    let nl = Netlink::in_netns(ns.fd()).expect("netlink");
    let l = nl
        .add_veth(&veth("lxcrs-t-nx", "lxcrs-t-ny", None))
        .expect("veth");
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 99, 1, 1));
    let v6 = IpAddr::V6("fd00:99::1".parse().expect("v6"));
    nl.add_proxy_neigh(l.index, v4).expect("proxy v4");
    nl.add_proxy_neigh(l.index, v6).expect("proxy v6");
    let mut got = nl.proxy_neighs(l.index).expect("list");
    got.sort();
    assert_eq!(got, [v4, v6]);
    let shown = ns
        .exec(&["ip", "neigh", "show", "proxy", "dev", "lxcrs-t-nx"])
        .expect("ip neigh");
    assert!(
        shown.contains("10.99.1.1") && shown.contains("fd00:99::1"),
        "{shown}"
    );
    nl.del_proxy_neigh(l.index, v4).expect("del");
    assert_eq!(nl.proxy_neighs(l.index).expect("list"), [v6]);
    drop(nl);
    gone(vec![ns]);
}

/// Routes go as they came: host routes to `lo` (what l2proxy adds for an ipvlan), a route via
/// a gateway; deleting one that is not there is ESRCH, and only the route asked for goes.
#[test]
fn routes_deleted() {
    require_root!("routes_deleted");
    let ns = TestNetns::new("nl-rt").expect("netns");
    let nl = Netlink::in_netns(ns.fd()).expect("netlink");
    let l = nl
        .add_veth(&veth("lxcrs-t-rx", "lxcrs-t-ry", None))
        .expect("veth");
    nl.set_up(l.index).expect("up");
    nl.add_address(l.index, IpAddr::V4(Ipv4Addr::new(10, 97, 0, 1)), 24, None)
        .expect("address");
    let lo = nl.index_of("lo").expect("lo");
    nl.set_up(lo).expect("lo up");
    let to_lo = |dest: IpAddr| Route {
        dest,
        prefix: if dest.is_ipv4() { 32 } else { 128 },
        gateway: None,
        dev: Some(lo),
        scope: Scope::Link,
    };
    let v4 = to_lo(IpAddr::V4(Ipv4Addr::new(10, 97, 1, 2)));
    let v6 = to_lo(IpAddr::V6("fd00:97::2".parse().expect("v6")));
    let via = Route {
        dest: IpAddr::V4(Ipv4Addr::new(10, 96, 0, 0)),
        prefix: 16,
        gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 97, 0, 2))),
        dev: Some(l.index),
        scope: Scope::Universe,
    };
    for r in [&v4, &v6, &via] {
        nl.add_route(r).expect("add");
    }
    let shown = json(&ns, &["ip", "-j", "-6", "route", "show", "dev", "lo"]);
    assert_eq!(shown[0]["dst"], "fd00:97::2", "{shown}");
    let r4 = nl.routes(Family::V4).expect("routes");
    assert!(r4.contains(&v4) && r4.contains(&via), "{r4:?}");

    nl.del_route(&v4).expect("del v4");
    nl.del_route(&via).expect("del via");
    let r4 = nl.routes(Family::V4).expect("routes");
    assert!(!r4.contains(&v4) && !r4.contains(&via), "{r4:?}");
    assert!(
        r4.iter()
            .any(|r| r.dest == IpAddr::V4(Ipv4Addr::new(10, 97, 0, 0))),
        "the address's own route stays: {r4:?}"
    );
    assert!(nl
        .routes(Family::V6)
        .expect("routes v6")
        .iter()
        .any(|r| r.dest == v6.dest));
    nl.del_route(&v6).expect("del v6");
    assert!(!nl
        .routes(Family::V6)
        .expect("routes v6")
        .iter()
        .any(|r| r.dest == v6.dest));
    let e = nl.del_route(&v4).expect_err("deleting twice");
    assert_eq!(e.errno(), Some(libc::ESRCH), "{e}");
    assert!(
        e.to_string().starts_with("deleting route 10.97.1.2/32"),
        "{e}"
    );
    let e = nl.del_route(&v6).expect_err("deleting twice");
    assert_eq!(e.errno(), Some(libc::ESRCH), "{e}");
    drop(nl);
    gone(vec![ns]);
}

/// Which link kinds the kernel can make, as `lxc-rs checkconfig` prints them.
#[test]
fn link_kinds() {
    require_root!("link_kinds");
    let kinds = [
        "veth",
        "bridge",
        "macvlan",
        "vlan",
        "ipvlan",
        "lxcrs-t-nokind",
    ];
    let got = Netlink::probe_link_kinds(&kinds).expect("probe");
    let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, kinds);
    for (k, r) in &got[..3] {
        assert!(r.is_ok(), "{k}: {r:?}");
    }
    // This machine's kernel has neither vlan nor ipvlan (shared/FACTS.md); others may.
    for (k, r) in &got[3..5] {
        if let Err(e) = r {
            assert_eq!(e, &format!("the kernel has no {k} link type (EOPNOTSUPP)"));
        }
    }
    assert!(got[5].1.is_err());
    let simple = Netlink::link_kinds_supported(&["veth", "lxcrs-t-nokind"]).expect("probe");
    assert_eq!(
        simple,
        [
            ("veth".to_string(), true),
            ("lxcrs-t-nokind".to_string(), false)
        ]
    );
}

/// `current()` works in the caller's namespace; `/proc/sys/net` is the handle's namespace's;
/// `new_netns()` makes an empty one that can be handed on by descriptor.
#[test]
fn current_sysctl_and_new_netns() {
    require_root!("current_sysctl_and_new_netns");
    let ns = TestNetns::new("nl-cur").expect("netns");
    ns.run(|| {
        let nl = Netlink::current().expect("current");
        let l = nl
            .add_veth(&veth("lxcrs-t-cu", "lxcrs-t-cv", None))
            .expect("veth in the thread's netns");
        nl.set_sysctl("net/ipv4/conf/lxcrs-t-cu/forwarding", "1")
            .expect("sysctl");
        assert_eq!(
            nl.sysctl("net/ipv4/conf/lxcrs-t-cu/forwarding")
                .expect("read"),
            "1"
        );
        l
    });
    assert_eq!(
        ns.exec(&["cat", "/proc/sys/net/ipv4/conf/lxcrs-t-cu/forwarding"])
            .expect("cat")
            .trim(),
        "1"
    );
    assert!(
        !std::path::Path::new("/proc/sys/net/ipv4/conf/lxcrs-t-cu").exists(),
        "the test's link leaked into the machine's namespace"
    );

    let fresh = Netlink::new_netns().expect("new netns");
    let links = fresh.links().expect("links");
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].name, "lo");
    let fd = fresh.netns_fd().expect("fd");
    let nl = Netlink::in_netns(std::os::fd::AsFd::as_fd(&fd)).expect("enter by fd");
    nl.add_link("lxcrs-t-brx", "bridge").expect("bridge");
    assert!(fresh.link_by_name("lxcrs-t-brx").expect("lookup").is_some());
    gone(vec![ns]);
}

/// `add_veth_with`: the pair made, the local side addressed, on its bridge and up, all in one
/// request, answered from the kernel's echo as a fresh look-up would; `peer_of` finds the peer
/// in the other namespace through the same handle.
#[test]
fn veth_made_and_set_in_one_request() {
    require_root!("veth_made_and_set_in_one_request");
    let a = TestNetns::new("nl-one-a").expect("netns a");
    let b = TestNetns::new("nl-one-b").expect("netns b");
    {
        let na = Netlink::in_netns(a.fd()).expect("netlink in a");
        let br = na.add_bridge("lxcrs-t-obr", false).expect("bridge");
        let mac = [0xfe, 0x12, 0x34, 0x56, 0x78, 0x9a];
        let made = na
            .add_veth_with(
                &VethSpec {
                    mtu: Some(1450),
                    ..veth("lxcrs-t-one", "eth%d", Some(&b))
                },
                &LinkSettings {
                    address: Some(&mac),
                    up: true,
                    master: Some(br.index),
                    ..LinkSettings::default()
                },
            )
            .expect("add_veth_with");
        let looked = na
            .link_by_name("lxcrs-t-one")
            .expect("lookup")
            .expect("exists");
        assert_eq!(made, looked);
        assert_eq!(made.address, mac);
        assert!(made.up);
        assert_eq!(made.master, Some(br.index));
        assert_eq!(made.mtu, 1450);
        let shown = json(&a, &["ip", "-j", "-d", "link", "show", "lxcrs-t-one"]);
        assert_eq!(shown[0]["master"], "lxcrs-t-obr", "{shown}");
        assert_eq!(shown[0]["address"], "fe:12:34:56:78:9a", "{shown}");

        let peer = na.peer_of(&made).expect("peer_of").expect("a peer");
        assert_eq!(peer.name, "eth0");
        assert_eq!(peer.link, Some(made.index));
        assert!(!peer.up, "the peer stays down");
        let nb = Netlink::in_netns(b.fd()).expect("netlink in b");
        assert_eq!(
            nb.link_by_index(peer.index)
                .expect("lookup")
                .map(|l| l.name),
            Some("eth0".to_string())
        );
        assert_eq!(na.peer_of(&br).expect("peer_of"), None, "a bridge has none");

        // A refused setting refuses the whole request, and nothing is left of it.
        let e = na
            .add_veth_with(
                &veth("lxcrs-t-two", "eth%d", Some(&b)),
                &LinkSettings {
                    master: Some(made.index),
                    ..LinkSettings::default()
                },
            )
            .expect_err("a veth is no bridge");
        assert!(
            e.to_string().starts_with("creating veth pair lxcrs-t-two"),
            "{e}"
        );
        assert!(na.link_by_name("lxcrs-t-two").expect("lookup").is_none());
    }
    gone(vec![a, b]);
}
