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

/// One round of an idle fleet: started, checked RUNNING, stopped, checked that nothing is left.
#[derive(Serialize, Clone, Debug)]
pub struct FleetRound {
    /// `lxc-rs` or `LXC`.
    pub runtime: String,
    pub containers: usize,
    pub round: usize,
    /// Wall time of the start wave and of the stop wave, s.
    pub start_s: f64,
    pub stop_s: f64,
    /// `name: why` of each start command that failed.
    pub start_failures: Vec<String>,
    /// Containers listed as running after the start wave.
    pub running: usize,
    pub stop_failures: Vec<String>,
    /// What was still there after the stop ([`super::idle::SETTLE_S`] s later): containers
    /// listed as running, processes of the lxcpath, inits, cgroups named like a container.
    pub left: Vec<String>,
    pub problems: Vec<String>,
}

impl FleetRound {
    pub fn passed(&self) -> bool {
        self.start_failures.is_empty()
            && self.running == self.containers
            && self.stop_failures.is_empty()
            && self.left.is_empty()
            && self.problems.is_empty()
    }

    pub fn summary(&self) -> String {
        let n = self.containers;
        format!(
            "{} start failures, {}/{n} RUNNING, {} stop failures, {} left after the stop: {}",
            self.start_failures.len(),
            self.running,
            self.stop_failures.len(),
            self.left.len(),
            if self.passed() { "pass" } else { "FAIL" }
        )
    }
}

/// Idle fleets (minimal init) started at once and stopped at once: the times, and each round's
/// checks.
#[derive(Serialize, Clone, Debug)]
pub struct IdleFleets {
    pub table: Table,
    pub rounds: Vec<FleetRound>,
}

impl IdleFleets {
    /// Did every round of `runtime` with `n` containers pass? `None` when it had none.
    pub fn passed(&self, runtime: &str, n: usize) -> Option<(bool, usize, usize)> {
        let ours: Vec<&FleetRound> = self
            .rounds
            .iter()
            .filter(|r| r.runtime == runtime && r.containers == n)
            .collect();
        (!ours.is_empty()).then(|| {
            let passed = ours.iter().filter(|r| r.passed()).count();
            (passed == ours.len(), passed, ours.len())
        })
    }
}

/// The name of an idle-fleet row: `lxc-rs: 50 idle, starts + stops`.
pub fn fleet_row(runtime: &str, n: usize, what: &str) -> String {
    format!("{runtime}: {n} idle, {what}")
}

/// Processes of one kind (`comm`) among a runtime's own.
#[derive(Serialize, Clone, Debug)]
pub struct ProcessKind {
    pub comm: String,
    pub count: usize,
    pub pss_mib: f64,
}

/// One runtime's idle containers, all running at once.
#[derive(Serialize, Clone, Debug)]
pub struct IdleRun {
    pub runtime: String,
    pub containers: usize,
    /// Wall time of all the start batches, s.
    pub start_s: f64,
    pub start_failures: usize,
    /// The first few of them, `name: why`.
    pub first_start_failures: Vec<String>,
    /// Containers listed as running once every start had returned.
    pub running: usize,
    /// The containers' inits found on the host then.
    pub inits: usize,
    /// Cgroup directories named like the containers then (what the check after the stop
    /// looks for: it must find them while they run).
    pub cgroups: usize,
    /// The runtime's own processes then (monitors, helpers), by kind.
    pub processes: usize,
    pub kinds: Vec<ProcessKind>,
    /// PSS summed over the runtime's own processes, and divided by the running containers.
    pub pss_total_mib: f64,
    pub pss_per_container_mib: f64,
    /// The inits' PSS per container (the same program for both runtimes; not in the target).
    pub init_pss_per_container_mib: f64,
    /// MemAvailable before the starts minus while all ran: everything the containers cost
    /// the host, kernel included.
    pub mem_used_mib: Option<f64>,
    pub stop_s: f64,
    pub stop_failures: usize,
    pub first_stop_failures: Vec<String>,
    /// What was left after the stop (the first few) and how much.
    pub left_count: usize,
    pub left: Vec<String>,
    pub problems: Vec<String>,
}

