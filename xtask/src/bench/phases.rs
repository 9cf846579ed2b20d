//! Where one `lxc-rs execute` spends its time, from the runtime's own phase timings: with
//! `LXC_RS_PHASE_TIMES=<file>` every start phase appends `phase<TAB>pid<TAB>start_us<TAB>
//! duration_us` (see lxc-core/src/timing.rs). One file per run keeps the runs apart.
//!
//! The time outside any phase is, per run, its wall time minus the time that at least one
//! phase of either process covers (the union of the intervals: a phase nested in another, or
//! the monitor's and the child's phases running at once, count once); then the median.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::lifecycle::command_line;
use super::report::{PhaseRow, Phases, Stats};
use super::runtimes::Runtime;
use super::setup::mkdir;
use crate::run::{fail, Result};

pub const RUNS: usize = 30;
const ENV: &str = "LXC_RS_PHASE_TIMES";
/// The order of the start sequence (ARCHITECTURE.md); phases not listed sort by start time.
const ORDER: &[&str] = &[
    "PreClone",
    "Clone",
    "HostSetup",
    "ChildMounts",
    "ChildPivot",
    "ChildFinal",
    "Running",
    "Stop",
];

/// One line of a timings file.
#[derive(Debug, PartialEq)]
struct Line {
    phase: String,
    pid: u32,
    start_us: f64,
    duration_us: f64,
}

fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Line {
                phase: f.next()?.to_string(),
                pid: f.next()?.trim().parse().ok()?,
                start_us: f.next()?.trim().parse().ok()?,
                duration_us: f.next()?.trim().parse().ok()?,
            })
        })
        .collect()
}

pub fn measure(rs: &Runtime, dir: &Path) -> Result<Phases> {
    mkdir(dir)?;
    let Some((program, args)) = rs.argv.split_first() else {
        return Err(fail("empty lxc-rs command line"));
    };
    let mut walls = Vec::new();
    let mut runs: Vec<Vec<Line>> = Vec::new();
    let mut failures = Vec::new();
    for i in 0..RUNS + 2 {
        let file = dir.join(format!("run-{i}.tsv"));
        let t0 = Instant::now();
        let out = Command::new(program)
            .args(args)
            .env(ENV, &file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| fail(format!("cannot run {program}: {e}")))?;
        let wall = t0.elapsed().as_secs_f64() * 1000.0;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
            failures.push(format!("{}: {}", out.status, last.unwrap_or("no message")));
            continue;
        }
        // The first two warm the caches, as hyperfine's warm-up does.
        if i < 2 {
            continue;
        }
        let text = fs::read_to_string(&file).map_err(|e| {
            fail(format!(
                "lxc-rs wrote no phase timings to {} ({e}): is {ENV} supported by this build?",
                file.display()
            ))
        })?;
        walls.push(wall);
        runs.push(parse(&text));
    }
    // A rare failed start is reported, not fatal; a mostly failing one is.
    if walls.len() < RUNS / 2 {
        return Err(fail(format!(
            "`{}` failed {} times: {}",
            command_line(&rs.argv),
            failures.len(),
            failures.first().map_or("", String::as_str)
        )));
    }
    let mut p = summarise(&rs.argv, &walls, &runs)?;
    p.failed_runs = failures.len();
    p.first_failure = failures.into_iter().next();
    Ok(p)
}

fn summarise(argv: &[String], walls: &[f64], runs: &[Vec<Line>]) -> Result<Phases> {
    let wall = Stats::of(walls).ok_or_else(|| fail("no lxc-rs runs timed"))?;
    let mut names: Vec<String> = Vec::new();
    for run in runs {
        for l in run {
            if !names.contains(&l.phase) {
                names.push(l.phase.clone());
            }
        }
    }
    if names.is_empty() {
        return Err(fail(format!("lxc-rs wrote no phase timings ({ENV})")));
    }
    let mut rows = Vec::new();
    for name in &names {
        let mut starts = Vec::new();
        let mut gaps = Vec::new();
        let mut durations = Vec::new();
        let mut container = false;
        for run in runs {
            // The monitor is the process that ran PreClone; any other pid is the container's.
            let monitor = run.iter().find(|l| l.phase == "PreClone").map(|l| l.pid);
            let mine: Vec<&Line> = run.iter().filter(|l| &l.phase == name).collect();
            if mine.is_empty() {
                continue;
            }
            container |= mine.iter().any(|l| Some(l.pid) != monitor);
            let start = mine
                .iter()
                .map(|l| l.start_us)
                .fold(f64::INFINITY, f64::min);
            starts.push(start / 1000.0);
            gaps.push(gap_before(run, start) / 1000.0);
            durations.push(mine.iter().map(|l| l.duration_us).sum::<f64>() / 1000.0);
        }
        let (Some(start), Some(gap), Some(duration)) =
            (Stats::of(&starts), Stats::of(&gaps), Stats::of(&durations))
        else {
            continue;
        };
        rows.push(PhaseRow {
            phase: name.clone(),
            process: if container { "container" } else { "monitor" },
            start_ms: start.median,
            gap_before_ms: gap.median,
            share_of_wall: duration.median / wall.median.max(f64::MIN_POSITIVE),
            duration_ms: duration,
        });
    }
    rows.sort_by(|a, b| {
        let rank = |p: &PhaseRow| {
            ORDER
                .iter()
                .position(|o| *o == p.phase)
                .unwrap_or(ORDER.len())
        };
        rank(a)
            .cmp(&rank(b))
            .then(a.start_ms.total_cmp(&b.start_ms))
    });
    // Per run: wall - covered (outside), span - covered (gaps), wall - span (before + after).
    let mut outside = Vec::new();
    let mut gaps = Vec::new();
    let mut before_after = Vec::new();
    for (wall, run) in walls.iter().zip(runs) {
        let (covered, span) = coverage(run);
        outside.push((wall - covered).max(0.0));
        gaps.push(span - covered);
        before_after.push((wall - span).max(0.0));
    }
    let median = |v: &[f64]| Stats::of(v).map_or(0.0, |s| s.median);
    Ok(Phases {
        runs: walls.len(),
        command: command_line(argv),
        wall,
        phases: rows,
        outside_phases_ms: median(&outside),
        gaps_between_phases_ms: median(&gaps),
        before_after_phases_ms: median(&before_after),
        failed_runs: 0,
        first_failure: None,
    })
}

