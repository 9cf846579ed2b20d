//! The bench's results: one [`Report`], written as report.json (serde) and report.md (below),
//! with a verdict per target.

use std::fmt::Write as _;

use serde::Serialize;

use super::lifecycle::RS_BARE;
use super::runtimes::{CRUN, CRUN_NET, FLOOR, LXC_EXECUTE, LXC_START, RS_EXECUTE, RS_START, RUNC};

/// Median, min, max (and mean) of some samples.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub n: usize,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Stats> {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Some(Stats {
            median,
            min: s[0],
            max: s[n - 1],
            mean: s.iter().sum::<f64>() / n as f64,
            n,
        })
    }
}

/// One measured figure.
#[derive(Serialize, Clone, Debug)]
pub struct Row {
    pub name: String,
    /// What was run (or how the figure was derived).
    pub command: String,
    pub unit: &'static str,
    #[serde(flatten)]
    pub stats: Stats,
    /// The lxc-rs row this one is compared with.
    pub vs: String,
    /// That lxc-rs row's median divided by this row's: below 1, lxc-rs is faster / smaller.
    pub lxc_rs_ratio: Option<f64>,
    pub note: Option<String>,
    /// Runs that failed, left out of the samples (a flaky runtime shows here, not as a crash).
    pub failed_runs: usize,
    /// Every sample, in run order (for the chart and for anyone re-analysing).
    pub samples: Vec<f64>,
}

impl Row {
    pub fn new(name: &str, command: String, unit: &'static str, samples: Vec<f64>) -> Option<Row> {
        Some(Row {
            name: name.to_string(),
            command,
            unit,
            stats: Stats::of(&samples)?,
            vs: String::new(),
            lxc_rs_ratio: None,
            note: None,
            failed_runs: 0,
            samples,
        })
    }

    pub fn vs(mut self, vs: &str) -> Row {
        self.vs = vs.to_string();
        self
    }

    pub fn note(mut self, note: Option<impl Into<String>>) -> Row {
        self.note = note.map(Into::into);
        self
    }

    pub fn failed(mut self, failed_runs: usize) -> Row {
        self.failed_runs = failed_runs;
        self
    }
}

/// A group of rows, with what was left out of it and why.
#[derive(Serialize, Clone, Debug, Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn get(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// Fill in each row's ratio against its lxc-rs row.
    pub fn set_ratios(&mut self) {
        let medians: Vec<(String, f64)> = self
            .rows
            .iter()
            .map(|r| (r.name.clone(), r.stats.median))
            .collect();
        for row in &mut self.rows {
            row.lxc_rs_ratio = medians
                .iter()
                .find(|(n, _)| *n == row.vs)
                .and_then(|(_, rs)| (row.stats.median > 0.0).then(|| rs / row.stats.median));
        }
    }
}

/// What became of one part of the bench.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Outcome<T> {
    Measured(T),
    /// Not run, and why (a feature lxc-rs does not have yet, a tool that failed its probe).
    Skipped(String),
    /// It was run and failed; the bench exits non-zero after writing the report.
    Failed(String),
}

impl<T> Outcome<T> {
    pub fn measured(&self) -> Option<&T> {
        match self {
            Outcome::Measured(t) => Some(t),
            _ => None,
        }
    }

    fn why_not(&self) -> Option<String> {
        match self {
            Outcome::Measured(_) => None,
            Outcome::Skipped(why) => Some(format!("skipped: {why}")),
            Outcome::Failed(why) => Some(format!("FAILED: {why}")),
        }
    }
}

