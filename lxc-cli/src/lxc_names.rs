//! `lxc-rs` called by one of LXC's tool names (`lxc-start`, `lxc-info`, ...: a link made by
//! `cargo xtask install --lxc-names`) takes that tool's flags and no others, and names itself
//! after the tool in its usage text and errors. [`TOOLS`] is LXC 5.0.2's flag set of each tool
//! (its `my_longopts` and `LXC_COMMON_OPTIONS`); it decides what is accepted and is the source
//! of the README's table, which a test keeps equal to it.

use std::ffi::{OsStr, OsString};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, Parser};

use crate::{Cli, Global};

/// One of an LXC tool's options, as its `struct option` spells it.
#[derive(Clone, Copy)]
pub struct Flag {
    pub short: Option<char>,
    pub long: &'static str,
    /// What lxc-rs does differently, for the README; empty when it is the same.
    #[cfg_attr(not(test), allow(dead_code))]
    pub note: &'static str,
}

const fn f(short: char, long: &'static str) -> Flag {
    Flag {
        short: Some(short),
        long,
        note: "",
    }
}

const fn l(long: &'static str) -> Flag {
    Flag {
        short: None,
        long,
        note: "",
    }
}

const fn noted(flag: Flag, note: &'static str) -> Flag {
    Flag { note, ..flag }
}

pub struct Tool {
    /// The name LXC installs the tool under.
    pub name: &'static str,
    /// The lxc-rs subcommand that does its work.
    pub command: &'static str,
    /// Whether it takes `LXC_COMMON_OPTIONS` (all but lxc-config and the shell script
    /// lxc-checkconfig do).
    pub common: bool,
    pub flags: &'static [Flag],
}

/// `LXC_COMMON_OPTIONS` (arguments.h), which every C tool takes.
pub const COMMON: &[Flag] = &[
    f('n', "name"),
    noted(f('h', "help"), "clap's help text; `-?` is taken as `-h`"),
    noted(l("usage"), "taken as `--help`"),
    noted(
        l("version"),
        "prints the LXC release the tools follow (5.0.2), as LXC's; `lxc-rs --version` prints lxc-rs's",
    ),
    f('q', "quiet"),
    f('o', "logfile"),
    f('l', "logpriority"),
    f('P', "lxcpath"),
    l("rcfile"),
];

const SHARE: [Flag; 4] = [
    l("share-net"),
    l("share-ipc"),
    l("share-uts"),
    l("share-pid"),
];

