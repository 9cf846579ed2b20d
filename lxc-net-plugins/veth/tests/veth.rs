//! The veth plugin against the real kernel: each test makes a "host" network namespace (where
//! the monitor would be) and a "container" one, calls the plugin from a thread inside the host
//! one, and checks the result with the netlink layer and iproute2. Nothing touches the
//! machine's own interfaces; every namespace is removed at the end and checked gone.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lxc_net_api::abi_stable::std_types::{RResult, RString};
use lxc_net_api::netlink::{Family, Netlink, Scope};
use lxc_net_api::testing::{build_plugin, can_run, netns_exists, TestNetns};
use lxc_net_api::{Created, NetPluginRef, Request};

macro_rules! require_root {
    ($name:literal) => {
        if !can_run() {
            eprintln!("SKIP {}: needs root and iproute2", $name);
            return;
        }
    };
}

/// A host namespace with a bridge, and a container namespace.
struct World {
    host: TestNetns,
    ct: TestNetns,
    tag: String,
    /// How many container namespaces came before this one (they are named apart).
    round: u32,
}

impl World {
    fn new(tag: &str, bridge_mtu: Option<u32>) -> World {
        let host = TestNetns::new(&format!("{tag}-h")).expect("host netns");
        let ct = TestNetns::new(&format!("{tag}-c0")).expect("container netns");
        let nl = Netlink::in_netns(host.fd()).expect("netlink");
        let br = nl.add_bridge("lxcrs-t-br0", false).expect("bridge");
        if let Some(mtu) = bridge_mtu {
            nl.set_mtu(br.index, mtu).expect("bridge mtu");
        }
        nl.set_up(br.index).expect("bridge up");
        World {
            host,
            ct,
            tag: tag.to_string(),
            round: 0,
        }
    }

    fn req(&self, config: &[(&str, &str)]) -> Request {
        Request::new(
            "lxcrs-t-ct",
            "/var/lib/lxcrs-t",
            0,
            "veth",
            std::os::fd::AsRawFd::as_raw_fd(&self.ct.fd()),
            1,
            config,
        )
    }

    fn host_nl(&self) -> Netlink {
        Netlink::in_netns(self.host.fd()).expect("netlink host")
    }

    fn ct_nl(&self) -> Netlink {
        Netlink::in_netns(self.ct.fd()).expect("netlink container")
    }

    fn create(&self, m: NetPluginRef, req: &Request) -> Result<Created, String> {
        self.host.run(|| match (m.create())(req) {
            RResult::ROk(c) => Ok(c),
            RResult::RErr(e) => Err(e.into_string()),
        })
    }

    fn up(&self, m: NetPluginRef, req: &Request, c: &Created) -> Result<(), String> {
        self.host.run(|| match (m.up())(req, c) {
            RResult::ROk(()) => Ok(()),
            RResult::RErr(e) => Err(e.into_string()),
        })
    }

    fn destroy(&self, m: NetPluginRef, req: &Request, c: &Created) {
        self.host.run(|| {
            if let RResult::RErr(e) = (m.destroy())(req, c) {
                panic!("destroy: {e}");
            }
        })
    }

    /// The names of the host namespace's links, sorted.
    fn host_links(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .host_nl()
            .links()
            .expect("links")
            .into_iter()
            .map(|l| l.name)
            .collect();
        v.sort();
        v
    }

    /// Only what the test made itself is left: `lo` and the bridge on the host, `lo` inside.
    fn assert_clean(&self) {
        assert_eq!(self.host_links(), ["lo", "lxcrs-t-br0"]);
        let mut inside: Vec<String> = self
            .ct_nl()
            .links()
            .expect("links")
            .into_iter()
            .map(|l| l.name)
            .collect();
        inside.sort();
        assert_eq!(inside, ["lo"]);
    }

    /// After `destroy`: the pair is still there, left to the container's namespace (its peer
    /// is in there), which takes it along when it goes.
    fn assert_left_to_netns(&self, c: &Created) {
        let host = host_side(c);
        let hn = self.host_nl();
        let h = hn
            .link_by_name(&host)
            .expect("lookup")
            .unwrap_or_else(|| panic!("{host} was deleted: destroy should leave it"));
        let p = hn
            .peer_of(&h)
            .expect("lookup")
            .expect("its peer, in the container's namespace");
        assert_eq!(p.name, c.ifname.as_str());
        assert_eq!(
            self.ct_nl()
                .link_by_index(p.index)
                .expect("lookup")
                .map(|l| l.name),
            Some(p.name)
        );
    }

