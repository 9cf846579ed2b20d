//! API extension `lxc_config_item_is_supported`: ask whether a config key's code is linked
//! into this build. The answer comes from the registry, so it is true exactly for keys some
//! linked crate owns.

#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CONFIG_ITEM_IS_SUPPORTED: Registration = Registration {
    name: "lxc_config_item_is_supported",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

/// `lxc_config_item_is_supported(key)`: true exactly when the key's owner is linked in.
pub fn config_item_is_supported(key: &str) -> bool {
    lxc_core::registry::config_item_is_supported(key)
}
