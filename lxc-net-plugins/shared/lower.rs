//! What the `macvlan`, `ipvlan` and `vlan` plugins share (each includes this file with
//! `#[path]`, so that every plugin stays one crate depending on `lxc-net-api` alone): a link
//! made on a lower device of the host (`lxc.net.N.link`), created straight inside the
//! container's network namespace.
//!
//! LXC 5.0 (src/lxc/network.c, `instantiate_macvlan` and friends) makes the link in the host's
//! namespace under a random name (`mcXXXXXX`, `ipXXXXXX`, `vlan<id>-<n>`), sets `mtu` on it,
//! moves it into the container under a transient name (`macvXXXXXX`, `ipvlXXXXXX`,
//! `vlanXXXXXX`) and renames it there to `name` (else `eth%d`). Here the kernel makes it in
//! the container's namespace at once (`IFLA_NET_NS_FD` on `RTM_NEWLINK`, the lower device
//! looked up in the caller's): a configured name is given at creation; a kernel-numbered one
//! (`eth%d`, or no name) is made under LXC's transient name and renamed inside, so that its
//! index, and so its final name, is known. Nothing is moved (a move costs ~24 ms here).
//!
//! The link lives in the container's namespace only. Usually `destroy` leaves it to that
//! namespace, which the kernel tears down (link included) in the background once the host lets
//! go of it: deleting it would make the stop wait ~10-20 ms (RCU grace periods). But where the
//! lower device allows one such link only (a passthru macvlan, a VLAN id, an ipvlan address or
//! mode, a fixed MAC address among a device's macvlans), a start right after (a reboot, a
//! restart) would find the old one still holding it and fail: then `destroy` deletes it
//! ([`remove`]).

use lxc_net_api::abi_stable::std_types::{RResult, RString};
use lxc_net_api::netlink::{LowerKind, LowerSpec, Netlink, NetlinkError};
use lxc_net_api::{Created, Request};

/// How one plugin makes its link.
pub struct Plan {
    /// The link, with its kind-specific settings.
    pub kind: LowerKind,
    /// LXC's transient name in the container, e.g. `macvXXXXXX`.
    pub transient: &'static str,
    /// How errors name the kind when the kernel lacks it: `ipvlan`, `802.1Q vlan`.
    pub label: &'static str,
    /// The kernel option that brings it (for the error's hint).
    pub config: &'static str,
}

/// What `create` hands on: `index=N;lower=NAME` (N in the container's namespace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub index: u32,
    pub lower: String,
}

impl State {
    pub fn encode(&self) -> String {
        format!("index={};lower={}", self.index, self.lower)
    }

    pub fn parse(s: &str) -> State {
        let mut st = State::default();
        for part in s.split(';') {
            match part.split_once('=') {
                Some(("index", v)) => st.index = v.parse().unwrap_or(0),
                Some(("lower", v)) => st.lower = v.to_string(),
                _ => {}
            }
        }
        st
    }
}

/// Whether `key`'s last entry is a clear (`lxc.net.N.key =` with no value): LXC then stores -1
/// as the mode, which the kernel refuses. (`vlan` has no mode: a cleared `vlan.id` is 0.)
#[allow(dead_code)]
pub fn cleared(req: &Request, key: &str) -> bool {
    req.config
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .is_some_and(|kv| kv.value.is_empty())
}

/// The container side's name: `Some(name)` when configured, `None` when the kernel numbers it
/// (`name` unset, or a `%d` pattern such as LXC's `eth%d`), with the pattern to use.
pub fn wanted_name(req: &Request) -> (Option<&str>, &str) {
    match req.get("name") {
        Some(n) if !n.contains('%') => (Some(n), n),
        Some(pattern) => (None, pattern),
        None => (None, "eth%d"),
    }
}

/// Make the link: lower device `link` in the caller's namespace, the link itself inside the
/// container's, under its final name, down.
pub fn create(req: &Request, plan: &Plan) -> Result<Created, String> {
    let kind = plan.kind.kind();
    let link = req.get("link").ok_or_else(|| {
        format!(
            "no lower device for the {kind}: {}.link is not set",
            req.net_key()
        )
    })?;
    // A bad `mtu` is the host's to report, under its own key (it applies `mtu` again inside).
    let mtu = req.get("mtu").and_then(|v| v.trim().parse::<u32>().ok());
    let (named, pattern) = wanted_name(req);

    let host = Netlink::current().map_err(|e| e.to_string())?;
    let lower = host
        .link_by_name(link)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the lower device {link} ({}.link) does not exist",
                req.net_key()
            )
        })?;
    let netns = req.netns()?;
    let ct = Netlink::in_netns(netns).map_err(|e| e.to_string())?;
    let made_as = match named {
        Some(n) => n.to_string(),
        None => ct.unused_name(plan.transient).map_err(|e| e.to_string())?,
    };
    host.add_on_lower(&LowerSpec {
        name: &made_as,
        lower: lower.index,
        kind: plan.kind,
        netns: Some(netns),
        mtu,
    })
    .map_err(|e| refused(plan, link, e))?;
    let index = ct.index_of(&made_as).map_err(|e| e.to_string())?;
    let ifname = match named {
        Some(n) => n.to_string(),
        None => match number(&ct, index, pattern) {
            Ok(n) => n,
            Err(e) => {
                let _ = ct.del_link(index);
                return Err(e);
            }
        },
    };
    let state = State {
        index,
        lower: link.to_string(),
    };
    Ok(Created::new(&ifname, None, &state.encode()))
}

