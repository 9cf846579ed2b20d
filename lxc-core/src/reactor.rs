//! The monitor's event loop, open to subsystems: a hook puts an [`FdHandler`] into the start's
//! state ([`add_handler`]) and the monitor polls its fd beside init's pidfd, the command
//! socket and the state clients for as long as that init runs.
//!
//! A handler is called when its fd is readable (or hung up) and works without waiting: the
//! monitor is single-threaded, so a handler that blocks stalls every client. Through the
//! [`ReactorCtx`] it sees the container's config and state map, and can change the
//! container's state (state clients hear it) or hand an event to every state client.

use std::os::fd::BorrowedFd;

use crate::commands::Event;
use crate::config::Config;
use crate::phase::StateMap;
use crate::state::State;

/// What a handler wants after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Poll its fd again.
    Keep,
    /// Drop the handler (its fd hung up, or its work is done).
    Remove,
}

/// An fd the monitor polls for its owner while the container runs.
pub trait FdHandler: Send {
    /// Who registered it, for logs.
    fn name(&self) -> &str;
    /// The fd to poll for readability.
    fn fd(&self) -> BorrowedFd<'_>;
    /// The fd is readable or hung up. Must not block.
    fn ready(&mut self, ctx: &mut ReactorCtx<'_>) -> Next;
}

/// What a handler sees and may change.
pub struct ReactorCtx<'a> {
    pub name: &'a str,
    pub config: &'a Config,
    pub init_pid: i32,
    pub state: &'a mut StateMap,
    /// The container's state when the handler was called.
    pub container_state: State,
    new_state: Option<State>,
    events: Vec<Event>,
}

impl<'a> ReactorCtx<'a> {
    pub(crate) fn new(
        name: &'a str,
        config: &'a Config,
        init_pid: i32,
        state: &'a mut StateMap,
        container_state: State,
    ) -> Self {
        ReactorCtx {
            name,
            config,
            init_pid,
            state,
            container_state,
            new_state: None,
            events: Vec::new(),
        }
    }

    /// Move the container to `s` once the handler returns (state clients waiting for `s` are
    /// told, as for any state change).
    pub fn set_state(&mut self, s: State) {
        self.new_state = Some(s);
    }

    /// Send `e` to every state client once the handler returns.
    pub fn emit(&mut self, e: Event) {
        self.events.push(e);
    }

    pub(crate) fn into_effects(self) -> (Option<State>, Vec<Event>) {
        (self.new_state, self.events)
    }
}

/// The handlers hooks added during a start; the monitor takes them over when the container
/// runs, and drops them when its init exits (a reboot's start adds its own again).
#[derive(Default)]
pub struct MonitorHandlers(pub Vec<Box<dyn FdHandler>>);

/// Have the monitor poll `h` while this start's init runs. For hooks on the monitor's side
/// (`PreClone`, `HostSetup`, a monitor phase, `Running`).
pub fn add_handler(state: &mut StateMap, h: Box<dyn FdHandler>) {
    match state.get_mut::<MonitorHandlers>() {
        Some(hs) => hs.0.push(h),
        None => state.insert(MonitorHandlers(vec![h])),
    }
}