impl<T> From<crate::run::Result<T>> for Outcome<T> {
    fn from(r: crate::run::Result<T>) -> Self {
        match r {
            Ok(t) => Outcome::Measured(t),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// One veth: each runtime's lifecycle with and without it.
#[derive(Serialize, Clone, Debug)]
pub struct Veth {
    pub table: Table,
    /// Median with veth minus median without, per runtime, in ms.
    pub added_ms: Vec<(String, f64)>,
    /// Why lxc-rs has no row, when it has none.
    pub lxc_rs_skipped: Option<String>,
}

/// 50 containers with one veth each, started at once: the times, and the links each round.
#[derive(Serialize, Clone, Debug)]
pub struct ScaleVeth {
    pub table: Table,
    pub checks: Vec<LinkCheck>,
}

/// What one round of 50 veth containers had while all ran, and what was left after the stop.
#[derive(Serialize, Clone, Debug)]
pub struct LinkCheck {
    /// `lxc-rs` or `LXC`.
    pub runtime: String,
    pub round: usize,
    pub containers: usize,
    /// veth host ends in the bench's namespace on its bridge and up.
    pub host_on_bridge: usize,
    /// Containers whose init's network namespace has an eth0 that is up.
    pub eth0_up: usize,
    /// Containers whose eth0's peer is one of those host ends, no two the same.
    pub paired: usize,
    /// veth host ends still in the bench's namespace 10 s after the stop wave.
    pub veths_left_after_stop: Vec<String>,
    pub problems: Vec<String>,
}

impl LinkCheck {
    pub fn passed(&self) -> bool {
        let n = self.containers;
        self.host_on_bridge == n
            && self.eth0_up == n
            && self.paired == n
            && self.veths_left_after_stop.is_empty()
            && self.problems.is_empty()
    }

    pub fn summary(&self) -> String {
        let n = self.containers;
        format!(
            "{}/{n} host ends on the bridge, {}/{n} eth0 up inside, {}/{n} paired, {} left \
             after the stop: {}",
            self.host_on_bridge,
            self.eth0_up,
            self.paired,
            self.veths_left_after_stop.len(),
            if self.passed() { "pass" } else { "FAIL" }
        )
    }
}

impl ScaleVeth {
    /// Did every round of `runtime` pass the links check? `None` when it had no round.
    pub fn links_passed(&self, runtime: &str) -> Option<(bool, usize, usize)> {
        let ours: Vec<&LinkCheck> = self
            .checks
            .iter()
            .filter(|c| c.runtime == runtime)
            .collect();
        (!ours.is_empty()).then(|| {
            let passed = ours.iter().filter(|c| c.passed()).count();
            (passed == ours.len(), passed, ours.len())
        })
    }
}

/// Where one lxc-rs start spends its time.
#[derive(Serialize, Clone, Debug)]
pub struct Phases {
    pub runs: usize,
    pub command: String,
    /// Wall time of each whole `lxc-rs execute` process, ms.
    pub wall: Stats,
    pub phases: Vec<PhaseRow>,
    /// Median wall time minus the median end of the last phase: exec, config load, monitor
    /// set-up and exit, none of which is inside a phase.
    pub outside_phases_ms: f64,
    /// Runs that failed (left out), and what the first one printed last.
    pub failed_runs: usize,
    pub first_failure: Option<String>,
}

#[derive(Serialize, Clone, Debug)]
pub struct PhaseRow {
    pub phase: String,
    /// `monitor` or `container` (the container's first process, which times the Child* phases).
    pub process: &'static str,
    /// Median start, ms after PreClone began.
    pub start_ms: f64,
    /// Median time between the end of everything that started earlier and this phase's start:
    /// time inside no phase (waiting for the other process, exec, ...).
    pub gap_before_ms: f64,
    pub duration_ms: Stats,
    /// Median duration over median wall time.
    pub share_of_wall: f64,
}

#[derive(Serialize, Clone, Debug)]
pub struct Machine {
    pub kernel: String,
    pub os: String,
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub cgroups: String,
    pub load: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct Verdict {
    pub target: String,
    pub measured: String,
    /// `met`, `not met`, or `not measured` (counts as not met).
    pub status: &'static str,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub command: String,
    pub date: String,
    pub machine: Machine,
    pub versions: Vec<(String, String)>,
    pub lifecycle_hot: Outcome<Table>,
    pub lifecycle_cold: Outcome<Table>,
    pub veth: Outcome<Veth>,
    pub memory: Outcome<Table>,
    pub scale: Outcome<Table>,
    pub scale_veth: Outcome<ScaleVeth>,
    pub config_load: Outcome<Table>,
    pub console_log: Outcome<Table>,
    pub seccomp_notify: Outcome<Table>,
    pub seccomp_policy: Outcome<Table>,
    pub phases: Outcome<Phases>,
    pub verdicts: Vec<Verdict>,
    /// How each figure was measured.
    pub method: Vec<String>,
}

pub const SCALE_RS: &str = "lxc-rs: 50 starts + 50 stops";
pub const SCALE_LXC: &str = "LXC: 50 starts + 50 stops";
pub const SCALE_VETH_RS: &str = "lxc-rs: 50 veth starts + 50 stops";

impl Report {
    pub fn any_failed(&self) -> bool {
        fn failed<T>(o: &Outcome<T>) -> bool {
            matches!(o, Outcome::Failed(_))
        }
        failed(&self.lifecycle_hot)
            || failed(&self.lifecycle_cold)
            || failed(&self.veth)
            || failed(&self.memory)
            || failed(&self.scale)
            || failed(&self.scale_veth)
            || self
                .scale_veth
                .measured()
                .and_then(|s| s.links_passed("lxc-rs"))
                .is_some_and(|(ok, _, _)| !ok)
            || failed(&self.config_load)
            || failed(&self.console_log)
            || failed(&self.seccomp_notify)
            || failed(&self.seccomp_policy)
            || failed(&self.phases)
    }

    /// One verdict per target of the issue; a target that could not be measured is not met.
    pub fn compute_verdicts(&mut self) {
        let mut v = Vec::new();
        let hot = self.lifecycle_hot.measured();
        let median = |name: &str| hot.and_then(|t| t.get(name)).map(|r| r.stats.median);
        let rs = median(RS_EXECUTE);
        let ratio_target =
            |target: String, other: &str, limit: f64, extra: String| match (rs, median(other)) {
                (Some(rs), Some(o)) if o > 0.0 => {
                    let r = rs / o;
                    verdict(
                        target,
                        format!("{r:.2}x ({} vs {}){extra}", ms(rs), ms(o)),
                        r <= limit,
                    )
                }
                _ => not_measured(target, why(&self.lifecycle_hot, other)),
            };
        v.push(ratio_target(
            "lifecycle median: lxc-rs execute <= 0.6x lxc-execute".into(),
            LXC_EXECUTE,
            0.6,
            String::new(),
        ));
        let crun_raw = median(CRUN)
            .map(|c| format!("; vs crun with its wrapper: {}", ms(c)))
            .unwrap_or_default();
        v.push(ratio_target(
            "lifecycle median: lxc-rs execute <= 1.0x crun run (minus its wrapper)".into(),
            CRUN_NET,
            1.0,
            crun_raw,
        ));
        v.push(ratio_target(
            "lifecycle median: lxc-rs execute <= 0.35x runc run".into(),
            RUNC,
            0.35,
            String::new(),
        ));
        v.push(ratio_target(
            "lifecycle median: lxc-rs execute within 2.5x the unshare floor".into(),
            FLOOR,
            2.5,
            String::new(),
        ));

        let veth_target = "one veth (on a bridge) adds <= 5 ms to lxc-rs's lifecycle".to_string();
        v.push(match &self.veth {
            Outcome::Measured(veth) => {
                let added = |name: &str| {
                    veth.added_ms
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, d)| *d)
                };
                let lxc = added(LXC_EXECUTE)
                    .map(|d| format!(" (LXC: {d:+.1} ms)"))
                    .unwrap_or_default();
                let bare = added(RS_BARE)
                    .map(|d| format!("; lxc-rs under `nsenter --net` alone: {d:+.1} ms"))
                    .unwrap_or_default();
                match added(RS_EXECUTE) {
                    Some(d) => verdict(
                        veth_target,
                        format!("{d:+.1} ms{lxc}, both in the same netns wrapper, medians{bare}"),
                        d <= 5.0,
                    ),
                    None => not_measured(
                        veth_target,
                        format!("{}{lxc}", veth.lxc_rs_skipped.clone().unwrap_or_default()),
                    ),
                }
            }
            other => not_measured(veth_target, other.why_not().unwrap_or_default()),
        });

        let mem_target = "peak RSS of lxc-rs <= LXC's".to_string();
        v.push(match self.memory.measured() {
            Some(t) => {
                let pairs = [(RS_EXECUTE, LXC_EXECUTE), (RS_START, LXC_START)];
                let mut parts = Vec::new();
                let mut ok = true;
                let mut all = true;
                for (a, b) in pairs {
                    match (t.get(a), t.get(b)) {
                        (Some(a), Some(b)) => {
                            ok &= a.stats.median <= b.stats.median;
                            parts.push(format!(
                                "{} {:.1} MiB vs {} {:.1} MiB",
                                a.name, a.stats.median, b.name, b.stats.median
                            ));
                        }
                        _ => all = false,
                    }
                }
                if all {
                    verdict(mem_target, parts.join("; "), ok)
                } else {
                    not_measured(mem_target, "a memory row is missing".into())
                }
            }
            None => not_measured(mem_target, why(&self.memory, "memory")),
        });

        let scale_target = "50 concurrent starts + stops <= 0.5x LXC's time".to_string();
        v.push(
            match self
                .scale
                .measured()
                .and_then(|t| Some((t.get(SCALE_RS)?, t.get(SCALE_LXC)?)))
            {
                Some((a, b)) if b.stats.median > 0.0 => {
                    let r = a.stats.median / b.stats.median;
                    verdict(
                        scale_target,
                        format!(
                            "{r:.2}x ({:.2} s vs {:.2} s)",
                            a.stats.median, b.stats.median
                        ),
                        r <= 0.5,
                    )
                }
                _ => not_measured(scale_target, why(&self.scale, "scale")),
            },
        );

        let links_target = "50 veth containers started at once all get their links".to_string();
        v.push(match &self.scale_veth {
            Outcome::Measured(sv) => {
                let describe = |rt: &str| {
                    sv.links_passed(rt).map(|(_, passed, rounds)| {
                        format!("{rt}: {passed} of {rounds} rounds pass")
                    })
                };
                let lxc = describe("LXC")
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_else(|| " (LXC: not measured)".into());
                match (sv.links_passed("lxc-rs"), describe("lxc-rs")) {
                    (Some((ok, _, _)), Some(d)) => verdict(
                        links_target,
                        format!(
                            "{d}: every host end on the bridge and up, every eth0 up inside and \
                             paired with its own host end, none left after the stop{lxc}"
                        ),
                        ok,
                    ),
                    _ => not_measured(links_target, format!("no lxc-rs round{lxc}")),
                }
            }
            other => not_measured(links_target, other.why_not().unwrap_or_default()),
        });
        self.verdicts = v;
    }
}

fn verdict(target: String, measured: String, met: bool) -> Verdict {
    Verdict {
        target,
        measured,
        status: if met { "met" } else { "not met" },
    }
}

fn not_measured(target: String, why: String) -> Verdict {
    Verdict {
        target,
        measured: why,
        status: "not measured",
    }
}

fn why<T>(o: &Outcome<T>, what: &str) -> String {
    o.why_not().unwrap_or_else(|| format!("no `{what}` row"))
}

pub fn ms(v: f64) -> String {
    format!("{} ms", num(v))
}

/// Three significant figures, enough for a spread of ±30% between runs.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn table_md(out: &mut String, t: &Table) {
    let _ = writeln!(
        out,
        "| | median | min | max | n | lxc-rs / this |\n|---|---:|---:|---:|---:|---:|"
    );
    for r in &t.rows {
        let ratio = match (r.lxc_rs_ratio, r.vs.as_str()) {
            (_, vs) if vs == r.name => "(itself)".to_string(),
            (Some(x), vs) => format!("{x:.2}x ({vs})"),
            (None, _) => String::new(),
        };
        let u = r.unit;
        let _ = writeln!(
            out,
            "| {} | {} {u} | {} {u} | {} {u} | {} | {ratio} |",
            r.name,
            num(r.stats.median),
            num(r.stats.min),
            num(r.stats.max),
            r.stats.n
        );
    }
    let failures = t.rows.iter().filter(|r| r.failed_runs > 0).map(|r| {
        format!(
            "{}: **{} of {} runs failed** and are left out of its figures",
            r.name,
            r.failed_runs,
            r.failed_runs + r.stats.n
        )
    });
    let notes: Vec<String> = failures
        .chain(
            t.rows
                .iter()
                .filter_map(|r| r.note.as_ref().map(|n| format!("{}: {n}", r.name))),
        )
        .chain(t.notes.iter().cloned())
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out.push('\n');
}

fn outcome_md<T>(out: &mut String, o: &Outcome<T>, f: impl FnOnce(&mut String, &T)) {
    match o {
        Outcome::Measured(t) => f(out, t),
        other => {
            let _ = writeln!(out, "{}\n", other.why_not().unwrap_or_default());
        }
    }
}

fn scale_veth_md(out: &mut String, sv: &ScaleVeth) {
    let _ = writeln!(
        out,
        "| runtime | round | host ends on the bridge, up | eth0 up inside | paired | left after \
         the stop | links |\n|---|---:|---:|---:|---:|---:|---|"
    );
    for c in &sv.checks {
        let n = c.containers;
        let _ = writeln!(
            out,
            "| {} | {} | {}/{n} | {}/{n} | {}/{n} | {} | {} |",
            c.runtime,
            c.round,
            c.host_on_bridge,
            c.eth0_up,
            c.paired,
            c.veths_left_after_stop.len(),
            if c.passed() { "pass" } else { "**FAIL**" }
        );
    }
    let problems: Vec<String> = sv
        .checks
        .iter()
        .flat_map(|c| {
            let more = c.problems.len().saturating_sub(5);
            c.problems
                .iter()
                .take(5)
                .map(move |p| format!("{} round {}: {p}", c.runtime, c.round))
                .chain((more > 0).then(|| format!("{} round {}: {more} more", c.runtime, c.round)))
        })
        .chain(
            sv.checks
                .iter()
                .filter(|c| !c.veths_left_after_stop.is_empty())
                .map(|c| {
                    format!(
                        "{} round {}: left after the stop: {}",
                        c.runtime,
                        c.round,
                        c.veths_left_after_stop.join(" ")
                    )
                }),
        )
        .collect();
    out.push('\n');
    if !problems.is_empty() {
        for p in problems {
            let _ = writeln!(out, "- {p}");
        }
        out.push('\n');
    }
    table_md(out, &sv.table);
}

pub fn verdicts_md(out: &mut String, r: &Report) {
    let _ = writeln!(out, "| target | measured | verdict |\n|---|---|---|");
    for v in &r.verdicts {
        let status = match v.status {
            "met" => "met".to_string(),
            "not measured" => "**not met** (not measured)".to_string(),
            s => format!("**{s}**"),
        };
        let _ = writeln!(out, "| {} | {} | {status} |", v.target, v.measured);
    }
    out.push('\n');
}

pub fn phases_md(out: &mut String, p: &Phases) {
    let _ = writeln!(
        out,
        "{} runs of `{}`; wall time median {}, min {}, max {}.\n",
        p.runs,
        p.command,
        ms(p.wall.median),
        ms(p.wall.min),
        ms(p.wall.max)
    );
    if let Some(why) = &p.first_failure {
        let _ = writeln!(
            out,
            "**{} of {} runs failed** and are left out; the first: {why}\n",
            p.failed_runs,
            p.failed_runs + p.runs
        );
    }
    let _ = writeln!(
        out,
        "| phase | process | starts at | gap before | median | min | max | share of wall |\n\
         |---|---|---:|---:|---:|---:|---:|---:|"
    );
    for ph in &p.phases {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0}% |",
            ph.phase,
            ph.process,
            ms(ph.start_ms),
            ms(ph.gap_before_ms),
            ms(ph.duration_ms.median),
            ms(ph.duration_ms.min),
            ms(ph.duration_ms.max),
            ph.share_of_wall * 100.0
        );
    }
    let _ = writeln!(
        out,
        "| (outside any phase: exec, config load, monitor set-up, exit) | | | | {} | | | {:.0}% |\n",
        ms(p.outside_phases_ms),
        if p.wall.median > 0.0 {
            p.outside_phases_ms / p.wall.median * 100.0
        } else {
            0.0
        }
    );
}

