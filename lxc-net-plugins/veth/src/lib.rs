//! The `veth` network plugin: LXC's `lxc.net.N.type = veth`.
//!
//! What `create` does, in LXC 5.0's order (src/lxc/network.c, `netdev_configure_server_veth`):
//! the host side is `veth.pair` or a fresh `vethXXXXXX` (random letters and digits); the peer is
//! made straight inside the container's network namespace under its final name (`name`, else
//! the kernel's `eth%d`), so nothing is moved or renamed afterwards; both get `mtu`, else the
//! MTU of `link`, else 1500; `veth.n_rxqueues`/`veth.n_txqueues` go to the peer and crossed to
//! the host side; the host side's MAC gets 0xfe as its first byte (so a bridge keeps the
//! host's own address); in `veth.mode = bridge` with a `link`, the host side joins that bridge
//! and `veth.vlan.id`/`veth.vlan.tagged.id` set its VLANs (the bridge must filter VLANs); the
//! host side goes up; `veth.ipv4.route`/`veth.ipv6.route` become device routes on it; in
//! `veth.mode = router`, forwarding and proxy ARP/NDP entries for the gateways make the host
//! side the container's router, with a /32 (/128) route per container address.
//!
//! The keys are lxc-net's own (static) keys: this plugin reads them from the request and
//! declares none. `destroy` removes the host side if it is still there (it usually goes with
//! the container's network namespace).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::{Netlink, NetlinkError, Route, Scope, VethSpec};
use lxc_net_api::{guard, Created, KeySpec, NetPlugin, NetPluginRef, Request, API_VERSION};

/// The bridge VLAN ids a port takes (`BRIDGE_VLAN_ID_MAX`).
const VLAN_ID_MAX: u16 = 4094;

static TYPES: [RStr<'static>; 1] = [RStr::from_str("veth")];

/// The module, built once per process.
pub fn module() -> NetPluginRef {
    static MODULE: OnceLock<NetPluginRef> = OnceLock::new();
    *MODULE.get_or_init(|| {
        NetPlugin {
            api_version: API_VERSION,
            name: RStr::from_str("veth"),
            types: RSlice::from_slice(&TYPES),
            keys: RSlice::from_slice(&[] as &[KeySpec]),
            check_key,
            create,
            up,
            down,
            destroy,
            describe,
        }
        .leak()
    })
}

// What the host loads from `liblxc_net_plugin_veth.so`.
lxc_net_api::export_plugin!(module);

extern "C" fn check_key(key: RStr<'_>, _value: RStr<'_>) -> RResult<RString, RString> {
    RResult::RErr(format!("the veth plugin has no key {key} (its keys are lxc-net's)").into())
}

extern "C" fn create(req: &Request) -> RResult<Created, RString> {
    guard(&req.net_key(), || {
        let conf = Conf::read(req).map_err(|e| format!("{} (veth): {e}", req.net_key()))?;
        make(req, &conf).map_err(|e| format!("{} (veth): {e}", req.net_key()))
    })
}

extern "C" fn up(_req: &Request, _c: &Created) -> RResult<(), RString> {
    // The host side went up in `create` (as LXC); the container side is the host's to raise.
    RResult::ROk(())
}

extern "C" fn down(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        remove_host_side(c).map_err(|e| format!("{} (veth): {e}", req.net_key()))
    })
}

extern "C" fn describe(req: &Request, c: &Created) -> RString {
    let st = State::parse(&c.state);
    let mut s = format!("veth {} <-> {}", st.host, c.ifname);
    if !st.bridge.is_empty() {
        s.push_str(&format!(" on bridge {}", st.bridge));
    }
    if req.get("veth.mode") == Some("router") {
        s.push_str(" (router)");
    }
    s.into()
}

/// `veth.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bridge,
    Router,
}

/// The interface's settings this plugin uses, read from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conf {
    pub pair: Option<String>,
    pub link: Option<String>,
    pub name: Option<String>,
    pub mtu: Option<u32>,
    pub n_rxqueues: Option<u32>,
    pub n_txqueues: Option<u32>,
    pub mode: Mode,
    /// `veth.vlan.id`: `Some(None)` is `none` (no untagged VLAN at all).
    pub vlan_id: Option<Option<u16>>,
    pub vlan_tagged: Vec<u16>,
    pub ipv4_routes: Vec<(Ipv4Addr, u8)>,
    pub ipv6_routes: Vec<(Ipv6Addr, u8)>,
    pub ipv4_addresses: Vec<Ipv4Addr>,
    pub ipv6_addresses: Vec<Ipv6Addr>,
    pub ipv4_gateway: Option<Ipv4Addr>,
    pub ipv6_gateway: Option<Ipv6Addr>,
}