/// LXC 5.0.2's tools that lxc-rs answers to, with their own options (tools/lxc_*.c).
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "lxc-start",
        command: "start",
        common: true,
        flags: &[
            f('d', "daemon"),
            f('F', "foreground"),
            f('f', "rcfile"),
            f('s', "define"),
            f('c', "console"),
            f('L', "console-log"),
            f('C', "close-all-fds"),
            f('p', "pidfile"),
            SHARE[0],
            SHARE[1],
            SHARE[2],
            SHARE[3],
        ],
    },
    Tool {
        name: "lxc-stop",
        command: "stop",
        common: true,
        flags: &[
            f('r', "reboot"),
            f('W', "nowait"),
            f('t', "timeout"),
            f('k', "kill"),
            l("nokill"),
            l("nolock"),
        ],
    },
    Tool {
        name: "lxc-attach",
        command: "attach",
        common: true,
        flags: &[
            f('e', "elevated-privileges"),
            f('a', "arch"),
            f('s', "namespaces"),
            f('R', "remount-sys-proc"),
            l("clear-env"),
            l("keep-env"),
            l("keep-var"),
            f('v', "set-var"),
            f('L', "pty-log"),
            f('f', "rcfile"),
            f('u', "uid"),
            f('g', "gid"),
            f('c', "context"),
        ],
    },
    Tool {
        name: "lxc-execute",
        command: "execute",
        common: true,
        flags: &[
            f('d', "daemon"),
            f('f', "rcfile"),
            f('s', "define"),
            f('u', "uid"),
            f('g', "gid"),
            SHARE[0],
            SHARE[1],
            SHARE[2],
            SHARE[3],
        ],
    },
    Tool {
        name: "lxc-info",
        command: "info",
        common: true,
        flags: &[
            f('c', "config"),
            f('i', "ips"),
            f('s', "state"),
            f('p', "pid"),
            f('S', "stats"),
            f('H', "no-humanize"),
        ],
    },
    Tool {
        name: "lxc-ls",
        command: "ls",
        common: true,
        flags: &[
            f('1', "line"),
            f('f', "fancy"),
            f('F', "fancy-format"),
            l("active"),
            l("running"),
            l("frozen"),
            l("stopped"),
            l("defined"),
            l("nesting"),
            f('g', "groups"),
            l("filter"),
        ],
    },
    Tool {
        name: "lxc-wait",
        command: "wait",
        common: true,
        flags: &[f('s', "state"), f('t', "timeout")],
    },
    Tool {
        name: "lxc-freeze",
        command: "freeze",
        common: true,
        flags: &[],
    },
    Tool {
        name: "lxc-unfreeze",
        command: "unfreeze",
        common: true,
        flags: &[],
    },
    Tool {
        name: "lxc-cgroup",
        command: "cgroup",
        common: true,
        flags: &[],
    },
    Tool {
        name: "lxc-config",
        command: "config global",
        common: false,
        flags: &[noted(
            f('l', "-l"),
            "`-l` lists the global keys, `KEY` prints one, as LXC (by hand, no getopt)",
        )],
    },
    Tool {
        name: "lxc-create",
        command: "create",
        common: true,
        flags: &[
            f('B', "bdev"),
            f('f', "config"),
            f('t', "template"),
            l("lvname"),
            l("vgname"),
            l("thinpool"),
            l("fstype"),
            l("fssize"),
            l("zfsroot"),
            l("dir"),
            l("rbdname"),
            l("rbdpool"),
        ],
    },
    Tool {
        name: "lxc-copy",
        command: "copy",
        common: true,
        flags: &[
            f('N', "newname"),
            f('p', "newpath"),
            f('R', "rename"),
            f('s', "snapshot"),
            f('a', "allowrunning"),
            f('F', "foreground"),
            f('d', "daemon"),
            f('e', "ephemeral"),
            f('m', "mount"),
            f('B', "backingstorage"),
            f('L', "fssize"),
            f('D', "keepdata"),
            f('K', "keepname"),
            f('M', "keepmac"),
            f('t', "tmpfs"),
        ],
    },
    Tool {
        name: "lxc-snapshot",
        command: "snapshot",
        common: true,
        flags: &[
            f('L', "list"),
            f('r', "restore"),
            f('N', "newname"),
            f('d', "destroy"),
            f('c', "comment"),
            f('C', "showcomments"),
        ],
    },
    Tool {
        name: "lxc-checkpoint",
        command: "checkpoint",
        common: true,
        flags: &[
            f('D', "checkpoint-dir"),
            f('A', "action-script"),
            f('s', "stop"),
            f('v', "verbose"),
            f('r', "restore"),
            f('d', "daemon"),
            f('F', "foreground"),
            f('p', "pre-dump"),
            l("predump-dir"),
        ],
    },
    Tool {
        name: "lxc-destroy",
        command: "destroy",
        common: true,
        flags: &[f('f', "force"), f('s', "snapshots")],
    },
    Tool {
        name: "lxc-console",
        command: "console",
        common: true,
        flags: &[f('t', "tty"), f('e', "escape")],
    },
    Tool {
        name: "lxc-device",
        command: "device",
        common: true,
        flags: &[],
    },
    Tool {
        name: "lxc-autostart",
        command: "autostart",
        common: true,
        flags: &[
            f('k', "kill"),
            f('L', "list"),
            f('r', "reboot"),
            f('s', "shutdown"),
            f('a', "all"),
            f('A', "ignore-auto"),
            f('g', "groups"),
            f('t', "timeout"),
        ],
    },
    Tool {
        name: "lxc-monitor",
        command: "monitor",
        common: true,
        flags: &[
            f('Q', "quit"),
            noted(
                f('P', "lxcpath"),
                "one lxcpath; LXC's lxc-monitor takes `-P` several times",
            ),
        ],
    },
    Tool {
        name: "lxc-top",
        command: "top",
        common: true,
        flags: &[
            f('d', "delay"),
            f('b', "batch"),
            f('s', "sort"),
            f('r', "reverse"),
            noted(
                f('P', "lxcpath"),
                "one lxcpath; LXC's lxc-top takes `-P` several times (and reads only the first)",
            ),
        ],
    },
    Tool {
        name: "lxc-checkconfig",
        command: "checkconfig",
        common: false,
        flags: &[],
    },
    Tool {
        name: "lxc-unshare",
        command: "unshare",
        common: true,
        flags: &[
            f('s', "namespaces"),
            f('u', "user"),
            f('H', "hostname"),
            f('i', "ifname"),
            f('d', "daemon"),
            noted(
                f('M', "remount"),
                "mounts /proc, /dev/shm, /dev/mqueue afresh (LXC 5.0.2 only unmounts those mounted)",
            ),
        ],
    },
    Tool {
        name: "lxc-usernsexec",
        command: "usernsexec",
        common: false,
        flags: &[f('m', "-m"), f('s', "-s"), f('h', "help")],
    },
    Tool {
        name: "lxc-update-config",
        command: "update-config",
        common: false,
        flags: &[f('c', "config"), f('h', "help")],
    },
];

