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
//! host side goes up; `veth.ipv4.route`/`veth.ipv6.route` become device routes on it. The pair,
//! the host side's address, bridge and up go in one netlink request (one round trip, not
//! four), except that with VLANs the port comes up after them. In `veth.mode = router`,
//! forwarding and proxy ARP/NDP entries for the gateways make the host side the container's
//! router, with a /32 (/128) route per container address: that, and the host side going up,
//! happen in `up` (see there why).
//!
//! The keys are lxc-net's own (static) keys: this plugin reads them from the request and
//! declares none. Of the generic keys the host applies (`mtu`, addresses, gateways) it reads
//! only what it uses and never rejects them: checking them, and naming the key in the error,
//! is the host's job.
//!
//! `destroy` leaves a pair whose peer is still in the container's network namespace to that
//! namespace: the host lets go of it right after, and the kernel deletes both sides as it tears
//! the namespace down, in the background. Deleting the pair here would make the stop wait for
//! it (~20 ms of RCU grace periods). A host side whose peer went elsewhere is deleted at once.
//! With a fixed `veth.pair`, a `create` that finds such a left-behind pair still under its name
//! (a reboot, or a restart right after a stop) deletes it first, as LXC does on reboot.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::{LinkInfo, LinkSettings, Netlink, NetlinkError, Route, Scope, VethSpec};
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

extern "C" fn up(req: &Request, c: &Created) -> RResult<(), RString> {
    // In bridge mode the host side went up in `create` (as LXC). In router mode it comes up
    // here, once the host has brought the container side up (`flags = up`), and only then
    // gets its routes and proxy entries: a host side that is up while its peer is down gets
    // its proxy entries flushed by the kernel's delayed carrier-down event (within a second;
    // LXC works around it with a sleep, and loses them all the same).
    guard(&req.net_key(), || {
        let conf = Conf::read(req).map_err(|e| format!("{} (veth): {e}", req.net_key()))?;
        if conf.mode != Mode::Router {
            return Ok(());
        }
        let st = State::parse(&c.state);
        router_up(&conf, &st).map_err(|e| format!("{} (veth): {e}", req.net_key()))
    })
}

extern "C" fn down(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        remove_host_side(req, c).map_err(|e| format!("{} (veth): {e}", req.net_key()))
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
    /// Router mode only: the container's addresses (each gets a host route) and gateways
    /// (proxied on the host side).
    pub ipv4_addresses: Vec<Ipv4Addr>,
    pub ipv6_addresses: Vec<Ipv6Addr>,
    pub ipv4_gateway: Option<Ipv4Addr>,
    pub ipv6_gateway: Option<Ipv6Addr>,
}

impl Conf {
    /// Read the keys this plugin uses. Its own (`veth.*`) are checked, with LXC's
    /// `validate_veth` rules that involve several keys; the generic ones the host applies
    /// (`mtu`, `ipv4.address`, ...) are taken as far as they parse and otherwise ignored: the
    /// host checks them and reports a bad one under its own key.
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
        let router = req.get("veth.mode") == Some("router");
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
            mtu: req.get("mtu").and_then(|v| v.trim().parse().ok()),
            n_rxqueues: num("veth.n_rxqueues")?.filter(|n| *n > 0),
            n_txqueues: num("veth.n_txqueues")?.filter(|n| *n > 0),
            mode,
            vlan_id,
            vlan_tagged,
            ipv4_routes: cidrs(req, "veth.ipv4.route")?,
            ipv6_routes: cidrs(req, "veth.ipv6.route")?,
            ipv4_addresses: if router {
                addresses(req, "ipv4.address")
            } else {
                Vec::new()
            },
            ipv6_addresses: if router {
                addresses(req, "ipv6.address")
            } else {
                Vec::new()
            },
            ipv4_gateway: router
                .then(|| req.get("ipv4.gateway").and_then(|v| v.parse().ok()))
                .flatten(),
            ipv6_gateway: router
                .then(|| req.get("ipv6.gateway").and_then(|v| v.parse().ok()))
                .flatten(),
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

/// The addresses of a generic address list (`ADDR[/PREFIX][ BROADCAST]`), those that parse:
/// router mode routes each as a host route, whatever its prefix.
fn addresses<A: std::str::FromStr>(req: &Request, key: &str) -> Vec<A> {
    req.values(key)
        .into_iter()
        .filter_map(|v| {
            let first = v.split_whitespace().next()?;
            first.split('/').next()?.parse().ok()
        })
        .collect()
}

/// What `create` hands on to `destroy` and `describe`:
/// `host=NAME;index=N;peer=N;nsid=N;bridge=NAME` (`peer`: the container side's index in its
/// namespace; `nsid`: that namespace's id as the host's namespace knows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    host: String,
    index: u32,
    peer: Option<u32>,
    nsid: Option<i32>,
    bridge: String,
}

