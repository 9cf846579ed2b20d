//! The registry's run-time layer: what plugins loaded by this process bring (network plugins:
//! their names, the API extensions they implement, their config keys).
//!
//! The link-time layer ([`super::REGISTRY`]) stays the first answer to every question; this
//! layer is consulted only after it misses, so a process that loads no plugin pays one atomic
//! load per lookup for it. Plugins load once per process, before the first config is parsed
//! ([`BEFORE_CONFIG`], [`ensure_loaded`]), in the caller: the monitor is forked from it and
//! inherits what was registered.
//!
//! A registration is refused whole when its name or one of its key patterns is already taken
//! (by a linked-in registration or an earlier run-time one), or when a linked-in key would
//! always win over one of its keys: lookups take the first match, so a clash would silently
//! make one owner's key the other's.

use std::cell::Cell;
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard};

use linkme::distributed_slice;

use super::{EntryKind, KeyDef, KeyPattern, Lookup, ResolvedKey, ValueKind, REGISTRY};

/// A run-time key's validator: `(key, value)` to the normalized value, or the "expected ..."
/// text of the error (a leading `expected ` is dropped, so either wording reads right).
pub type CheckFn = dyn Fn(&str, &str) -> Result<String, String> + Send + Sync;

/// What one plugin (or one API extension a plugin implements) adds to the registry.
pub struct RuntimeRegistration {
    /// The plugin's name, or the name of the API extension it implements.
    pub name: String,
    /// [`EntryKind::Component`] for a plugin; [`EntryKind::ApiExtension`] when `name` is an
    /// extension (`has_api_extension(name)` is then true).
    pub kind: EntryKind,
    pub keys: Vec<RuntimeKey>,
}

/// One config key a plugin adds. A key below an indexed family a linked-in registration owns
/// (`lxc.net.[i].x` below `lxc.net.[i]`) joins that family: its owner's rules
/// ([`super::KeyRules`]) run before a value is set, printed or cleared, and its getter and
/// clearer serve the key, so the key lives and dies with its interface like LXC's own network
/// keys; the key's `check` still validates every value.
pub struct RuntimeKey {
    /// The full pattern, e.g. `KeyPattern::Indexed { prefix: "lxc.net.", suffix:
    /// "veth.pair" }` (leak the strings: a plugin loads once per process).
    pub pattern: KeyPattern,
    pub kind: ValueKind,
    pub doc: String,
    pub check: Arc<CheckFn>,
}

/// Run once per process, before the first config is parsed: a plugin host loads its plugins
/// here and registers them ([`register_runtime`]). A function here must not expect a config
/// to see its own registrations while it runs (a config parsed from inside it sees only what
/// was registered so far).
#[distributed_slice]
pub static BEFORE_CONFIG: [fn()];

/// Run the [`BEFORE_CONFIG`] functions, once per process, when something first needs what
/// they bring: a key or extension the linked code does not know, a list of everything
/// (`api_extensions`, `get_keys`), or a network type that needs its plugin. A config that names
/// only what is linked in never loads a plugin (each costs its mapped pages); cheap once done. A call from inside one of those functions (on the same
/// thread) returns at once; other threads wait until they are done.
pub fn ensure_loaded() {
    static DONE: OnceLock<()> = OnceLock::new();
    thread_local! {
        static RUNNING: Cell<bool> = const { Cell::new(false) };
    }
    if DONE.get().is_some() || RUNNING.get() {
        return;
    }
    DONE.get_or_init(|| {
        struct Running;
        impl Drop for Running {
            fn drop(&mut self) {
                RUNNING.set(false);
            }
        }
        RUNNING.set(true);
        let _running = Running;
        for f in BEFORE_CONFIG.iter() {
            f();
        }
    });
}

/// A run-time key as the lookups see it.
struct LiveKey {
    def: &'static KeyDef,
    /// Whose rules apply: the family's owner, else the registration itself.
    owner: &'static str,
    /// The run-time registration that brought the key.
    registration: &'static str,
    /// The kind the registration declared (a family member takes the family's kind in `def`).
    declared: ValueKind,
    check: Arc<CheckFn>,
}

struct LiveRegistration {
    name: &'static str,
    kind: EntryKind,
}

#[derive(Default)]
struct Layer {
    regs: Vec<LiveRegistration>,
    keys: Vec<LiveKey>,
}

/// Created by the first registration: `None` is the fast "nothing registered" answer.
static LAYER: OnceLock<RwLock<Layer>> = OnceLock::new();

