//! `lxc-rs config ...`: check a config file, read and change a container's config items (like
//! the API's get/set/clear_config_item, saving the file), list keys, and read LXC's global
//! config (like `lxc-config`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::error::CliError;
use crate::{ConfigOpts, Global};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load a config file and report every problem in it, with file:line: values that do not
    /// parse, and values that parse but cannot work at start (signals, limits, key names)
    #[command(
        after_help = "Examples:\n  lxc-rs config check /var/lib/lxc/web/config\n  \
                            lxc-rs config check -n web -s lxc.tty.max=4 --json"
    )]
    Check(CheckArgs),

    /// Print a config item of a container (or of the file given with -f)
    #[command(after_help = "Example:\n  lxc-rs config get -P /srv/lxc -n web lxc.uts.name")]
    Get(GetArgs),

    /// Set a config item and save the config file
    #[command(after_help = "Example:\n  lxc-rs config set -n web lxc.tty.max 4")]
    Set(SetArgs),

    /// Clear a config item and save the config file
    #[command(after_help = "Example:\n  lxc-rs config clear -n web lxc.tty.max")]
    Clear(GetArgs),

    /// List the config keys this build supports, optionally below a prefix
    #[command(after_help = "Example:\n  lxc-rs config keys lxc.sysctl")]
    Keys(KeysArgs),

    /// Print an item of LXC's global config (like lxc-config); without KEY, list the items
    #[command(after_help = "Example:\n  lxc-rs config global lxc.lxcpath")]
    Global(GlobalArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config file (default: the -f file, else the container's config)
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub opts: ConfigOpts,
    /// Print {"file", "ok", "problems": [{"file", "line", "key", "expected", "message"}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The config key, e.g. lxc.uts.name
    pub key: String,
    #[command(flatten)]
    pub opts: ConfigOpts,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The config key, e.g. lxc.tty.max
    pub key: String,
    /// The value; an empty value clears the key, as in LXC. Any bytes, not only UTF-8. A
    /// negative number needs no `--` (`config set -n web lxc.signal.stop -1` is refused by
    /// the key, not by the command line)
    #[arg(allow_negative_numbers = true)]
    pub value: std::ffi::OsString,
    #[command(flatten)]
    pub opts: ConfigOpts,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Only keys starting with this, e.g. lxc.net.0
    pub prefix: Option<String>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A global key, e.g. lxc.lxcpath
    pub key: Option<String>,
}

impl ConfigCommand {
    pub fn label(&self) -> &'static str {
        match self {
            ConfigCommand::Check(_) => "config check",
            ConfigCommand::Get(_) => "config get",
            ConfigCommand::Set(_) => "config set",
            ConfigCommand::Clear(_) => "config clear",
            ConfigCommand::Keys(_) => "config keys",
            ConfigCommand::Global(_) => "config global",
        }
    }

    /// The `-f`/`-s` given after the command, if it takes them.
    pub fn opts(&self) -> Option<&ConfigOpts> {
        match self {
            ConfigCommand::Check(a) => Some(&a.opts),
            ConfigCommand::Get(a) | ConfigCommand::Clear(a) => Some(&a.opts),
            ConfigCommand::Set(a) => Some(&a.opts),
            ConfigCommand::Keys(_) | ConfigCommand::Global(_) => None,
        }
    }

    pub fn subject(&self, g: &Global) -> Option<String> {
        let file = || g.rcfile.as_ref().map(|p| p.display().to_string());
        match self {
            ConfigCommand::Check(a) => a
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .or_else(file)
                .or_else(|| g.name.clone()),
            ConfigCommand::Global(a) => a.key.clone(),
            _ => g.name.clone().or_else(file),
        }
    }
}