impl State {
    fn encode(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_default();
        format!(
            "host={};index={};peer={};nsid={};bridge={}",
            self.host,
            self.index,
            opt(self.peer.map(|p| p.to_string())),
            opt(self.nsid.map(|n| n.to_string())),
            self.bridge
        )
    }

    fn parse(s: &str) -> State {
        let mut st = State::default();
        for part in s.split(';') {
            match part.split_once('=') {
                Some(("host", v)) => st.host = v.to_string(),
                Some(("index", v)) => st.index = v.parse().unwrap_or(0),
                Some(("peer", v)) => st.peer = v.parse().ok(),
                Some(("nsid", v)) => st.nsid = v.parse().ok(),
                Some(("bridge", v)) => st.bridge = v.to_string(),
                _ => {}
            }
        }
        st
    }
}

/// Fixed-name host sides (`veth.pair`) that `destroy` left to their namespace's teardown in
/// this process, by name and index: a later `create` of the same name (a reboot) that finds
/// one still there knows it for a leftover of its own and deletes it.
static LEFT_BEHIND: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());

fn left_behind() -> std::sync::MutexGuard<'static, Vec<(String, u32)>> {
    // Nothing panics with the lock held; a poisoned one still holds consistent data.
    LEFT_BEHIND.lock().unwrap_or_else(PoisonError::into_inner)
}

fn make(req: &Request, conf: &Conf) -> Result<Created, String> {
    // One handle for everything on the host's side, the peer's name included (looked up
    // through it by namespace id): each handle is a thread to start and stop.
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    let host = match &conf.pair {
        Some(p) => p.clone(),
        None => nl.unused_name("vethXXXXXX").map_err(|e| e.to_string())?,
    };
    let link = match &conf.link {
        Some(l) => nl.link_by_name(l).map_err(|e| e.to_string())?,
        None => None,
    };
    // In bridge mode `link` is the bridge the host side joins: refused before anything is made.
    let bridge = match (&conf.link, conf.mode) {
        (Some(name), Mode::Bridge) => {
            let br = link.as_ref().ok_or_else(|| {
                format!("attaching {host} to bridge {name}: the bridge does not exist")
            })?;
            if br.kind.as_deref() == Some("openvswitch") {
                return Err(format!(
                    "attaching {host} to {name}: openvswitch bridges are not supported"
                ));
            }
            Some(br)
        }
        _ => None,
    };
    // LXC: the configured MTU, else the link's, else 1500.
    let mtu = conf
        .mtu
        .or_else(|| link.as_ref().map(|b| b.mtu))
        .unwrap_or(1500);
    let peer = conf.name.as_deref().unwrap_or("eth%d");
    let spec = VethSpec {
        name: &host,
        peer,
        peer_netns: Some(req.netns()?),
        mtu: Some(mtu),
        rx_queues: conf.n_rxqueues,
        tx_queues: conf.n_txqueues,
    };
    if conf.mode == Mode::Router && conf.ipv6_gateway.is_some() {
        // IPv6 routes nothing without it: refused before anything is made.
        let all = nl
            .sysctl("net/ipv6/conf/all/forwarding")
            .map_err(|e| format!("router mode: {e}"))?;
        if all != "1" {
            return Err(
                "router mode with an IPv6 gateway needs net.ipv6.conf.all.forwarding=1".into(),
            );
        }
    }
    let mac = private_mac()?;
    // Made, addressed, attached and up in one request. With VLANs to set on the port it comes
    // up after them, as in LXC; in router mode, in `up`.
    let vlans = conf.vlan_id.is_some() || !conf.vlan_tagged.is_empty();
    let router = conf.mode == Mode::Router;
    let local = LinkSettings {
        address: Some(&mac),
        mtu: None,
        up: !vlans && !router,
        master: bridge.map(|b| b.index),
    };
    let made = match nl.add_veth_with(&spec, &local) {
        Err(e) if e.errno() == Some(libc::EEXIST) && conf.pair.is_some() => {
            if remove_stale(&nl, &host)? {
                nl.add_veth_with(&spec, &local)
            } else {
                Err(e)
            }
        }
        made => made,
    }
    .map_err(|e| e.to_string())?;
    // From here on a failure removes the pair (deleting one side deletes both).
    let undo = |e: String| {
        let _ = nl.del_link(made.index);
        e
    };
    let ifname = if peer.contains('%') {
        container_name(&nl, &made).map_err(undo)?
    } else {
        peer.to_string()
    };
    if !router {
        host_side(&nl, conf, &made, bridge, vlans).map_err(undo)?;
    }
    let state = State {
        host: host.clone(),
        index: made.index,
        peer: made.link,
        nsid: made.link_netnsid.filter(|id| *id >= 0),
        bridge: bridge.map(|b| b.name.clone()).unwrap_or_default(),
    };
    Ok(Created::new(&ifname, Some(&host), &state.encode()))
}

