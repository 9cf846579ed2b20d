//! `lxc-rs`: LXC's command line tools in one binary, with LXC's flags. `-n NAME`, `-P LXCPATH`,
//! `-l PRIORITY`, `-o LOGFILE` and `-q` go before or after the subcommand. `-f FILE` and
//! `-s KEY=VALUE` belong to the commands that read a config (`start`, `execute`, `config ...`;
//! `create -f` is the base config), because LXC's tools use those letters for other things too
//! (`destroy -f`, `ls -f`, `wait -s`, `info -s`, `attach -s`); before the subcommand they still
//! reach a command that takes them.
//!
//! Each command group lives in its own module under `cmd/`; a new command (create, start,
//! stop, ...) is a new variant of [`Command`] and a new module.

mod cmd;
mod error;
mod logging;
mod lxc_names;
mod pidfile;
mod sys;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::error::CliError;

/// Run LXC containers, the LXC way, in Rust.
#[derive(Debug, Parser)]
#[command(
    name = "lxc-rs",
    version,
    propagate_version = true,
    after_help = "Example:\n  lxc-rs config get -P /srv/lxc -n web lxc.uts.name"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    /// `-f`/`-s` given before the command.
    #[command(flatten)]
    pub before: ConfigOpts,

    #[command(subcommand)]
    pub command: Command,
}

/// LXC's common options, accepted anywhere on the command line.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Name of the container
    #[arg(short = 'n', long = "name", global = true, value_name = "NAME")]
    pub name: Option<String>,

    /// Use the specified container path (default: lxc.lxcpath from lxc.conf, else /var/lib/lxc)
    #[arg(short = 'P', long = "lxcpath", global = true, value_name = "LXCPATH")]
    pub lxcpath: Option<PathBuf>,

    /// Set from the command's own `-f`/`-s` (see [`ConfigOpts`]), not parsed here.
    #[arg(skip)]
    pub rcfile: Option<PathBuf>,

    /// Set from the command's own `-f`/`-s` (see [`ConfigOpts`]), not parsed here.
    #[arg(skip)]
    pub define: Vec<(String, String)>,

    /// Log priority: TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL
    #[arg(
        short = 'l',
        long = "logpriority",
        global = true,
        value_name = "PRIORITY",
        value_parser = logging::parse_priority
    )]
    pub log_priority: Option<String>,

    /// Write the log to FILE instead of stderr
    #[arg(short = 'o', long = "logfile", global = true, value_name = "LOGFILE")]
    pub logfile: Option<PathBuf>,

    /// Do not write log messages to stderr
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,
}

/// `-f FILE` and `-s KEY=VALUE`, for the commands that read a config (`start`, `execute`,
/// `config ...`). They are not global: LXC's tools give these letters other meanings elsewhere
/// (`lxc-destroy -f` forces, `lxc-ls -f` is fancy, `lxc-wait -s STATE`, `lxc-info -s`). Given
/// before the command they still apply to a command that takes them.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigOpts {
    /// Load this config file instead of the container's own
    #[arg(short = 'f', long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<PathBuf>,

    /// Override a config item (repeatable); not saved
    #[arg(
        short = 's',
        long = "define",
        value_name = "KEY=VALUE",
        value_parser = clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), parse_define)
    )]
    pub define: Vec<(String, String)>,
}

