//! API extension `network_gateway_device_route`: `lxc.net.[i].ipv4.gateway = dev` and
//! `lxc.net.[i].ipv6.gateway = dev`, a default route inside the container through the
//! interface itself, with no gateway address (for layer 3 devices such as ipvlan in l3 mode).
//!
//! The registration below is everything this crate does: it opens lxc-net's
//! [`Gated::GatewayDev`] gate. Without it the value `dev` is refused when it is set, as an LXC
//! without the extension refuses it (it is no address); with it, the gateway keys take it and
//! lxc-net's generic gateway setup adds the device route (`ip route add default dev eth0`),
//! in the one place where it adds gateway routes (after the addresses, the interface up, with
//! LXC's checks that the interface is up and has an address of the family). The keys stay
//! lxc-net's: they exist without this extension.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_net::ext::{Gate, Gated, GATES};

/// The extension's name.
pub const NAME: &str = "network_gateway_device_route";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_GATEWAY_DEVICE_ROUTE: Registration = Registration {
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
    opens: Gated::GatewayDev,
};