/// A random MAC address whose first byte is 0xfe (locally administered, unicast): a bridge
/// takes the lowest address of its ports, so this keeps the bridge's own (LXC sets the first
/// byte of the kernel's random one to 0xfe).
fn private_mac() -> Result<[u8; 6], String> {
    use std::io::Read;
    let mut mac = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut mac))
        .map_err(|e| format!("reading /dev/urandom for a MAC address: {e}"))?;
    mac[0] = 0xfe;
    Ok(mac)
}

/// The name the kernel gave the peer (`eth%d`), looked up by its index in the container's
/// namespace.
fn container_name(nl: &Netlink, made: &LinkInfo) -> Result<String, String> {
    let index = made
        .link
        .ok_or("the kernel did not report the peer's index")?;
    nl.peer_of(made)
        .map_err(|e| e.to_string())?
        .map(|l| l.name)
        .ok_or_else(|| format!("the peer (#{index}) is not in the container's namespace"))
}

/// What follows the creation on the host side in bridge mode: the bridge port's VLANs and
/// then up, LXC's `veth.ipv4.route`/`veth.ipv6.route`.
fn host_side(
    nl: &Netlink,
    conf: &Conf,
    made: &LinkInfo,
    bridge: Option<&LinkInfo>,
    vlans: bool,
) -> Result<(), String> {
    if vlans {
        if let Some(br) = bridge {
            bridge_vlans(nl, conf, made, br)?;
        }
        nl.set_up(made.index)
            .map_err(|e| format!("setting up of {}: {e}", made.name))?;
    }
    veth_routes(nl, conf, made.index, &made.name)
}

/// `veth.ipv4.route` / `veth.ipv6.route`: device routes on the host side (which is up).
fn veth_routes(nl: &Netlink, conf: &Conf, index: u32, host: &str) -> Result<(), String> {
    for (dest, prefix) in conf
        .ipv4_routes
        .iter()
        .map(|(a, p)| (IpAddr::V4(*a), *p))
        .chain(conf.ipv6_routes.iter().map(|(a, p)| (IpAddr::V6(*a), *p)))
    {
        device_route(nl, index, dest, prefix)
            .map_err(|e| format!("adding a veth route of {host}: {e}"))?;
    }
    Ok(())
}

/// Router mode's host side, from `up`: up, its routes, forwarding and the proxy entries.
fn router_up(conf: &Conf, st: &State) -> Result<(), String> {
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    nl.set_up(st.index)
        .map_err(|e| format!("setting up of {}: {e}", st.host))?;
    veth_routes(&nl, conf, st.index, &st.host)?;
    router(&nl, conf, st.index, &st.host)
}

