//! What LXC's network setters, getters and clearers check against the rest of the config, which
//! a key's parser cannot see: a type-specific subkey needs its type first, a network that does
//! not exist cannot be cleared or printed, `lxc.net.N` has no value to print.
//!
//! The config engine calls these before it applies, prints or clears a key the `net` component
//! owns; each returns the reason in the words of an "expected ..." message.

use lxc_core::{Config, Origin};

use crate::addr::complete_hwaddr;
use crate::model::{
    format_plugin_key, format_sub, not_defined, plugin_key, replay, split_key, step, NetKey, Sub,
};

/// Before a value (an empty one too, which clears) is applied. `Ok(Some(v))`: use `v` instead
/// (a hardware address with its `x` placeholders filled, so that what is saved is what is
/// used).
pub fn set(config: &Config, key: &str, value: &str) -> Result<Option<String>, String> {
    let (mut devs, _) = replay(config);
    step(&mut devs, key, value, &Origin::api())?;
    if let Some(NetKey::Sub(_, "hwaddr")) = split_key(key) {
        let filled = complete_hwaddr(value);
        return Ok((filled != value).then_some(filled));
    }
    Ok(None)
}

/// Before a key is printed.
pub fn get(config: &Config, key: &str) -> Result<(), String> {
    match split_key(key) {
        Some(NetKey::All) => Ok(()),
        Some(NetKey::Index(i)) => Err(format!(
            "a network subkey (lxc.net.{i} has no value of its own; get lxc.net.{i}.<key>)"
        )),
        Some(NetKey::Sub(i, sub)) => {
            let (devs, _) = replay(config);
            let dev = devs.get(&i).ok_or_else(|| not_defined(i))?;
            match Sub::from_name(sub) {
                Some(sub) => format_sub(dev, sub).map(|_| ()),
                None => match plugin_key(key) {
                    Some(info) => format_plugin_key(dev, sub, &info).map(|_| ()),
                    None => Err(format!("a network key, not {sub:?}")),
                },
            }
        }
        None => Err("a network key".into()),
    }
}

/// Before a key is cleared.
pub fn clear(config: &Config, key: &str) -> Result<(), String> {
    set(config, key, "").map(|_| ())
}
