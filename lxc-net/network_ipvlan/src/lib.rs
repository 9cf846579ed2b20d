//! API extension `network_ipvlan`: the keys of LXC's `ipvlan` network type,
//! `lxc.net.[i].ipvlan.mode` (`l3`, `l3s`, `l2`) and `lxc.net.[i].ipvlan.isolation`
//! (`bridge`, `private`, `vepa`).
//!
//! The registration below and the gate it opens are everything this crate does: without it a
//! network of type `ipvlan` is refused at start. It owns the two keys, which join
//! lxc-net's network model with LXC's semantics (ipvlan only; an interface whose type was just
//! set reads `l2` and `bridge`, as LXC's zeroed struct does; a cleared one prints
//! `(invalid)`). The ipvlan plugin (`lxc-net-plugins/ipvlan`) makes the link and reads these
//! keys from its request; they can be in a config only when this crate is linked.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyRules, Registration, KEY_RULES, REGISTRY};
use lxc_net::ext::{Gate, Gated, GATES};
use lxc_net::net_key;

/// The extension's name.
pub const NAME: &str = "network_ipvlan";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_IPVLAN: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[
        net_key("ipvlan.mode", "ipvlan: l3, l3s or l2"),
        net_key("ipvlan.isolation", "ipvlan: bridge, private or vepa"),
    ],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(KEY_RULES)]
#[linkme(crate = lxc_core::linkme)]
static RULES: KeyRules = lxc_net::ext::key_rules(NAME);

#[distributed_slice(GATES)]
#[linkme(crate = lxc_core::linkme)]
static OPENS: Gate = Gate {
    owner: NAME,
    opens: Gated::IpvlanType,
};
