//! `lxc-rs autostart`, like `lxc-autostart`: start (or stop, kill, reboot, or only list) the
//! containers of an lxcpath marked `lxc.start.auto = 1`, group by group, in
//! `lxc.start.order`, waiting `lxc.start.delay` seconds after each start. Which containers and
//! in what order is `lxc::autostart`'s; this runs the plan as lxc-autostart does.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use lxc::autostart::{self, Candidate, Selection};

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct AutostartArgs {
    /// Kill the containers instead of starting them
    #[arg(short = 'k', long = "kill")]
    pub kill: bool,

    /// List the containers that would be acted on (with their delay when starting or
    /// rebooting) instead
    #[arg(short = 'L', long = "list")]
    pub list: bool,

    /// Reboot the containers instead of starting them
    #[arg(short = 'r', long = "reboot")]
    pub reboot: bool,

    /// Shut the containers down instead of starting them (killed after the timeout)
    #[arg(short = 's', long = "shutdown")]
    pub shutdown: bool,

    /// Every auto-started container, whatever its groups
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Ignore lxc.start.auto: select every container of the groups
    #[arg(short = 'A', long = "ignore-auto")]
    pub ignore_auto: bool,

    /// Groups to select, comma separated, in order; an empty one is the containers with no
    /// group (default: only those)
    #[arg(short = 'g', long = "groups", value_name = "GROUPS")]
    pub groups: Vec<String>,

    /// Seconds a shutdown waits before it kills; -1 waits forever
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "T",
        default_value_t = 60,
        allow_negative_numbers = true
    )]
    pub timeout: i64,
}

/// What is done to each selected container, in lxc-autostart's precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Shutdown,
    Kill,
    Reboot,
    Start,
}

/// Exit status 0 when all went well, 2 when some failed, 1 when every defined container
/// failed, which, as for lxc-autostart, includes an lxcpath with none.
pub fn autostart(a: &AutostartArgs, g: &Global) -> Result<ExitCode, CliError> {
    let lxcpath = super::lxcpath(g);
    let names = lxc::list_defined_containers(&lxcpath)?;
    let handles = lxc::list::handles(&lxcpath, &names);
    let (groups, dropped) = autostart::groups_from_args(&a.groups);
    let who = crate::lxc_names::speaker("autostart", None);
    for d in dropped {
        if d.is_empty() {
            eprintln!("{who}: Duplicate NULL group in list - ignoring");
        } else {
            eprintln!("{who}: Duplicate group \"{d}\" in list - ignoring");
        }
    }
    if a.all && !a.groups.is_empty() {
        eprintln!(
            "{who}: Specifying -a (all) with -g (groups) doesn't make sense. All option overrides"
        );
    }
    let action = if a.shutdown {
        Action::Shutdown
    } else if a.kill {
        Action::Kill
    } else if a.reboot {
        Action::Reboot
    } else {
        Action::Start
    };
    let sel = Selection {
        all: a.all,
        ignore_auto: a.ignore_auto,
        groups,
    };
    let stopping = matches!(action, Action::Shutdown | Action::Kill);
    let plan = autostart::plan(handles.iter().map(Candidate::of).collect(), &sel, stopping);
    let mut failed = 0;
    for cand in &plan {
        let Some(c) = handles.iter().find(|h| h.name() == cand.name) else {
            continue;
        };
        let running = c.state() != lxc::State::Stopped;
        if running == (action == Action::Start) {
            continue;
        }
        if a.list {
            let line = match action {
                Action::Shutdown | Action::Kill => format!("{}\n", cand.name),
                Action::Reboot | Action::Start => format!("{} {}\n", cand.name, cand.delay),
            };
            // Line by line, as lxc-autostart flushes each: a reader sees them as they come.
            let mut out = std::io::stdout().lock();
            out.write_all(line.as_bytes())
                .and_then(|()| out.flush())
                .map_err(CliError::Output)?;
            continue;
        }
        if let Err(e) = act(c, action, a.timeout, cand.delay) {
            failed += 1;
            eprintln!("{who}: {e}");
        }
    }
    Ok(match failed {
        0 if !names.is_empty() => ExitCode::SUCCESS,
        n if n == names.len() => ExitCode::FAILURE,
        _ => ExitCode::from(2),
    })
}

/// Do `action` to `c`; the error is lxc-autostart's message with the cause.
fn act(c: &lxc::Container, action: Action, timeout: i64, delay: u64) -> Result<(), String> {
    let name = c.name();
    match action {
        Action::Shutdown => {
            // As lxc-autostart: a shutdown that does not end in time becomes a stop.
            let clean = c.shutdown(super::timeout(timeout)).unwrap_or(false);
            if !clean {
                c.stop()
                    .map_err(|e| format!("Error shutting down container: {name}: {e}"))?;
            }
        }
        Action::Kill => {
            c.stop()
                .map_err(|e| format!("Error killing container: {name}: {e}"))?;
        }
        Action::Reboot => {
            c.reboot()
                .map_err(|e| format!("Error rebooting container: {name}: {e}"))?;
            std::thread::sleep(Duration::from_secs(delay));
        }
        Action::Start => {
            let opts = lxc::StartOptions {
                mode: lxc::StartMode::Start,
                argv: Vec::new(),
                inherit_stdio: false,
                close_all_fds: false,
            };
            c.start(&opts)
                .map_err(|e| format!("Error starting container: {name}: {e}"))?;
            std::thread::sleep(Duration::from_secs(delay));
        }
    }
    Ok(())
}