/// `KEY=VALUE`, which need not be UTF-8: config values are bytes (see `lxc::config_bytes`).
fn parse_define(s: std::ffi::OsString) -> Result<(String, String), String> {
    let s = lxc::config_bytes::from_os(&s);
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!(
            "expected KEY=VALUE, found {}",
            lxc::config_bytes::quote(&s)
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the API extensions linked into this binary
    #[command(after_help = "Example:\n  lxc-rs extensions --json")]
    Extensions(cmd::extensions::ExtensionsArgs),

    /// Read, change and check container configurations
    #[command(
        subcommand,
        after_help = "Examples:\n  lxc-rs config check /var/lib/lxc/web/config\n  \
                      lxc-rs config set -n web lxc.tty.max 4"
    )]
    Config(cmd::config::ConfigCommand),

    /// Check what this kernel offers to containers (like lxc-checkconfig)
    #[command(after_help = "Example:\n  lxc-rs checkconfig --json")]
    Checkconfig(cmd::checkconfig::CheckconfigArgs),

    /// List the containers under an lxcpath (like lxc-ls)
    #[command(
        after_help = "Examples:\n  lxc-rs ls -P /srv/lxc --json\n  lxc-rs ls --fancy --running\n  \
                      lxc-rs ls -F NAME,PID,INTERFACE,IPV4"
    )]
    Ls(cmd::ls::LsArgs),

    /// Create a container from a template (like lxc-create)
    #[command(after_help = "Examples:\n  lxc-rs create -n web -t busybox\n  \
                      lxc-rs create -n web -t busybox -f base.conf --idmap 'b 0 100000 65536'")]
    Create(cmd::create::CreateArgs),

    /// Remove a container and its rootfs (like lxc-destroy)
    #[command(after_help = "Example:\n  lxc-rs destroy -n web --force")]
    Destroy(cmd::create::DestroyArgs),

    /// Copy, snapshot-clone or rename a container, or start an ephemeral copy (like lxc-copy)
    #[command(
        after_help = "Examples:\n  lxc-rs copy -n web -N web2\n  lxc-rs copy -n web -N web-snap -s\n  \
                      lxc-rs copy -n web -e -m bind=/srv/data:/data"
    )]
    Copy(cmd::copy::CopyArgs),

    /// Take, list, restore and destroy snapshots (like lxc-snapshot)
    #[command(
        after_help = "Examples:\n  lxc-rs snapshot -n web -c note.txt\n  lxc-rs snapshot -n web -L -C\n  \
                      lxc-rs snapshot -n web -r snap1 -N web-old"
    )]
    Snapshot(cmd::snapshot::SnapshotArgs),

    /// Checkpoint a running container with CRIU, or restore it (like lxc-checkpoint)
    #[command(
        after_help = "Examples:\n  lxc-rs checkpoint -n web -D /srv/ckpt/web -s\n  \
                      lxc-rs checkpoint -n web -D /srv/ckpt/web -r"
    )]
    Checkpoint(cmd::checkpoint::CheckpointArgs),

    /// Start a container, in the background unless -F (like lxc-start)
    #[command(after_help = "Examples:\n  lxc-rs start -n web\n  \
                      lxc-rs start -n web -F -s lxc.tty.max=0 -- /bin/sh")]
    Start(cmd::start::StartArgs),

    /// Run a command in an application container and exit with its status (like lxc-execute)
    #[command(
        after_help = "Examples:\n  lxc-rs execute -n web -- /bin/sh -c 'exit 7'\n  \
                      lxc-rs execute -n scratch -f app.conf -- hostname   (config from a file only)"
    )]
    Execute(cmd::start::ExecuteArgs),

    /// Stop a container: shut it down, and kill it if it does not stop in time (like lxc-stop)
    #[command(
        after_help = "Examples:\n  lxc-rs stop -n web -t 10\n  lxc-rs stop -n web -k\n  \
                      lxc-rs stop -n web -r   (reboot)"
    )]
    Stop(cmd::stop::StopArgs),

    /// Wait until a container reaches a state (like lxc-wait)
    #[command(after_help = "Example:\n  lxc-rs wait -n web -s 'RUNNING|STOPPED' -t 30")]
    Wait(cmd::stop::WaitArgs),

    /// Print a container's state: STOPPED, RUNNING, ...
    #[command(after_help = "Example:\n  lxc-rs state -n web")]
    State(cmd::info::StateArgs),

    /// Show a container's state, init pid, IP addresses, cgroups and config file (like
    /// lxc-info)
    #[command(
        after_help = "Examples:\n  lxc-rs info -n web --json\n  lxc-rs info -n web -p -H\n  \
                      lxc-rs info -n web -i -H   (the addresses alone)\n  \
                      lxc-rs info -n web -c lxc.uts.name"
    )]
    Info(cmd::info::InfoArgs),

    /// Freeze every process of a running container (like lxc-freeze)
    #[command(after_help = "Example:\n  lxc-rs freeze -n web && lxc-rs state -n web   (FROZEN)")]
    Freeze(cmd::running::FreezeArgs),

    /// Thaw a frozen container (like lxc-unfreeze)
    #[command(after_help = "Example:\n  lxc-rs unfreeze -n web")]
    Unfreeze(cmd::running::FreezeArgs),

    /// Reboot a container and wait until it runs again with a new init (like lxc-stop -r);
    /// exit status 1 if it did not come back in time
    #[command(
        after_help = "Examples:\n  lxc-rs reboot -n web -t 30\n  lxc-rs reboot -n web -W   \
                      (only ask)"
    )]
    Reboot(cmd::running::RebootArgs),

    /// Print or set a cgroup file of a running container (like lxc-cgroup)
    #[command(
        after_help = "Examples:\n  lxc-rs cgroup -n web memory.limit_in_bytes\n  \
                      lxc-rs cgroup -n web memory.limit_in_bytes 256M"
    )]
    Cgroup(cmd::running::CgroupArgs),

    /// Run a command, or a shell, inside a running container and exit with its status
    /// (like lxc-attach)
    #[command(after_help = "Examples:\n  lxc-rs attach -n web -- ps\n  \
                      lxc-rs attach -n web --clear-env -v TERM=xterm -u 1000 -- /bin/sh -l\n  \
                      lxc-rs attach -n web -s 'UTSNAME|NETWORK' -- ip addr   (host's files)")]
    Attach(cmd::attach::AttachArgs),

    /// Attach this terminal to a container's tty or console (like lxc-console)
    #[command(
        after_help = "Examples:\n  lxc-rs console -n web        (the first tty)\n  \
                      lxc-rs console -n web -t 0 -e ^b   (the console; Ctrl+b q detaches)"
    )]
    Console(cmd::console::ConsoleArgs),

    /// Move a network interface into a running container, or back to the host; or add a
    /// device node to it, or remove one (like lxc-device); exit status 1 when it cannot, with
    /// nothing changed
    #[command(
        subcommand,
        after_help = "Examples:\n  lxc-rs device add -n web veth-web1 eth1   (the host's veth-web1 \
                      becomes the container's eth1)\n  lxc-rs device del -n web eth1 veth-web1\n  \
                      lxc-rs device add -n web /dev/net/tun   (made in the container, and allowed)"
    )]
    Device(cmd::device::DeviceCommand),

    /// Mount a host directory or file, or a new filesystem, into a running container,
    /// without a restart; exit status 1 when it cannot, with nothing changed
    #[command(
        after_help = "Examples:\n  lxc-rs mount -n web /srv/data /data   (a bind of the host's \
                      /srv/data)\n  lxc-rs mount -n web /etc/resolv.conf /etc/resolv.conf -O ro\n  \
                      lxc-rs mount -n web -t tmpfs tmpfs /run/scratch -O size=64m,mode=0700"
    )]
    Mount(cmd::mount::MountArgs),

    /// Unmount a mount point of a running container
    #[command(after_help = "Examples:\n  lxc-rs umount -n web /data\n  \
                      lxc-rs umount -n web /run/scratch --lazy")]
    Umount(cmd::mount::UmountArgs),

    /// Print the console's ring buffer (lxc.console.buffer.size) and consume it
    #[command(
        name = "console-log",
        after_help = "Examples:\n  lxc-rs console-log -n web\n  lxc-rs console-log -n web --clear --max 4096"
    )]
    ConsoleLog(cmd::console::ConsoleLogArgs),

    /// Run a command in new namespaces, outside any container (like lxc-unshare); exit
    /// status 0 when it exited 0, else 1
    #[command(
        after_help = "Examples:\n  lxc-rs unshare -s 'UTSNAME|PID|MOUNT' -H box -M -- /bin/sh\n  \
                      lxc-rs unshare -s 'USER' -u nobody -- id"
    )]
    Unshare(cmd::unshare::UnshareArgs),

    /// Run a command as root of a new user namespace with id maps (like lxc-usernsexec);
    /// exit status: the command's
    #[command(
        after_help = "Examples:\n  lxc-rs usernsexec -m b:0:100000:65536 -- id\n  \
                      lxc-rs usernsexec -s -- /bin/sh   (maps from /etc/subuid, and yourself)"
    )]
    Usernsexec(cmd::usernsexec::UsernsexecArgs),

    /// Rewrite an LXC 2.0 config's legacy keys (lxc.network.*, lxc.utsname, lxc.rootfs, ...)
    /// into LXC 3's, keeping the original in FILE.backup (like lxc-update-config)
    #[command(
        name = "update-config",
        after_help = "Example:\n  lxc-rs update-config -c /var/lib/lxc/web/config"
    )]
    UpdateConfig(cmd::update_config::UpdateConfigArgs),

    /// Start (or stop, kill, reboot, list) the containers marked lxc.start.auto, by group and
    /// lxc.start.order (like lxc-autostart); exit status 2 when some failed, 1 when all did
    #[command(after_help = "Examples:\n  lxc-rs autostart -P /srv/lxc\n  \
                      lxc-rs autostart -L -g onboot,   (the onboot group, then those with no group)\n  \
                      lxc-rs autostart -s -t 30 -a")]
    Autostart(cmd::autostart::AutostartArgs),

    /// Print the state changes of the containers of an lxcpath as they happen (like
    /// lxc-monitor); -n takes a regular expression
    #[command(after_help = "Examples:\n  lxc-rs monitor -P /srv/lxc\n  \
                      lxc-rs monitor -n 'web[0-9]+'\n  lxc-rs monitor -Q   (stop the relay)")]
    Monitor(cmd::monitor::MonitorArgs),

    /// Show the CPU, block I/O and memory use of the running containers (like lxc-top)
    #[command(after_help = "Examples:\n  lxc-rs top -s m\n  lxc-rs top -b -d 10 > usage.csv")]
    Top(cmd::top::TopArgs),
}