    /// Let the container's namespace go, as a stopped container's does, and wait (up to 5 s:
    /// the kernel deletes its links in the background) until the host has no veth left; then
    /// a fresh container namespace.
    fn next_container(&mut self) {
        self.round += 1;
        let fresh = TestNetns::new(&format!("{}-c{}", self.tag, self.round)).expect("netns");
        let old = std::mem::replace(&mut self.ct, fresh);
        let name = old.name().to_string();
        drop(old);
        assert!(!netns_exists(&name), "{name} left behind");
        let veths = || -> Vec<String> {
            self.host_nl()
                .links()
                .expect("links")
                .into_iter()
                .filter(|l| l.kind.as_deref() == Some("veth"))
                .map(|l| l.name)
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !veths().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(veths(), Vec::<String>::new(), "veths left on the host");
    }

    /// [`World::next_container`], only what the test made left, then both namespaces go.
    fn finish(mut self) {
        self.next_container();
        self.assert_clean();
        let names = [self.host.name().to_string(), self.ct.name().to_string()];
        drop(self);
        for n in names {
            assert!(!netns_exists(&n), "{n} left behind");
        }
    }
}

fn host_side(c: &Created) -> String {
    c.host_ifname
        .clone()
        .into_option()
        .expect("a host side")
        .into_string()
}

fn module() -> NetPluginRef {
    lxc_net_plugin_veth::module()
}

/// LXC's defaults: a random `vethXXXXXX` on the bridge with the bridge's MTU and a 0xfe MAC,
/// up; the peer inside under its configured name, down, same MTU; destroy removes it all.
#[test]
fn bridged_veth_with_lxc_defaults() {
    require_root!("bridged_veth_with_lxc_defaults");
    let w = World::new("vd", Some(1450));
    let req = w.req(&[
        ("type", "veth"),
        ("link", "lxcrs-t-br0"),
        ("flags", "up"),
        ("name", "eth1"),
        ("veth.n_rxqueues", "2"),
        ("veth.n_txqueues", "3"),
        // The generic keys are the host's to check (and report under their own names): the
        // plugin takes what it uses and is not stopped by the rest.
        ("ipv4.address", "10.0.0.1/99"),
        ("ipv6.address", "fd00::2/200"),
        ("ipv4.gateway", "bogus"),
        ("mtu", "lots"),
    ]);
    let m = module();
    assert_eq!(m.name().as_str(), "veth");
    assert_eq!(m.types().len(), 1);
    assert_eq!(m.types()[0].as_str(), "veth");
    assert!(m.keys().is_empty());
    assert!((m.check_key())("veth.pair".into(), "x".into()).is_err());

    let c = w.create(m, &req).expect("create");
    assert_eq!(c.ifname.as_str(), "eth1");
    let host = c
        .host_ifname
        .clone()
        .into_option()
        .expect("host side")
        .into_string();
    assert!(host.len() == 10 && host.starts_with("veth"), "{host}");
    assert!(
        host[4..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "{host}"
    );

    let hn = w.host_nl();
    let h = hn
        .link_by_name(&host)
        .expect("lookup")
        .expect("host side exists");
    let br = hn
        .link_by_name("lxcrs-t-br0")
        .expect("lookup")
        .expect("bridge");
    assert!(h.up, "the host side is up");
    assert_eq!(h.master, Some(br.index));
    assert_eq!(h.mtu, 1450, "MTU from the bridge");
    assert_eq!(h.address[0], 0xfe, "LXC's private host MAC");
    let p = w
        .ct_nl()
        .link_by_name("eth1")
        .expect("lookup")
        .expect("peer inside");
    assert!(
        !p.up,
        "the container side stays down for the host's generic setup"
    );
    assert_eq!(p.mtu, 1450);
    assert_eq!(h.link, Some(p.index));
    let d =
        w.ct.exec(&["ip", "-j", "-d", "link", "show", "eth1"])
            .expect("ip");
    assert!(
        d.contains("\"num_rx_queues\":2") && d.contains("\"num_tx_queues\":3"),
        "{d}"
    );

    let text = (m.describe())(&req, &c).into_string();
    assert_eq!(text, format!("veth {host} <-> eth1 on bridge lxcrs-t-br0"));
    assert!((m.up())(&req, &c).is_ok());
    assert!((m.down())(&req, &c).is_ok());

    // The pair is left to the container's namespace, which the host lets go right after.
    w.destroy(m, &req, &c);
    w.assert_left_to_netns(&c);
    w.destroy(m, &req, &c);
    w.assert_left_to_netns(&c);
    let mut w = w;
    w.next_container();
    // Destroy is idempotent: the host side is gone with the namespace.
    w.destroy(m, &req, &c);
    w.finish();
}

/// `veth.pair`, `mtu`, a kernel-named peer (`eth%d`), host routes from `veth.ipv4.route` /
/// `veth.ipv6.route`; the host side goes with the container's namespace.
#[test]
fn pair_name_mtu_routes_and_kernel_named_peer() {
    require_root!("pair_name_mtu_routes_and_kernel_named_peer");
    let w = World::new("vp", None);
    let req = w.req(&[
        ("type", "veth"),
        ("veth.pair", "lxcrs-t-vp"),
        ("mtu", "1400"),
        ("veth.ipv4.route", "192.0.2.0/24"),
        ("veth.ipv4.route", "198.51.100.7"),
        ("veth.ipv6.route", "2001:db8::/64"),
    ]);
    let c = w.create(module(), &req).expect("create");
    assert_eq!(c.ifname.as_str(), "eth0", "the kernel's first eth%d");
    assert_eq!(
        c.host_ifname
            .clone()
            .into_option()
            .map(RString::into_string),
        Some("lxcrs-t-vp".into())
    );
    let hn = w.host_nl();
    let h = hn
        .link_by_name("lxcrs-t-vp")
        .expect("lookup")
        .expect("host side");
    assert_eq!(h.mtu, 1400);
    assert_eq!(h.master, None, "no link: no bridge");
    assert_eq!(
        w.ct_nl()
            .link_by_name("eth0")
            .expect("lookup")
            .expect("peer")
            .mtu,
        1400
    );
    let r4 = hn.routes(Family::V4).expect("routes");
    for (dest, prefix) in [("192.0.2.0", 24), ("198.51.100.7", 32)] {
        let dest: IpAddr = dest.parse().expect("addr");
        assert!(
            r4.iter().any(|r| r.dest == dest
                && r.prefix == prefix
                && r.dev == Some(h.index)
                && r.scope == Scope::Link),
            "{dest}/{prefix} not in {r4:?}"
        );
    }
    let r6 = hn.routes(Family::V6).expect("routes");
    assert!(r6
        .iter()
        .any(|r| r.dest == "2001:db8::".parse::<IpAddr>().expect("a")
            && r.prefix == 64
            && r.dev == Some(h.index)));

    // A second interface asking for the same host name fails with one line, and leaves
    // nothing behind.
    let again = w.req(&[
        ("type", "veth"),
        ("veth.pair", "lxcrs-t-vp"),
        ("name", "eth5"),
    ]);
    let e = w
        .create(module(), &again)
        .expect_err("the pair name is taken");
    assert!(
        e.starts_with("lxc.net.0 (veth): creating veth pair lxcrs-t-vp <-> eth5"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    assert!(w.ct_nl().link_by_name("eth5").expect("lookup").is_none());

    // The container's namespace going away takes the pair with it; destroy is then a no-op.
    let mut w = w;
    w.next_container();
    w.destroy(module(), &req, &c);
    w.finish();
}

/// `veth.mode = router`: forwarding and proxy ARP/NDP for the gateways on the host side, and a
/// /32 (/128) route per container address.
#[test]
fn router_mode() {
    require_root!("router_mode");
    let w = World::new("vr", None);
    let cfg = [
        ("type", "veth"),
        ("veth.mode", "router"),
        ("veth.pair", "lxcrs-t-vr"),
        ("ipv4.address", "10.77.0.2/24"),
        ("ipv4.gateway", "10.77.0.1"),
        ("ipv6.address", "fd00:77::2/64"),
        ("ipv6.gateway", "fe80::1"),
    ];
    // IPv6 routing needs forwarding on in the host's namespace (the test's, not the machine's).
    w.host
        .exec(&[
            "sh",
            "-c",
            "echo 0 > /proc/sys/net/ipv6/conf/all/forwarding",
        ])
        .expect("sysctl");
    let e = w
        .create(module(), &w.req(&cfg))
        .expect_err("no ipv6 forwarding");
    assert!(e.contains("net.ipv6.conf.all.forwarding=1"), "{e}");
    w.assert_clean();
    w.host
        .exec(&[
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
        ])
        .expect("sysctl");

    let req = w.req(&cfg);
    let c = w.create(module(), &req).expect("create");
    let hn = w.host_nl();
    let h = hn
        .link_by_name("lxcrs-t-vr")
        .expect("lookup")
        .expect("host side");
    assert!(!h.up, "in router mode the host side comes up in `up`");
    // The host brings the container side up (flags = up), then calls `up`.
    let ct = w.ct_nl();
    let eth0 = ct.link_by_name("eth0").expect("lookup").expect("peer");
    ct.set_up(eth0.index).expect("container side up");
    drop(ct);
    w.up(module(), &req, &c).expect("up");
    let want: [IpAddr; 2] = [
        "10.77.0.1".parse().expect("a"),
        "fe80::1".parse().expect("a"),
    ];
    let proxies = || {
        let mut p = hn.proxy_neighs(h.index).expect("proxies");
        p.sort();
        p
    };
    assert_eq!(proxies(), want);
    // Still there after the kernel's delayed link events (up to a second), which flush the
    // proxy entries of a host side that came up before its peer.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(proxies(), want);
    for (key, want) in [
        ("net/ipv4/conf/lxcrs-t-vr/forwarding", "1"),
        ("net/ipv6/conf/lxcrs-t-vr/forwarding", "1"),
        ("net/ipv6/conf/lxcrs-t-vr/proxy_ndp", "1"),
    ] {
        assert_eq!(hn.sysctl(key).expect("sysctl"), want, "{key}");
    }
    let r4 = hn.routes(Family::V4).expect("routes");
    assert!(
        r4.iter()
            .any(|r| r.dest == "10.77.0.2".parse::<IpAddr>().expect("a")
                && r.prefix == 32
                && r.dev == Some(h.index)),
        "{r4:?}"
    );
    let r6 = hn.routes(Family::V6).expect("routes");
    assert!(
        r6.iter()
            .any(|r| r.dest == "fd00:77::2".parse::<IpAddr>().expect("a")
                && r.prefix == 128
                && r.dev == Some(h.index)),
        "{r6:?}"
    );
    assert_eq!(
        (module().describe())(&req, &c).into_string(),
        "veth lxcrs-t-vr <-> eth0 (router)"
    );
    drop(hn);
    w.destroy(module(), &req, &c);
    w.assert_left_to_netns(&c);
    w.finish();
}

/// Refusals: each one line naming the interface, each leaving nothing behind.
#[test]
fn refusals_leave_nothing() {
    require_root!("refusals_leave_nothing");
    let w = World::new("vx", None);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("link", "lxcrs-t-nobr")], "attaching veth"),
        (
            &[("veth.vlan.id", "10")],
            "veth.vlan.id and veth.vlan.tagged.id need veth.mode = bridge and a bridge in link",
        ),
        (
            &[
                ("link", "lxcrs-t-br0"),
                ("veth.vlan.id", "10"),
                ("veth.vlan.tagged.id", "10"),
            ],
            "veth.vlan.id 10 is also in veth.vlan.tagged.id",
        ),
        (
            &[("link", "lxcrs-t-br0"), ("veth.vlan.tagged.id", "20")],
            "vlan_filtering is not enabled on bridge lxcrs-t-br0",
        ),
        (
            &[
                ("link", "lxcrs-t-br0"),
                ("veth.mode", "router"),
                ("veth.vlan.id", "5"),
            ],
            "need veth.mode = bridge",
        ),
        (
            &[("name", "this-name-is-too-long")],
            "not an interface name",
        ),
    ];
    for (cfg, want) in cases {
        let mut all = vec![("type", "veth")];
        all.extend_from_slice(cfg);
        let e = w.create(module(), &w.req(&all)).expect_err("refused");
        assert!(e.starts_with("lxc.net.0 (veth): "), "{e}");
        assert!(e.contains(want), "{cfg:?}: {e}");
        assert!(!e.contains('\n'), "{e}");
        w.assert_clean();
    }
    w.finish();
}

/// `veth.vlan.id` / `veth.vlan.tagged.id` on a VLAN-filtering bridge, as LXC sets them.
#[test]
fn bridge_vlan_filtering() {
    require_root!("bridge_vlan_filtering");
    let mut w = World::new("vv", None);
    let hn = w.host_nl();
    let br = match hn.add_bridge("lxcrs-t-brv", true) {
        Ok(b) => b,
        Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => {
            eprintln!("SKIP bridge_vlan_filtering (this kernel lacks bridge VLAN filtering): {e}");
            drop(hn);
            let nl = w.host_nl();
            assert!(nl.link_by_name("lxcrs-t-brv").expect("lookup").is_none());
            drop(nl);
            w.finish();
            return;
        }
        Err(e) => panic!("{e}"),
    };
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [(u16, bool)]);
    let cases: &[Case] = &[
        (
            &[
                ("veth.vlan.id", "10"),
                ("veth.vlan.tagged.id", "20"),
                ("veth.vlan.tagged.id", "30"),
            ],
            &[(10, true), (20, false), (30, false)],
        ),
        (&[("veth.vlan.id", "1")], &[(1, true)]),
        (
            &[("veth.vlan.id", "none"), ("veth.vlan.tagged.id", "7")],
            &[(7, false)],
        ),
        (&[("veth.vlan.tagged.id", "7")], &[(1, true), (7, false)]),
    ];
    for (cfg, want) in cases {
        let mut all = vec![("type", "veth"), ("link", "lxcrs-t-brv")];
        all.extend_from_slice(cfg);
        let req = w.req(&all);
        let c = w.create(module(), &req).expect("create");
        let host = c
            .host_ifname
            .clone()
            .into_option()
            .expect("host")
            .into_string();
        let h = hn.link_by_name(&host).expect("lookup").expect("host");
        assert_eq!(h.master, Some(br.index));
        let mut got: Vec<(u16, bool)> = hn
            .bridge_vlans(h.index)
            .expect("vlans")
            .into_iter()
            .map(|v| (v.vid, v.pvid && v.untagged))
            .collect();
        got.sort();
        assert_eq!(&got, want, "{cfg:?}");
        w.destroy(module(), &req, &c);
        w.next_container();
    }
    hn.del_link(br.index).expect("remove the filtering bridge");
    drop(hn);
    w.finish();
}