/// What `cargo xtask bench` prints at the end: the verdicts, the hot lifecycle table and the
/// phase breakdown.
pub fn summary_md(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "`{}` on {}: Linux {}, {} cores, cgroups {}; {}.\n",
        r.command, r.date, r.machine.kernel, r.machine.cores, r.machine.cgroups, r.machine.load
    );
    let _ = writeln!(out, "## Targets\n");
    verdicts_md(&mut out, r);
    let _ = writeln!(out, "## Lifecycle, hot (ms)\n");
    outcome_md(&mut out, &r.lifecycle_hot, table_md);
    let _ = writeln!(out, "## Where one lxc-rs start spends its time\n");
    outcome_md(&mut out, &r.phases, phases_md);
    out
}

pub fn full_md(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# lxc-rs benchmark\n");
    let _ = writeln!(
        out,
        "Made by `{}` on {}. The chart is [report.svg](report.svg); every sample is in \
         [report.json](report.json). Absolute times drift by ±30% between runs on shared \
         machines: compare the ratios, which come from one run.\n",
        r.command, r.date
    );
    let m = &r.machine;
    let _ = writeln!(
        out,
        "Machine: Linux {}, {}, {} cores ({}), {} RAM; cgroups: {}; {}.\n",
        m.kernel, m.os, m.cores, m.cpu, m.memory, m.cgroups, m.load
    );
    let _ = writeln!(out, "Versions: {}.\n", versions_line(r));
    let _ = writeln!(out, "## Targets\n");
    verdicts_md(&mut out, r);
    let _ = writeln!(
        out,
        "## Lifecycle, hot (ms)\n\nStart a busybox container running /bin/true, wait for it, \
         clean up; back to back, all rows in one hyperfine invocation.\n"
    );
    outcome_md(&mut out, &r.lifecycle_hot, table_md);
    let _ = writeln!(
        out,
        "## Lifecycle, cold (ms)\n\nThe same, after an idle gap before every run.\n"
    );
    outcome_md(&mut out, &r.lifecycle_cold, table_md);
    let _ = writeln!(out, "## One veth (ms)\n");
    outcome_md(&mut out, &r.veth, |out, v| {
        for (name, d) in &v.added_ms {
            let _ = writeln!(out, "- {name}: one veth adds {d:+.1} ms (medians)");
        }
        if let Some(why) = &v.lxc_rs_skipped {
            let _ = writeln!(out, "- lxc-rs: skipped: {why}");
        }
        out.push('\n');
        table_md(out, &v.table);
    });
    let _ = writeln!(
        out,
        "## Peak memory (MiB)\n\nThe largest max RSS among the processes of one lifecycle \
         that its first process waits for (GNU time's %M).\n"
    );
    outcome_md(&mut out, &r.memory, table_md);
    let _ = writeln!(out, "## 50 containers (s)\n");
    outcome_md(&mut out, &r.scale, table_md);
    let _ = writeln!(
        out,
        "## 50 veth containers (s)\n\nEach with one veth on the bench's bridge, in the bench's \
         network namespace; the links of every container checked while all run.\n"
    );
    outcome_md(&mut out, &r.scale_veth, scale_veth_md);
    let _ = writeln!(
        out,
        "## Config parsing: one 2000-line config (µs per load)\n"
    );
    outcome_md(&mut out, &r.config_load, table_md);
    let _ = writeln!(out, "## Console ring buffer throughput\n");
    outcome_md(&mut out, &r.console_log, table_md);
    let _ = writeln!(out, "## seccomp notify round trip\n");
    outcome_md(&mut out, &r.seccomp_notify, table_md);
    let _ = writeln!(
        out,
        "## seccomp: lifecycle with common.conf's policy (ms)\n\n`execute -- /bin/true` with \
         and without `lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp`.\n"
    );
    outcome_md(&mut out, &r.seccomp_policy, table_md);
    let _ = writeln!(out, "## Where one lxc-rs start spends its time\n");
    outcome_md(&mut out, &r.phases, phases_md);
    let _ = writeln!(out, "## How it was measured\n");
    for m in &r.method {
        let _ = writeln!(out, "- {m}");
    }
    out
}

pub fn versions_line(r: &Report) -> String {
    r.versions
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_even_and_odd() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = Stats::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn ratios_against_the_lxc_rs_row() {
        let mut t = Table {
            rows: vec![
                Row::new(RS_EXECUTE, "a".into(), "ms", vec![5.0])
                    .unwrap()
                    .vs(RS_EXECUTE),
                Row::new(LXC_EXECUTE, "b".into(), "ms", vec![10.0])
                    .unwrap()
                    .vs(RS_EXECUTE),
            ],
            notes: vec![],
        };
        t.set_ratios();
        assert_eq!(t.get(LXC_EXECUTE).unwrap().lxc_rs_ratio, Some(0.5));
        assert_eq!(t.get(RS_EXECUTE).unwrap().lxc_rs_ratio, Some(1.0));
    }
}