impl Command {
    /// The words that name the command in error messages (`config get`).
    fn label(&self) -> &'static str {
        match self {
            Command::Extensions(_) => "extensions",
            Command::Config(c) => c.label(),
            Command::Checkconfig(_) => "checkconfig",
            Command::Ls(_) => "ls",
            Command::Create(_) => "create",
            Command::Destroy(_) => "destroy",
            Command::Copy(_) => "copy",
            Command::Snapshot(_) => "snapshot",
            Command::Checkpoint(_) => "checkpoint",
            Command::Start(_) => "start",
            Command::Execute(_) => "execute",
            Command::Stop(_) => "stop",
            Command::Wait(_) => "wait",
            Command::State(_) => "state",
            Command::Info(_) => "info",
            Command::Freeze(_) => "freeze",
            Command::Unfreeze(_) => "unfreeze",
            Command::Reboot(_) => "reboot",
            Command::Cgroup(_) => "cgroup",
            Command::Attach(_) => "attach",
            Command::Console(_) => "console",
            Command::ConsoleLog(_) => "console-log",
            Command::Autostart(_) => "autostart",
            Command::Monitor(_) => "monitor",
            Command::Top(_) => "top",
            Command::Device(d) => d.label(),
            Command::Mount(_) => "mount",
            Command::Umount(_) => "umount",
            Command::Unshare(_) => "unshare",
            Command::Usernsexec(_) => "usernsexec",
            Command::UpdateConfig(_) => "update-config",
        }
    }

    /// What the command acts on, for error messages: the container name or the file.
    fn subject(&self, g: &Global) -> Option<String> {
        match self {
            Command::Config(c) => c.subject(g),
            // These act on no one container; their errors name their paths themselves.
            Command::Extensions(_)
            | Command::Checkconfig(_)
            | Command::Ls(_)
            | Command::Unshare(_)
            | Command::Usernsexec(_)
            | Command::UpdateConfig(_) => None,
            // The fleet commands act on an lxcpath; monitor's -n is a pattern.
            Command::Autostart(_) | Command::Monitor(_) | Command::Top(_) => None,
            _ => g.name.clone(),
        }
    }

    /// The `-f`/`-s` given after the command, for the commands that take them.
    fn config_opts(&self) -> Option<&ConfigOpts> {
        match self {
            Command::Config(c) => c.opts(),
            Command::Start(a) => Some(&a.opts),
            Command::Execute(a) => Some(&a.opts),
            _ => None,
        }
    }
}