fn read() -> Option<RwLockReadGuard<'static, Layer>> {
    // A panic never happens with the lock held (checks run after it is released), and the
    // layer is consistent between statements anyway, so a poisoned lock is still good.
    LAYER
        .get()
        .map(|l| l.read().unwrap_or_else(PoisonError::into_inner))
}

/// A run-time key as [`key_info`] and [`keys`] describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The run-time registration that brought the key.
    pub registration: &'static str,
    /// Whose key rules apply to it (the family's owner, e.g. `net`, or `registration`).
    pub owner: &'static str,
    pub pattern: KeyPattern,
    /// The kind the registration declared.
    pub kind: ValueKind,
    pub doc: &'static str,
}

impl LiveKey {
    fn info(&self) -> KeyInfo {
        KeyInfo {
            registration: self.registration,
            owner: self.owner,
            pattern: self.def.pattern,
            kind: self.declared,
            doc: self.def.doc,
        }
    }
}

/// The run-time key `key` resolves to, ranked as the link-time layer ranks its own (exact over
/// indexed over prefix, a longer prefix over a shorter one).
fn best<'a>(layer: &'a Layer, key: &str) -> Option<(&'a LiveKey, Option<u32>)> {
    let mut best: Option<((u8, usize), &LiveKey, Option<u32>)> = None;
    for k in &layer.keys {
        let Some(idx) = k.def.pattern.matches(key) else {
            continue;
        };
        let rank = match k.def.pattern {
            KeyPattern::Exact(_) => (3, 0),
            KeyPattern::Indexed { .. } => (2, 0),
            KeyPattern::Prefix(p) => (1, p.len()),
        };
        if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            best = Some((rank, k, idx));
        }
    }
    best.map(|(_, k, idx)| (k, idx))
}

/// The run-time layer's answer for a key the link-time layer does not have.
pub(super) fn lookup(key: &str) -> Option<ResolvedKey> {
    let layer = read()?;
    let (k, index) = best(&layer, key)?;
    Some(ResolvedKey {
        def: k.def,
        owner: k.owner,
        index,
    })
}

/// The `parse` of every run-time key's definition: dispatch to the key's check.
fn parse(key: &str, value: &str) -> Result<String, String> {
    let check = read()
        .and_then(|layer| best(&layer, key).map(|(k, _)| Arc::clone(&k.check)))
        .ok_or_else(|| format!("a key a loaded plugin registers ({key} is none)"))?;
    // Called with the lock released: a check may ask the registry anything.
    check(key, value).map_err(|e| match e.strip_prefix("expected ") {
        Some(rest) => rest.to_string(),
        None => e,
    })
}

/// What the run-time layer knows about `key`, if a plugin registered it.
pub fn key_info(key: &str) -> Option<KeyInfo> {
    let layer = read()?;
    best(&layer, key).map(|(k, _)| k.info())
}

/// Every run-time key, in registration order.
pub fn keys() -> Vec<KeyInfo> {
    read()
        .map(|l| l.keys.iter().map(LiveKey::info).collect())
        .unwrap_or_default()
}

/// The run-time registrations, in registration order.
pub fn registrations() -> Vec<(&'static str, EntryKind)> {
    read()
        .map(|l| l.regs.iter().map(|r| (r.name, r.kind)).collect())
        .unwrap_or_default()
}

/// Whether a run-time registration is the API extension `name`.
pub(super) fn has_extension(name: &str) -> bool {
    read().is_some_and(|l| {
        l.regs
            .iter()
            .any(|r| r.kind == EntryKind::ApiExtension && r.name == name)
    })
}

/// A key name the pattern covers, to ask the link-time layer whether it would take it.
fn sample(pattern: KeyPattern) -> String {
    match pattern {
        KeyPattern::Exact(k) => k.to_string(),
        KeyPattern::Indexed { prefix, suffix: "" } => format!("{prefix}0"),
        KeyPattern::Indexed { prefix, suffix } => format!("{prefix}0.{suffix}"),
        // No real key holds a NUL: only a prefix pattern can take this one.
        KeyPattern::Prefix(p) => format!("{p}\0"),
    }
}

/// A key pattern a config line can name: below `lxc.`, one word, without control characters.
fn check_pattern(pattern: KeyPattern) -> Result<(), String> {
    let word = |s: &str| {
        !s.bytes()
            .any(|b| b < 0x20 || b == 0x7f || b == b' ' || b == b'=')
    };
    let ok = match pattern {
        KeyPattern::Exact(k) => k.starts_with("lxc.") && k.len() > 4 && word(k),
        KeyPattern::Indexed { prefix, suffix } => {
            prefix.starts_with("lxc.")
                && prefix.ends_with('.')
                && word(prefix)
                && word(suffix)
                && !suffix.starts_with('.')
                && !suffix.ends_with('.')
        }
        KeyPattern::Prefix(p) => p.starts_with("lxc.") && p.ends_with('.') && word(p),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a key pattern a config can use (keys are one word below `lxc.`; \
             prefixes end with a dot)",
            pattern.display()
        ))
    }
}