impl IdleRun {
    pub fn passed(&self) -> bool {
        self.start_failures == 0
            && self.running == self.containers
            && self.stop_failures == 0
            && self.left_count == 0
            && self.problems.is_empty()
    }

    pub fn summary(&self) -> String {
        let n = self.containers;
        format!(
            "{}: {} start failures, {}/{n} RUNNING ({} inits, {} cgroups named like them); {} \
             processes of its own, PSS {:.1} MiB ({:.2} MiB per container); starts {:.1} s, \
             stops {:.1} s; {} stop failures, {} left after the stop: {}",
            self.runtime,
            self.start_failures,
            self.running,
            self.inits,
            self.cgroups,
            self.processes,
            self.pss_total_mib,
            self.pss_per_container_mib,
            self.start_s,
            self.stop_s,
            self.stop_failures,
            self.left_count,
            if self.passed() { "pass" } else { "FAIL" }
        )
    }
}

/// Idle containers by the thousand, one runtime after the other.
#[derive(Serialize, Clone, Debug)]
pub struct IdleScale {
    pub wanted: usize,
    /// How many each runtime ran: `wanted`, or fewer when the machine had no room.
    pub containers: usize,
    pub batch: usize,
    /// What each resource of the machine allowed.
    pub room: Vec<String>,
    pub runs: Vec<IdleRun>,
    pub table: Table,
}

impl IdleScale {
    pub fn run(&self, runtime: &str) -> Option<&IdleRun> {
        self.runs.iter().find(|r| r.runtime == runtime)
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
    /// Per run, its wall time minus the time covered by at least one phase (the union of
    /// every process's phase intervals, so nested or overlapping phases count once); median.
    pub outside_phases_ms: f64,
    /// The part of that between the first phase's start and the last one's end (waits, the
    /// other process's exec), median.
    pub gaps_between_phases_ms: f64,
    /// The part before the first phase and after the last (exec of lxc-rs, dynamic loading,
    /// config load, monitor set-up, exit), median.
    pub before_after_phases_ms: f64,
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
    pub fleet: Outcome<IdleFleets>,
    pub scale1000: Outcome<IdleScale>,
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
            || failed(&self.fleet)
            || failed(&self.scale1000)
            || self.verdicts.iter().any(|v| v.status == FAILED)
    }

    /// One verdict per target of the issue; a target that could not be measured is not met. The
    /// targets of steps left out with `--only` are left out too.
    pub fn compute_verdicts(&mut self) {
        let mut v = Vec::new();
        if selected(&self.lifecycle_hot) {
            self.hot_verdicts(&mut v);
        }
        if selected(&self.lifecycle_cold) {
            let cold = self.lifecycle_cold.measured();
            let median = |name: &str| cold.and_then(|t| t.get(name)).map(|r| r.stats.median);
            let target = "cold lifecycle median: lxc-rs execute <= 0.7x lxc-execute".to_string();
            v.push(match (median(RS_EXECUTE), median(LXC_EXECUTE)) {
                (Some(rs), Some(o)) if o > 0.0 => {
                    let r = rs / o;
                    verdict(
                        target,
                        format!("{r:.2}x ({} vs {})", ms(rs), ms(o)),
                        r <= 0.7,
                    )
                }
                _ => not_measured(target, why(&self.lifecycle_cold, LXC_EXECUTE)),
            });
        }
        if selected(&self.phases) {
            let target = "time outside any start phase <= 0.5 ms (wall time minus the union of \
                          the phases, median)"
                .to_string();
            v.push(match self.phases.measured() {
                Some(p) => verdict(
                    target,
                    format!(
                        "{} of {} wall ({} before the first phase and after the last, {} in \
                         gaps between phases)",
                        ms(p.outside_phases_ms),
                        ms(p.wall.median),
                        ms(p.before_after_phases_ms),
                        ms(p.gaps_between_phases_ms)
                    ),
                    p.outside_phases_ms <= 0.5,
                ),
                None => not_measured(target, why(&self.phases, "phases")),
            });
        }
        if selected(&self.veth) {
            v.push(self.veth_verdict());
        }
        if selected(&self.memory) {
            v.push(self.memory_verdict());
        }
        if selected(&self.fleet) {
            self.fleet_verdicts(&mut v);
        }
        if selected(&self.scale1000) {
            self.scale1000_verdicts(&mut v);
        }
        if selected(&self.scale_veth) {
            v.push(self.links_verdict());
        }
        self.verdicts = v;
    }