/// The tool this process runs as (its argv[0]'s name), if it runs under one of LXC's names:
/// for the few outputs that are LXC's only under LXC's name.
pub fn invoked() -> Option<&'static Tool> {
    tool_for(&std::env::args_os().next()?)
}

/// How this run's own warnings begin, as its error lines do (see `main`'s `error_line`):
/// `lxc-attach: NAME` under LXC's tool name, else `lxc-rs: attach NAME`.
pub fn speaker(command: &str, subject: Option<&str>) -> String {
    match (invoked(), subject) {
        (Some(t), Some(s)) => format!("{}: {s}", t.name),
        (Some(t), None) => t.name.to_string(),
        (None, Some(s)) => format!("lxc-rs: {command} {s}"),
        (None, None) => format!("lxc-rs: {command}"),
    }
}

/// The tool whose name argv[0] ends in, if any.
pub fn tool_for(argv0: &OsStr) -> Option<&'static Tool> {
    let base = std::path::Path::new(argv0).file_name()?.to_str()?;
    TOOLS.iter().find(|t| t.name == base)
}

/// Every flag the tool takes: its own and, unless it is one of the odd ones, the common ones
/// it does not define itself (lxc-start's `-f, --rcfile` is also the common `--rcfile`).
pub fn flags(tool: &'static Tool) -> impl Iterator<Item = &'static Flag> {
    let common: &'static [Flag] = if tool.common { COMMON } else { &[] };
    let own = tool.flags;
    own.iter().chain(
        common
            .iter()
            .filter(move |c| own.iter().all(|o| o.long != c.long)),
    )
}

/// What a tool name's command line became.
pub enum Parsed {
    /// Run it, as lxc-rs would have run `lxc-rs <command> ...`.
    Run(Box<Cli>),
    /// Already answered (help, a usage error, lxc-config's own work).
    Exit(ExitCode),
}

/// `lxc-<tool> ARGS` parsed with exactly the tool's flags. Options lxc-rs has and the tool
/// lacks (`--json`, ...) are hidden from the help and refused as unknown.
pub fn parse(tool: &'static Tool, args: Vec<OsString>) -> Parsed {
    let argv0 = args.first().map_or_else(
        || tool.name.to_string(),
        |a| a.to_string_lossy().into_owned(),
    );
    let rest: Vec<OsString> = args
        .into_iter()
        .skip(1)
        .map(|a| match a.to_str() {
            Some("-?") | Some("--usage") => OsString::from("--help"),
            _ => a,
        })
        .collect();
    if tool.name == "lxc-config" {
        return Parsed::Exit(lxc_config(&argv0, &rest));
    }
    // A shell script in LXC: no options, its report read from the kernel's config.
    if tool.name == "lxc-checkconfig" {
        return Parsed::Exit(crate::cmd::checkconfig::run_lxc_form(&argv0));
    }
    // LXC's tools print the LXC release they belong to, bare.
    if tool.common
        && rest
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a == "--version")
    {
        println!("{}", lxc::LXC_VERSION);
        return Parsed::Exit(ExitCode::SUCCESS);
    }
    let mut cmd = command(tool);
    let tail = std::iter::once(OsString::from(tool.name)).chain(rest.iter().cloned());
    let matches = match cmd.try_get_matches_from_mut(tail) {
        Ok(m) => m,
        Err(e) => return Parsed::Exit(crate::clap_exit(&e)),
    };
    if let Some(e) = foreign_flag(tool, &cmd, &matches) {
        return Parsed::Exit(crate::clap_exit(&e));
    }
    // The same words, as `lxc-rs <command> ...`, give the typed command line; `-eCAP` and the
    // like get the spelling lxc-rs's own parse expects.
    let mut argv = vec![OsString::from("lxc-rs")];
    argv.extend(tool.command.split(' ').map(OsString::from));
    argv.extend(rest);
    match Cli::try_parse_from(crate::mount_options_spelling(argv)) {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(e) => Parsed::Exit(crate::clap_exit(&e)),
    }
}

