//! `lxc-rs ls`: the containers defined under an lxcpath, like `lxc-ls`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::{Deserialize, Serialize};

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

    /// Also list the containers inside the containers, NUM levels deep (default 5): from
    /// inside a running one, under a stopped one's rootfs; `PARENT/NAME` in the list, `\NAME`
    /// indented in the table
    #[arg(
        long,
        value_name = "NUM",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "5",
        allow_hyphen_values = true
    )]
    pub nesting: Option<String>,

    /// Accepted, as lxc-ls accepts it, and not read
    #[command(flatten)]
    pub rc: super::running::Rcfile,
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
    /// How deep it is nested (`--nesting`): 0 for the lxcpath's own.
    #[serde(skip)]
    nest: u32,
    /// The table's other columns, filled only for a table.
    #[serde(skip)]
    fancy: Fancy,
}

/// What lxc-ls --fancy shows beyond the state; `None` prints as `-`.
#[derive(Debug, Default, Serialize, Deserialize)]
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
        // lxc-ls says RUNNING whoever runs it; lxc-rs's own ls tells LXC's apart.
        state_text: match crate::lxc_names::invoked() {
            Some(_) => state.to_string(),
            None => super::info::state_text(state, runtime.as_ref()),
        },
        nest: 0,
        fancy: Fancy::default(),
    };
    Ok((row, c))
}

/// lxc-ls's default depth for `--nesting` without a number (its MAX_NESTLVL).
const NESTING_DEFAULT: u32 = 5;

/// `--nesting[=NUM]` as lxc-ls reads it: a number that does not parse (or is negative) is
/// the default depth.
fn nesting_depth(value: Option<&str>) -> u32 {
    match value {
        None => 0,
        Some(v) if v.starts_with('-') => NESTING_DEFAULT,
        Some(v) => v.parse().unwrap_or(NESTING_DEFAULT),
    }
}

/// What one listing asks, at every level of nesting.
struct Query<'a> {
    args: &'a LsArgs,
    columns: Option<Vec<Column>>,
    /// The lxcpath as given: at every level, the containers under this path (inside a
    /// running container, or below a stopped one's rootfs).
    lxcpath: PathBuf,
    must: Vec<String>,
    nesting: u32,
}