/// The linked-in definition of the bare index of an indexed family (`lxc.net.[i]`), with its
/// owner.
fn family(prefix: &'static str) -> Option<(&'static KeyDef, &'static str)> {
    REGISTRY.iter().find_map(|r| {
        r.keys
            .iter()
            .find(|d| d.pattern == KeyPattern::Indexed { prefix, suffix: "" })
            .map(|d| (d, r.name))
    })
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// Add a plugin's registration. Refused whole, naming both owners, when its name or one of its
/// key patterns is already registered (linked in or at run time), when a linked-in key would
/// always take one of its keys, or when a key pattern is not one a config can name.
pub fn register_runtime(reg: RuntimeRegistration) -> Result<(), String> {
    let who = format!("run-time registration {:?}", reg.name);
    if reg.name.is_empty()
        || reg
            .name
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b == b'=')
    {
        return Err(format!(
            "{who}: a registration's name is one word without control characters"
        ));
    }
    if REGISTRY.iter().any(|r| r.name == reg.name) {
        return Err(format!(
            "{who}: the name is already registered by the linked-in registration {:?}",
            reg.name
        ));
    }
    for (i, k) in reg.keys.iter().enumerate() {
        let shown = k.pattern.display();
        check_pattern(k.pattern).map_err(|e| format!("{who}: {e}"))?;
        if reg.keys[..i].iter().any(|o| o.pattern.display() == shown) {
            return Err(format!("{who}: key {shown} is declared twice"));
        }
        for r in REGISTRY.iter() {
            if r.keys.iter().any(|d| d.pattern.display() == shown) {
                return Err(format!(
                    "{who}: key {shown} is already registered by {:?} (linked in)",
                    r.name
                ));
            }
        }
        if let Lookup::Supported(r) = super::lookup_linked(&sample(k.pattern)) {
            return Err(format!(
                "{who}: key {shown} would never be used: {} of {:?} (linked in) takes it",
                r.def.pattern.display(),
                r.owner
            ));
        }
    }
    let lock = LAYER.get_or_init(|| RwLock::new(Layer::default()));
    let mut layer = lock.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = layer.regs.iter().find(|r| r.name == reg.name) {
        return Err(format!(
            "{who}: the name is already registered by the run-time registration {:?}",
            r.name
        ));
    }
    for k in &reg.keys {
        let shown = k.pattern.display();
        if let Some(o) = layer.keys.iter().find(|o| o.def.pattern.display() == shown) {
            return Err(format!(
                "{who}: key {shown} is already registered by {:?} (loaded at run time)",
                o.registration
            ));
        }
    }
    // Everything checked: from here the registration goes in whole.
    let name = leak(&reg.name);
    for k in reg.keys {
        let fam = match k.pattern {
            KeyPattern::Indexed { prefix, suffix } if !suffix.is_empty() => family(prefix),
            _ => None,
        };
        let def: &'static KeyDef = Box::leak(Box::new(KeyDef {
            pattern: k.pattern,
            kind: fam.map_or(k.kind, |(f, _)| f.kind),
            parse,
            get: fam.and_then(|(f, _)| f.get),
            clear: fam.and_then(|(f, _)| f.clear),
            doc: leak(&k.doc),
        }));
        layer.keys.push(LiveKey {
            def,
            owner: fam.map_or(name, |(_, owner)| owner),
            registration: name,
            declared: k.kind,
            check: k.check,
        });
    }
    layer.regs.push(LiveRegistration {
        name,
        kind: reg.kind,
    });
    tracing::debug!(registration = name, kind = ?reg.kind, "registered at run time");
    Ok(())
}