/// The global options with `-f`/`-s` from before and after the command merged in: the file
/// given after the command wins, overrides apply in the order written.
fn effective_global(cli: &Cli) -> Result<Global, CliError> {
    let mut g = cli.global.clone();
    let before = &cli.before;
    match (&cli.command, cli.command.config_opts()) {
        (_, Some(o)) => {
            g.rcfile = o.rcfile.clone().or_else(|| before.rcfile.clone());
            g.define = before.define.iter().chain(&o.define).cloned().collect();
        }
        // lxc-create's -f is the base config; before the command it means the same.
        (Command::Create(a), None) if before.define.is_empty() => {
            g.rcfile = a.config.clone().or_else(|| before.rcfile.clone());
        }
        (c, None) if before.rcfile.is_some() || !before.define.is_empty() => {
            return Err(CliError::Usage(format!(
                "{} takes no -f/--rcfile or -s/--define",
                c.label()
            )))
        }
        (_, None) => {}
    }
    Ok(g)
}

fn run(cli: &Cli, g: &Global) -> Result<ExitCode, CliError> {
    // lxc_log installs no thread: `start` may fork this process afterwards.
    let _log = logging::init(g, cli.command.label())?;
    match &cli.command {
        Command::Extensions(a) => cmd::extensions::run(a),
        Command::Config(c) => cmd::config::run(c, g),
        Command::Checkconfig(a) => cmd::checkconfig::run(a),
        Command::Ls(a) => cmd::ls::run(a, g),
        Command::Create(a) => cmd::create::create(a, g),
        Command::Destroy(a) => cmd::create::destroy(a, g),
        Command::Copy(a) => cmd::copy::copy(a, g),
        Command::Snapshot(a) => cmd::snapshot::snapshot(a, g),
        Command::Checkpoint(a) => cmd::checkpoint::checkpoint(a, g),
        Command::Start(a) => cmd::start::start(a, g),
        Command::Execute(a) => cmd::start::execute(a, g),
        Command::Stop(a) => cmd::stop::stop(a, g),
        Command::Wait(a) => cmd::stop::wait(a, g),
        Command::State(a) => cmd::info::state(a, g),
        Command::Info(a) => cmd::info::info(a, g),
        Command::Freeze(a) => cmd::running::freeze(a, g),
        Command::Unfreeze(a) => cmd::running::unfreeze(a, g),
        Command::Reboot(a) => cmd::running::reboot(a, g),
        Command::Cgroup(a) => cmd::running::cgroup(a, g),
        Command::Attach(a) => cmd::attach::attach(a, g),
        Command::Console(a) => cmd::console::console(a, g),
        Command::ConsoleLog(a) => cmd::console::console_log(a, g),
        Command::Autostart(a) => cmd::autostart::autostart(a, g),
        Command::Monitor(a) => cmd::monitor::monitor(a, g),
        Command::Top(a) => cmd::top::top(a, g),
        Command::Device(d) => cmd::device::run(d, g),
        Command::Mount(a) => cmd::mount::mount(a, g),
        Command::Umount(a) => cmd::mount::umount(a, g),
        Command::Unshare(a) => cmd::unshare::unshare(a),
        Command::Usernsexec(a) => cmd::usernsexec::usernsexec(a),
        Command::UpdateConfig(a) => cmd::update_config::run(a),
    }
}

