//! The network types loaded plugins add to LXC's own: `lxc.net.N.type` accepts a name only
//! when it is built in or registered here, and refuses any other name as LXC refuses an unknown
//! type.
//!
//! The plugin host registers the types its plugins serve when they load (before the first
//! config is parsed, see `lxc_core::registry::runtime::BEFORE_CONFIG`). A plugin that serves a
//! built-in type (`veth`) registers nothing here: LXC's names are always accepted, and which
//! plugin creates a type's links is the host's business.

use std::sync::{PoisonError, RwLock};

use crate::model::NetType;

/// A registered type, and the run-time registration (the plugin) whose keys are its own.
struct Registered {
    name: &'static str,
    served_by: Option<&'static str>,
}

/// The registered types, in registration order. Names are kept for the life of the process (a
/// plugin is never unloaded), so a [`NetType`] can hold one as `&'static str`.
static TYPES: RwLock<Vec<Registered>> = RwLock::new(Vec::new());

/// A name a config value can be: one word of letters, digits, `-`, `_` and `.` (the names LXC
/// prints for no type, `(null)` and `(invalid)`, are not).
fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Make `lxc.net.N.type = name` valid. Refused for a built-in name, a name registered
/// before, and a name no config value could be.
pub fn register(name: &str) -> Result<(), String> {
    add(name, None)
}

/// [`register`], for a type served by the plugin whose run-time registration
/// (`lxc_core::registry::runtime::register_runtime`) is named `registration`: that
/// registration's `lxc.net.[i].*` keys become the type's own, set and printed only for an
/// interface of one of the types it serves (as LXC's `veth.*` keys are veth's), and listed by
/// `get_keys("lxc.net.N")` for them.
pub fn register_served_by(name: &str, registration: &str) -> Result<(), String> {
    add(name, Some(registration))
}

fn add(name: &str, served_by: Option<&str>) -> Result<(), String> {
    if NetType::builtin(name).is_some() {
        return Err(format!(
            "network type {name:?} is one of LXC's own types; a plugin serving it registers no \
             type"
        ));
    }
    if !valid(name) {
        return Err(format!(
            "network type {name:?}: a type's name is 1 to 64 letters, digits, `-`, `_` or `.`"
        ));
    }
    let mut types = TYPES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(t) = types.iter().find(|t| t.name == name) {
        return Err(match t.served_by {
            Some(by) => format!("network type {name:?} is already registered (served by {by})"),
            None => format!("network type {name:?} is already registered"),
        });
    }
    let served_by = served_by.map(|by| {
        // The registration names are few and kept for good: one copy each.
        types
            .iter()
            .find_map(|t| t.served_by.filter(|b| *b == by))
            .unwrap_or_else(|| leak(by))
    });
    types.push(Registered {
        name: leak(name),
        served_by,
    });
    tracing::debug!(type_ = name, served_by, "network type registered");
    Ok(())
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn read() -> std::sync::RwLockReadGuard<'static, Vec<Registered>> {
    lxc_core::registry::runtime::ensure_loaded();
    TYPES.read().unwrap_or_else(PoisonError::into_inner)
}

/// The registered name equal to `name`.
pub(crate) fn find(name: &str) -> Option<&'static str> {
    read().iter().find(|t| t.name == name).map(|t| t.name)
}

/// Whether a plugin registered the type `name` (a built-in name is not registered).
pub fn is_registered(name: &str) -> bool {
    find(name).is_some()
}

/// The registered types, in registration order.
pub fn registered() -> Vec<&'static str> {
    read().iter().map(|t| t.name).collect()
}

/// The run-time registration serving the registered type `name`, if it was registered with
/// [`register_served_by`].
pub fn owner(name: &str) -> Option<&'static str> {
    read()
        .iter()
        .find(|t| t.name == name)
        .and_then(|t| t.served_by)
}

/// The registered types the run-time registration `registration` serves.
pub fn served_by(registration: &str) -> Vec<&'static str> {
    read()
        .iter()
        .filter(|t| t.served_by == Some(registration))
        .map(|t| t.name)
        .collect()
}