/// What [`super::conflicts`] adds for the run-time layer: its registrations' names and key
/// patterns against `names` and `keys` (the link-time ones it checked), by owner.
pub(super) fn conflicts(
    names: &std::collections::HashMap<&str, usize>,
    keys: &std::collections::HashMap<String, &str>,
    out: &mut Vec<String>,
) {
    let Some(layer) = read() else {
        return;
    };
    for r in &layer.regs {
        if names.contains_key(r.name) {
            out.push(format!(
                "registration name {:?} is registered both linked in and at run time",
                r.name
            ));
        }
    }
    for k in &layer.keys {
        let p = k.def.pattern.display();
        if let Some(first) = keys.get(&p) {
            out.push(format!(
                "key {p} is registered by both {first} and {} (at run time)",
                k.registration
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::registry;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static BEFORE_CONFIG_RUNS: AtomicUsize = AtomicUsize::new(0);

    #[distributed_slice(BEFORE_CONFIG)]
    static TEST_LOADER: fn() = test_loader;

    /// What a plugin host does: register what it loaded.
    fn test_loader() {
        BEFORE_CONFIG_RUNS.fetch_add(1, Ordering::SeqCst);
        let r = register_runtime(RuntimeRegistration {
            name: "rt-test-loader".into(),
            kind: EntryKind::Component,
            keys: vec![key(
                KeyPattern::Exact("lxc.rt-test.loaded"),
                ValueKind::Single,
            )],
        });
        assert_eq!(r, Ok(()));
    }

    fn key(pattern: KeyPattern, kind: ValueKind) -> RuntimeKey {
        RuntimeKey {
            pattern,
            kind,
            doc: "a test key".into(),
            check: Arc::new(|_, v| {
                if v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(v.trim_start_matches('0').to_string())
                } else {
                    Err("expected a decimal number".into())
                }
            }),
        }
    }

    fn reg(name: &str, kind: EntryKind, keys: Vec<RuntimeKey>) -> RuntimeRegistration {
        RuntimeRegistration {
            name: name.into(),
            kind,
            keys,
        }
    }

    #[test]
    fn before_config_runs_once_before_the_first_parse() {
        // The key the loader registers is there for the first parse, whichever test came first.
        let c = Config::parse_str("lxc.rt-test.loaded = 007\n", None).expect("parse");
        assert_eq!(c.get("lxc.rt-test.loaded").expect("get"), "7");
        Config::parse_str("lxc.rt-test.loaded = 1\n", None).expect("parse");
        Config::new().set("lxc.rt-test.loaded", "2").expect("set");
        assert_eq!(BEFORE_CONFIG_RUNS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn run_time_keys_and_extensions_answer_everywhere() {
        assert!(!registry::has_api_extension("rt_test_extension"));
        assert!(!registry::config_item_is_supported("lxc.rt-test.ext.value"));
        register_runtime(reg(
            "rt_test_extension",
            EntryKind::ApiExtension,
            vec![
                key(
                    KeyPattern::Exact("lxc.rt-test.ext.value"),
                    ValueKind::Single,
                ),
                key(
                    KeyPattern::Indexed {
                        prefix: "lxc.rt-test.ext.",
                        suffix: "item",
                    },
                    ValueKind::List,
                ),
                key(
                    KeyPattern::Prefix("lxc.rt-test.ext.any."),
                    ValueKind::Single,
                ),
            ],
        ))
        .expect("register");
        assert!(registry::has_api_extension("rt_test_extension"));
        assert!(registry::api_extensions().contains(&"rt_test_extension"));
        for k in [
            "lxc.rt-test.ext.value",
            "lxc.rt-test.ext.3.item",
            "lxc.rt-test.ext.any.thing",
        ] {
            assert!(registry::config_item_is_supported(k), "{k}");
        }
        assert!(!registry::config_item_is_supported(
            "lxc.rt-test.ext.x.item"
        ));
        let patterns = registry::supported_key_patterns();
        for p in [
            "lxc.rt-test.ext.value",
            "lxc.rt-test.ext.[i].item",
            "lxc.rt-test.ext.any.*",
        ] {
            assert!(patterns.iter().any(|k| k == p), "{p}");
        }
        let listed = crate::keys::list_keys(&Config::new(), None);
        assert!(listed.iter().any(|k| k == "lxc.rt-test.ext.value"));
        let info = key_info("lxc.rt-test.ext.2.item").expect("info");
        assert_eq!(info.registration, "rt_test_extension");
        assert_eq!(info.kind, ValueKind::List);

        // Set, print, clear, parse: the key's check normalizes, its kind decides.
        let mut c = Config::new();
        c.set("lxc.rt-test.ext.value", "0042").expect("set");
        c.set("lxc.rt-test.ext.value", "43").expect("set");
        assert_eq!(c.get("lxc.rt-test.ext.value").expect("get"), "43");
        c.set("lxc.rt-test.ext.0.item", "1").expect("set");
        c.set("lxc.rt-test.ext.0.item", "2").expect("set");
        assert_eq!(c.get("lxc.rt-test.ext.0.item").expect("get"), "1\n2\n");
        c.clear("lxc.rt-test.ext.0.item").expect("clear");
        assert_eq!(c.get("lxc.rt-test.ext.0.item").expect("get"), "");
        let c = Config::parse_str(
            "lxc.rt-test.ext.value = 5\nlxc.rt-test.ext.any.x = 06\n",
            None,
        )
        .expect("parse");
        assert_eq!(c.get("lxc.rt-test.ext.any.x").expect("get"), "6");
    }

    #[test]
    fn a_run_time_check_refuses_with_expected() {
        register_runtime(reg(
            "rt-test-check",
            EntryKind::Component,
            vec![key(
                KeyPattern::Exact("lxc.rt-test.check"),
                ValueKind::Single,
            )],
        ))
        .expect("register");
        let e = Config::new()
            .set("lxc.rt-test.check", "abc")
            .expect_err("refused");
        assert!(
            e.to_string()
                .ends_with("lxc.rt-test.check: invalid value \"abc\": expected a decimal number"),
            "{e}"
        );
        let e = Config::parse_str("lxc.rt-test.check = x1\n", None).expect_err("refused");
        assert!(
            e.to_string()
                .contains("lxc.rt-test.check: invalid value \"x1\": expected a decimal number"),
            "{e}"
        );
    }

    #[test]
    fn duplicates_are_refused_naming_both_owners() {
        let one = |name: &str, p: KeyPattern| {
            register_runtime(reg(
                name,
                EntryKind::Component,
                vec![key(p, ValueKind::Single)],
            ))
        };
        // Names: against a linked-in registration and a run-time one.
        assert_eq!(
            one("core", KeyPattern::Exact("lxc.rt-test.dup.a")),
            Err(
                "run-time registration \"core\": the name is already registered by the \
                 linked-in registration \"core\""
                    .into()
            )
        );
        one("rt-test-dup", KeyPattern::Exact("lxc.rt-test.dup.b")).expect("first");
        assert_eq!(
            one("rt-test-dup", KeyPattern::Exact("lxc.rt-test.dup.c")),
            Err(
                "run-time registration \"rt-test-dup\": the name is already registered by the \
                 run-time registration \"rt-test-dup\""
                    .into()
            )
        );
        // Keys: against a linked-in key, a run-time one, one the registration declared twice,
        // and a linked-in pattern that would always take the key.
        assert_eq!(
            one("rt-test-dup2", KeyPattern::Exact("lxc.uts.name")),
            Err(
                "run-time registration \"rt-test-dup2\": key lxc.uts.name is already \
                 registered by \"core\" (linked in)"
                    .into()
            )
        );
        assert_eq!(
            one("rt-test-dup2", KeyPattern::Exact("lxc.rt-test.dup.b")),
            Err(
                "run-time registration \"rt-test-dup2\": key lxc.rt-test.dup.b is already \
                 registered by \"rt-test-dup\" (loaded at run time)"
                    .into()
            )
        );
        assert_eq!(
            register_runtime(reg(
                "rt-test-dup2",
                EntryKind::Component,
                vec![
                    key(KeyPattern::Exact("lxc.rt-test.dup.d"), ValueKind::Single),
                    key(KeyPattern::Exact("lxc.rt-test.dup.d"), ValueKind::List),
                ],
            )),
            Err(
                "run-time registration \"rt-test-dup2\": key lxc.rt-test.dup.d is declared \
                 twice"
                    .into()
            )
        );
        let shadowed = one("rt-test-dup2", KeyPattern::Exact("lxc.sysctl.rt_test"));
        assert!(
            shadowed
                .as_ref()
                .is_err_and(|e| e.contains("would never be used: lxc.sysctl.* of \"core\"")),
            "{shadowed:?}"
        );
        assert!(one("rt-test-dup2", KeyPattern::Prefix("lxc.rt-test dup.")).is_err());
        // A refused registration left nothing behind: its name and keys are still free.
        assert!(!registry::config_item_is_supported("lxc.rt-test.dup.d"));
        one("rt-test-dup2", KeyPattern::Exact("lxc.rt-test.dup.d")).expect("free");
        assert!(registry::conflicts(&registry::registrations()).is_empty());
    }

    #[test]
    fn registering_while_others_look_up() {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..20 {
                        let k: &'static str = leak(&format!("lxc.rt-test.threads.{t}.{i}"));
                        register_runtime(reg(
                            &format!("rt-test-thread-{t}-{i}"),
                            EntryKind::Component,
                            vec![key(KeyPattern::Exact(k), ValueKind::Single)],
                        ))
                        .expect("register");
                        assert!(registry::config_item_is_supported(k));
                        assert!(registry::config_item_is_supported("lxc.uts.name"));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert!(registry::config_item_is_supported(
            "lxc.rt-test.threads.3.19"
        ));
    }
}