impl Conf {
    /// Read and check the keys (lxc-net validated each value already; this re-parses them and
    /// applies LXC's `validate_veth` rules, which involve several keys).
    pub fn read(req: &Request) -> Result<Conf, String> {
        let num = |key: &str| -> Result<Option<u32>, String> {
            req.get(key)
                .map(|v| {
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("{key} = {v}: not a number"))
                })
                .transpose()
        };
        let mode = match req.get("veth.mode") {
            None | Some("bridge") => Mode::Bridge,
            Some("router") => Mode::Router,
            Some(v) => return Err(format!("veth.mode = {v}: expected bridge or router")),
        };
        let vlan = |v: &str, key: &str| -> Result<u16, String> {
            v.trim()
                .parse::<u16>()
                .ok()
                .filter(|id| *id <= VLAN_ID_MAX)
                .ok_or_else(|| format!("{key} = {v}: expected a VLAN id 0-{VLAN_ID_MAX}"))
        };
        let vlan_id = match req.get("veth.vlan.id") {
            None => None,
            Some("none") => Some(None),
            Some(v) => Some(Some(vlan(v, "veth.vlan.id")?)),
        };
        let vlan_tagged = req
            .values("veth.vlan.tagged.id")
            .into_iter()
            .map(|v| vlan(v, "veth.vlan.tagged.id"))
            .collect::<Result<Vec<_>, _>>()?;
        let conf = Conf {
            pair: req.get("veth.pair").map(str::to_string),
            link: req.get("link").map(str::to_string),
            name: req.get("name").map(str::to_string),
            mtu: num("mtu")?,
            n_rxqueues: num("veth.n_rxqueues")?.filter(|n| *n > 0),
            n_txqueues: num("veth.n_txqueues")?.filter(|n| *n > 0),
            mode,
            vlan_id,
            vlan_tagged,
            ipv4_routes: cidrs(req, "veth.ipv4.route")?,
            ipv6_routes: cidrs(req, "veth.ipv6.route")?,
            ipv4_addresses: cidrs::<Ipv4Addr>(req, "ipv4.address")?
                .into_iter()
                .map(|(a, _)| a)
                .collect(),
            ipv6_addresses: cidrs::<Ipv6Addr>(req, "ipv6.address")?
                .into_iter()
                .map(|(a, _)| a)
                .collect(),
            ipv4_gateway: req.get("ipv4.gateway").and_then(|v| v.parse().ok()),
            ipv6_gateway: req.get("ipv6.gateway").and_then(|v| v.parse().ok()),
        };
        let bridged = conf.mode == Mode::Bridge && conf.link.is_some();
        if !bridged && (conf.vlan_id.is_some() || !conf.vlan_tagged.is_empty()) {
            return Err(
                "veth.vlan.id and veth.vlan.tagged.id need veth.mode = bridge and a \
                        bridge in link"
                    .into(),
            );
        }
        if let Some(Some(id)) = conf.vlan_id {
            if conf.vlan_tagged.contains(&id) {
                return Err(format!(
                    "veth.vlan.id {id} is also in veth.vlan.tagged.id: a VLAN is either \
                     untagged or tagged on a port"
                ));
            }
        }
        Ok(conf)
    }
}

/// `ADDR[/PREFIX][ BROADCAST]` values of a list key; the prefix defaults to the full length.
fn cidrs<A: std::str::FromStr + Into<IpAddr> + Copy>(
    req: &Request,
    key: &str,
) -> Result<Vec<(A, u8)>, String> {
    req.values(key)
        .into_iter()
        .map(|v| {
            let first = v.split_whitespace().next().unwrap_or_default();
            let (addr, prefix) = first.split_once('/').unwrap_or((first, ""));
            let a: A = addr
                .parse()
                .map_err(|_| format!("{key} = {v}: not an address"))?;
            let max = if a.into().is_ipv4() { 32 } else { 128 };
            let p = if prefix.is_empty() {
                max
            } else {
                prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{key} = {v}: bad prefix length"))?
            };
            Ok((a, p))
        })
        .collect()
}

/// What `create` hands on to `destroy` and `describe`: `host=NAME;index=N;bridge=NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    host: String,
    index: u32,
    bridge: String,
}