/// A host side whose peer is no longer in the container's namespace (the container moved it
/// elsewhere) is not left to that namespace: destroy deletes it at once.
#[test]
fn destroy_deletes_a_host_side_whose_peer_left() {
    require_root!("destroy_deletes_a_host_side_whose_peer_left");
    let w = World::new("vm", None);
    let elsewhere = TestNetns::new("vm-o").expect("netns");
    let req = w.req(&[("type", "veth"), ("link", "lxcrs-t-br0")]);
    let c = w.create(module(), &req).expect("create");
    let ct = w.ct_nl();
    let peer = ct
        .link_by_name(c.ifname.as_str())
        .expect("lookup")
        .expect("peer");
    ct.move_to_netns(peer.index, elsewhere.fd())
        .expect("move the peer away");
    drop(ct);
    w.destroy(module(), &req, &c);
    assert_eq!(w.host_links(), ["lo", "lxcrs-t-br0"], "deleted at once");
    drop(elsewhere);
    w.finish();
}

/// A reboot with a fixed `veth.pair`: the new start's `create` finds the pair the last one left
/// to its (still going) namespace under that name, and replaces it. A pair of that name that
/// this process did not leave behind stays, and `create` fails as LXC's does.
#[test]
fn a_fixed_pair_left_behind_is_replaced_by_the_next_create() {
    require_root!("a_fixed_pair_left_behind_is_replaced_by_the_next_create");
    let mut w = World::new("vb", None);
    let cfg = [
        ("type", "veth"),
        ("link", "lxcrs-t-br0"),
        ("veth.pair", "lxcrs-t-vb"),
    ];
    let first = w.req(&cfg);
    let c1 = w.create(module(), &first).expect("create");
    w.destroy(module(), &first, &c1);
    w.assert_left_to_netns(&c1);
    let old = w
        .host_nl()
        .link_by_name("lxcrs-t-vb")
        .expect("lookup")
        .expect("left");

    // The rebooted container's namespace, while the old one is still held.
    let rebooted = TestNetns::new("vb-r").expect("netns");
    let second = Request::new(
        "lxcrs-t-ct",
        "/var/lib/lxcrs-t",
        0,
        "veth",
        std::os::fd::AsRawFd::as_raw_fd(&rebooted.fd()),
        1,
        &cfg,
    );
    let c2 = w
        .create(module(), &second)
        .expect("create again under the same name");
    let hn = w.host_nl();
    let new = hn
        .link_by_name("lxcrs-t-vb")
        .expect("lookup")
        .expect("the new pair");
    assert_ne!(new.index, old.index);
    let peer = hn.peer_of(&new).expect("lookup").expect("peer");
    let inside = Netlink::in_netns(rebooted.fd()).expect("netlink");
    assert_eq!(
        inside
            .link_by_index(peer.index)
            .expect("lookup")
            .map(|l| l.name),
        Some(c2.ifname.to_string())
    );
    drop(inside);
    assert!(
        w.ct_nl()
            .link_by_name(c1.ifname.as_str())
            .expect("lookup")
            .is_none(),
        "the old peer went with the old pair"
    );

    // Not left behind by this process: the name stays taken.
    let e = w
        .create(module(), &first)
        .expect_err("the pair's name is taken");
    assert!(e.contains("creating veth pair lxcrs-t-vb"), "{e}");
    assert!(hn.link_by_name("lxcrs-t-vb").expect("lookup").is_some());
    drop(hn);
    w.destroy(module(), &second, &c2);
    drop(rebooted);
    w.next_container();
    w.finish();
}

