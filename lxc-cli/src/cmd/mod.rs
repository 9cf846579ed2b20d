//! One module per command group. A lifecycle command (create, start, stop, ...) is added as a
//! new module here and a new variant of `crate::Command`.

pub mod attach;
pub mod autostart;
pub mod checkconfig;
pub mod checkpoint;
pub mod config;
pub mod console;
pub mod copy;
pub mod create;
pub mod device;
pub mod extensions;
pub mod info;
pub mod ls;
pub mod monitor;
pub mod mount;
pub mod running;
pub mod snapshot;
pub mod start;
pub mod stop;
pub mod top;
pub mod unshare;
pub mod update_config;
pub mod usernsexec;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::CliError;
use crate::Global;

/// Write a command's whole output to stdout at once.
pub fn print(text: &str) -> Result<(), CliError> {
    print_bytes(text.as_bytes())
}

/// Bytes to stdout as they are (config values need not be UTF-8).
pub fn print_bytes(text: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text)
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// Pretty JSON followed by a newline.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    print(&s)
}

/// The `-n` name, which the command needs.
pub fn need_name(g: &Global) -> Result<&str, CliError> {
    g.name
        .as_deref()
        .ok_or_else(|| CliError::Usage("this command needs a container name (-n NAME)".into()))
}

/// `-P`, else LXC's default lxcpath.
pub fn lxcpath(g: &Global) -> PathBuf {
    g.lxcpath.clone().unwrap_or_else(lxc::default_lxcpath)
}

/// A handle on `name` under `lxcpath` that has not read the container's config: for the
/// commands that only talk to its monitor or look at its directory, so that a config file
/// edited into something broken while the container runs does not keep anyone from stopping it.
pub fn bare_handle(name: &str, lxcpath: &Path) -> Result<lxc::Container, CliError> {
    Ok(lxc::Container::new_unloaded(name, Some(lxcpath))?)
}

/// The container `-n` names, config not read (see [`bare_handle`]).
pub fn handle(g: &Global) -> Result<lxc::Container, CliError> {
    bare_handle(need_name(g)?, &lxcpath(g))
}

/// The container `-n` names with the config a start uses: the `-f` file if given, else its
/// own (none when it is not defined), then the `-s` overrides.
pub fn with_config(g: &Global) -> Result<lxc::Container, CliError> {
    let mut c = handle(g)?;
    match &g.rcfile {
        // Like lxc-start -f: the file is the config, and hooks see it as LXC_CONFIG_FILE.
        Some(f) => c.set_config_file(f)?,
        None if c.defined()? => c.load_config(None)?,
        None => {}
    }
    if let Some(e) = apply_defines(c.config_mut(), &g.define).into_iter().next() {
        return Err(e.into());
    }
    Ok(c)
}

/// Apply `-s KEY=VALUE` overrides in order; each problem names `-s:<n>` as its origin.
pub fn apply_defines(config: &mut lxc::Config, defines: &[(String, String)]) -> Vec<lxc::Error> {
    defines
        .iter()
        .enumerate()
        .filter_map(|(i, (k, v))| {
            let origin = lxc::Origin::file("-s", i + 1);
            config.set_at(k, v, origin, false).err()
        })
        .collect()
}

/// LXC's timeouts in seconds: -1 (or any negative) waits forever.
pub fn timeout(secs: i64) -> Option<Duration> {
    u64::try_from(secs).ok().map(Duration::from_secs)
}
