//! The one registry every extension and component reports into.
//!
//! Entries are collected at link time with `linkme`: a crate that registers must be named from
//! the facade (`use lxc_ext_x as _;`) or the linker drops it, which is exactly what makes
//! `has_api_extension` true only when the code is really there.

use linkme::distributed_slice;

use crate::config::Config;
use crate::phase::{HookFn, Phase};

pub mod runtime;

/// Every registration linked into this binary.
#[distributed_slice]
pub static REGISTRY: [Registration];

/// Whether a registration is an API extension (listed in LXC's `doc/api-extensions.md`) or an
/// always-on component of the core that owns config keys but is not an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    ApiExtension,
    Component,
}

/// One crate's registration: its name, the keys it owns, the phases it hooks and the
/// command-socket requests it answers.
pub struct Registration {
    pub name: &'static str,
    pub kind: EntryKind,
    pub keys: &'static [KeyDef],
    pub hooks: &'static [PhaseHook],
    pub commands: &'static [CommandDef],
}

/// How a config key is matched against the names users write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPattern {
    /// The key itself, e.g. `lxc.uts.name`.
    Exact(&'static str),
    /// An indexed key such as `lxc.net.[i].type`: `prefix` is `lxc.net.`, `suffix` is `type`.
    /// An empty `suffix` matches the bare index, `lxc.net.[i]`.
    Indexed {
        prefix: &'static str,
        suffix: &'static str,
    },
    /// Any key below a prefix, e.g. `lxc.sysctl.` matches `lxc.sysctl.net.ipv4.ip_forward`.
    Prefix(&'static str),
}

impl KeyPattern {
    /// Does `key` match this pattern? For `Indexed`, returns the index too.
    pub fn matches(&self, key: &str) -> Option<Option<u32>> {
        match *self {
            KeyPattern::Exact(k) => (k == key).then_some(None),
            KeyPattern::Prefix(p) => key
                .strip_prefix(p)
                .filter(|rest| !rest.is_empty())
                .map(|_| None),
            KeyPattern::Indexed { prefix, suffix } => {
                let rest = key.strip_prefix(prefix)?;
                let (idx, sub) = match rest.split_once('.') {
                    Some((idx, sub)) if !suffix.is_empty() => (idx, sub),
                    None if suffix.is_empty() => (rest, ""),
                    _ => return None,
                };
                if sub != suffix || idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                // Any run of digits is an index: one too large for a u32 is still this key,
                // with an index past every limit, so the key's parser says "out of range"
                // instead of the key looking like one this build lacks.
                Some(Some(idx.parse::<u32>().unwrap_or(u32::MAX)))
            }
        }
    }

    /// How the pattern is written in documentation and `get_keys` listings.
    pub fn display(&self) -> String {
        match *self {
            KeyPattern::Exact(k) => k.to_string(),
            KeyPattern::Prefix(p) => format!("{p}*"),
            KeyPattern::Indexed { prefix, suffix: "" } => format!("{prefix}[i]"),
            KeyPattern::Indexed { prefix, suffix } => format!("{prefix}[i].{suffix}"),
        }
    }
}

/// Single keys keep their last value; list keys accumulate one entry per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Single,
    List,
}

/// Validates a raw value and returns the normalized form `get_config_item` prints.
/// The error string says what was expected ("an unsigned integer", "one of: ...").
pub type ParseFn = fn(key: &str, value: &str) -> Result<String, String>;
/// Prints a key the way LXC's `get_config_item` does.
pub type GetFn = fn(config: &Config, key: &str) -> String;
/// Removes what a key holds (for a bare key like `lxc.sysctl`, everything below it).
pub type ClearFn = fn(config: &mut Config, key: &str);

/// One config key (or key family) owned by a registration.
pub struct KeyDef {
    pub pattern: KeyPattern,
    pub kind: ValueKind,
    pub parse: ParseFn,
    /// `None`: a single key prints its last value, a list key prints each value followed by `\n`.
    pub get: Option<GetFn>,
    /// `None`: remove the entries whose key is exactly the one cleared.
    pub clear: Option<ClearFn>,
    /// One line for `--help`-style listings.
    pub doc: &'static str,
}