/// The built `.so`, loaded the way the host loads it, does the same as the rlib.
#[test]
fn loaded_from_the_shared_object() {
    require_root!("loaded_from_the_shared_object");
    let so = build_plugin(env!("CARGO_MANIFEST_DIR")).expect("build the .so");
    assert!(
        so.ends_with("liblxc_net_plugin_veth.so"),
        "{}",
        so.display()
    );
    let header = lxc_net_api::abi_stable::library::lib_header_from_path(&so).expect("dlopen");
    let m = header
        .init_root_module::<NetPluginRef>()
        .expect("the module's layout is this interface's");
    assert_eq!(m.api_version(), lxc_net_api::API_VERSION);
    assert_eq!(m.name().as_str(), "veth");
    // The crate's own loader: the same steps plus the api_version check.
    let again = lxc_net_api::load(&so).expect("load");
    assert_eq!(again.name().as_str(), "veth");

    let w = World::new("vs", None);
    let req = w.req(&[("type", "veth"), ("link", "lxcrs-t-br0"), ("name", "eth0")]);
    let c = w.create(m, &req).expect("create through the .so");
    assert_eq!(c.ifname.as_str(), "eth0");
    assert!(w.ct_nl().link_by_name("eth0").expect("lookup").is_some());
    w.destroy(m, &req, &c);
    w.assert_left_to_netns(&c);
    w.finish();
}

/// Something that is not a plugin is refused with one short line.
#[test]
fn a_library_that_is_not_a_plugin_is_refused() {
    let libc_so = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    let Some(libc_so) = libc_so else {
        eprintln!("SKIP: no libc.so.6 where Debian puts it");
        return;
    };
    let load_err = |p: &std::path::Path| match lxc_net_api::load(p) {
        Ok(_) => panic!("{} loaded as a plugin", p.display()),
        Err(e) => e.to_string(),
    };
    let e = load_err(&libc_so);
    assert!(
        e.ends_with("not an lxc-rs network plugin (no abi_stable root module in it)"),
        "{e}"
    );
    let e = load_err(std::path::Path::new("/nonexistent/liblxc_net_plugin_x.so"));
    assert!(
        e.starts_with("/nonexistent/liblxc_net_plugin_x.so: cannot load: "),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
}