/// LXC's `setup_veth_native_bridge_vlan`.
fn bridge_vlans(nl: &Netlink, conf: &Conf, made: &LinkInfo, br: &LinkInfo) -> Result<(), String> {
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
fn router(nl: &Netlink, conf: &Conf, index: u32, host: &str) -> Result<(), String> {
    if let Some(gw) = conf.ipv4_gateway {
        nl.set_sysctl(&format!("net/ipv4/conf/{host}/forwarding"), "1")
            .map_err(|e| format!("router mode: {e}"))?;
        nl.add_proxy_neigh(index, IpAddr::V4(gw))
            .map_err(|e| format!("router mode: {e}"))?;
    }
    if let Some(gw) = conf.ipv6_gateway {
        for (key, value) in [("forwarding", "1"), ("proxy_ndp", "1")] {
            nl.set_sysctl(&format!("net/ipv6/conf/{host}/{key}"), value)
                .map_err(|e| format!("router mode: {e}"))?;
        }
        nl.add_proxy_neigh(index, IpAddr::V6(gw))
            .map_err(|e| format!("router mode: {e}"))?;
    }
    for a in conf
        .ipv4_addresses
        .iter()
        .map(|a| (IpAddr::V4(*a), 32))
        .chain(conf.ipv6_addresses.iter().map(|a| (IpAddr::V6(*a), 128)))
    {
        device_route(nl, index, a.0, a.1)
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

/// The way back from `create`: nothing when the host side is gone; nothing either while it is
/// still paired with the peer `create` made in the container's namespace (same peer index,
/// same namespace id: the host holds that namespace, so its id cannot have been reused), since
/// the pair goes with that namespace once the host lets go of it; otherwise (the container
/// moved its side elsewhere) delete it now.
fn remove_host_side(req: &Request, c: &Created) -> Result<(), String> {
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
    let with_its_netns = req.netns().is_ok()
        && st.nsid.is_some()
        && l.link_netnsid == st.nsid
        && st.peer.is_some()
        && l.link == st.peer;
    if with_its_netns {
        if req.get("veth.pair").is_some() {
            let mut left = left_behind();
            left.retain(|(name, _)| *name != st.host);
            left.push((st.host.clone(), st.index));
        }
        return Ok(());
    }
    delete(&nl, &l).map_err(|e| format!("removing {}: {e}", st.host))
}

/// Delete a link; one already gone (its namespace's teardown got there first) is fine.
fn delete(nl: &Netlink, l: &LinkInfo) -> Result<(), NetlinkError> {
    match nl.del_link(l.index) {
        Err(e) if e.errno() != Some(libc::ENODEV) => Err(e),
        _ => Ok(()),
    }
}

/// How long `create` waits for a host side of its fixed name whose peer's namespace is still
/// there to go (a container stopped just before: its namespace goes a moment after its
/// monitor, once the last reference the kernel holds is dropped).
const STALE_WAIT: Duration = Duration::from_secs(2);

/// `create` met an existing link of the fixed name `host`: delete it when it is a host side
/// the kernel is about to delete anyway, and say whether it did (or found it gone), so that
/// `create` tries again. That is one this process left to its namespace's teardown (a
/// reboot), or one whose peer's namespace is released (a restart right after a stop: the
/// kernel tears the old namespace down in the background): the kernel then has no id for that
/// namespace (-1), or one it no longer resolves (EINVAL). A host side whose peer's namespace
/// is still referenced is waited for, up to [`STALE_WAIT`]; one that stays, a live
/// container's above all, keeps its name, and `create` fails as LXC's does.
fn remove_stale(nl: &Netlink, host: &str) -> Result<bool, String> {
    let left = {
        let mut left = left_behind();
        let found = left.iter().find(|(n, _)| n == host).map(|(_, i)| *i);
        left.retain(|(n, _)| n != host);
        found
    };
    let deadline = Instant::now() + STALE_WAIT;
    loop {
        let Some(l) = nl.link_by_name(host).map_err(|e| e.to_string())? else {
            // Gone (or it is the peer's name that is taken, and the retry says so).
            return Ok(true);
        };
        // A veth whose peer is in another namespace: any other link keeps its name.
        if l.kind.as_deref() != Some("veth") || l.link_netnsid.is_none() {
            return Ok(false);
        }
        let released = match l.link_netnsid {
            Some(id) if id < 0 => true,
            _ => matches!(nl.peer_of(&l), Err(e) if e.errno() == Some(libc::EINVAL)),
        };
        if left == Some(l.index) || released {
            delete(nl, &l).map_err(|e| format!("removing the stale {host}: {e}"))?;
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
