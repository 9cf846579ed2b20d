//! API extension `network_l2proxy`: `lxc.net.[i].l2proxy = 0 | 1`. With `1` and a `link`, the
//! host answers ARP and NDP on that link for every address of the container's interface
//! (proxy neighbour entries: `ip neigh add proxy ADDR dev LINK`), so the container's addresses
//! are reachable on the link's network without a bridge (an ipvlan in l3s mode, a routed veth).
//!
//! The registration below is everything this crate does: the key, and an interface step
//! (lxc-net's [`INTERFACE_STEPS`]) that checks the host's sysctls as LXC's `lxc_setup_l2proxy`
//! does, before anything of the start is made (PreClone), and fails with its words (IPv4 addresses need `net.ipv4.conf.<link>.forwarding=1`; IPv6 ones
//! `net.ipv6.conf.<link>.proxy_ndp=1` and `net.ipv6.conf.<link>.forwarding=1`; an ipvlan must
//! be in l3s mode), adds the entries and, for an ipvlan, LXC's host route of each address to
//! `lo` (`ip route add ADDR/32 dev lo scope link`: LXC's way for the proxied traffic to reach
//! an ipvlan), and hands back their removal for the stop, a failed start and the cleanup
//! watchdog. Where LXC differs: it adds the entries before it makes the link (here once the
//! link exists, and a failure undoes the link with everything else); a proxy entry that was there before the start is left alone at the stop (LXC removes
//! it). A route to `lo` that is already there fails the start, as under LXC.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use std::net::IpAddr;

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyRules, Registration, KEY_RULES, REGISTRY};
use lxc_net::ext::{InterfaceStep, StepCtx, Undo, INTERFACE_STEPS};
use lxc_net::setup::StepError;
use lxc_net::{net_key, IpvlanMode, NetDev, NetType};
use lxc_net_api::netlink::{LinkInfo, Netlink, NetlinkError, Route, Scope};

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
    check: Some(check),
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

/// One thing the step made on the host.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// A proxy neighbour entry for this address on the link.
    Proxy(IpAddr),
    /// The host route of this address to `lo` (ipvlan).
    ToLo(IpAddr),
}

/// The host route LXC adds for an ipvlan's address: to `lo`, a host route of scope link.
pub fn route_to_lo(addr: IpAddr, lo_index: u32) -> Route {
    Route {
        dest: addr,
        prefix: if addr.is_ipv4() { 32 } else { 128 },
        gateway: None,
        dev: Some(lo_index),
        scope: Scope::Link,
    }
}

/// What the step made on the host, to remove.
#[derive(Debug, Clone)]
struct Made {
    link: String,
    link_index: u32,
    lo_index: u32,
    /// In the order made.
    entries: Vec<Entry>,
}