impl State {
    fn encode(&self) -> String {
        format!(
            "host={};index={};bridge={}",
            self.host, self.index, self.bridge
        )
    }

    fn parse(s: &str) -> State {
        let mut st = State::default();
        for part in s.split(';') {
            match part.split_once('=') {
                Some(("host", v)) => st.host = v.to_string(),
                Some(("index", v)) => st.index = v.parse().unwrap_or(0),
                Some(("bridge", v)) => st.bridge = v.to_string(),
                _ => {}
            }
        }
        st
    }
}

fn make(req: &Request, conf: &Conf) -> Result<Created, String> {
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    let host = match &conf.pair {
        Some(p) => p.clone(),
        None => nl.unused_name("vethXXXXXX").map_err(|e| e.to_string())?,
    };
    let bridge = match &conf.link {
        Some(l) => nl.link_by_name(l).map_err(|e| e.to_string())?,
        None => None,
    };
    // LXC: the configured MTU, else the link's, else 1500.
    let mtu = conf
        .mtu
        .or_else(|| bridge.as_ref().map(|b| b.mtu))
        .unwrap_or(1500);
    let peer = conf.name.as_deref().unwrap_or("eth%d");
    let made = nl
        .add_veth(&VethSpec {
            name: &host,
            peer,
            peer_netns: Some(req.netns()?),
            mtu: Some(mtu),
            rx_queues: conf.n_rxqueues,
            tx_queues: conf.n_txqueues,
        })
        .map_err(|e| e.to_string())?;
    // From here on a failure removes the pair (deleting one side deletes both).
    let undo = |e: String| {
        let _ = nl.del_link(made.index);
        e
    };
    let ifname = if peer.contains('%') {
        container_name(req, made.link).map_err(undo)?
    } else {
        peer.to_string()
    };
    host_side(&nl, conf, &made, bridge.as_ref()).map_err(undo)?;
    let state = State {
        host: host.clone(),
        index: made.index,
        bridge: if conf.mode == Mode::Bridge {
            conf.link.clone().unwrap_or_default()
        } else {
            String::new()
        },
    };
    Ok(Created::new(&ifname, Some(&host), &state.encode()))
}

/// The name the kernel gave the peer (`eth%d`), looked up by index in the container.
fn container_name(req: &Request, index: Option<u32>) -> Result<String, String> {
    let index = index.ok_or("the kernel did not report the peer's index")?;
    let nl = Netlink::in_netns(req.netns()?).map_err(|e| e.to_string())?;
    nl.link_by_index(index)
        .map_err(|e| e.to_string())?
        .map(|l| l.name)
        .ok_or_else(|| format!("the peer (#{index}) is not in the container's namespace"))
}

fn host_side(
    nl: &Netlink,
    conf: &Conf,
    made: &lxc_net_api::netlink::LinkInfo,
    bridge: Option<&lxc_net_api::netlink::LinkInfo>,
) -> Result<(), String> {
    let host = &made.name;
    let ctx = |what: &str| {
        let host = host.clone();
        let what = what.to_string();
        move |e: NetlinkError| format!("{what} of {host}: {e}")
    };
    // A bridge takes the lowest MAC of its ports: 0xfe first keeps the host's own.
    if let Some(first) = made.address.first() {
        if *first != 0xfe {
            let mut mac = made.address.clone();
            mac[0] = 0xfe;
            nl.set_address(made.index, &mac)
                .map_err(ctx("setting the private MAC address"))?;
        }
    }
    if let (Some(link), Mode::Bridge) = (&conf.link, conf.mode) {
        let br = bridge.ok_or_else(|| {
            format!("attaching {host} to bridge {link}: the bridge does not exist")
        })?;
        if br.kind.as_deref() == Some("openvswitch") {
            return Err(format!(
                "attaching {host} to {link}: openvswitch bridges are not supported"
            ));
        }
        nl.set_master(made.index, br.index)
            .map_err(|e| format!("attaching {host} to bridge {link}: {e}"))?;
        bridge_vlans(nl, conf, made, br)?;
    }
    nl.set_up(made.index).map_err(ctx("setting up"))?;
    for (dest, prefix) in conf
        .ipv4_routes
        .iter()
        .map(|(a, p)| (IpAddr::V4(*a), *p))
        .chain(conf.ipv6_routes.iter().map(|(a, p)| (IpAddr::V6(*a), *p)))
    {
        device_route(nl, made.index, dest, prefix).map_err(ctx("adding a veth route"))?;
    }
    if conf.mode == Mode::Router {
        router(nl, conf, made)?;
    }
    Ok(())
}