impl KeyDef {
    /// A single-valued key named exactly `name`, printed by `get`, cleared by removing it:
    /// what most keys are (a crate's table writes `KeyDef { clear: .., ..KeyDef::single(..) }`
    /// for the others).
    pub const fn single(
        name: &'static str,
        parse: ParseFn,
        get: GetFn,
        doc: &'static str,
    ) -> KeyDef {
        KeyDef {
            pattern: KeyPattern::Exact(name),
            kind: ValueKind::Single,
            parse,
            get: Some(get),
            clear: None,
            doc,
        }
    }
}

/// What a single-valued key prints: its last value, else `default` (LXC's default for it).
pub fn last_or(config: &Config, key: &str, default: &str) -> String {
    config.last(key).unwrap_or(default).to_string()
}

/// Checks a registration makes against the rest of the config for its keys, where a value's
/// meaning depends on other keys (LXC's network setters: `macvlan.mode` needs `type = macvlan`
/// first; a network that does not exist cannot be printed or cleared). The config engine runs
/// them before it applies, prints or clears one of `owner`'s keys; each error is the "expected
/// ..." text of an invalid-value error.
pub struct KeyRules {
    pub owner: &'static str,
    /// Before a value is applied (an empty one too). `Ok(Some(v))`: use `v` instead, as both
    /// the saved and the parsed value (a random MAC filled in once).
    pub set: fn(config: &Config, key: &str, value: &str) -> Result<Option<String>, String>,
    /// Before a key is printed.
    pub get: fn(config: &Config, key: &str) -> Result<(), String>,
    /// Before a key is cleared.
    pub clear: fn(config: &Config, key: &str) -> Result<(), String>,
    /// `get_keys` for prefixes starting with `.0`, answered by `.1` (`None`: LXC fails).
    pub subkeys: Option<(&'static str, SubkeysFn)>,
}

pub type SubkeysFn = fn(config: &Config, prefix: &str) -> Option<Vec<String>>;

/// The key rules linked in.
#[distributed_slice]
pub static KEY_RULES: [KeyRules];

/// The rules of a registration's keys, if it has any.
pub fn key_rules(owner: &str) -> Option<&'static KeyRules> {
    KEY_RULES.iter().find(|r| r.owner == owner)
}

/// What `set_config_item(key, "")` (or `key =` in a file) does to a key. Most of LXC's setters
/// clear the key then, but not all of them the way their clearer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnEmpty {
    /// What the key's clearer does.
    Clear,
    /// The key's own values go (it reads its default again), whatever the clearer does.
    Reset,
    /// The key holds this value in memory, with no line saved.
    Memory(&'static str),
    /// Refused; nothing changes.
    Reject(&'static str),
    /// Refused, but the key is cleared anyway (LXC clears before it refuses).
    ClearThenReject(&'static str),
}

/// A key whose empty value does something else than [`OnEmpty::Clear`], declared by the
/// registration that owns it (`owner`). `pattern` is the pattern of the key's [`KeyDef`].
pub struct EmptyValueRule {
    pub owner: &'static str,
    pub pattern: KeyPattern,
    pub rule: OnEmpty,
}

/// The empty-value rules linked in.
#[distributed_slice]
pub static EMPTY_VALUE_RULES: [EmptyValueRule];

/// What an empty value does to a key of `owner` resolved to `pattern`, if its owner says.
pub fn empty_value_rule(owner: &str, pattern: KeyPattern) -> Option<OnEmpty> {
    EMPTY_VALUE_RULES
        .iter()
        .find(|r| r.owner == owner && r.pattern == pattern)
        .map(|r| r.rule)
}

/// A request a child-side hook sends the monitor mid-start (`ChildLink::ask`), answered by
/// `handler` in the monitor with the start's context: work only the host side can do (an
/// idmapped mount fd, a network device moved in) and fds back.
pub struct StartRequestDef {
    pub owner: &'static str,
    pub name: &'static str,
    pub handler: StartRequestFn,
}

pub type StartRequestFn = fn(
    &mut crate::phase::HookCtx<'_>,
    &[u8],
    Vec<std::os::fd::OwnedFd>,
) -> Result<(Vec<u8>, Vec<std::os::fd::OwnedFd>), crate::error::Error>;

/// The start requests linked in.
#[distributed_slice]
pub static START_REQUESTS: [StartRequestDef];

/// The handler of a start request, if one is linked in.
pub fn start_request(name: &str) -> Option<&'static StartRequestDef> {
    START_REQUESTS.iter().find(|r| r.name == name)
}

/// What a [`KeyCheck`] needs to know besides the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    /// The value alone decides: the same answer on every host. `start` runs these first, so a
    /// container that cannot start fails before anything is made.
    Static,
    /// The value against this host's kernel limits (`fs.nr_open`, `kernel.pty.max`): run by
    /// `config check`; at start the kernel itself refuses.
    Host,
}

