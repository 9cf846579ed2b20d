//! API extension `network_veth_routes`: `lxc.net.[i].veth.ipv4.route` and
//! `lxc.net.[i].veth.ipv6.route`, routes on the host to a veth network's host side (one per
//! line, `a.b.c.d/prefix` / `addr/prefix`), so the host reaches networks behind the container.
//!
//! The registration below is everything this crate does: it owns the two keys, which join
//! lxc-net's network model with LXC's parse/print/clear semantics (veth only; a prefix is
//! required). The routes themselves are made by the veth plugin as it sets the host side up
//! (LXC does it there too): it reads these keys from its request, and they can be in a config
//! only when this crate is linked.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyRules, Registration, KEY_RULES, REGISTRY};
use lxc_net::net_key;

/// The extension's name.
pub const NAME: &str = "network_veth_routes";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_VETH_ROUTES: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[
        net_key(
            "veth.ipv4.route",
            "veth: a route `a.b.c.d/prefix` on the host through the host side; one per line",
        ),
        net_key(
            "veth.ipv6.route",
            "veth: a route `addr/prefix` on the host through the host side; one per line",
        ),
    ],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(KEY_RULES)]
#[linkme(crate = lxc_core::linkme)]
static RULES: KeyRules = lxc_net::ext::key_rules(NAME);