    fn hot_verdicts(&self, v: &mut Vec<Verdict>) {
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
            "hot lifecycle median: lxc-rs execute <= 0.45x lxc-execute".into(),
            LXC_EXECUTE,
            0.45,
            String::new(),
        ));
        let crun_raw = median(CRUN)
            .map(|c| format!("; vs crun with its wrapper: {}", ms(c)))
            .unwrap_or_default();
        v.push(ratio_target(
            "hot lifecycle median: lxc-rs execute <= 0.5x crun run (minus its wrapper)".into(),
            CRUN_NET,
            0.5,
            crun_raw,
        ));
        v.push(ratio_target(
            "hot lifecycle median: lxc-rs execute <= 0.35x runc run".into(),
            RUNC,
            0.35,
            String::new(),
        ));
        v.push(ratio_target(
            "hot lifecycle median: lxc-rs execute <= 1.5x the unshare floor".into(),
            FLOOR,
            1.5,
            String::new(),
        ));
    }

    fn veth_verdict(&self) -> Verdict {
        let veth_target = "one veth (on a bridge) adds <= 5 ms to lxc-rs's lifecycle".to_string();
        match &self.veth {
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
        }
    }

    fn memory_verdict(&self) -> Verdict {
        let mem_target = "peak RSS of lxc-rs <= LXC's".to_string();
        match self.memory.measured() {
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
        }
    }

    fn fleet_verdicts(&self, v: &mut Vec<Verdict>) {
        for (n, _) in super::fleet::SIZES {
            let time_target = format!(
                "{n} idle containers (minimal init) started at once + stopped at once: lxc-rs \
                 <= 0.5x LXC's time"
            );
            let what = "starts + stops";
            let rows = self.fleet.measured().and_then(|f| {
                Some((
                    f.table.get(&fleet_row("lxc-rs", n, what))?,
                    f.table.get(&fleet_row("LXC", n, what))?,
                ))
            });
            v.push(match rows {
                Some((a, b)) if b.stats.median > 0.0 => {
                    let r = a.stats.median / b.stats.median;
                    verdict(
                        time_target,
                        format!(
                            "{r:.2}x ({:.2} s vs {:.2} s, medians of {})",
                            a.stats.median, b.stats.median, a.stats.n
                        ),
                        r <= 0.5,
                    )
                }
                _ => not_measured(time_target, why(&self.fleet, &fleet_row("LXC", n, what))),
            });
            let check_target = format!(
                "{n} idle containers at once: every one RUNNING, nothing left after the stop \
                 (no monitor or helper of the lxcpath, no init, no cgroup named like them)"
            );
            v.push(match self.fleet.measured() {
                Some(f) => {
                    let describe = |rt: &str| {
                        f.passed(rt, n)
                            .map(|(_, p, all)| format!("{rt}: {p} of {all} rounds pass"))
                            .unwrap_or_else(|| format!("{rt}: no round"))
                    };
                    let measured = format!("{} ({})", describe("lxc-rs"), describe("LXC"));
                    match f.passed("lxc-rs", n) {
                        Some((ok, _, _)) => check(check_target, measured, ok),
                        None => not_measured(check_target, measured),
                    }
                }
                None => not_measured(check_target, why(&self.fleet, "fleet")),
            });
        }
    }

    fn scale1000_verdicts(&self, v: &mut Vec<Verdict>) {
        let wanted = super::scale1000::WANTED;
        let pss_target = format!(
            "{wanted} idle containers: PSS of lxc-rs's own processes (monitors, helpers) per \
             container <= LXC's"
        );
        let check_target = format!(
            "{wanted} idle containers started {} at a time: none failing, every one RUNNING, \
             nothing left after the stop",
            super::scale1000::BATCH
        );
        let Some(s) = self.scale1000.measured() else {
            let why = why(&self.scale1000, "scale1000");
            v.push(not_measured(pss_target, why.clone()));
            v.push(not_measured(check_target, why));
            return;
        };
        let fewer = (s.containers < s.wanted).then(|| {
            format!(
                "; only {} containers: the machine has no room for more ({})",
                s.containers,
                s.room.join("; ")
            )
        });
        let describe = |r: &IdleRun| {
            format!(
                "{}: {:.2} MiB ({:.0} MiB over {} processes)",
                r.runtime, r.pss_per_container_mib, r.pss_total_mib, r.processes
            )
        };
        v.push(match (s.run("lxc-rs"), s.run("LXC")) {
            (Some(a), Some(b)) => verdict(
                pss_target,
                format!(
                    "{:.2}x: {} vs {}, per running container{}",
                    a.pss_per_container_mib / b.pss_per_container_mib.max(f64::MIN_POSITIVE),
                    describe(a),
                    describe(b),
                    fewer.clone().unwrap_or_default()
                ),
                a.pss_per_container_mib <= b.pss_per_container_mib,
            ),
            _ => not_measured(pss_target, "a runtime did not run".into()),
        });
        let lxc = s
            .run("LXC")
            .map(|r| format!(" ({})", r.summary()))
            .unwrap_or_default();
        v.push(match s.run("lxc-rs") {
            Some(r) if fewer.is_some() => Verdict {
                target: check_target,
                measured: format!("{}{lxc}{}", r.summary(), fewer.unwrap_or_default()),
                status: if r.passed() { "not met" } else { FAILED },
            },
            Some(r) => check(check_target, format!("{}{lxc}", r.summary()), r.passed()),
            None => not_measured(check_target, "lxc-rs did not run".into()),
        });
    }

    fn links_verdict(&self) -> Verdict {
        let links_target = "50 veth containers started at once all get their links".to_string();
        match &self.scale_veth {
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
        }
    }
}