/// Delete the link `create` made, if it is still in the container's namespace (by index and
/// kind), so that a new one on the same lower device does not collide with it (see the module
/// docs for when).
pub fn remove(req: &Request, kind: &str, c: &Created) -> Result<(), String> {
    let st = State::parse(&c.state);
    if st.index == 0 {
        return Ok(());
    }
    let ct = Netlink::in_netns(req.netns()?).map_err(|e| e.to_string())?;
    let ours = ct
        .link_by_index(st.index)
        .map_err(|e| e.to_string())?
        .filter(|l| l.kind.as_deref() == Some(kind));
    let Some(l) = ours else {
        return Ok(());
    };
    match ct.del_link(l.index) {
        Ok(()) => Ok(()),
        Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
        Err(e) => Err(format!("removing {} from the container: {e}", l.name)),
    }
}

/// Whether `hwaddr` is a fixed address (LXC's `xx` octets are random, so never collide).
/// (Only macvlan needs it: ipvlans share their lower device's address; VLANs are deleted anyway.)
#[allow(dead_code)]
pub fn fixed_hwaddr(req: &Request) -> bool {
    req.get("hwaddr").is_some_and(|v| !v.contains(['x', 'X']))
}

/// Rename the link to `pattern` (`eth%d`) inside and read back the name the kernel chose.
fn number(ct: &Netlink, index: u32, pattern: &str) -> Result<String, String> {
    ct.set_name(index, pattern).map_err(|e| e.to_string())?;
    ct.link_by_index(index)
        .map_err(|e| e.to_string())?
        .map(|l| l.name)
        .ok_or_else(|| format!("link #{index} vanished from the container after its rename"))
}

/// The kernel's refusal, made plain when the kernel has no such link type at all: an unknown
/// kind is EOPNOTSUPP, but so is e.g. an ipvlan on a loopback device, so a probe in a
/// throw-away namespace tells the two apart.
fn refused(plan: &Plan, link: &str, e: NetlinkError) -> String {
    let kind = plan.kind.kind();
    if e.errno() != Some(libc::EOPNOTSUPP) {
        return format!("{e} (lower device {link})");
    }
    match Netlink::probe_link_kinds(&[kind]) {
        Ok(probed) => match probed.into_iter().find(|(k, _)| k == kind) {
            Some((_, Err(why))) if why.contains("has no") => format!(
                "this kernel has no {label}: creating one on {link} was refused \
                 (EOPNOTSUPP), and so was one in a throw-away namespace; it needs a kernel \
                 with {config}",
                label = plan.label,
                config = plan.config
            ),
            _ => format!("{e} (lower device {link}; the kernel does have {kind} links)"),
        },
        Err(p) => format!("{e} (lower device {link}; probing for {kind} links failed: {p})"),
    }
}

/// `up` and `down` of a link made on a lower device: it has no host side of its own to raise
/// or lower (the host brings the container side up).
pub extern "C" fn no_host_side(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let st = State {
            index: 7,
            lower: "lxcrs-t-v0".into(),
        };
        assert_eq!(State::parse(&st.encode()), st);
        assert_eq!(State::parse(""), State::default());
    }

    #[test]
    fn names_and_clears() {
        let r = |c: &[(&str, &str)]| Request::new("c", "/p", 0, "macvlan", -1, 0, c);
        assert_eq!(wanted_name(&r(&[("name", "eth1")])), (Some("eth1"), "eth1"));
        assert_eq!(wanted_name(&r(&[])), (None, "eth%d"));
        assert_eq!(wanted_name(&r(&[("name", "net%d")])), (None, "net%d"));
        assert_eq!(
            wanted_name(&r(&[("name", "x"), ("name", "")])),
            (None, "eth%d")
        );
        let req = r(&[("macvlan.mode", "bridge"), ("macvlan.mode", "")]);
        assert!(cleared(&req, "macvlan.mode"));
        assert!(!cleared(&r(&[("macvlan.mode", "bridge")]), "macvlan.mode"));
        assert!(!cleared(&r(&[]), "macvlan.mode"));
    }
}