pub fn run(args: &LsArgs, g: &Global) -> Result<ExitCode, CliError> {
    let columns = match &args.fancy_format {
        Some(f) => Some(Column::parse_list(f)?),
        None if args.fancy => Some(Column::DEFAULT.to_vec()),
        None => None,
    };
    let q = Query {
        args,
        columns,
        lxcpath: super::lxcpath(g),
        must: args
            .groups
            .iter()
            .flat_map(|g| g.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        nesting: nesting_depth(args.nesting.as_deref()),
    };
    let mut rows = Vec::new();
    collect(&q, Path::new(""), None, 0, &mut rows)?;
    if args.json {
        super::print_json(&rows)?;
    } else if let Some(cols) = &q.columns {
        super::print(&table(&rows, cols))?;
    } else {
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let width = if args.line {
            None
        } else {
            Some(crate::sys::term_width())
        };
        // lxc-ls's column width counts a nested name's depth too.
        let deepest = rows.iter().map(|r| r.name.len() + r.nest as usize).max();
        super::print(&names_text(&names, deepest.unwrap_or(0), width))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows of the containers under `base` + the lxcpath, and with `--nesting` those nested
/// in them (lxc-ls's `ls_get`): `parent` names the container this level is inside, `lvl` is
/// the depth.
fn collect(
    q: &Query<'_>,
    base: &Path,
    parent: Option<&str>,
    lvl: u32,
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    let args = q.args;
    if lvl > q.nesting {
        return Ok(());
    }
    let lxcpath = join_below(base, &q.lxcpath);
    // A level below that has no lxcpath has no containers.
    if lvl > 0 && !lxcpath.is_dir() {
        return Ok(());
    }
    let mut names = lxc::list_defined_containers(&lxcpath)?;
    // As lxc-ls: a pattern that does not compile matches no name.
    if let Some(f) = args.filter.as_ref().or(args.filter_arg.as_ref()) {
        let re = crate::sys::Regex::new(f);
        names.retain(|n| re.as_ref().is_some_and(|re| re.is_match(n)));
    }
    let by_state = args.active || args.running || args.frozen || args.stopped;
    let need_state =
        args.json || q.columns.is_some() || by_state || !q.must.is_empty() || q.nesting > lvl;
    // lxc-ls's list form names a nested container by its parents too: `c1/c2`.
    let shown = |n: &str| match parent {
        Some(p) if q.columns.is_none() || args.line || args.json => format!("{p}/{n}"),
        _ => n.to_string(),
    };
    for n in &names {
        if !need_state {
            rows.push(Row {
                name: shown(n),
                state: String::new(),
                runtime: None,
                pid: None,
                state_text: String::new(),
                nest: lvl,
                fancy: Fancy::default(),
            });
            continue;
        }
        let (mut r, mut c) = row(n, &lxcpath)?;
        r.name = shown(n);
        r.nest = lvl;
        let stopped = r.state == lxc::State::Stopped.as_str();
        let frozen = r.state == lxc::State::Frozen.as_str();
        // lxc-ls's filters, each one a further condition.
        if ((args.active || args.running) && stopped)
            || (args.frozen && !args.active && !frozen)
            || (args.stopped && !stopped)
        {
            continue;
        }
        if !q.must.is_empty() {
            let has = groups(&mut c, &r);
            if !q.must.iter().all(|m| has.iter().any(|h| h == m)) {
                continue;
            }
        }
        if let (Some(cols), false) = (&q.columns, args.json) {
            r.fancy = fancy(&mut c, &r, cols);
        }
        let name = r.name.clone();
        rows.push(r);
        if lvl < q.nesting {
            if stopped {
                nested_in_rootfs(q, &mut c, base, &name, lvl, rows)?;
            } else {
                nested_inside(q, &c, &name, lvl, rows);
            }
        }
    }
    Ok(())
}

/// `path` below `base`, as lxc-ls appends paths (`base` empty: `path` itself).
fn join_below(base: &Path, path: &Path) -> PathBuf {
    if base.as_os_str().is_empty() {
        return path.to_path_buf();
    }
    base.join(path.strip_prefix("/").unwrap_or(path))
}

/// The containers a stopped container holds: under its rootfs (`lxc.rootfs.path`, below the
/// levels above) + the lxcpath, as lxc-ls finds them.
fn nested_in_rootfs(
    q: &Query<'_>,
    c: &mut lxc::Container,
    base: &Path,
    name: &str,
    lvl: u32,
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    if c.load_config(None).is_err() {
        return Ok(());
    }
    let Ok(rootfs) = c.get_config_item("lxc.rootfs.path") else {
        return Ok(());
    };
    // lxc-ls takes the value as a path; `dir:` (a directory backend's prefix) is skipped.
    let rootfs = rootfs.strip_prefix("dir:").unwrap_or(&rootfs).to_string();
    if rootfs.is_empty() {
        return Ok(());
    }
    collect(
        q,
        &join_below(base, Path::new(&rootfs)),
        Some(name),
        lvl + 1,
        rows,
    )
}

/// The containers a running container runs or holds, listed from inside it as lxc-ls does:
/// an attached process (all its namespaces, a clear environment) lists its lxcpath and sends
/// the rows back as JSON. A container that cannot be attached to shows no nested ones.
fn nested_inside(q: &Query<'_>, c: &lxc::Container, name: &str, lvl: u32, rows: &mut Vec<Row>) {
    let (mut ours, theirs) = match std::os::unix::net::UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(container = name, error = %e, "ls --nesting: socketpair");
            return;
        }
    };
    let opts = lxc::attach::AttachOptions {
        env_policy: lxc::attach::EnvPolicy::ClearEnv,
        stdio: lxc::attach::AttachStdio::Inherit,
        ..Default::default()
    };
    let parent = name.to_string();
    let job: lxc::attach::AttachFn<'_> = Box::new(move || {
        let mut nested = Vec::new();
        let code = match collect(q, Path::new(""), Some(&parent), lvl + 1, &mut nested) {
            Ok(()) => 0,
            Err(_) => 1,
        };
        let wire: Vec<WireRow> = nested.into_iter().map(WireRow::from).collect();
        let mut theirs = theirs;
        match serde_json::to_writer(&mut theirs, &wire) {
            Ok(()) => code,
            Err(_) => 1,
        }
    });
    let attached = match lxc::attach::attach(c, &opts, job) {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(container = name, error = %e, "ls --nesting: cannot attach");
            return;
        }
    };
    let mut text = Vec::new();
    let read = std::io::Read::read_to_end(&mut ours, &mut text);
    let _ = attached.wait();
    if let Err(e) = read {
        tracing::warn!(container = name, error = %e, "ls --nesting: reading the nested list");
        return;
    }
    match serde_json::from_slice::<Vec<WireRow>>(&text) {
        Ok(wire) => rows.extend(wire.into_iter().map(Row::from)),
        Err(e) => tracing::warn!(container = name, error = %e, "ls --nesting: a bad nested list"),
    }
}

/// A [`Row`] as an attached `ls --nesting` process sends it back.
#[derive(Debug, Serialize, Deserialize)]
struct WireRow {
    name: String,
    state: String,
    runtime: Option<String>,
    pid: Option<i32>,
    state_text: String,
    nest: u32,
    fancy: Fancy,
}

impl From<Row> for WireRow {
    fn from(r: Row) -> WireRow {
        WireRow {
            name: r.name,
            state: r.state,
            runtime: r.runtime.map(str::to_string),
            pid: r.pid,
            state_text: r.state_text,
            nest: r.nest,
            fancy: r.fancy,
        }
    }
}

impl From<WireRow> for Row {
    fn from(w: WireRow) -> Row {
        // The two runtimes' names, as `Runtime::as_str` spells them.
        let runtime = match w.runtime.as_deref() {
            Some("lxc") => Some("lxc"),
            Some(_) => Some(lxc::Runtime::LxcRs.as_str()),
            None => None,
        };
        Row {
            name: w.name,
            state: w.state,
            runtime,
            pid: w.pid,
            state_text: w.state_text,
            nest: w.nest,
            fancy: w.fancy,
        }
    }
}

/// lxc-ls's name list: one per line with -1 (`width` None); else each name padded to the
/// longest (at least 4, NAME's width) and as many per line as fit the terminal's `width`; with
/// no terminal (0), one padded name per line.
fn names_text(names: &[&str], widest: usize, width: Option<usize>) -> String {
    let Some(term) = width else {
        return names.iter().map(|n| format!("{n}\n")).collect();
    };
    let w = widest.max(4);
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
        let who = crate::lxc_names::speaker("ls", None);
        eprintln!("{who}: warning: {}: {what}: {why}", r.name);
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
    // lxc-ls indents a nested name: `\NAME` at its depth, the backslash right-aligned.
    let cell = |r: &Row, col: Column| -> String {
        match col {
            Column::Name if r.nest > 0 => format!("{:>w$}{}", "\\", r.name, w = r.nest as usize),
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
            nest: 0,
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
