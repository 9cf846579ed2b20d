//! `lxc-rs start` and `lxc-rs execute`, like `lxc-start` and `lxc-execute`.

use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;
use crate::{ConfigOpts, Global};

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Stay in the foreground: this process is the monitor and init gets this terminal; the
    /// exit status is 0 once the container ran, whatever init's own, as lxc-start's
    #[arg(short = 'F', long, conflicts_with = "daemon")]
    pub foreground: bool,

    /// Run in the background (the default)
    #[arg(short = 'd', long)]
    pub daemon: bool,

    /// Close the fds lxc-rs inherited before starting (-F; a daemonised start always closes
    /// every fd of the caller's, and the container never gets any)
    #[arg(short = 'C', long = "close-all-fds")]
    pub close_all_fds: bool,

    /// Use FILE (a terminal) for the container console, as lxc-start -c (lxc.console.path)
    #[arg(short = 'c', long = "console", value_name = "FILE")]
    pub console: Option<std::path::PathBuf>,

    /// Append the container console's output to FILE (lxc.console.logfile)
    #[arg(short = 'L', long = "console-log", value_name = "FILE")]
    pub console_log: Option<std::path::PathBuf>,

    /// Write the monitor's pid into FILE; the file is removed when the container stops
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pub pidfile: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub share: ShareOpts,

    #[command(flatten)]
    pub opts: ConfigOpts,

    /// Run this as init instead of lxc.init.cmd (after `--` when it has options of its own)
    #[arg(trailing_var_arg = true, value_name = "INIT")]
    pub argv: Vec<String>,
}

/// lxc-start's and lxc-execute's `--share-net|ipc|uts|pid NAME|PID`: join that namespace of
/// another container (by name, under the same lxcpath) or of a process, instead of making
/// one. Each is `lxc.namespace.share.<ns>`, set after the config and its `-s` overrides.
#[derive(Debug, Clone, Default, Args)]
pub struct ShareOpts {
    /// Share the network namespace of this container or pid
    #[arg(long = "share-net", value_name = "NAME|PID")]
    pub net: Option<String>,

    /// Share the IPC namespace of this container or pid
    #[arg(long = "share-ipc", value_name = "NAME|PID")]
    pub ipc: Option<String>,

    /// Share the UTS namespace (hostname) of this container or pid
    #[arg(long = "share-uts", value_name = "NAME|PID")]
    pub uts: Option<String>,

    /// Share the PID namespace of this container or pid
    #[arg(long = "share-pid", value_name = "NAME|PID")]
    pub pid: Option<String>,
}

