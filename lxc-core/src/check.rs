//! Static validation of a loaded config: does every value the key parsers accepted also work
//! when the container starts?
//!
//! LXC's setters take some values that can only fail later (`lxc.signal.halt = 99999`,
//! `lxc.prlimit.nofile = 10:5`, `lxc.prlimit.bogus`), and lxc-rs accepts them at set time too,
//! so `get`/`set`/`save` answer like liblxc. The checks that catch them are registered per key
//! definition ([`registry::KeyCheck`]): the core's in [`crate::keys::check`], the cgroup
//! driver's beside its code. `config check` runs all of them; `start` runs the
//! [`CheckScope::Static`] ones before it makes anything.

use std::path::Path;

use crate::config::{unquote, Config};
use crate::error::Error;
use crate::registry::{self, CheckScope, Lookup, ValueKind};

/// Every problem the checks of `scopes` find in the values in use, in config order. A single
/// key is checked at its last value only (the one in use); list keys at every value.
pub fn check_config(config: &Config, scopes: &[CheckScope]) -> Vec<Error> {
    let entries: Vec<_> = config.entries().collect();
    let mut seen = std::collections::HashSet::new();
    // Positions of the values in use of single keys: the last entry of each key.
    let mut last = vec![false; entries.len()];
    for (i, e) in entries.iter().enumerate().rev() {
        if seen.insert(e.key.as_str()) {
            last[i] = true;
        }
    }
    let mut problems = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        // An empty value clears or resets: nothing to check.
        if e.value.is_empty() {
            continue;
        }
        let Lookup::Supported(r) = registry::lookup(&e.key) else {
            continue;
        };
        if r.def.kind == ValueKind::Single && !last[i] {
            continue;
        }
        for c in registry::key_checks(r.def.pattern, scopes) {
            if let Err(expected) = (c.check)(&e.key, &e.value) {
                problems.push(Error::Unusable {
                    key: e.key.clone(),
                    value: unquote(&e.raw).to_string(),
                    origin: e.origin.clone(),
                    expected,
                });
            }
        }
    }
    problems
}

/// What `start` checks before it makes anything: the static checks, as one error that lists
/// every problem (`path` names the config in the error's first line).
pub fn check_startable(config: &Config, path: &Path) -> Result<(), Error> {
    let errors = check_config(config, &[CheckScope::Static]);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Config {
            path: path.to_path_buf(),
            errors,
        })
    }
}
