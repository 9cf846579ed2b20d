//! The tracing layer that turns events into LXC log lines.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::format::{last_segment, short_file, Record};
use crate::priority::Priority;
use crate::state;
use crate::PRIORITY_FIELD;

/// The layer [`crate::log_init`] installs. Add it to a subscriber of your own (next to other
/// layers) and install that before calling `log_init`: `log_init` then only configures it.
#[derive(Debug, Default, Clone, Copy)]
pub struct LxcLayer {
    _private: (),
}

impl LxcLayer {
    pub fn new() -> LxcLayer {
        LxcLayer::default()
    }
}

impl<S> Layer<S> for LxcLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, _subscriber: &mut S) {
        state::mark_layer_attached();
    }

    // The level can change at any time (reconfiguration, a container's lxc.log.level), so no
    // callsite is ever cached as always/never interesting; `enabled` reads one atomic.
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        // Spans stay enabled whatever the level: an error inside a span names the span.
        metadata.is_span() || state::enabled(Priority::highest_for(metadata.level()))
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Field values are rendered here, before the log lock is taken: a Display impl that
        // logs cannot deadlock the writer.
        let mut v = Fields::default();
        event.record(&mut v);
        let priority = v
            .priority
            .unwrap_or_else(|| Priority::from_tracing_level(meta.level()));
        if !state::enabled(priority) {
            return;
        }
        let span = ctx.event_span(event);
        let category = last_segment(meta.target());
        let func = match &span {
            Some(s) => s.name(),
            None => last_segment(meta.module_path().unwrap_or(meta.target())),
        };
        v.message.push_str(&v.rest);
        state::write(&Record {
            priority,
            category,
            file: short_file(meta.file().unwrap_or("?")),
            func,
            line: meta.line().unwrap_or(0),
            message: &v.message,
            time: SystemTime::now(),
        });
    }
}

/// The event's message, its other fields as ` name=value`, and an explicit LXC priority.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
    priority: Option<Priority>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            PRIORITY_FIELD => self.priority = value.parse().ok(),
            "message" => self.message.push_str(value),
            _ => self.record_debug(field, &value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            PRIORITY_FIELD => self.priority = format!("{value:?}").trim_matches('"').parse().ok(),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}