impl Made {
    /// Remove every entry, newest first; one already gone (its link went away, or someone
    /// removed it) is fine. Err: the failures.
    fn remove(&self, nl: &Netlink) -> Result<(), String> {
        let gone =
            |e: &NetlinkError| matches!(e.errno(), Some(libc::ENOENT | libc::ENODEV | libc::ESRCH));
        let failed: Vec<String> = self
            .entries
            .iter()
            .rev()
            .filter_map(|entry| {
                let (done, what) = match *entry {
                    Entry::Proxy(a) => (
                        nl.del_proxy_neigh(self.link_index, a),
                        format!("proxy neighbour {a} on {}", self.link),
                    ),
                    Entry::ToLo(a) => (
                        nl.del_route(&route_to_lo(a, self.lo_index)),
                        format!("route of {a} to {LOOPBACK}"),
                    ),
                };
                match done {
                    Err(e) if !gone(&e) => Some(format!("{what}: {e}")),
                    _ => None,
                }
            })
            .collect();
        if failed.is_empty() {
            tracing::debug!(link = %self.link, entries = self.entries.len(), "l2proxy entries removed");
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }

    /// Record `entry` made by `result`; on a failure, remove what was made so far and return
    /// the step's error (`what` and the cause).
    fn record(
        &mut self,
        nl: &Netlink,
        container: &str,
        entry: Entry,
        result: Result<(), NetlinkError>,
        what: impl FnOnce() -> String,
    ) -> Result<(), StepError> {
        match result {
            Ok(()) => {
                self.entries.push(entry);
                Ok(())
            }
            Err(e) => {
                if let Err(undo) = self.remove(nl) {
                    tracing::warn!(container, "l2proxy: {undo}");
                }
                Err(fail(format!("{}: {e}", what())))
            }
        }
    }
}

/// LXC's name of the loopback device, which an ipvlan's addresses are routed to.
const LOOPBACK: &str = "lo";

/// The link, the sysctls LXC requires and, for ipvlan, mode l3s and `lo`: the link and the
/// index of `lo` (0 when not an ipvlan).
fn checked(d: &NetDev, nl: &Netlink) -> Result<(LinkInfo, u32), StepError> {
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
    let mut lo_index = 0;
    if d.type_ == NetType::IPVLAN {
        if d.ipvlan_mode != IpvlanMode::L3s {
            return Err(fail(format!(
                "an ipvlan network with l2proxy must be in mode l3s on {} ({} is {})",
                d.link,
                d.key("ipvlan.mode"),
                d.ipvlan_mode.name()
            )));
        }
        lo_index = nl
            .link_by_name(LOOPBACK)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| {
                fail(format!(
                    "an ipvlan's addresses are routed to {LOOPBACK}, and there is no {LOOPBACK}"
                ))
            })?
            .index;
    }
    Ok((link, lo_index))
}

/// Before anything is made (LXC sets l2proxy up before it creates the interface): the link,
/// the sysctls and the ipvlan mode, so a refused start leaves the link untouched.
fn check(d: &NetDev) -> Result<(), StepError> {
    if !d.l2proxy || d.link.is_empty() {
        return Ok(());
    }
    let nl = Netlink::current().map_err(|e| fail(e.to_string()))?;
    checked(d, &nl).map(drop)
}

/// The step: nothing unless `l2proxy = 1` and a `link` is set (as LXC).
fn setup(ctx: &StepCtx<'_>) -> Result<Option<Undo>, StepError> {
    let d = ctx.dev;
    if !d.l2proxy || d.link.is_empty() {
        return Ok(None);
    }
    let nl = Netlink::current().map_err(|e| fail(e.to_string()))?;
    // Checked at PreClone too; again here, for what changed on the host since.
    let (link, lo_index) = checked(d, &nl)?;
    let ipvlan = d.type_ == NetType::IPVLAN;
    let mut made = Made {
        link: d.link.clone(),
        link_index: link.index,
        lo_index,
        entries: Vec::new(),
    };
    // The kernel takes an entry that is already there as a success: such an entry is not this
    // container's to remove at its stop (LXC's would remove it).
    let before = nl
        .proxy_neighs(link.index)
        .map_err(|e| fail(format!("listing the proxy entries of {}: {e}", d.link)))?;
    // As LXC: each address's proxy entry, then (ipvlan) its route to lo.
    for a in addresses(d) {
        if before.contains(&a) {
            tracing::debug!(container = ctx.container, address = %a, link = %d.link, "l2proxy: entry already there, left as it is");
        } else {
            let added = nl.add_proxy_neigh(link.index, a);
            made.record(&nl, ctx.container, Entry::Proxy(a), added, || {
                format!("proxy neighbour {a} on {}", d.link)
            })?;
        }
        if ipvlan {
            let added = nl.add_route(&route_to_lo(a, lo_index));
            made.record(&nl, ctx.container, Entry::ToLo(a), added, || {
                format!("route of {a} to {LOOPBACK}")
            })?;
        }
    }
    tracing::debug!(container = ctx.container, link = %d.link, entries = made.entries.len(), "l2proxy entries added");
    // The handle's thread ends before the hook returns (lxc-net's rule for forks).
    drop(nl);
    Ok(Some(Undo::new(NAME, move || {
        let nl = Netlink::current().map_err(|e| e.to_string())?;
        made.remove(&nl)
    })))
}