/// Why an outcome is `Skipped` when its step was left out with `--only`.
pub const NOT_SELECTED: &str = "not selected (--only)";

/// A verdict status: a check (not a time) that did not hold; the bench exits non-zero.
pub const FAILED: &str = "FAILED";

fn selected<T>(o: &Outcome<T>) -> bool {
    !matches!(o, Outcome::Skipped(why) if why == NOT_SELECTED)
}

/// A pass/fail check: `met` or [`FAILED`].
fn check(target: String, measured: String, passed: bool) -> Verdict {
    Verdict {
        target,
        measured,
        status: if passed { "met" } else { FAILED },
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
    let share = |v: f64| {
        if p.wall.median > 0.0 {
            v / p.wall.median * 100.0
        } else {
            0.0
        }
    };
    let _ = writeln!(
        out,
        "| (outside any phase: wall time minus the union of the phases) | | | | {} | | | {:.0}% |\n\
         | of which before the first phase and after the last (exec, dynamic loading, config \
         load, monitor set-up, exit) | | | | {} | | | {:.0}% |\n\
         | of which in gaps between phases | | | | {} | | | {:.0}% |\n",
        ms(p.outside_phases_ms),
        share(p.outside_phases_ms),
        ms(p.before_after_phases_ms),
        share(p.before_after_phases_ms),
        ms(p.gaps_between_phases_ms),
        share(p.gaps_between_phases_ms)
    );
}

fn fleet_md(out: &mut String, f: &IdleFleets) {
    let _ = writeln!(
        out,
        "| runtime | containers | round | start wave | stop wave | start failures | RUNNING | \
         stop failures | left after the stop | check |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for r in &f.rounds {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} s | {:.2} s | {} | {}/{} | {} | {} | {} |",
            r.runtime,
            r.containers,
            r.round,
            r.start_s,
            r.stop_s,
            r.start_failures.len(),
            r.running,
            r.containers,
            r.stop_failures.len(),
            r.left.len(),
            if r.passed() { "pass" } else { "**FAIL**" }
        );
    }
    out.push('\n');
    let problems: Vec<String> = f
        .rounds
        .iter()
        .flat_map(|r| {
            let at = format!("{} x{} round {}", r.runtime, r.containers, r.round);
            r.start_failures
                .iter()
                .map(|x| format!("start: {x}"))
                .chain(r.stop_failures.iter().map(|x| format!("stop: {x}")))
                .chain(r.left.iter().map(|x| format!("left: {x}")))
                .chain(r.problems.iter().cloned())
                .take(5)
                .map(move |x| format!("{at}: {x}"))
        })
        .collect();
    for p in &problems {
        let _ = writeln!(out, "- {p}");
    }
    if !problems.is_empty() {
        out.push('\n');
    }
    table_md(out, &f.table);
}