/// `lxc-rs mount ... -o OPTS` takes mount(8)'s spelling for the options, as the mount command
/// line is read by people who know mount(8); everywhere else (and before the subcommand) `-o`
/// is LXC's log file, which `mount` still takes as `--logfile`. The common options that take a
/// value are skipped to find the subcommand.
fn mount_options_spelling(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const VALUED: &[&str] = &[
        "-n",
        "--name",
        "-P",
        "--lxcpath",
        "-l",
        "--logpriority",
        "-o",
        "--logfile",
    ];
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    out.extend(iter.next());
    let mut in_mount = false;
    let mut in_attach = false;
    let mut skip_value = false;
    for arg in iter.by_ref() {
        let text = arg.to_str().unwrap_or_default().to_string();
        if skip_value {
            skip_value = false;
        } else if text == "--" {
            out.push(arg);
            break;
        } else if VALUED.contains(&text.as_str()) {
            skip_value = true;
        } else if !text.starts_with('-') {
            in_mount = text == "mount";
            in_attach = text == "attach";
            out.push(arg);
            break;
        }
        out.push(arg);
    }
    for arg in iter.by_ref() {
        let text = arg.to_str().unwrap_or_default().to_string();
        if text == "--" {
            out.push(arg);
            break;
        }
        match text.strip_prefix("-o") {
            Some("") if in_mount => out.push("--options".into()),
            Some(v) if in_mount && !v.starts_with('-') => out.push(format!("--options={v}").into()),
            // lxc-attach's -e takes its value only attached (getopt's optional argument):
            // `-eCAP` is `--elevated-privileges=CAP`, `-e CAP` runs CAP.
            _ if in_attach && text.starts_with("-e") && text.len() > 2 => {
                out.push(format!("--elevated-privileges={}", &text[2..]).into())
            }
            _ => out.push(arg),
        }
    }
    out.extend(iter);
    out
}