/// The tool's clap command: lxc-rs's subcommand under the tool's name, with the common options
/// and with lxc-rs's own extra options hidden.
pub fn command(tool: &'static Tool) -> clap::Command {
    let mut root = Cli::command();
    let mut sub = None;
    for word in tool.command.split(' ') {
        let found = match &sub {
            None => root.find_subcommand_mut(word).cloned(),
            Some(s) => clap::Command::find_subcommand(s, word).cloned(),
        };
        sub = found;
    }
    let sub = sub.unwrap_or_else(|| clap::Command::new(tool.name));
    let about = sub.get_about().cloned().unwrap_or_default();
    let cmd = if tool.common {
        Global::augment_args(sub)
    } else {
        sub
    };
    cmd.name(tool.name)
        .about(about)
        .bin_name(tool.name)
        .display_name(tool.name)
        .version(env!("CARGO_PKG_VERSION"))
        .after_help(format!(
            "{} is lxc-rs under LXC's tool name: LXC's options only.",
            tool.name
        ))
        .mut_args(|a| {
            if is_lxc_flag(tool, &a) {
                a
            } else {
                a.hide(true)
            }
        })
}

fn is_lxc_flag(tool: &'static Tool, a: &clap::Arg) -> bool {
    if a.is_positional() {
        return true;
    }
    flags(tool).any(|fl| {
        Some(fl.long) == a.get_long() || (a.get_long().is_none() && fl.short == a.get_short())
    })
}

/// An lxc-rs-only option given on the command line, as clap's unknown-argument error.
fn foreign_flag(
    tool: &'static Tool,
    cmd: &clap::Command,
    m: &clap::ArgMatches,
) -> Option<clap::Error> {
    let mut levels = vec![(cmd, m)];
    if let Some((name, sm)) = m.subcommand() {
        if let Some(sc) = cmd.find_subcommand(name) {
            levels.push((sc, sm));
        }
    }
    for (c, m) in levels {
        for a in c.get_arguments() {
            let id = a.get_id().as_str();
            let given = m.try_contains_id(id).unwrap_or(false)
                && m.value_source(id) == Some(ValueSource::CommandLine);
            if given && !is_lxc_flag(tool, a) {
                let spelled = match (a.get_long(), a.get_short()) {
                    (Some(long), _) => format!("--{long}"),
                    (None, Some(s)) => format!("-{s}"),
                    (None, None) => id.to_string(),
                };
                let mut c = cmd.clone();
                return Some(c.error(
                    clap::error::ErrorKind::UnknownArgument,
                    format!(
                        "{spelled} is an lxc-rs option that {} does not take",
                        tool.name
                    ),
                ));
            }
        }
    }
    None
}