pub fn run(cmd: &ConfigCommand, g: &Global) -> Result<ExitCode, CliError> {
    match cmd {
        ConfigCommand::Check(a) => check(a, g),
        ConfigCommand::Get(a) => {
            let t = Target::open(g, true)?;
            let mut v = t.config().get(&a.key)?;
            if !v.is_empty() && !v.ends_with('\n') {
                v.push('\n');
            }
            // The value's own bytes, which need not be UTF-8.
            super::print_bytes(&lxc::config_bytes::encode(&v))?;
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Set(a) => {
            no_defines(g, "config set")?;
            edit(g, |c| c.set(&a.key, &lxc::config_bytes::from_os(&a.value)))?;
            // LXC's setter takes the value, and so does this (the file is saved); what cannot
            // work at start is said now rather than at the next start or stop.
            let t = Target::open(g, false)?;
            for e in lxc::check::check_config(
                t.config(),
                &[
                    lxc::registry::CheckScope::Static,
                    lxc::registry::CheckScope::Host,
                ],
            ) {
                if matches!(&e, lxc::Error::Unusable { key, .. } if *key == a.key) {
                    eprintln!("lxc-rs: config set: warning: {e}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Clear(a) => {
            no_defines(g, "config clear")?;
            edit(g, |c| c.clear(&a.key))
        }
        ConfigCommand::Keys(a) => {
            let keys = match &g.name {
                Some(name) => {
                    lxc::Container::new(name, g.lxcpath.as_deref())?.get_keys(a.prefix.as_deref())
                }
                None => lxc::registry::supported_key_patterns()
                    .into_iter()
                    .filter(|k| a.prefix.as_deref().is_none_or(|p| k.starts_with(p)))
                    .collect(),
            };
            super::print(&keys.iter().map(|k| format!("{k}\n")).collect::<String>())?;
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Global(a) => global(a),
    }
}

/// `-s` overrides are for one run; `set`/`clear` save the file, so they would end up in it.
fn no_defines(g: &Global, what: &str) -> Result<(), CliError> {
    if g.define.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{what} saves the config file: -s/--define is not allowed with it"
        )))
    }
}

/// Load, change and save the config a config command names (the container's, or `-f`'s):
/// for a container, under its lock from before the read to after the write, so that a
/// concurrent writer (another `config set`, or LXC's own tools) is neither lost nor loses.
fn edit(
    g: &Global,
    change: impl FnOnce(&mut lxc::Config) -> lxc::Result<()>,
) -> Result<ExitCode, CliError> {
    match (&g.name, &g.rcfile) {
        (Some(name), rcfile) => {
            let mut c = lxc::Container::new_unloaded(name, g.lxcpath.as_deref())?;
            if rcfile.is_none() {
                // Before the lock: "not defined" or "permission denied" about the container,
                // not about a lock directory.
                c.require_defined()?;
            }
            let _lock = c.lock_config()?;
            c.load_config(rcfile.as_deref())?;
            change(c.config_mut())?;
            c.save_config(rcfile.as_deref())?;
        }
        (None, Some(f)) => {
            let mut config = lxc::Config::load(f)?;
            change(&mut config)?;
            config.save(f)?;
        }
        (None, None) => {
            return Err(CliError::Usage(
                "this command needs a container (-n NAME) or a config file (-f FILE)".into(),
            ))
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a config command reads: a container's config (`-n`, maybe loaded from `-f`), or a
/// plain config file (`-f` alone).
enum Target {
    Container(Box<lxc::Container>),
    File(lxc::Config),
}

impl Target {
    fn open(g: &Global, apply_defines: bool) -> Result<Target, CliError> {
        let mut t = match (&g.name, &g.rcfile) {
            (Some(name), rcfile) => {
                let mut c = lxc::Container::new(name, g.lxcpath.as_deref())?;
                match rcfile {
                    Some(f) => c.load_config(Some(f))?,
                    None => c.require_defined()?,
                }
                Target::Container(Box::new(c))
            }
            (None, Some(f)) => Target::File(lxc::Config::load(f)?),
            (None, None) => {
                return Err(CliError::Usage(
                    "this command needs a container (-n NAME) or a config file (-f FILE)".into(),
                ))
            }
        };
        if apply_defines {
            if let Some(e) = super::apply_defines(t.config_mut(), &g.define)
                .into_iter()
                .next()
            {
                return Err(e.into());
            }
        }
        Ok(t)
    }

    fn config(&self) -> &lxc::Config {
        match self {
            Target::Container(c) => c.config(),
            Target::File(config) => config,
        }
    }

    fn config_mut(&mut self) -> &mut lxc::Config {
        match self {
            Target::Container(c) => c.config_mut(),
            Target::File(config) => config,
        }
    }
}

/// One problem of `config check --json`.
#[derive(Debug, Serialize)]
struct Problem {
    file: Option<String>,
    line: Option<usize>,
    key: Option<String>,
    expected: Option<String>,
    message: String,
}

#[derive(Debug, Serialize)]
struct CheckReport {
    file: String,
    ok: bool,
    problems: Vec<Problem>,
}

fn problem(e: &lxc::Error) -> Problem {
    use lxc::Error as E;
    let (origin, key, expected): (Option<&lxc::Origin>, Option<&str>, Option<&str>) = match e {
        E::Syntax { origin, text } => (
            Some(origin),
            text.split_whitespace().next(),
            Some("`lxc.key = value`"),
        ),
        E::UnknownKey { key, origin } | E::NotInBuild { key, origin, .. } => {
            (Some(origin), Some(key), None)
        }
        E::InvalidValue {
            key,
            origin,
            expected,
            ..
        }
        | E::Unusable {
            key,
            origin,
            expected,
            ..
        } => (Some(origin), Some(key), Some(expected)),
        E::Include { origin, .. }
        | E::IncludeDepth { origin, .. }
        | E::IncludeLoop { origin, .. }
        | E::IncludeLimit { origin, .. } => (Some(origin), Some("lxc.include"), None),
        E::IncludeKind { origin, .. } => (
            Some(origin),
            Some("lxc.include"),
            Some("a regular file or a directory"),
        ),
        _ => (None, None, None),
    };
    // Every field is cut like the message, so a huge value cannot make a huge report.
    Problem {
        file: origin.and_then(|o| o.file.as_deref().map(lxc::config_bytes::shown_path)),
        line: origin.map(|o| o.line).filter(|&l| l > 0),
        key: key.map(lxc::config_bytes::shown),
        expected: expected.map(str::to_string),
        message: e.to_string(),
    }
}

fn check(a: &CheckArgs, g: &Global) -> Result<ExitCode, CliError> {
    let file: PathBuf = match (&a.file, &g.rcfile, &g.name) {
        (Some(f), _, _) | (None, Some(f), _) => f.clone(),
        (None, None, Some(name)) => {
            let lxcpath = g.lxcpath.clone().unwrap_or_else(lxc::default_lxcpath);
            lxcpath.join(name).join("config")
        }
        (None, None, None) => {
            return Err(CliError::Usage(
                "config check needs FILE, -f FILE or -n NAME".into(),
            ))
        }
    };
    // `load_into` keeps the lines that loaded, so the start checks below see them too.
    let mut config = lxc::Config::new();
    let mut errors = match config.load_into(&file) {
        Ok(()) => Vec::new(),
        // The file could not be read at all: that is the command failing, not a problem list.
        Err(e @ lxc::Error::Io { .. }) => return Err(e.into()),
        Err(e) => vec![e],
    };
    errors.extend(super::apply_defines(&mut config, &g.define));
    // What loads but cannot start: every check, this host's kernel limits included.
    errors.extend(lxc::check::check_config(
        &config,
        &[
            lxc::registry::CheckScope::Static,
            lxc::registry::CheckScope::Host,
        ],
    ));
    let problems: Vec<&lxc::Error> = errors.iter().flat_map(|e| e.problems()).collect();
    if a.json {
        super::print_json(&CheckReport {
            file: file.display().to_string(),
            ok: problems.is_empty(),
            problems: problems.iter().map(|e| problem(e)).collect(),
        })?;
    } else if problems.is_empty() {
        super::print(&format!("{}: ok\n", file.display()))?;
    } else {
        super::print(
            &problems
                .iter()
                .map(|e| format!("{e}\n"))
                .collect::<String>(),
        )?;
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn global(a: &GlobalArgs) -> Result<ExitCode, CliError> {
    match &a.key {
        None => {
            let keys: String = lxc::global::GLOBAL_KEYS
                .iter()
                .map(|(k, _)| format!("{k}\n"))
                .collect();
            super::print(&keys)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(key) => match lxc::get_global_config_item(key) {
            Some(v) => {
                super::print(&format!("{v}\n"))?;
                Ok(ExitCode::SUCCESS)
            }
            None => Err(CliError::UnknownGlobal(key.clone())),
        },
    }
}
