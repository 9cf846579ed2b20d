//! The functions behind the `net` component's key definitions, and the config-aware rules
//! (see [`crate::rules`]) that LXC's network setters apply.
//!
//! Every network key is a list key: each set appends an entry, as LXC appends a line to its
//! saved config, and what a key prints is computed by replaying the entries (see
//! [`crate::model`]). A clear is recorded as an empty-valued entry kept in memory only.

use lxc_core::registry::{self, KeyDef, KeyPattern, ValueKind};
use lxc_core::Config;

use crate::addr::complete_hwaddr;
use crate::model::{
    format_plugin_key, format_sub, parse_value, plugin_key, replay, split_key, NetKey, NetType,
    Sub, MAX_INDEX,
};

/// The definition of `lxc.net.[i].<suffix>`, handled by this crate's model. An extension crate
/// that owns one of LXC's network subkeys (`veth.ipv4.route` for `network_veth_routes`, ...)
/// registers it with this, so the key joins the same replayed model.
pub const fn net_key(suffix: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        pattern: KeyPattern::Indexed {
            prefix: "lxc.net.",
            suffix,
        },
        kind: ValueKind::List,
        parse,
        get: Some(get),
        clear: Some(clear),
        doc,
    }
}

/// `lxc.net` itself: takes no value; clearing it removes every network.
pub const ALL_KEY: KeyDef = KeyDef {
    pattern: KeyPattern::Exact("lxc.net"),
    kind: ValueKind::List,
    parse,
    get: Some(get),
    clear: Some(clear),
    doc: "takes no value: clearing it removes every network; prints each network's type",
};

/// Validate a value the way the subkey's LXC setter does, apart from what depends on the rest of
/// the config (that is [`crate::rules::set`]). A hardware address's `x` placeholders are filled
/// here, once, so that what is printed, used and saved is one address.
pub fn parse(key: &str, value: &str) -> Result<String, String> {
    match split_key(key) {
        Some(NetKey::All) => Err("no value (lxc.net takes none: an empty value clears every \
                                  network)"
            .into()),
        Some(NetKey::Index(i)) => Err(format!(
            "no value (lxc.net.{i} takes none: an empty value removes network {i}; set \
             lxc.net.{i}.<key>)"
        )),
        Some(NetKey::Sub(i, _)) if i >= MAX_INDEX => {
            Err(format!("a key with a network index below {MAX_INDEX}"))
        }
        Some(NetKey::Sub(_, sub)) => {
            let sub = Sub::from_name(sub).ok_or_else(|| format!("a network key, not {sub:?}"))?;
            parse_value(sub, value)?;
            Ok(if sub == Sub::Hwaddr {
                complete_hwaddr(value)
            } else {
                value.to_string()
            })
        }
        None => Err("a network key: lxc.net, lxc.net.N or lxc.net.N.<key>".into()),
    }
}

/// Print a network key as LXC's getter does (an empty string where LXC's getter fails; the
/// failure itself is [`crate::rules::get`]).
pub fn get(config: &Config, key: &str) -> String {
    let (devs, _) = replay(config);
    match split_key(key) {
        Some(NetKey::All) => devs.values().map(|d| format!("{}\n", d.type_)).collect(),
        Some(NetKey::Sub(i, sub)) => {
            let Some(dev) = devs.get(&i) else {
                return String::new();
            };
            match Sub::from_name(sub) {
                Some(s) => format_sub(dev, s).unwrap_or_default(),
                None => plugin_key(key)
                    .and_then(|k| format_plugin_key(dev, sub, &k).ok())
                    .unwrap_or_default(),
            }
        }
        Some(NetKey::Index(_)) | None => String::new(),
    }
}

/// Record a clear: an empty-valued entry, in memory only, that the replay runs as the subkey's
/// clearer (or removes one network, or all of them).
pub fn clear(config: &mut Config, key: &str) {
    config.push_memory_only(key, "");
}

/// The subkeys LXC's `get_keys("lxc.net.N")` lists for network `idx`, in LXC's order, narrowed
/// to the keys this build supports. Empty when the network does not exist.
pub fn list_net_keys(config: &Config, idx: u32) -> Vec<String> {
    net_keys(config, idx).unwrap_or_default()
}

/// [`list_net_keys`] with LXC's failure: `None` when network `idx` does not exist.
pub fn net_keys(config: &Config, idx: u32) -> Option<Vec<String>> {
    let (devs, _) = replay(config);
    let dev = devs.get(&idx)?;
    let mut subs: Vec<&str> = vec!["type", "script.up", "script.down"];
    if dev.type_ != NetType::EMPTY {
        subs.extend([
            "flags",
            "link",
            "name",
            "hwaddr",
            "mtu",
            "ipv6.address",
            "ipv6.gateway",
            "ipv4.address",
            "ipv4.gateway",
        ]);
    }
    match dev.type_ {
        NetType::VETH => subs.extend([
            "veth.pair",
            "veth.ipv4.route",
            "veth.ipv6.route",
            "veth.vlan.id",
        ]),
        NetType::MACVLAN => subs.push("macvlan.mode"),
        NetType::IPVLAN => subs.extend(["ipvlan.mode", "ipvlan.isolation"]),
        NetType::VLAN => subs.push("vlan.id"),
        // A plugin's type: the keys of the plugin serving it.
        t if t.needs_plugin() && !t.is_builtin() => {
            let owner = t.name().and_then(crate::types::owner);
            subs.extend(
                registry::runtime::keys()
                    .into_iter()
                    .filter(|k| k.owner == crate::NAME && Some(k.registration) == owner)
                    .filter_map(|k| match k.pattern {
                        KeyPattern::Indexed {
                            prefix: "lxc.net.",
                            suffix,
                        } if Sub::from_name(suffix).is_none() => Some(suffix),
                        _ => None,
                    }),
            );
        }
        _ => {}
    }
    Some(
        subs.into_iter()
            .filter(|s| registry::config_item_is_supported(&format!("lxc.net.{idx}.{s}")))
            .map(str::to_string)
            .collect(),
    )
}

/// `get_keys` for a prefix under `lxc.net.`: LXC answers `lxc.net.N` and `lxc.net.N.<anything>`
/// alike, with network N's list. `None` where LXC fails.
pub fn get_keys(config: &Config, prefix: &str) -> Option<Vec<String>> {
    let rest = prefix.strip_prefix("lxc.net.")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (idx, tail) = rest.split_at(digits);
    // LXC keeps what follows the index in a 38-byte buffer and wants it to start with a dot.
    if idx.is_empty() || !(tail.is_empty() || tail.starts_with('.')) || tail.len() >= 38 {
        return None;
    }
    let idx: u32 = idx.parse().ok().filter(|i| *i < MAX_INDEX)?;
    net_keys(config, idx)
}