/// lxc-config as LXC's: no getopt; `-l` lists the global keys, `KEY` prints its value,
/// nothing prints the usage (status 0).
fn lxc_config(argv0: &str, rest: &[OsString]) -> ExitCode {
    let first = rest.first().and_then(|a| a.to_str());
    match first {
        None | Some("--help") => {
            // LXC's usage names the program as it was called.
            println!(
                "Usage: {argv0} -l: list all available configuration items\n       \
                 {argv0} item: print configuration item"
            );
            ExitCode::SUCCESS
        }
        Some("-l") => {
            for (key, _) in lxc::global::GLOBAL_KEYS {
                println!("{key}");
            }
            ExitCode::SUCCESS
        }
        Some(key) => match lxc::get_global_config_item(key) {
            Some(v) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            None => {
                // On stdout, as LXC's lxc-config prints it.
                println!("Unknown configuration item: {key}");
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
/// One line per tool and flag: what lxc-rs does with it. lxc-rs's own clap definitions decide
/// "yes"/"no", so the README cannot claim a flag the code lacks.
pub fn status_table() -> String {
    let mut out = String::from("| LXC tool | flag | lxc-rs |\n|---|---|---|\n");
    for tool in TOOLS {
        let cmd = command(tool);
        let mut any = false;
        for fl in flags(tool) {
            any = true;
            let spelled = match (fl.short, fl.long) {
                // Short-only options (no getopt_long): the long name is the short one.
                (Some(s), long) if long.starts_with('-') => format!("`-{s}`"),
                (Some(s), long) => format!("`-{s}`, `--{long}`"),
                (None, long) => format!("`--{long}`"),
            };
            let has = tool.name == "lxc-config"
                || matches!(fl.long, "help" | "version")
                || fl.long == "usage"
                || cmd.get_arguments().any(|a| {
                    (a.get_long() == Some(fl.long)
                        || (fl.long.starts_with('-') && a.get_long().is_none()))
                        && (fl.short.is_none() || a.get_short() == fl.short)
                });
            let status = match (has, fl.note) {
                (true, "") => "yes".to_string(),
                (true, note) => format!("yes: {note}"),
                (false, "") => "no".to_string(),
                (false, note) => format!("no: {note}"),
            };
            out.push_str(&format!("| {} | {spelled} | {status} |\n", tool.name));
        }
        if !any {
            out.push_str(&format!("| {} | (none) | yes |\n", tool.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    const START: &str =
        "<!-- lxc-names table: generated by lxc-cli's lxc_names::status_table -->\n";
    const END: &str = "<!-- end of lxc-names table -->";

    /// The README's table is `status_table()` exactly; `LXCRS_BLESS=1` rewrites it.
    #[test]
    fn readme_table_is_the_code_s() {
        let readme = std::fs::read_to_string(README).expect("read README.md");
        let table = status_table();
        let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
            panic!("README.md has no `{START}` ... `{END}` block");
        };
        let current = &readme[a + START.len()..b];
        if current != table {
            if std::env::var_os("LXCRS_BLESS").is_some() {
                let new = format!("{}{START}{table}{}", &readme[..a], &readme[b..]);
                std::fs::write(README, new).expect("write README.md");
            } else {
                panic!(
                    "README.md's LXC tool table is stale; rerun with LXCRS_BLESS=1. It should \
                     be:\n{table}"
                );
            }
        }
    }

    #[test]
    fn every_tool_names_an_lxc_rs_command_and_flags_are_unique() {
        for tool in TOOLS {
            let cmd = command(tool);
            assert_eq!(cmd.get_name(), tool.name);
            if tool.name != "lxc-config" {
                assert!(
                    cmd.get_arguments().count() > 0 || !tool.common,
                    "{} maps to no lxc-rs command",
                    tool.name
                );
            }
            let mut seen = std::collections::HashSet::new();
            for fl in flags(tool) {
                assert!(
                    seen.insert(fl.long),
                    "{} lists --{} twice",
                    tool.name,
                    fl.long
                );
            }
            cmd.clone().debug_assert();
        }
    }

    #[test]
    fn lxc_rs_only_options_are_refused_under_a_tool_name() {
        let info = TOOLS.iter().find(|t| t.name == "lxc-info").unwrap();
        let mut cmd = command(info);
        let m = cmd
            .try_get_matches_from_mut(["lxc-info", "-n", "x", "--json"])
            .unwrap();
        assert!(foreign_flag(info, &cmd, &m).is_some());
        let m = cmd
            .try_get_matches_from_mut(["lxc-info", "-n", "x", "-s", "-H"])
            .unwrap();
        assert!(foreign_flag(info, &cmd, &m).is_none());
    }

    #[test]
    fn argv0_picks_the_tool_by_file_name() {
        assert_eq!(
            tool_for(OsStr::new("/usr/local/bin/lxc-start")).map(|t| t.command),
            Some("start")
        );
        assert!(tool_for(OsStr::new("lxc-rs")).is_none());
        assert!(tool_for(OsStr::new("lxc-no-such-tool")).is_none());
    }
}
