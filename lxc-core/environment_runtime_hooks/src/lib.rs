//! API extension `environment_runtime_hooks` (LXC 7.0): `lxc.environment.runtime` sets
//! variables for the container's init (and the processes `attach` starts) only, and
//! `lxc.environment.hooks` for the hook scripts only, while `lxc.environment` still reaches
//! both.
//!
//! The registration below is everything this crate does: its two keys, parsed, printed and
//! cleared as LXC main does for `lxc.environment` (`NAME=VALUE`, or a bare `NAME` to take the
//! caller's value; an empty value clears the list), and their scopes in the core's
//! `ENV_KEYS`, which the start (init's environment), attach and the hook runner read. As in
//! LXC, the hooks the container's first process runs (pre-mount, mount, autodev, start) get
//! them; the monitor's hooks (pre-start, start-host, stop, post-stop) run in the monitor's own
//! environment.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::keys::ops::get_lines;
use lxc_core::keys::parse::environment;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyDef, KeyPattern, Registration, ValueKind, REGISTRY};
use lxc_core::start::spec::{EnvKey, EnvScope, ENV_KEYS};

/// The registration's name.
pub const NAME: &str = "environment_runtime_hooks";
/// Variables for init and attached processes only.
pub const RUNTIME: &str = "lxc.environment.runtime";
/// Variables for hook scripts only.
pub const HOOKS: &str = "lxc.environment.hooks";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static ENVIRONMENT_RUNTIME_HOOKS: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[
        key(
            RUNTIME,
            "NAME=VALUE for the container's init only (not hooks), or NAME to pass the caller's",
        ),
        key(
            HOOKS,
            "NAME=VALUE for hook scripts only (not init), or NAME to pass the caller's",
        ),
    ],
    hooks: &[],
    commands: &[],
};

#[distributed_slice(ENV_KEYS)]
#[linkme(crate = lxc_core::linkme)]
static RUNTIME_SCOPE: EnvKey = EnvKey {
    key: RUNTIME,
    scope: EnvScope::Init,
};

#[distributed_slice(ENV_KEYS)]
#[linkme(crate = lxc_core::linkme)]
static HOOKS_SCOPE: EnvKey = EnvKey {
    key: HOOKS,
    scope: EnvScope::Hooks,
};

const fn key(name: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        pattern: KeyPattern::Exact(name),
        kind: ValueKind::List,
        parse: environment,
        get: Some(get_lines),
        clear: None,
        doc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lxc_core::config::Config;
    use lxc_core::start::spec;

    #[test]
    fn scopes_keep_their_variables_apart() {
        let mut c = Config::new();
        c.set("lxc.environment", "BOTH=1").unwrap();
        c.set(RUNTIME, "RUN=2").unwrap();
        c.set(RUNTIME, "BOTH=run").unwrap();
        c.set(HOOKS, "HOOK=3").unwrap();
        assert_eq!(c.get(RUNTIME).unwrap(), "RUN=2\nBOTH=run\n");
        assert_eq!(c.get(HOOKS).unwrap(), "HOOK=3\n");
        assert_eq!(
            spec::environment(&c),
            ["container=lxc", "RUN=2", "BOTH=run"]
        );
        assert_eq!(
            spec::environment_entries(&c, EnvScope::Hooks),
            ["BOTH=1", "HOOK=3"]
        );
        // An empty value clears that key's list only, as LXC's setter does.
        c.set(RUNTIME, "").unwrap();
        assert_eq!(c.get(RUNTIME).unwrap(), "");
        assert_eq!(c.get(HOOKS).unwrap(), "HOOK=3\n");
        assert_eq!(spec::environment(&c), ["container=lxc", "BOTH=1"]);
    }
}
