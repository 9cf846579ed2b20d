//! API extension `network_bridge_vlan` (LXC 5.0): the VLANs of a veth's port on its bridge,
//! `lxc.net.[i].veth.vlan.id` (the untagged VLAN, 0-4094, or `none` for no untagged VLAN at
//! all) and `lxc.net.[i].veth.vlan.tagged.id` (a tagged VLAN, one per line).
//!
//! The registration below is everything this crate does: it owns the two keys, which join
//! lxc-net's network model with LXC's semantics (veth only; `none` prints `-1`). Setting the
//! VLANs is the veth plugin's work as it attaches the host side to the bridge
//! (`lxc-net-plugins/veth`, LXC's `setup_veth_native_bridge_vlan`); the bridge must filter
//! VLANs, and a kernel without `CONFIG_BRIDGE_VLAN_FILTERING` makes such a start fail with the
//! plugin's error naming the bridge.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyRules, Registration, KEY_RULES, REGISTRY};
use lxc_net::net_key;

/// The extension's name.
pub const NAME: &str = "network_bridge_vlan";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_BRIDGE_VLAN: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[
        net_key(
            "veth.vlan.id",
            "veth: the untagged VLAN of the bridge port (0-4094, or none)",
        ),
        net_key(
            "veth.vlan.tagged.id",
            "veth: a tagged VLAN of the bridge port (0-4094); one per line",
        ),
    ],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(KEY_RULES)]
#[linkme(crate = lxc_core::linkme)]
static RULES: KeyRules = lxc_net::ext::key_rules(NAME);