/// A check that a value the key's parser accepted (as LXC's setter does) can work when the
/// container starts: LXC takes `lxc.signal.halt = 99999` or `lxc.prlimit.nofile = 10:5` and
/// fails only later. `pattern` is the pattern of the [`KeyDef`] the check belongs to (the check
/// runs on the keys that resolve to that definition); the error is the "expected ..." text.
pub struct KeyCheck {
    pub owner: &'static str,
    pub pattern: KeyPattern,
    pub scope: CheckScope,
    pub check: fn(key: &str, value: &str) -> Result<(), String>,
}

/// The key checks linked in. A crate that owns keys (or reads keys the core owns, as the cgroup
/// driver reads `lxc.cgroup.*`) adds its checks here.
#[distributed_slice]
pub static KEY_CHECKS: [KeyCheck];

/// The checks of the key definition `pattern`, in `scopes`.
pub fn key_checks(
    pattern: KeyPattern,
    scopes: &[CheckScope],
) -> impl Iterator<Item = &'static KeyCheck> + '_ {
    KEY_CHECKS
        .iter()
        .filter(move |c| c.pattern == pattern && scopes.contains(&c.scope))
}

/// A subsystem's part in attach: `prepare` runs in the caller before the fork (it may
/// allocate, open files, ask the monitor) and returns the step the attached process applies
/// (`None`: nothing to do for this container). Hooks run by ascending `order`.
pub struct AttachHook {
    pub owner: &'static str,
    pub order: i32,
    pub prepare: AttachPrepareFn,
}

pub type AttachPrepareFn =
    fn(
        &crate::attach::AttachCtx<'_>,
    ) -> Result<Option<Box<dyn crate::attach::AttachApply>>, crate::error::Error>;

/// The attach hooks linked in.
#[distributed_slice]
pub static ATTACH_HOOKS: [AttachHook];

/// The code behind [`Container::mount`](crate::Container::mount) and
/// [`Container::umount`](crate::Container::umount): mounts made in, and removed from, a running
/// container (the API extension `mount_injection`). Without one linked in, both calls fail
/// with EOPNOTSUPP naming the extension.
pub struct MountInjector {
    pub owner: &'static str,
    pub mount: fn(&crate::Container, &crate::inject::MountRequest<'_>) -> Result<(), crate::Error>,
    pub umount: fn(&crate::Container, &std::path::Path, i32) -> Result<(), crate::Error>,
}

/// The mount injectors linked in (at most one).
#[distributed_slice]
pub static MOUNT_INJECTORS: [MountInjector];

/// A start-phase hook: `run` is called in `phase`, hooks of one phase ordered by `order`.
pub struct PhaseHook {
    pub phase: Phase,
    pub order: i32,
    pub run: HookFn,
}

/// A command-socket request this registration answers. The lifecycle layer routes requests by
/// `name`; `handler` gets the request body and returns the response body.
pub struct CommandDef {
    pub name: &'static str,
    pub handler: crate::phase::CommandFn,
}

/// All registrations linked in, in a stable order (by name).
pub fn registrations() -> Vec<&'static Registration> {
    let mut all: Vec<&'static Registration> = REGISTRY.iter().collect();
    all.sort_by_key(|r| r.name);
    all
}