impl ShareOpts {
    /// Set `lxc.namespace.share.*` for each one given, as lxc-start's `lxc_setup_shared_ns`.
    fn apply(&self, c: &mut lxc::Container) -> Result<(), CliError> {
        for (ns, value) in [
            ("net", &self.net),
            ("ipc", &self.ipc),
            ("uts", &self.uts),
            ("pid", &self.pid),
        ] {
            if let Some(v) = value {
                c.set_config_item(&format!("lxc.namespace.share.{ns}"), v)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// Run the command in the background and exit 0 once it runs (lxc-execute -d)
    #[arg(short = 'd', long)]
    pub daemon: bool,

    /// Run the command as this uid inside the container (lxc.init.uid)
    #[arg(short = 'u', long, value_name = "UID")]
    pub uid: Option<u32>,

    /// Run the command as this gid inside the container (lxc.init.gid)
    #[arg(short = 'g', long, value_name = "GID")]
    pub gid: Option<u32>,

    #[command(flatten)]
    pub share: ShareOpts,

    #[command(flatten)]
    pub opts: ConfigOpts,

    /// The command and its arguments (after `--` when it has options of its own; default:
    /// lxc.execute.cmd)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
}

/// An exit status as the shell sees it: the code, or 128 + the signal.
fn exit_code(exit: lxc::Exit) -> ExitCode {
    ExitCode::from(u8::try_from(exit.status()).unwrap_or(u8::MAX))
}

/// lxc-start exits 0 for a container that already runs, saying so (its ERROR line); so does
/// this, for one LXC's own tools run too.
fn already_running(e: lxc::Error, g: &Global) -> Result<ExitCode, CliError> {
    match e {
        lxc::Error::AlreadyRunning { .. } | lxc::Error::RunByLxc { .. } => {
            if !g.quiet {
                let who = crate::lxc_names::speaker("start", g.name.as_deref());
                eprintln!("{who}: {}", CliError::from(e).user_message());
            }
            Ok(ExitCode::SUCCESS)
        }
        e => Err(e.into()),
    }
}

pub fn start(a: &StartArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::with_config(g)?;
    // lxc-start refuses a container with no config before it applies `-s` ("No container
    // config specified"): `-s` alone would start it on the host's filesystem.
    if !c.is_defined() {
        return Err(lxc::Error::NotDefined {
            name: c.name().to_string(),
            lxcpath: c.config_path().to_path_buf(),
        }
        .into());
    }
    // As lxc-start: set after the config and its -s overrides.
    for (key, file) in [
        ("lxc.console.path", &a.console),
        ("lxc.console.logfile", &a.console_log),
    ] {
        if let Some(f) = file {
            c.set_config_item(key, &lxc::config_bytes::from_os(f.as_os_str()))?;
        }
    }
    a.share.apply(&mut c)?;
    // lxc-start checks "already running" before it touches the pidfile.
    if c.is_running() {
        return already_running(
            lxc::Error::AlreadyRunning {
                name: c.name().to_string(),
            },
            g,
        );
    }
    if let Some(p) = &a.pidfile {
        crate::pidfile::prepare(p)?;
    }
    crate::logging::apply_container(&c)?;
    let opts = lxc::StartOptions {
        mode: lxc::StartMode::Start,
        argv: a.argv.clone(),
        // As lxc-start -F: a terminal becomes the console's peer (the container gets a
        // console pty); other stdio (pipes, files) is init's own, as lxc-execute's.
        inherit_stdio: a.foreground && !std::io::IsTerminal::is_terminal(&std::io::stdin()),
        close_all_fds: a.close_all_fds,
    };
    let started = if a.foreground {
        // lxc-start -F: 0 once the container ran; init's own status is lxc-execute's to tell.
        c.start_foreground(&opts).map(|exit| {
            tracing::info!(container = c.name(), status = exit.status(), "init exited");
        })
    } else {
        // Forks a daemonized monitor: this process has no other thread at this point.
        c.start(&opts)
    };
    match started {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => already_running(e, g),
    }
}

/// Whether `e` says the command itself could not be executed: lxc-execute exits 255 then
/// (its init's exit status when exec fails).
fn exec_failed(e: &lxc::Error) -> bool {
    matches!(e, lxc::Error::Hook { phase: lxc::Phase::ChildFinal, key: Some(k), message, .. }
        if k == "lxc.execute.cmd" && message.starts_with("exec "))
}

/// Like lxc-execute, the container need not be defined when `-f` gives its config; nothing is
/// created under the lxcpath for it then (the command socket is abstract). With neither a
/// defined container nor `-f` it is refused, as lxc-execute refuses it: `-s` alone is not a
/// config, and the command would run as root on the host's filesystem.
pub fn execute(a: &ExecuteArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::with_config(g)?;
    if !c.is_defined() {
        return Err(lxc::Error::NoConfig {
            name: c.name().to_string(),
            lxcpath: c.config_path().to_path_buf(),
        }
        .into());
    }
    // As lxc-execute: -u/-g are lxc.init.uid/gid, then the shared namespaces.
    for (key, id) in [("lxc.init.uid", a.uid), ("lxc.init.gid", a.gid)] {
        if let Some(id) = id {
            c.set_config_item(key, &id.to_string())?;
        }
    }
    a.share.apply(&mut c)?;
    crate::logging::apply_container(&c)?;
    let result = if a.daemon {
        let opts = lxc::StartOptions {
            mode: lxc::StartMode::Execute,
            argv: a.argv.clone(),
            inherit_stdio: false,
            close_all_fds: true,
        };
        // Forks a daemonized monitor: this process has no other thread at this point.
        c.start(&opts).map(|()| ExitCode::SUCCESS)
    } else {
        c.execute(&a.argv).map(exit_code)
    };
    match result {
        Err(e) if exec_failed(&e) => Err(CliError::Failed {
            status: 255,
            message: CliError::from(e).user_message(),
        }),
        r => Ok(r?),
    }
}
