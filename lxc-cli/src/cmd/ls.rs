//! `lxc-rs ls`: the containers defined under an lxcpath, like `lxc-ls`.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print a JSON array of objects: [{"name": "web", "state": "RUNNING", "runtime":
    /// "lxc-rs", "pid": 1234}, ...] (runtime "lxc" when LXC's own tools run it; runtime and pid
    /// are null when it is not running)
    #[arg(long)]
    pub json: bool,

    /// A table, as lxc-ls --fancy: NAME STATE AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED (STATE
    /// says `RUNNING (LXC)` when LXC's own tools run it; `-` for nothing)
    #[arg(short = 'f', long)]
    pub fancy: bool,

    /// The table's columns, comma separated, from NAME, STATE, PID, AUTOSTART, GROUPS,
    /// INTERFACE, IPV4, IPV6, UNPRIVILEGED (implies --fancy)
    #[arg(short = 'F', long = "fancy-format", value_name = "COLUMNS")]
    pub fancy_format: Option<String>,

    /// One name per line (without it, names fill the terminal's width in columns, as lxc-ls)
    #[arg(short = '1', long = "line")]
    pub line: bool,

    /// Only the active containers: running or frozen
    #[arg(long)]
    pub active: bool,

    /// Only the running containers (frozen ones too, as lxc-ls counts them)
    #[arg(long, conflicts_with = "stopped")]
    pub running: bool,

    /// Only the frozen containers (with --active: every active one)
    #[arg(long)]
    pub frozen: bool,

    /// Only the stopped containers
    #[arg(long)]
    pub stopped: bool,

    /// Only the defined containers (lxc-rs lists no others)
    #[arg(long)]
    pub defined: bool,

    /// Only the containers in every one of these groups (comma separated, lxc.group)
    #[arg(short = 'g', long = "groups", value_name = "GROUPS")]
    pub groups: Option<String>,

    /// Only the names this POSIX extended regular expression matches (FILTER, as lxc-ls)
    #[arg(long = "filter", value_name = "REGEX", conflicts_with = "filter_arg")]
    pub filter: Option<String>,

    /// Same as --filter
    #[arg(value_name = "FILTER")]
    pub filter_arg: Option<String>,
}

/// A column of the fancy table, with lxc-ls's header (its narrowest width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    State,
    Pid,
    Autostart,
    Groups,
    Interface,
    Ipv4,
    Ipv6,
    Unprivileged,
}

impl Column {
    /// lxc-ls's default table.
    const DEFAULT: [Column; 7] = [
        Column::Name,
        Column::State,
        Column::Autostart,
        Column::Groups,
        Column::Ipv4,
        Column::Ipv6,
        Column::Unprivileged,
    ];

    const ALL: [Column; 9] = [
        Column::Name,
        Column::State,
        Column::Pid,
        Column::Autostart,
        Column::Groups,
        Column::Interface,
        Column::Ipv4,
        Column::Ipv6,
        Column::Unprivileged,
    ];

    fn header(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Pid => "PID",
            Column::Autostart => "AUTOSTART",
            Column::Groups => "GROUPS",
            Column::Interface => "INTERFACE",
            Column::Ipv4 => "IPV4",
            Column::Ipv6 => "IPV6",
            Column::Unprivileged => "UNPRIVILEGED",
        }
    }

    /// `-F`'s list, names in any case as lxc-ls takes them.
    fn parse_list(s: &str) -> Result<Vec<Column>, CliError> {
        s.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| {
                Column::ALL
                    .into_iter()
                    .find(|c| c.header().eq_ignore_ascii_case(w))
                    .ok_or_else(|| {
                        let extra = if ["RAM", "SWAP"].iter().any(|x| x.eq_ignore_ascii_case(w)) {
                            " (lxc-ls's RAM and SWAP are not columns of lxc-rs ls yet)"
                        } else {
                            ""
                        };
                        CliError::Usage(format!(
                            "--fancy-format: unknown column {w:?}: expected NAME, STATE, PID, \
                             AUTOSTART, GROUPS, INTERFACE, IPV4, IPV6 or UNPRIVILEGED{extra}"
                        ))
                    })
            })
            .collect()
    }
}

/// One row of `ls --json`, and what the table shows.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    state: String,
    runtime: Option<&'static str>,
    pid: Option<i32>,
    /// STATE of the table.
    #[serde(skip)]
    state_text: String,
    /// The table's other columns, filled only for a table.
    #[serde(skip)]
    fancy: Fancy,
}

/// What lxc-ls --fancy shows beyond the state; `None` prints as `-`.
#[derive(Debug, Default)]
struct Fancy {
    autostart: bool,
    groups: Option<String>,
    interfaces: Option<String>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    unprivileged: bool,
}

