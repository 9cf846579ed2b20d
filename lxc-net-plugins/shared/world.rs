//! Test support shared by the macvlan, ipvlan, vlan and phys plugin tests (each includes it
//! with `#[path]`): a "host" network namespace (where the monitor would be) holding a veth
//! pair the test made (`lxcrs-t-lw0` <-> `lxcrs-t-lw1`: the lower device, or the device a
//! phys interface takes), and a "container" namespace. The plugin is called from a thread
//! inside the host one; checks use the netlink layer and `ip -d -j`. Nothing touches the
//! machine's own interfaces; both namespaces are removed at the end and checked gone.

#![allow(dead_code)]

use std::os::fd::AsRawFd;

use lxc_net_api::abi_stable::std_types::RResult;
use lxc_net_api::netlink::{Netlink, VethSpec};
use lxc_net_api::testing::{netns_exists, TestNetns};
use lxc_net_api::{Created, NetPluginRef, Request};

/// Whether this kernel makes links of `kind` (ipvlan and 802.1Q vlan are missing on this
/// project's machines, present in the qemu guest).
pub fn kernel_has(kind: &str) -> bool {
    Netlink::link_kinds_supported(&[kind])
        .expect("probe")
        .iter()
        .any(|(k, ok)| k == kind && *ok)
}

/// The veth pair on the host side.
pub const LOWER: &str = "lxcrs-t-lw0";
pub const LOWER_PEER: &str = "lxcrs-t-lw1";

/// Skip (saying so) when not root or without iproute2.
macro_rules! require_root {
    ($name:literal) => {
        if !lxc_net_api::testing::can_run() {
            eprintln!("SKIP {}: needs root and iproute2", $name);
            return;
        }
    };
}
pub(crate) use require_root;

pub struct World {
    pub host: TestNetns,
    pub ct: TestNetns,
}

impl World {
    /// The two namespaces and the veth pair (MTU `mtu`, both ends down) on the host side.
    pub fn new(tag: &str, mtu: u32) -> World {
        let host = TestNetns::new(&format!("{tag}-h")).expect("host netns");
        let ct = TestNetns::new(&format!("{tag}-c")).expect("container netns");
        let nl = Netlink::in_netns(host.fd()).expect("netlink");
        nl.add_veth(&VethSpec {
            name: LOWER,
            peer: LOWER_PEER,
            peer_netns: None,
            mtu: Some(mtu),
            rx_queues: None,
            tx_queues: None,
        })
        .expect("the lower veth pair");
        World { host, ct }
    }

    pub fn req(&self, type_: &str, index: u32, config: &[(&str, &str)]) -> Request {
        let mut all = vec![("type", type_)];
        all.extend_from_slice(config);
        Request::new(
            "lxcrs-t-ct",
            "/var/lib/lxcrs-t",
            index,
            type_,
            self.ct.fd().as_raw_fd(),
            1,
            &all,
        )
    }

    pub fn host_nl(&self) -> Netlink {
        Netlink::in_netns(self.host.fd()).expect("netlink host")
    }

    pub fn ct_nl(&self) -> Netlink {
        Netlink::in_netns(self.ct.fd()).expect("netlink container")
    }

    /// The plugin's `create`, called from inside the host namespace.
    pub fn create(&self, m: NetPluginRef, req: &Request) -> Result<Created, String> {
        self.host.run(|| match (m.create())(req) {
            RResult::ROk(c) => Ok(c),
            RResult::RErr(e) => Err(e.into_string()),
        })
    }

    /// The plugin's `destroy`, called from inside the host namespace.
    pub fn destroy(&self, m: NetPluginRef, req: &Request, c: &Created) -> Result<(), String> {
        self.host.run(|| match (m.destroy())(req, c) {
            RResult::ROk(()) => Ok(()),
            RResult::RErr(e) => Err(e.into_string()),
        })
    }

    pub fn describe(&self, m: NetPluginRef, req: &Request, c: &Created) -> String {
        self.host.run(|| (m.describe())(req, c).into_string())
    }

    /// `ip -d -j link show` in the container namespace.
    pub fn ct_links(&self) -> Vec<serde_json::Value> {
        links(&self.ct)
    }

    pub fn host_links(&self) -> Vec<serde_json::Value> {
        links(&self.host)
    }

    /// One link of the container namespace, as `ip -d -j link show` reports it.
    pub fn ct_link(&self, name: &str) -> serde_json::Value {
        self.ct_links()
            .into_iter()
            .find(|l| l["ifname"] == name)
            .unwrap_or_else(|| panic!("no {name} in the container: {:?}", self.ct_names()))
    }

    pub fn ct_names(&self) -> Vec<String> {
        names(&self.ct_links())
    }

    pub fn host_names(&self) -> Vec<String> {
        names(&self.host_links())
    }

    /// Remove every link of the container namespace but `lo` (what the namespace's end
    /// would do), so that one world serves several cases.
    pub fn clear_ct(&self) {
        let nl = self.ct_nl();
        for l in nl.links().expect("links") {
            if l.name != "lo" {
                nl.del_link(l.index).expect("delete");
            }
        }
    }

    /// Both namespaces go, and are checked gone.
    pub fn finish(self) {
        let names = [self.host.name().to_string(), self.ct.name().to_string()];
        drop(self);
        for n in names {
            assert!(!netns_exists(&n), "{n} left behind");
        }
    }
}

fn links(ns: &TestNetns) -> Vec<serde_json::Value> {
    let out = ns
        .exec(&["ip", "-d", "-j", "link", "show"])
        .expect("ip link");
    serde_json::from_str(&out).expect("ip -j")
}

fn names(links: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = links
        .iter()
        .filter_map(|l| l["ifname"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}