/// The API extensions linked in or implemented by a loaded plugin, sorted.
pub fn api_extensions() -> Vec<&'static str> {
    runtime::ensure_loaded();
    let mut all: Vec<&'static str> = registrations()
        .into_iter()
        .filter(|r| r.kind == EntryKind::ApiExtension)
        .map(|r| r.name)
        .chain(
            runtime::registrations()
                .into_iter()
                .filter(|(_, kind)| *kind == EntryKind::ApiExtension)
                .map(|(name, _)| name),
        )
        .collect();
    all.sort_unstable();
    all
}

/// True exactly when the extension's code is in this process: linked into this binary, or
/// implemented by a loaded plugin.
///
/// It does not load plugins for the question (the core asks it on every start, for names a
/// build may lack): an extension a plugin implements counts once plugins are loaded, which
/// [`api_extensions`] and any key of theirs make happen.
pub fn has_api_extension(name: &str) -> bool {
    has_extension(name)
}

fn linked_extension(name: &str) -> bool {
    REGISTRY
        .iter()
        .any(|r| r.kind == EntryKind::ApiExtension && r.name == name)
}

/// [`has_api_extension`] without loading plugins (for the registry's own questions, which may
/// be asked while they load).
fn has_extension(name: &str) -> bool {
    linked_extension(name) || runtime::has_extension(name)
}

/// A key resolved against the registry.
#[derive(Clone, Copy)]
pub struct ResolvedKey {
    pub def: &'static KeyDef,
    pub owner: &'static str,
    pub index: Option<u32>,
}

/// What the registry knows about a key name.
pub enum Lookup {
    Supported(ResolvedKey),
    /// A key LXC defines whose code is not linked into this build; names what provides it.
    NotInBuild {
        provider: &'static str,
    },
    Unknown,
}

/// The registry's keys, indexed once: exact keys by name, the indexed and prefix patterns in
/// registration order. Loading a config resolves every line, so this is on the hot path.
struct KeyIndex {
    exact: std::collections::HashMap<&'static str, (&'static KeyDef, &'static str)>,
    /// Indexed and prefix patterns by family (`net` for `lxc.net.[i].type`), so that a key is
    /// tried against its own family's patterns only.
    families: std::collections::HashMap<&'static str, Vec<(&'static KeyDef, &'static str)>>,
    /// Patterns whose family is not a whole word (`lxc.cgr*`): tried for every key.
    other: Vec<(&'static KeyDef, &'static str)>,
}

/// A key's family: the word after `lxc.` (`lxc.cgroup.memory.max` -> `cgroup`).
fn key_family(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("lxc.")?;
    Some(rest.split('.').next().unwrap_or(rest))
}

/// A pattern's family, when its fixed part holds the whole word (`lxc.net.` or `lxc.net.[i]`).
fn pattern_family(pattern: &KeyPattern) -> Option<&'static str> {
    let fixed = match *pattern {
        KeyPattern::Prefix(p) => p,
        KeyPattern::Indexed { prefix, .. } => prefix,
        KeyPattern::Exact(k) => k,
    };
    let rest = fixed.strip_prefix("lxc.")?;
    let (word, _) = rest.split_once('.')?;
    Some(word)
}

fn key_index() -> &'static KeyIndex {
    static INDEX: std::sync::OnceLock<KeyIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = KeyIndex {
            exact: std::collections::HashMap::new(),
            families: std::collections::HashMap::new(),
            other: Vec::new(),
        };
        for reg in REGISTRY.iter() {
            for def in reg.keys {
                match def.pattern {
                    // The first registration of a key wins, as in a linear search.
                    KeyPattern::Exact(k) => {
                        index.exact.entry(k).or_insert((def, reg.name));
                    }
                    ref p => match pattern_family(p) {
                        Some(f) => index.families.entry(f).or_default().push((def, reg.name)),
                        None => index.other.push((def, reg.name)),
                    },
                }
            }
        }
        index
    })
}

/// Resolve a key: exact matches win over indexed ones, indexed over prefixes, and a longer
/// prefix over a shorter one (so `lxc.cgroup.dir` is not taken for a `lxc.cgroup.*` setting).
/// The link-time layer answers first; the keys of loaded plugins (see [`runtime`]) are
/// consulted only when it has no definition, so looking up a linked-in key costs what it did
/// before plugins existed.
pub fn lookup(key: &str) -> Lookup {
    match lookup_linked(key) {
        found @ Lookup::Supported(_) => found,
        missed => {
            // A key the linked code does not know: the plugins may bring it (they load now,
            // once, in this process: decisions 74).
            runtime::ensure_loaded();
            runtime::lookup(key).map_or(missed, Lookup::Supported)
        }
    }
}

