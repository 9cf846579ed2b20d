//! API extension `network_l2proxy`: `lxc.net.[i].l2proxy = 0 | 1`. With `1` and a `link`, the
//! host answers ARP and NDP on that link for every address of the container's interface
//! (proxy neighbour entries: `ip neigh add proxy ADDR dev LINK`), so the container's addresses
//! are reachable on the link's network without a bridge (an ipvlan in l3s mode, a routed veth).
//!
//! The registration below is everything this crate does: the key, and an interface step
//! (lxc-net's [`INTERFACE_STEPS`]) that, in the monitor, after the interface is made and
//! configured, checks the host's sysctls as LXC's `lxc_setup_l2proxy` does and fails with its
//! words (IPv4 addresses need `net.ipv4.conf.<link>.forwarding=1`; IPv6 ones
//! `net.ipv6.conf.<link>.proxy_ndp=1` and `net.ipv6.conf.<link>.forwarding=1`; an ipvlan must
//! be in l3s mode), adds the entries, and hands back their removal for the stop and for a
//! failed start. Where LXC differs: it checks and adds before it makes the link (here the step
//! runs once the link exists, and a failure undoes the link with everything else); an entry
//! that was there before the start is left alone at the stop (LXC removes it). For an ipvlan
//! LXC also routes each address to `lo` on the host; the netlink layer cannot delete a route
//! yet, so l2proxy on an ipvlan is refused, saying so, rather than leave routes behind.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use std::net::IpAddr;

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyRules, Registration, KEY_RULES, REGISTRY};
use lxc_net::ext::{InterfaceStep, StepCtx, Undo, INTERFACE_STEPS};
use lxc_net::setup::StepError;
use lxc_net::{net_key, IpvlanMode, NetDev, NetType};
use lxc_net_api::netlink::{Netlink, NetlinkError};

/// The extension's name.
pub const NAME: &str = "network_l2proxy";

/// The subkey errors are about.
const SUB: &str = "l2proxy";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static NETWORK_L2PROXY: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[net_key(
        "l2proxy",
        "1: proxy neighbour entries on the link for each of the interface's addresses (0 or 1)",
    )],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(KEY_RULES)]
#[linkme(crate = lxc_core::linkme)]
static RULES: KeyRules = lxc_net::ext::key_rules(NAME);

#[distributed_slice(INTERFACE_STEPS)]
#[linkme(crate = lxc_core::linkme)]
static STEP: InterfaceStep = InterfaceStep {
    owner: NAME,
    run: setup,
};

fn fail(message: impl Into<String>) -> StepError {
    StepError {
        sub: SUB,
        message: message.into(),
    }
}

/// The addresses the link answers for: the interface's IPv4 then IPv6 addresses, as LXC walks
/// them.
pub fn addresses(d: &NetDev) -> Vec<IpAddr> {
    d.ipv4
        .iter()
        .map(|a| IpAddr::V4(a.addr))
        .chain(d.ipv6.iter().map(|a| IpAddr::V6(a.addr)))
        .collect()
}

/// The sysctls LXC requires, in its order, as (`/proc/sys` path, what the error names): each
/// must read `1`.
pub fn required_sysctls(d: &NetDev) -> Vec<(String, String)> {
    let link = &d.link;
    let mut out = Vec::new();
    let mut need = |family: &str, name: &str| {
        out.push((
            format!("net/{family}/conf/{link}/{name}"),
            format!("net.{family}.conf.{link}.{name}=1"),
        ))
    };
    if !d.ipv4.is_empty() {
        need("ipv4", "forwarding");
    }
    if !d.ipv6.is_empty() {
        need("ipv6", "proxy_ndp");
        need("ipv6", "forwarding");
    }
    out
}

/// What the step made on the host, to remove.
#[derive(Debug, Clone)]
struct Made {
    link: String,
    link_index: u32,
    neighs: Vec<IpAddr>,
}

impl Made {
    /// Remove every entry; one already gone (the link went away) is fine. Err: the failures.
    fn remove(&self, nl: &Netlink) -> Result<(), String> {
        let gone = |e: &NetlinkError| matches!(e.errno(), Some(libc::ENOENT | libc::ENODEV));
        let failed: Vec<String> = self
            .neighs
            .iter()
            .rev()
            .filter_map(|a| match nl.del_proxy_neigh(self.link_index, *a) {
                Err(e) if !gone(&e) => Some(format!("proxy neighbour {a} on {}: {e}", self.link)),
                _ => None,
            })
            .collect();
        if failed.is_empty() {
            tracing::debug!(link = %self.link, entries = self.neighs.len(), "l2proxy entries removed");
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }
}

/// The step: nothing unless `l2proxy = 1` and a `link` is set (as LXC).
fn setup(ctx: &StepCtx<'_>) -> Result<Option<Undo>, StepError> {
    let d = ctx.dev;
    if !d.l2proxy || d.link.is_empty() {
        return Ok(None);
    }
    let nl = Netlink::current().map_err(|e| fail(e.to_string()))?;
    let link = nl
        .link_by_name(&d.link)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail(format!("the link {} does not exist", d.link)))?;
    for (path, name) in required_sysctls(d) {
        let value = nl
            .sysctl(&path)
            .map_err(|e| fail(format!("needs sysctl {name}, which cannot be read: {e}")))?;
        if !value.starts_with('1') {
            return Err(fail(format!("needs sysctl {name} (it is {value})")));
        }
    }
    if d.type_ == NetType::IPVLAN {
        if d.ipvlan_mode != IpvlanMode::L3s {
            return Err(fail(format!(
                "an ipvlan network with l2proxy must be in mode l3s on {} ({} is {})",
                d.link,
                d.key("ipvlan.mode"),
                d.ipvlan_mode.name()
            )));
        }
        // LXC also routes each address to `lo` for an ipvlan, which this build cannot remove
        // again yet (the netlink layer has no route deletion): refused rather than left behind.
        return Err(fail(
            "l2proxy on an ipvlan network needs host routes to lo that this build cannot remove \
             yet",
        ));
    }
    let mut made = Made {
        link: d.link.clone(),
        link_index: link.index,
        neighs: Vec::new(),
    };
    // The kernel takes an entry that is already there as a success: such an entry is not this
    // container's to remove at its stop (LXC's would remove it).
    let before = nl
        .proxy_neighs(link.index)
        .map_err(|e| fail(format!("listing the proxy entries of {}: {e}", d.link)))?;
    for a in addresses(d) {
        if before.contains(&a) {
            tracing::debug!(container = ctx.container, address = %a, link = %d.link, "l2proxy: entry already there, left as it is");
            continue;
        }
        if let Err(e) = nl.add_proxy_neigh(link.index, a) {
            if let Err(undo) = made.remove(&nl) {
                tracing::warn!(container = ctx.container, "l2proxy: {undo}");
            }
            return Err(fail(format!("proxy neighbour {a} on {}: {e}", d.link)));
        }
        made.neighs.push(a);
    }
    tracing::debug!(container = ctx.container, link = %d.link, entries = made.neighs.len(), "l2proxy entries added");
    // The handle's thread ends before the hook returns (lxc-net's rule for forks).
    drop(nl);
    Ok(Some(Undo::new(NAME, move || {
        let nl = Netlink::current().map_err(|e| e.to_string())?;
        made.remove(&nl)
    })))
}
