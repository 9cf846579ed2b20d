//! API extension `network_phys_macvlan_mtu`: `lxc.net.[i].mtu` for networks of type `phys`
//! and `macvlan`.
//!
//! The registration below is everything this crate does: it opens lxc-net's
//! [`Gated::PhysMacvlanMtu`] gate. Without it a start with an `mtu` on such a network is
//! refused before anything is made, naming the key (LXC without the extension ignores the
//! value; a setting that silently does nothing is worse than a refusal). With it the MTU is
//! applied as for every other type: the macvlan plugin creates its link with it, lxc-net's
//! generic setup sets it on the interface in the container, and the phys plugin gives the
//! device its own MTU back when it returns it to the host. The key stays lxc-net's: it exists
//! for the other types without this extension.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_net::ext::{Gate, Gated, GATES};

/// The extension's name.
pub const NAME: &str = "network_phys_macvlan_mtu";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_PHYS_MACVLAN_MTU: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(GATES)]
#[linkme(crate = lxc_core::linkme)]
static OPENS: Gate = Gate {
    owner: NAME,
    opens: Gated::PhysMacvlanMtu,
};
