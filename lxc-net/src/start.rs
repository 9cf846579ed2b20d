//! What a container start needs from the network config: whether the container shares the
//! host's network namespace, whether its loopback device comes up, and the check, before
//! anything is made, that this build can create every network the config asks for.

use lxc_core::phase::HookCtx;
use lxc_core::{Config, Phase};

use crate::error::Error;
use crate::model::{replay, NetDev, NetType};

/// The config's networks in index order, as LXC would hold them. Fails on an entry LXC would
/// have refused when it was set (which a config engine applying [`crate::rules`] never
/// stores), naming it and where it came from.
pub fn netdevs(config: &Config) -> Result<Vec<NetDev>, Error> {
    let (devs, skipped) = replay(config);
    if let Some(s) = skipped.into_iter().next() {
        return Err(Error::Entry {
            key: s.key,
            value: s.value,
            origin: s.origin,
            why: s.why,
        });
    }
    Ok(devs.into_values().collect())
}

/// Whether the container shares the host's network namespace: LXC does exactly when there are
/// networks and every one of them is `none`. A `none` next to other networks is ignored, and the
/// container gets a network namespace of its own, as in LXC.
pub fn shares_host_netns(config: &Config) -> bool {
    let (devs, _) = replay(config);
    !devs.is_empty() && devs.values().all(|d| d.type_ == NetType::NONE)
}

/// Whether LXC brings the container's loopback device up: only a network of type `empty` with
/// `flags = up` does; without one, `lo` stays down in the new network namespace.
pub fn loopback_up(config: &Config) -> bool {
    let (devs, _) = replay(config);
    devs.values()
        .any(|d| d.type_ == NetType::EMPTY && d.flags_up && d.name == "lo")
}

/// Check, before clone, that every network can be made by this build: `empty` is the new
/// namespace's loopback device (and must be named `lo`, as in LXC), `none` needs nothing, and
/// every other type needs a loaded network plugin that serves it ([`crate::plugins`]).
///
/// LXC also applies an `empty` network's addresses, gateways, MAC address and up/down scripts
/// to the loopback device; this build refuses them, naming the key, rather than ignore them.
/// A value only an API extension this build lacks gives a meaning to (an `mtu` on phys or
/// macvlan without network_phys_macvlan_mtu, see [`crate::ext::check_interface`]) is refused
/// the same way.
pub fn check_start(config: &Config) -> Result<(), Error> {
    let devs = netdevs(config)?;
    if shares_host_netns(config) {
        return Ok(());
    }
    for d in devs {
        if let Err((sub, why)) = crate::ext::check_interface(&d) {
            return Err(Error::NotInBuild {
                key: d.key(sub),
                origin: origin_of(config, &d.key(sub)),
                why,
            });
        }
        if let Err(e) = crate::ext::check_steps(&d) {
            return Err(Error::Setup {
                key: d.key(e.sub),
                origin: origin_of(config, &d.key(e.sub)),
                message: e.message,
            });
        }
        match d.type_ {
            NetType::NONE => {}
            NetType::EMPTY if d.name == "lo" => {
                if let Some(sub) = loopback_setting(&d) {
                    return Err(Error::LoopbackSetting {
                        key: d.key(sub),
                        index: d.index,
                        origin: origin_of(config, &d.key(sub)),
                    });
                }
            }
            NetType::EMPTY => {
                return Err(Error::LoopbackName {
                    key: d.key("name"),
                    index: d.index,
                    name: d.name.clone(),
                    origin: d.name_origin.clone().or(d.type_origin.clone()),
                })
            }
            NetType::CLEARED => {
                return Err(Error::NoType {
                    key: d.key("type"),
                    index: d.index,
                })
            }
            t => {
                if let Err(why) = crate::plugins::serving(t.name().unwrap_or_default()) {
                    return Err(Error::NeedsPlugin {
                        key: d.key("type"),
                        index: d.index,
                        type_: t,
                        origin: d.type_origin.clone(),
                        why,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The first setting of an `empty` network that LXC would apply to the loopback device.
fn loopback_setting(d: &NetDev) -> Option<&'static str> {
    [
        ("hwaddr", d.hwaddr.is_some()),
        ("ipv4.address", !d.ipv4.is_empty()),
        ("ipv6.address", !d.ipv6.is_empty()),
        ("ipv4.gateway", d.ipv4_gateway.effective().is_some()),
        ("ipv6.gateway", d.ipv6_gateway.effective().is_some()),
        ("script.up", d.script_up.is_some()),
        ("script.down", d.script_down.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set)
    .map(|(sub, _)| sub)
}

/// Where a key was last set (the same index may be written with leading zeros; those are
/// rare enough to go without an origin).
fn origin_of(config: &Config, key: &str) -> Option<lxc_core::Origin> {
    config.origin_of(key).cloned()
}

/// The `PreClone` hook: refuse a start this build cannot network, before anything is made.
pub fn pre_clone(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    check_start(ctx.config).map_err(|e| e.into_hook(Phase::PreClone))?;
    ctx.state.insert(lxc_core::phase::NetNamespace {
        share_host: shares_host_netns(ctx.config),
        loopback_up: loopback_up(ctx.config),
    });
    if !shares_host_netns(ctx.config) {
        let n = netdevs(ctx.config).map(|d| d.len()).unwrap_or_default();
        tracing::debug!(
            container = ctx.name,
            networks = n,
            loopback_up = loopback_up(ctx.config),
            "network: own namespace"
        );
    } else {
        tracing::debug!(container = ctx.name, "network: the host's namespace");
    }
    Ok(())
}