/// [`lookup`] in the link-time layer alone.
fn lookup_linked(key: &str) -> Lookup {
    let index = key_index();
    if let Some(&(def, owner)) = index.exact.get(key) {
        return Lookup::Supported(ResolvedKey {
            def,
            owner,
            index: None,
        });
    }
    let mut best: Option<(u8, usize, ResolvedKey)> = None;
    let family = key_family(key)
        .and_then(|f| index.families.get(f))
        .map_or(&[][..], Vec::as_slice);
    for &(def, owner) in family.iter().chain(&index.other) {
        let Some(idx) = def.pattern.matches(key) else {
            continue;
        };
        let rank = match def.pattern {
            KeyPattern::Exact(_) => (3, 0),
            KeyPattern::Indexed { .. } => (2, 0),
            KeyPattern::Prefix(p) => (1, p.len()),
        };
        if best
            .as_ref()
            .is_none_or(|(r, l, _)| (rank.0, rank.1) > (*r, *l))
        {
            best = Some((
                rank.0,
                rank.1,
                ResolvedKey {
                    def,
                    owner,
                    index: idx,
                },
            ));
        }
    }
    let lacks = |provider: &str| {
        provider
            .strip_prefix("feature ")
            .is_some_and(|ext| !has_extension(ext))
    };
    // LXC's table's answer, read at most once (a scan of all its keys).
    let mut provider = None;
    if let Some((rank, _, r)) = best {
        // A family prefix (`lxc.cgroup.`) does not take a key LXC gives to an extension this
        // build lacks (`lxc.cgroup.dir.monitor`, cgroup_advanced_isolation): that key is "not in
        // this build", not a controller setting. Only a key some missing extension's table
        // entry could take needs the whole table's answer.
        let missing = rank == 1
            && crate::config::lxc_keys::maybe_unlinked_feature(key, linked_extension)
            && {
                provider = crate::config::lxc_keys::provider_of(key);
                provider.is_some_and(lacks)
            };
        if !missing {
            return Lookup::Supported(r);
        }
    }
    // Read above only when it named a missing extension: then it is `Some`.
    match provider.or_else(|| crate::config::lxc_keys::provider_of(key)) {
        Some(provider) => Lookup::NotInBuild { provider },
        None => Lookup::Unknown,
    }
}

/// `config_item_is_supported`: true exactly for keys whose code is linked in.
pub fn config_item_is_supported(key: &str) -> bool {
    matches!(lookup(key), Lookup::Supported(_))
}