/// The command line, and the name to give in messages: `lxc-rs`, or the LXC tool's name
/// when this binary runs through a link named like one (`lxc-start`).
fn parse_args() -> Result<(Cli, Option<&'static lxc_names::Tool>), ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(tool) = args.first().and_then(|a0| lxc_names::tool_for(a0)) {
        return match lxc_names::parse(tool, args) {
            lxc_names::Parsed::Run(cli) => Ok((*cli, Some(tool))),
            lxc_names::Parsed::Exit(code) => Err(code),
        };
    }
    let args = mount_options_spelling(args);
    if let Some(cli) = parse_hot(&args) {
        return Ok((cli, None));
    }
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok((cli, None)),
        Err(e) => Err(clap_exit(&e)),
    }
}

/// The commands a container's life runs, each with a parser of its own: clap's derive builds
/// every subcommand of [`Command`] and copies every global option into each before it parses a
/// word, which took most of a short command's time in user space (decision 95).
fn hot_subcommand(word: &str) -> Option<clap::Command> {
    use cmd::{attach, info, running, start, stop};
    type Augment = fn(clap::Command) -> clap::Command;
    const HOT: &[(&str, Augment)] = &[
        ("start", start::StartArgs::augment_args),
        ("execute", start::ExecuteArgs::augment_args),
        ("stop", stop::StopArgs::augment_args),
        ("wait", stop::WaitArgs::augment_args),
        ("state", info::StateArgs::augment_args),
        ("info", info::InfoArgs::augment_args),
        ("freeze", running::FreezeArgs::augment_args),
        ("unfreeze", running::FreezeArgs::augment_args),
        ("attach", attach::AttachArgs::augment_args),
    ];
    let (name, augment) = HOT.iter().find(|(n, _)| *n == word)?;
    Some(augment(clap::Command::new(*name)))
}