fn row(name: &str, lxcpath: &std::path::Path) -> Result<(Row, lxc::Container), CliError> {
    // No config is read: a broken config file must not hide the others, or its state.
    let c = super::bare_handle(name, lxcpath)?;
    let (state, runtime) = c.status().unwrap_or((lxc::State::Stopped, None));
    let pid = match &runtime {
        _ if state == lxc::State::Stopped => None,
        Some(lxc::Runtime::Lxc(m)) => m.init_pid().ok(),
        _ => c.init_pid().ok(),
    };
    let row = Row {
        name: name.to_string(),
        state: state.to_string(),
        runtime: runtime.as_ref().map(lxc::Runtime::as_str),
        pid,
        state_text: super::info::state_text(state, runtime.as_ref()),
        fancy: Fancy::default(),
    };
    Ok((row, c))
}

pub fn run(args: &LsArgs, g: &Global) -> Result<ExitCode, CliError> {
    let columns = match &args.fancy_format {
        Some(f) => Some(Column::parse_list(f)?),
        None if args.fancy => Some(Column::DEFAULT.to_vec()),
        None => None,
    };
    let lxcpath = super::lxcpath(g);
    let mut names = lxc::list_defined_containers(&lxcpath)?;
    // As lxc-ls: a pattern that does not compile matches no name.
    if let Some(f) = args.filter.as_ref().or(args.filter_arg.as_ref()) {
        let re = crate::sys::Regex::new(f);
        names.retain(|n| re.as_ref().is_some_and(|re| re.is_match(n)));
    }
    let must: Vec<&str> = args
        .groups
        .iter()
        .flat_map(|g| g.split(','))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    let by_state = args.active || args.running || args.frozen || args.stopped;
    let need_state = args.json || columns.is_some() || by_state || !must.is_empty();
    let mut rows = Vec::new();
    for n in &names {
        if !need_state {
            rows.push(Row {
                name: n.clone(),
                state: String::new(),
                runtime: None,
                pid: None,
                state_text: String::new(),
                fancy: Fancy::default(),
            });
            continue;
        }
        let (mut r, mut c) = row(n, &lxcpath)?;
        let stopped = r.state == lxc::State::Stopped.as_str();
        let frozen = r.state == lxc::State::Frozen.as_str();
        // lxc-ls's filters, each one a further condition.
        if ((args.active || args.running) && stopped)
            || (args.frozen && !args.active && !frozen)
            || (args.stopped && !stopped)
        {
            continue;
        }
        if !must.is_empty() {
            let has = groups(&mut c, &r);
            if !must.iter().all(|m| has.iter().any(|h| h == m)) {
                continue;
            }
        }
        if let (Some(cols), false) = (&columns, args.json) {
            r.fancy = fancy(&mut c, &r, cols);
        }
        rows.push(r);
    }
    if args.json {
        super::print_json(&rows)?;
    } else if let Some(cols) = &columns {
        super::print(&table(&rows, cols))?;
    } else {
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let width = if args.line {
            None
        } else {
            Some(crate::sys::term_width())
        };
        super::print(&names_text(&names, width))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// lxc-ls's name list: one per line with -1 (`width` None); else each name padded to the
/// longest (at least 4, NAME's width) and as many per line as fit the terminal's `width`; with
/// no terminal (0), one padded name per line.
fn names_text(names: &[&str], width: Option<usize>) -> String {
    let Some(term) = width else {
        return names.iter().map(|n| format!("{n}\n")).collect();
    };
    let w = names.iter().map(|n| n.len()).max().unwrap_or(0).max(4);
    let mut out = String::new();
    let mut len = 0;
    for n in names {
        out.push_str(&format!("{n:<w$}"));
        len += w;
        if len + w >= term {
            out.push('\n');
            len = 0;
        } else {
            out.push(' ');
            len += 1;
        }
    }
    if len > 0 {
        out.push('\n');
    }
    out
}

/// `lxc.group` of the container, the running config's when lxc-rs runs it (as lxc-ls asks
/// the running container).
fn groups(c: &mut lxc::Container, r: &Row) -> Vec<String> {
    let running = r.state != lxc::State::Stopped.as_str();
    let ours = r.runtime == Some(lxc::Runtime::LxcRs.as_str());
    let text = if running && ours {
        c.get_running_config_item("lxc.group").unwrap_or_default()
    } else {
        if c.load_config(None).is_err() {
            return Vec::new();
        }
        c.get_config_item("lxc.group").unwrap_or_default()
    };
    text.lines()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// The table's columns beyond the state, found as lxc-ls finds them: the config's
/// `lxc.start.auto`, `lxc.group` and `lxc.idmap` (the running container's, from its monitor,
/// when lxc-rs runs it), and for a running container its addresses (no `lo`, no IPv6
/// link-local) and interfaces. What cannot be read is `-` and a warning on stderr.
fn fancy(c: &mut lxc::Container, r: &Row, cols: &[Column]) -> Fancy {
    let warn = |what: &str, why: String| {
        eprintln!("lxc-rs: ls: warning: {}: {what}: {why}", r.name);
    };
    let mut f = Fancy::default();
    let running = r.state != lxc::State::Stopped.as_str();
    let ours = r.runtime == Some(lxc::Runtime::LxcRs.as_str());
    let wants = |col: Column| cols.contains(&col);

    if wants(Column::Autostart) || wants(Column::Groups) || wants(Column::Unprivileged) {
        let mut item: Box<dyn FnMut(&str) -> String> = if running && ours {
            Box::new(|key: &str| c.get_running_config_item(key).unwrap_or_default())
        } else {
            // A config that does not load shows its defaults, and says why.
            if let Err(e) = c.load_config(None) {
                warn("config", e.to_string());
            }
            Box::new(|key: &str| c.get_config_item(key).unwrap_or_default())
        };
        f.autostart = item("lxc.start.auto").trim() == "1";
        // Several groups are one per line; the table lists them comma separated.
        let groups: Vec<String> = item("lxc.group")
            .lines()
            .map(str::to_string)
            .filter(|g| !g.is_empty())
            .collect();
        f.groups = (!groups.is_empty()).then(|| groups.join(", "));
        f.unprivileged = !item("lxc.idmap").trim().is_empty();
    }

    if running && (wants(Column::Ipv4) || wants(Column::Ipv6)) {
        match lxc::net::running::get_ips(c, None, None, 0) {
            Ok(ips) => {
                let (v6, v4): (Vec<String>, Vec<String>) =
                    ips.into_iter().partition(|a| a.contains(':'));
                let join = |l: Vec<String>| (!l.is_empty()).then(|| l.join(", "));
                f.ipv4 = join(v4);
                f.ipv6 = join(v6);
            }
            Err(lxc::net::Error::Container(lxc::Error::NotRunning { .. })) => {}
            Err(e) => warn("IP addresses", super::device::net_error(e).user_message()),
        }
    }
    if running && wants(Column::Interface) {
        match lxc::net::running::get_interfaces(c) {
            Ok(l) => f.interfaces = (!l.is_empty()).then(|| l.join(", ")),
            Err(lxc::net::Error::Container(lxc::Error::NotRunning { .. })) => {}
            Err(e) => warn("interfaces", super::device::net_error(e).user_message()),
        }
    }
    f
}

/// lxc-ls's table: every cell padded to its column's widest (the header at least) and
/// followed by one space, the last one too; nothing at all when there is no row.
fn table(rows: &[Row], cols: &[Column]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    let cell = |r: &Row, col: Column| -> String {
        match col {
            Column::Name => r.name.clone(),
            Column::State => r.state_text.clone(),
            Column::Pid => r.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
            Column::Autostart => u8::from(r.fancy.autostart).to_string(),
            Column::Groups => dash(&r.fancy.groups),
            Column::Interface => dash(&r.fancy.interfaces),
            Column::Ipv4 => dash(&r.fancy.ipv4),
            Column::Ipv6 => dash(&r.fancy.ipv6),
            Column::Unprivileged => r.fancy.unprivileged.to_string(),
        }
    };
    let cells: Vec<Vec<String>> = std::iter::once(cols.iter().map(|c| c.header().into()).collect())
        .chain(
            rows.iter()
                .map(|r| cols.iter().map(|c| cell(r, *c)).collect()),
        )
        .collect();
    let widths: Vec<usize> = (0..cols.len())
        .map(|i| cells.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &cells {
        for (v, w) in row.iter().zip(&widths) {
            out.push_str(&format!("{v:<w$} "));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: &str, f: Fancy) -> Row {
        Row {
            name: name.into(),
            state: state.into(),
            runtime: None,
            pid: None,
            state_text: state.into(),
            fancy: f,
        }
    }

    #[test]
    fn the_default_table_is_lxc_ls_s() {
        let rows = [
            row(
                "web",
                "RUNNING",
                Fancy {
                    autostart: true,
                    groups: Some("onboot, web".into()),
                    ipv4: Some("10.0.3.10, 10.0.3.5".into()),
                    ipv6: Some("fd00::5".into()),
                    ..Fancy::default()
                },
            ),
            row("db", "STOPPED", Fancy::default()),
        ];
        assert_eq!(
            table(&rows, &Column::DEFAULT),
            "NAME STATE   AUTOSTART GROUPS      IPV4                IPV6    UNPRIVILEGED \n\
             web  RUNNING 1         onboot, web 10.0.3.10, 10.0.3.5 fd00::5 false        \n\
             db   STOPPED 0         -           -                   -       false        \n"
        );
        assert_eq!(table(&[], &Column::DEFAULT), "");
    }

    #[test]
    fn fancy_format_columns() {
        assert_eq!(
            Column::parse_list("name, pid,IPv4").unwrap(),
            [Column::Name, Column::Pid, Column::Ipv4]
        );
        assert!(Column::parse_list("NAME,RAM").is_err());
        let rows = [row("a", "STOPPED", Fancy::default())];
        assert_eq!(
            table(&rows, &[Column::Name, Column::Pid]),
            "NAME PID \na    -   \n"
        );
    }
}