/// Every key pattern linked in or registered by a loaded plugin, sorted, as `get_keys` lists
/// them.
pub fn supported_key_patterns() -> Vec<String> {
    runtime::ensure_loaded();
    let mut keys: Vec<String> = REGISTRY
        .iter()
        .flat_map(|r| r.keys.iter().map(|k| k.pattern.display()))
        .chain(runtime::keys().into_iter().map(|k| k.pattern.display()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The hooks of one phase, in order.
pub fn hooks_for(phase: Phase) -> Vec<(&'static str, &'static PhaseHook)> {
    let mut hooks: Vec<(&'static str, &'static PhaseHook)> = REGISTRY
        .iter()
        .flat_map(|r| r.hooks.iter().map(move |h| (r.name, h)))
        .filter(|(_, h)| h.phase == phase)
        .collect();
    hooks.sort_by_key(|(name, h)| (h.order, *name));
    hooks
}

/// The handler for a command-socket request, if any registration answers it.
pub fn command(name: &str) -> Option<(&'static str, &'static CommandDef)> {
    REGISTRY
        .iter()
        .flat_map(|r| r.commands.iter().map(move |c| (r.name, c)))
        .find(|(_, c)| c.name == name)
}

/// Two registrations claiming one thing: a name, a key pattern or a command. The first linked
/// would silently win (lookups take the first match), so such a build is refused by its tests
/// (`lxc/tests/registry.rs`) and, for plugins loaded at run time, when they load
/// ([`runtime::register_runtime`]); the run-time layer's registrations are checked against
/// `regs` here too.
pub fn conflicts(regs: &[&Registration]) -> Vec<String> {
    use std::collections::HashMap;
    let mut out = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut keys: HashMap<String, &str> = HashMap::new();
    let mut commands: HashMap<&str, &str> = HashMap::new();
    for r in regs {
        let n = names.entry(r.name).or_default();
        *n += 1;
        if *n == 2 {
            out.push(format!(
                "registration name {:?} is registered twice",
                r.name
            ));
        }
        for k in r.keys {
            let p = k.pattern.display();
            if let Some(first) = keys.insert(p.clone(), r.name) {
                out.push(format!(
                    "key {p} is registered by both {first} and {}",
                    r.name
                ));
            }
        }
        for c in r.commands {
            if let Some(first) = commands.insert(c.name, r.name) {
                out.push(format!(
                    "command {} is registered by both {first} and {}",
                    c.name, r.name
                ));
            }
        }
    }
    runtime::conflicts(&names, &keys, &mut out);
    out
}

/// Start requests whose name two handlers claim (the first would win, silently).
pub fn start_request_conflicts(defs: &[&StartRequestDef]) -> Vec<String> {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    defs.iter()
        .filter_map(|d| {
            seen.insert(d.name, d.owner).map(|first| {
                format!(
                    "start request {} is registered by both {first} and {}",
                    d.name, d.owner
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod conflict_tests {
    use super::*;

    fn parse(_: &str, v: &str) -> Result<String, String> {
        Ok(v.to_string())
    }
    fn cmd(
        _: &mut crate::phase::CommandCtx<'_>,
        _: &[u8],
    ) -> Result<Vec<u8>, crate::phase::CommandError> {
        Ok(Vec::new())
    }
    const fn key(pattern: KeyPattern) -> KeyDef {
        KeyDef {
            pattern,
            kind: ValueKind::Single,
            parse,
            get: None,
            clear: None,
            doc: "",
        }
    }
    static A_KEYS: [KeyDef; 2] = [
        key(KeyPattern::Exact("lxc.a")),
        key(KeyPattern::Indexed {
            prefix: "lxc.n.",
            suffix: "x",
        }),
    ];
    static B_KEYS: [KeyDef; 1] = [key(KeyPattern::Indexed {
        prefix: "lxc.n.",
        suffix: "x",
    })];
    static CMDS: [CommandDef; 1] = [CommandDef {
        name: "a.get",
        handler: cmd,
    }];
    static A: Registration = Registration {
        name: "a",
        kind: EntryKind::ApiExtension,
        keys: &A_KEYS,
        hooks: &[],
        commands: &CMDS,
    };
    static B: Registration = Registration {
        name: "b",
        kind: EntryKind::ApiExtension,
        keys: &B_KEYS,
        hooks: &[],
        commands: &CMDS,
    };
    static A_AGAIN: Registration = Registration {
        name: "a",
        kind: EntryKind::Component,
        keys: &[],
        hooks: &[],
        commands: &[],
    };

    #[test]
    fn any_run_of_digits_is_an_index() {
        let p = KeyPattern::Indexed {
            prefix: "lxc.net.",
            suffix: "type",
        };
        assert_eq!(p.matches("lxc.net.7.type"), Some(Some(7)));
        assert_eq!(p.matches("lxc.net.4294967295.type"), Some(Some(u32::MAX)));
        // Past u32: still this key, at an index past every limit (refused as out of range).
        assert_eq!(p.matches("lxc.net.99999999999.type"), Some(Some(u32::MAX)));
        assert_eq!(p.matches("lxc.net.1x.type"), None);
        assert_eq!(p.matches("lxc.net..type"), None);
    }

    #[test]
    fn finds_every_kind_of_conflict() {
        assert!(conflicts(&[&A]).is_empty());
        let c = conflicts(&[&A, &B, &A_AGAIN]);
        assert_eq!(
            c,
            vec![
                "key lxc.n.[i].x is registered by both a and b".to_string(),
                "command a.get is registered by both a and b".to_string(),
                "registration name \"a\" is registered twice".to_string(),
            ]
        );
    }
}