/// A command line of one of [`hot_subcommand`]'s commands, parsed by a tree that holds only
/// that command. Its grammar is a part of the whole one, so what it accepts the whole tree
/// reads the same way; anything else (help, --version, errors, other commands, a value that
/// only looks like a command name) is `None` and goes to the whole tree, which says it as
/// always.
fn parse_hot(args: &[std::ffi::OsString]) -> Option<Cli> {
    use clap::FromArgMatches;
    let sub = args
        .iter()
        .skip(1)
        .find_map(|a| hot_subcommand(a.to_str()?))?;
    let top = ConfigOpts::augment_args(Global::augment_args(clap::Command::new("lxc-rs")))
        .subcommand(sub)
        .subcommand_required(true);
    let m = top.try_get_matches_from(args).ok()?;
    Cli::from_arg_matches(&m).ok()
}

fn main() -> ExitCode {
    let (cli, tool) = match parse_args() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let (g, result) = match effective_global(&cli) {
        Ok(g) => {
            let r = run(&cli, &g);
            (g, r)
        }
        Err(e) => (cli.global.clone(), Err(e)),
    };
    match result {
        Ok(code) => code,
        Err(CliError::Usage(msg)) => {
            // Our own usage error for the subcommand: clap's form, with its usage line.
            let mut cmd = Cli::command();
            cmd.build();
            for word in cli.command.label().split(' ') {
                if let Some(sub) = cmd.find_subcommand(word).cloned() {
                    cmd = sub;
                }
            }
            if let Some(t) = tool {
                cmd = lxc_names::command(t);
            }
            clap_exit(&cmd.error(clap::error::ErrorKind::MissingRequiredArgument, msg))
        }
        // The reader went away (`lxc-rs ls | head -1`): nothing left to say to anyone.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(e) => {
            // As LXC's tools, whose errors are log lines: -q keeps them off stderr, and the
            // exit status alone tells.
            if !g.quiet {
                eprintln!("{}", error_line(&cli.command, &g, &e, tool.map(|t| t.name)));
            }
            ExitCode::from(e.exit_status())
        }
    }
}

/// `lxc-rs: <command> <name>: <message>`, or under a tool's name `lxc-start: <name>: <message>`.
fn error_line(command: &Command, g: &Global, e: &CliError, tool: Option<&str>) -> String {
    let label = match tool {
        Some(t) => t.to_string(),
        None => format!("lxc-rs: {}", command.label()),
    };
    let sep = if tool.is_some() { ": " } else { " " };
    let mut msg = e.user_message();
    match command.subject(g) {
        Some(s) => {
            // The core's messages often start with the container's name already.
            if let Some(rest) = msg.strip_prefix(&format!("{s}: ")) {
                msg = rest.to_string();
            }
            format!("{label}{sep}{s}: {msg}")
        }
        None => format!("{label}: {msg}"),
    }
}

