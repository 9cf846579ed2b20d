//! API extension `network_veth_router`: `lxc.net.[i].veth.mode = bridge | router`. In router
//! mode the veth's host side joins no bridge: the host routes each of the container's
//! addresses to it (a /32 or /128 route), answers ARP/NDP for the container's gateways on it
//! (proxy neighbour entries, forwarding on; IPv6 needs `net.ipv6.conf.all.forwarding=1`), and
//! so becomes the container's router.
//!
//! The registration below is everything this crate does: it owns the key (veth only; `bridge`
//! once the type is set; a cleared one prints `(invalid)`), which joins lxc-net's network
//! model. That is also the gate: router mode is the veth plugin's work as it sets the host side
//! up (`lxc-net-plugins/veth`, as LXC does it in its veth setup), and the plugin sees
//! `veth.mode` only in a config this build accepted, that is with this crate linked.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyRules, Registration, KEY_RULES, REGISTRY};
use lxc_net::net_key;

/// The extension's name.
pub const NAME: &str = "network_veth_router";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_VETH_ROUTER: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[net_key(
        "veth.mode",
        "veth: bridge (the host side joins the bridge in link) or router (the host routes to \
         the container)",
    )],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(KEY_RULES)]
#[linkme(crate = lxc_core::linkme)]
static RULES: KeyRules = lxc_net::ext::key_rules(NAME);