/// The time one run's phases cover (the union of their intervals over every process, so a
/// phase nested in another or overlapping one of the other process counts once), and the span
/// from the first start to the last end, in ms.
fn coverage(run: &[Line]) -> (f64, f64) {
    let mut spans: Vec<(f64, f64)> = run
        .iter()
        .map(|l| (l.start_us, l.start_us + l.duration_us))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut covered = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (start, end) in spans.iter().copied() {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                covered += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        covered += e - s;
    }
    let first = spans.first().map_or(0.0, |s| s.0);
    let last = spans.iter().map(|s| s.1).fold(first, f64::max);
    (covered / 1000.0, (last - first) / 1000.0)
}

/// How long before `start` nothing was being timed: `start` minus the latest end of the phases
/// that began before it (0 for the first phase, or when an earlier one still runs).
fn gap_before(run: &[Line], start: f64) -> f64 {
    run.iter()
        .filter(|l| l.start_us < start)
        .map(|l| l.start_us + l.duration_us)
        .fold(None, |acc: Option<f64>, e| {
            Some(acc.map_or(e, |a| a.max(e)))
        })
        .map_or(0.0, |end| (start - end).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_summarise() {
        let run = "PreClone\t480\t0\t1000\nClone\t480\t1000\t800\nChildMounts\t1\t2000\t900\n\
                   Stop\t480\t3000\t500\nbad line\n";
        let lines = parse(run);
        assert_eq!(lines.len(), 4);
        let p = summarise(&["lxc-rs".into()], &[5.0, 6.0], &[parse(run), parse(run)]).unwrap();
        let names: Vec<&str> = p.phases.iter().map(|r| r.phase.as_str()).collect();
        assert_eq!(names, ["PreClone", "Clone", "ChildMounts", "Stop"]);
        assert_eq!(p.phases[2].process, "container");
        assert_eq!(p.phases[0].process, "monitor");
        assert_eq!(p.phases[1].duration_ms.median, 0.8);
        // Clone ends at 1.8 ms, ChildMounts starts at 2.0 ms.
        assert!((p.phases[2].gap_before_ms - 0.2).abs() < 1e-9);
        assert_eq!(p.phases[0].gap_before_ms, 0.0);
        // Covered: 0-1.8, 2.0-2.9, 3.0-3.5 = 3.2 ms; walls 5 and 6, so outside 1.8 and 2.8.
        assert!((p.outside_phases_ms - 2.3).abs() < 1e-9);
        assert!((p.gaps_between_phases_ms - 0.3).abs() < 1e-9);
        assert!((p.before_after_phases_ms - 2.0).abs() < 1e-9);
    }

    #[test]
    fn nested_and_overlapping_phases_count_once() {
        // PreClone 0-1 with a nested phase 0.2-0.6; the child's ChildMounts 1.5-3 overlaps
        // the monitor's HostSetup 1.2-2; a gap from 3 to 4; Stop 4-4.5.
        let run = "PreClone\t1\t0\t1000\nCgroups\t1\t200\t400\nHostSetup\t1\t1200\t800\n\
                   ChildMounts\t2\t1500\t1500\nStop\t1\t4000\t500\n";
        let (covered, span) = coverage(&parse(run));
        assert!((covered - 3.3).abs() < 1e-9, "{covered}");
        assert!((span - 4.5).abs() < 1e-9, "{span}");
    }
}
