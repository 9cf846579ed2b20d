//! lxc-net: LXC's network configuration (`lxc.net`, `lxc.net.N`, `lxc.net.N.*`) with LXC 5.0's
//! exact semantics, and the two network types that need no plugin: `empty` (a network
//! namespace of its own with only the loopback device) and `none` (the host's namespace).
//!
//! Every other type (veth, macvlan, ipvlan, phys, vlan, and the types plugins add) is made by a
//! network plugin loaded at run time ([`plugins`]: the host; `lxc-net-api`: the interface): a
//! type no loaded plugin serves is refused at start, before clone. The host applies the
//! settings every interface has ([`setup`]: addresses, MTU, gateways, scripts) itself.
//!
//! The registrations below are everything this crate does to a container: the keys it owns,
//! the start hooks (check before clone, make and configure the interfaces once init exists,
//! take them away at stop) and the plugin loader run before the first config is read.

#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::order;
use lxc_core::registry::{EntryKind, KeyDef, PhaseHook, Registration, REGISTRY};
use lxc_core::Phase;

mod addr;
mod error;
pub mod ext;
mod keys;
mod model;
pub mod plugins;
pub mod rules;
pub mod running;
pub mod setup;
mod start;
pub mod types;

/// The one netlink layer (the plugins', `checkconfig`'s and the host's), re-exported so that
/// the facade's users reach it as `lxc::net::netlink`.
pub use lxc_net_api::netlink;

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
    hooks: &[
        PhaseHook {
            phase: Phase::PreClone,
            // Before anything else is made (cgroups, terminals), so a refused start leaves
            // nothing.
            order: order::NETWORK,
            run: start::pre_clone,
        },
        PhaseHook {
            phase: Phase::HostSetup,
            // Init exists and its namespaces: the plugins make the interfaces in its network
            // namespace before the child is told to go on.
            order: order::NETWORK,
            run: setup::host_setup,
        },
        PhaseHook {
            phase: Phase::Stop,
            // First, as LXC removes its networks before the stop hook and the cgroups.
            order: order::NETWORK,
            run: setup::stop,
        },
    ],
    commands: &[],
};

/// Network plugins load in the process that reads the first config, so their types and keys
/// are there when it is parsed, and a monitor forked from it has them.
#[distributed_slice(lxc_core::registry::runtime::BEFORE_CONFIG)]
#[linkme(crate = lxc_core::linkme)]
static LOAD_PLUGINS: fn() = load_plugins;

fn load_plugins() {
    plugins::plugins();
}

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
/// `ipvlan.mode`, `ipvlan.isolation`, `l2proxy`, `veth.mode`, `veth.vlan.id`,
/// `veth.vlan.tagged.id`) are registered by their extension crates with [`net_key`] and
/// [`ext::key_rules`], so that they are "not supported by this build" without them.
pub static NET_KEYS: &[KeyDef] = &[
    ALL_KEY,
    net_key("", "takes no value: clearing lxc.net.N removes network N"),
    net_key(
        "type",
        "the network's type: empty, veth, macvlan, ipvlan, phys, vlan, none or a type a \
         loaded network plugin serves (setting it resets the network's other keys)",
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
    net_key(
        "mtu",
        "the interface's MTU (phys and macvlan: with network_phys_macvlan_mtu)",
    ),
    net_key("vlan.id", "vlan: the VLAN id (0-65535)"),
    net_key(
        "macvlan.mode",
        "macvlan: private (default), vepa, bridge or passthru",
    ),
    net_key("veth.pair", "veth: the name of the host side"),
    net_key("veth.n_rxqueues", "veth: the number of receive queues"),
    net_key("veth.n_txqueues", "veth: the number of transmit queues"),
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
        "the IPv4 default gateway: an address, auto, or (network_gateway_device_route) dev",
    ),
    net_key(
        "ipv6.address",
        "an IPv6 address `addr[/prefix]`; one per line",
    ),
    net_key(
        "ipv6.gateway",
        "the IPv6 default gateway: an address, auto, or (network_gateway_device_route) dev",
    ),
];
