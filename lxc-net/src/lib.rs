//! lxc-net: LXC's network configuration (`lxc.net`, `lxc.net.N`, `lxc.net.N.*`) with LXC 5.0's
//! exact semantics, and the two network types that need no plugin: `empty` (a network
//! namespace of its own with only the loopback device) and `none` (the host's namespace).
//!
//! Every other type (veth, macvlan, ipvlan, phys, vlan) is read, printed, cleared and saved like
//! LXC, and refused at start, before clone, until its network plugin is there.
//!
//! The one registration below is everything this crate does to a container: the keys it owns
//! and the start hook that checks the networks.

#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::order;
use lxc_core::registry::{EntryKind, KeyDef, PhaseHook, Registration, REGISTRY};
use lxc_core::Phase;

mod addr;
mod error;
mod keys;
mod model;
pub mod rules;
mod start;

pub use addr::{complete_hwaddr, inet_ntop6, inet_pton4, inet_pton6};
pub use error::Error;
pub use keys::{get_keys, list_net_keys, net_key, net_keys, ALL_KEY};
pub use model::{
    split_key, Gateway, GatewayConf, Ipv4Cidr, Ipv6Cidr, IpvlanIsolation, IpvlanMode, MacvlanMode,
    NetDev, NetKey, NetType, Sub, VethAttrs, VethMode, BRIDGE_VLAN_ID_MAX, IFNAMSIZ, MAX_INDEX,
};
pub use start::{check_start, loopback_up, netdevs, pre_clone, shares_host_netns};

/// The registration's name.
pub const NAME: &str = "net";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NET: Registration = Registration {
    name: NAME,
    kind: EntryKind::Component,
    keys: NET_KEYS,
    hooks: &[PhaseHook {
        phase: Phase::PreClone,
        // Before anything else is made (cgroups, terminals), so a refused start leaves nothing.
        order: order::NETWORK,
        run: start::pre_clone,
    }],
    commands: &[],
};

#[distributed_slice(lxc_core::registry::KEY_RULES)]
#[linkme(crate = lxc_core::linkme)]
static NET_RULES: lxc_core::registry::KeyRules = lxc_core::registry::KeyRules {
    owner: NAME,
    set: rules::set,
    get: rules::get,
    clear: rules::clear,
    subkeys: Some(("lxc.net.", get_keys)),
};

/// The base network keys. The subkeys of API extensions (`veth.ipv4.route`, `veth.ipv6.route`,
/// `ipvlan.mode`, `ipvlan.isolation`, `l2proxy`, `veth.mode`) are registered by their extension
/// crates with [`net_key`], so that they are "not supported by this build" without them.
pub static NET_KEYS: &[KeyDef] = &[
    ALL_KEY,
    net_key("", "takes no value: clearing lxc.net.N removes network N"),
    net_key(
        "type",
        "the network's type: empty, veth, macvlan, ipvlan, phys, vlan or none (setting it \
         resets the network's other keys)",
    ),
    net_key("flags", "up: bring the interface up (any value means up)"),
    net_key(
        "link",
        "the host device the interface is made from or attached to (phys: `eth+` takes the last \
         matching one)",
    ),
    net_key("name", "the interface's name in the container"),
    net_key(
        "hwaddr",
        "the interface's MAC address; each x is replaced by a random hex digit when set",
    ),
    net_key("mtu", "the interface's MTU"),
    net_key("vlan.id", "vlan: the VLAN id (0-65535)"),
    net_key(
        "macvlan.mode",
        "macvlan: private (default), vepa, bridge or passthru",
    ),
    net_key("veth.pair", "veth: the name of the host side"),
    net_key("veth.n_rxqueues", "veth: the number of receive queues"),
    net_key("veth.n_txqueues", "veth: the number of transmit queues"),
    net_key(
        "veth.vlan.id",
        "veth: the untagged VLAN of the bridge port (0-4094, or none)",
    ),
    net_key(
        "veth.vlan.tagged.id",
        "veth: a tagged VLAN of the bridge port (0-4094); one per line",
    ),
    net_key(
        "script.up",
        "a program run on the host once the interface is made",
    ),
    net_key(
        "script.down",
        "a program run on the host before the interface is removed",
    ),
    net_key(
        "ipv4.address",
        "an IPv4 address `a.b.c.d[/prefix] [broadcast]`; one per line",
    ),
    net_key(
        "ipv4.gateway",
        "the IPv4 default gateway: an address or auto",
    ),
    net_key(
        "ipv6.address",
        "an IPv6 address `addr[/prefix]`; one per line",
    ),
    net_key(
        "ipv6.gateway",
        "the IPv6 default gateway: an address or auto",
    ),
];