fn scale1000_md(out: &mut String, s: &IdleScale) {
    let _ = writeln!(
        out,
        "{} idle containers per runtime{}, started {} at a time, one runtime after the other. \
         Room on this machine: {}.\n",
        s.containers,
        if s.containers < s.wanted {
            format!(" (**not {}: no room for more**)", s.wanted)
        } else {
            String::new()
        },
        s.batch,
        s.room.join("; ")
    );
    let _ = writeln!(
        out,
        "| runtime | start failures | RUNNING | own processes | PSS total | PSS per container | \
         inits' PSS per container | MemAvailable used | starts | stops | stop failures | left \
         | check |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for r in &s.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {}/{} | {} | {:.1} MiB | {:.2} MiB | {:.2} MiB | {} | {:.1} s | {:.1} s | \
             {} | {} | {} |",
            r.runtime,
            r.start_failures,
            r.running,
            r.containers,
            r.processes,
            r.pss_total_mib,
            r.pss_per_container_mib,
            r.init_pss_per_container_mib,
            r.mem_used_mib
                .map_or("?".to_string(), |m| format!("{m:.0} MiB")),
            r.start_s,
            r.stop_s,
            r.stop_failures,
            r.left_count,
            if r.passed() { "pass" } else { "**FAIL**" }
        );
    }
    out.push('\n');
    for r in &s.runs {
        let kinds: Vec<String> = r
            .kinds
            .iter()
            .map(|k| format!("{} x `{}` {:.1} MiB", k.count, k.comm, k.pss_mib))
            .collect();
        let _ = writeln!(
            out,
            "- {}'s own processes: {}",
            r.runtime,
            if kinds.is_empty() {
                "none found".to_string()
            } else {
                kinds.join(", ")
            }
        );
        for (what, list) in [
            ("start failure", &r.first_start_failures),
            ("stop failure", &r.first_stop_failures),
            ("left", &r.left),
            ("problem", &r.problems),
        ] {
            for x in list {
                let _ = writeln!(out, "- {}: {what}: {x}", r.runtime);
            }
        }
    }
    out.push('\n');
    table_md(out, &s.table);
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
    if let Some(s) = r.scale1000.measured() {
        let _ = writeln!(out, "## Idle containers by the thousand\n");
        scale1000_md(&mut out, s);
    }
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
    let _ = writeln!(
        out,
        "## Idle fleets: containers with a minimal init, started at once and stopped at once \
         (s)\n\nInit is a static program that waits in pause(2), so the waves time the \
         runtimes, not a boot; every container checked RUNNING while all run, and nothing of \
         theirs left after the stop.\n"
    );
    outcome_md(&mut out, &r.fleet, fleet_md);
    let _ = writeln!(
        out,
        "## Idle containers by the thousand\n\nThe same idle containers, all running at once; \
         PSS (/proc/PID/smaps_rollup) summed over the runtime's own processes of their \
         lxcpath: monitors and helpers, not the inits.\n"
    );
    outcome_md(&mut out, &r.scale1000, scale1000_md);
    let _ = writeln!(out, "## 50 busybox containers (s)\n");
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