/// LXC's `setup_veth_native_bridge_vlan`.
fn bridge_vlans(
    nl: &Netlink,
    conf: &Conf,
    made: &lxc_net_api::netlink::LinkInfo,
    br: &lxc_net_api::netlink::LinkInfo,
) -> Result<(), String> {
    if conf.vlan_id.is_none() && conf.vlan_tagged.is_empty() {
        return Ok(());
    }
    let host = &made.name;
    let info = br.bridge.filter(|b| b.vlan_filtering).ok_or_else(|| {
        format!(
            "veth.vlan.id/veth.vlan.tagged.id: vlan_filtering is not enabled on bridge {}",
            br.name
        )
    })?;
    if let Some(id) = conf.vlan_id {
        // The port starts in the bridge's default PVID; replace it unless it is the one asked.
        if id != Some(info.default_pvid) {
            nl.bridge_vlan_del(made.index, info.default_pvid)
                .map_err(|e| format!("removing the default VLAN from {host}: {e}"))?;
        }
        if let Some(id) = id {
            nl.bridge_vlan_add(made.index, id, true)
                .map_err(|e| format!("setting untagged VLAN {id} on {host}: {e}"))?;
        }
    }
    for id in &conf.vlan_tagged {
        nl.bridge_vlan_add(made.index, *id, false)
            .map_err(|e| format!("adding tagged VLAN {id} to {host}: {e}"))?;
    }
    Ok(())
}

/// LXC's veth router mode: the host side answers for the gateways and routes each container
/// address to the container.
fn router(nl: &Netlink, conf: &Conf, made: &lxc_net_api::netlink::LinkInfo) -> Result<(), String> {
    let host = &made.name;
    if let Some(gw) = conf.ipv4_gateway {
        nl.set_sysctl(&format!("net/ipv4/conf/{host}/forwarding"), "1")
            .map_err(|e| format!("router mode: {e}"))?;
        nl.add_proxy_neigh(made.index, IpAddr::V4(gw))
            .map_err(|e| format!("router mode: {e}"))?;
    }
    if let Some(gw) = conf.ipv6_gateway {
        let all = nl
            .sysctl("net/ipv6/conf/all/forwarding")
            .map_err(|e| format!("router mode: {e}"))?;
        if all != "1" {
            return Err(
                "router mode with an IPv6 gateway needs net.ipv6.conf.all.forwarding=1".into(),
            );
        }
        for (key, value) in [("forwarding", "1"), ("proxy_ndp", "1")] {
            nl.set_sysctl(&format!("net/ipv6/conf/{host}/{key}"), value)
                .map_err(|e| format!("router mode: {e}"))?;
        }
        nl.add_proxy_neigh(made.index, IpAddr::V6(gw))
            .map_err(|e| format!("router mode: {e}"))?;
    }
    for a in conf
        .ipv4_addresses
        .iter()
        .map(|a| (IpAddr::V4(*a), 32))
        .chain(conf.ipv6_addresses.iter().map(|a| (IpAddr::V6(*a), 128)))
    {
        device_route(nl, made.index, a.0, a.1)
            .map_err(|e| format!("router mode: route to the container's address: {e}"))?;
    }
    Ok(())
}

/// A scope-link route through `dev`, as LXC's `lxc_ip_route_dest`.
fn device_route(nl: &Netlink, dev: u32, dest: IpAddr, prefix: u8) -> Result<(), NetlinkError> {
    nl.add_route(&Route {
        dest,
        prefix,
        gateway: None,
        dev: Some(dev),
        scope: Scope::Link,
    })
}

/// Delete the host side if it is still the link `create` made (same index, same name, a veth).
fn remove_host_side(c: &Created) -> Result<(), String> {
    let st = State::parse(&c.state);
    if st.host.is_empty() {
        return Ok(());
    }
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    let ours = nl
        .link_by_index(st.index)
        .map_err(|e| e.to_string())?
        .filter(|l| l.name == st.host && l.kind.as_deref() == Some("veth"));
    let Some(l) = ours else {
        return Ok(());
    };
    match nl.del_link(l.index) {
        Ok(()) => Ok(()),
        // Gone between the look-up and the delete (the container's namespace went away).
        Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
        Err(e) => Err(format!("removing {}: {e}", st.host)),
    }
}