/// How a command line clap refused (or `--help`, `--version`) ends: help and version on
/// stdout with status 0; every usage error on stderr with status 1, as LXC's tools
/// (`lxc_arguments_parse` exits with EXIT_FAILURE for an unknown option or a missing value).
/// Usage errors are printed even with `-q`, as LXC's tools print them.
fn clap_exit(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::mount_options_spelling;

    fn os(line: &[&str]) -> Vec<std::ffi::OsString> {
        line.iter().map(Into::into).collect()
    }

    /// The hot commands' own parser reads every line as the whole tree does, or leaves it to
    /// the whole tree.
    #[test]
    fn hot_parses_equal_the_whole_tree() {
        use clap::Parser;
        let whole = |l: &[&str]| format!("{:?}", super::Cli::try_parse_from(os(l)).unwrap());
        let parsed = [
            &[
                "lxc-rs",
                "execute",
                "-n",
                "a",
                "-P",
                "/tmp/p",
                "--",
                "/bin/true",
            ][..],
            &[
                "lxc-rs",
                "-n",
                "a",
                "execute",
                "-s",
                "lxc.tty.max=0",
                "--",
                "sh",
                "-c",
                "x",
            ],
            &[
                "lxc-rs",
                "execute",
                "-n",
                "a",
                "-d",
                "-u",
                "5",
                "/bin/sleep",
                "1",
            ],
            &[
                "lxc-rs", "-P", "/p", "-l", "DEBUG", "-o", "/l", "start", "-n", "a", "-F",
            ],
            &[
                "lxc-rs",
                "start",
                "-n",
                "a",
                "-f",
                "/c",
                "-p",
                "/pid",
                "--",
                "/sbin/init",
                "x",
            ],
            &["lxc-rs", "stop", "-n", "a", "-k"],
            &["lxc-rs", "stop", "-n", "a", "-t", "5", "-q"],
            &[
                "lxc-rs",
                "wait",
                "-n",
                "a",
                "-s",
                "RUNNING|STOPPED",
                "-t",
                "3",
            ],
            &["lxc-rs", "state", "-n", "a"],
            &["lxc-rs", "info", "-n", "a", "-p", "-H"],
            &["lxc-rs", "freeze", "-n", "a"],
            &["lxc-rs", "unfreeze", "-n", "a"],
            &[
                "lxc-rs",
                "attach",
                "-n",
                "a",
                "--clear-env",
                "-v",
                "A=b",
                "--",
                "ls",
                "-l",
            ],
            // Values that look like a command: the first is the command after all, the
            // second is not (the hot parser refuses and the tree decides).
            &["lxc-rs", "-n", "stop", "stop", "-k"],
            &["lxc-rs", "-n", "start", "execute", "--", "true"],
        ];
        for line in parsed {
            let hot = super::parse_hot(&os(line)).map(|c| format!("{c:?}"));
            if let Some(h) = &hot {
                assert_eq!(h, &whole(line), "{line:?}");
            }
            // Only there is the first command-like word not the command.
            let expect_hot = line[1..3] != ["-n", "start"];
            assert_eq!(hot.is_some(), expect_hot, "{line:?}");
        }
        for line in [
            &["lxc-rs", "--version"][..],
            &["lxc-rs", "execute", "--help"],
            &["lxc-rs", "stop", "-n", "a", "--no-such-flag"],
            &["lxc-rs", "ls", "--fancy"],
            &["lxc-rs", "config", "get", "-n", "a", "lxc.uts.name"],
        ] {
            assert!(super::parse_hot(&os(line)).is_none(), "{line:?}");
        }
    }

    fn spelled(args: &[&str]) -> Vec<String> {
        mount_options_spelling(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn dash_o_is_the_options_of_mount_only() {
        assert_eq!(
            spelled(&["lxc-rs", "-o", "log", "-n", "mount", "mount", "/a", "/b", "-o", "ro"]),
            [
                "lxc-rs",
                "-o",
                "log",
                "-n",
                "mount",
                "mount",
                "/a",
                "/b",
                "--options",
                "ro"
            ]
        );
        assert_eq!(
            spelled(&["lxc-rs", "mount", "-oro,nosuid", "/a", "/b", "--", "-o"]),
            [
                "lxc-rs",
                "mount",
                "--options=ro,nosuid",
                "/a",
                "/b",
                "--",
                "-o"
            ]
        );
        assert_eq!(
            spelled(&["lxc-rs", "start", "-n", "c", "-o", "log"]),
            ["lxc-rs", "start", "-n", "c", "-o", "log"]
        );
        assert_eq!(
            spelled(&["lxc-rs", "umount", "/b", "-o", "log"]),
            ["lxc-rs", "umount", "/b", "-o", "log"]
        );
    }
}
