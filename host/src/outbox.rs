//! A function's outbox for remote async calls. The calling task goes on as soon as its call is in
//! the outbox; the outbox hands the call to the callee's function in the background, so the async
//! calls of one invocation are handed over side by side, as concurrent `Event` invokes are on
//! Lambda, instead of one platform enqueue delay after the other.
//!
//! What acceptance guarantees: a full outbox refuses at once with `throttled`, so the caller
//! sees overload as before. Once accepted, a call is handed over or reported: a refusal
//! (`throttled`) or an unreachable callee (`unavailable`) is retried with backoff, and a call
//! that still fails is recorded as a failed span of the callee (see [`refused_span`]). The
//! invocation that made the call ends (is billed, frees its environment, and on Lambda freezes)
//! only once its outbox calls are handed over. A crash of the calling process loses what its
//! outbox had not handed over yet; work the callee accepted is the callee's.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::call::Call;
use crate::error::{CallError, ErrorKind};
use crate::router::Transport;
use crate::telemetry::{Span, unix_micros};
use crate::trace_context::new_span_id;

/// Calls one function's outbox holds at most before it refuses new ones.
pub const OUTBOX_CAPACITY: usize = 1024;

/// Waits before each retry of a refused hand-over: four retries within about a second.
pub const RETRY_BACKOFF: [Duration; 4] = [Duration::from_millis(10), Duration::from_millis(40), Duration::from_millis(160), Duration::from_millis(640)];

/// The bounded outbox of one function (shared by all its invocations).
pub struct Outbox {
    places: Arc<Semaphore>,
    capacity: usize,
}

/// A call's place in the outbox, given back when dropped: once the call is handed over or given up.
pub struct Place {
    _held: OwnedSemaphorePermit,
}

impl Outbox {
    /// An outbox holding up to `capacity` calls at once.
    pub fn new(capacity: usize) -> Outbox {
        Outbox { places: Arc::new(Semaphore::new(capacity)), capacity }
    }

    /// A place for one call of `task`, or `throttled` at once when the outbox is full.
    pub fn reserve(&self, function: &str, task: &str) -> Result<Place, CallError> {
        let capacity = self.capacity;
        self.places.clone().try_acquire_owned().map(|held| Place { _held: held }).map_err(|_| {
            CallError::new(ErrorKind::Throttled, format!("function '{function}' has {capacity} async calls waiting to be handed over; the call of '{task}' was refused"))
        })
    }

    /// Calls waiting in the outbox now.
    pub fn waiting(&self) -> usize {
        self.capacity - self.places.available_permits()
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new(OUTBOX_CAPACITY)
    }
}

/// Hands `call` to the function that runs `task`: waits the platform's `enqueue` delay (the time
/// an `Event` invoke takes on Lambda), sends, and retries refusals with [`RETRY_BACKOFF`].
/// Returns the last error when every attempt failed.
pub async fn hand_over(transport: &dyn Transport, task: &str, call: &Call, enqueue: Duration) -> Result<(), CallError> {
    if !enqueue.is_zero() {
        tokio::time::sleep(enqueue).await;
    }
    let mut backoff = RETRY_BACKOFF.iter();
    loop {
        let error = match transport.send(task, call.clone()).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let retry = matches!(error.kind, ErrorKind::Throttled | ErrorKind::Unavailable);
        match backoff.next() {
            Some(wait) if retry => tokio::time::sleep(*wait).await,
            _ => return Err(error),
        }
    }
}

/// The span that reports a call the outbox could not hand over: the callee's, with the error and
/// no run time (`duration_us` 0, see [`Span::never_ran`]), under the caller's span.
pub fn refused_span(call: &Call, task: &str, memory_mb: u32, tried_since: Instant, error: &CallError) -> Span {
    let trace = &call.trace;
    let start = SystemTime::now() - tried_since.elapsed();
    Span {
        trace_id: trace.trace_id.clone(),
        span_id: new_span_id(),
        parent_span: trace.parent_span.clone(),
        outside_parent: None,
        function: task.to_string(),
        setup_version: trace.setup_version.unwrap_or_default(),
        task: task.to_string(),
        caller: trace.caller.clone(),
        mode: call.mode,
        remote: true,
        start_us: unix_micros(start),
        duration_us: 0,
        cpu_us: 0,
        calls_us: 0,
        called_together: Vec::new(),
        kv_ops: 0,
        kv_us: 0,
        memory_mb,
        memory_used_kb: 0,
        cold_start: false,
        error: Some(error.kind),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::call::CallMode;
    use crate::runtime::BoxFuture;
    use crate::trace_context::TraceContext;

    /// Answers each send with the next scripted result.
    struct Scripted(Mutex<Vec<Result<Vec<u8>, CallError>>>);

    impl Transport for Scripted {
        fn send(&self, _: &str, _: Call) -> BoxFuture<Result<Vec<u8>, CallError>> {
            let next = self.0.lock().unwrap().remove(0);
            Box::pin(async move { next })
        }
    }

    fn call() -> Call {
        Call { task: "echo".into(), payload: b"{}".to_vec(), mode: CallMode::Async, trace: TraceContext::new_request() }
    }

    fn refusal(kind: ErrorKind) -> Result<Vec<u8>, CallError> {
        Err(CallError::new(kind, "no"))
    }

    #[test]
    fn a_full_outbox_refuses_at_once_with_throttled() {
        let outbox = Outbox::new(2);
        let (_a, _b) = (outbox.reserve("f", "echo").unwrap(), outbox.reserve("f", "echo").unwrap());
        assert_eq!(outbox.waiting(), 2);
        let refused = outbox.reserve("f", "echo").err().expect("full");
        assert_eq!(refused.kind, ErrorKind::Throttled);
        drop(_a);
        assert!(outbox.reserve("f", "echo").is_ok(), "a place handed back is free again");
    }

    #[tokio::test]
    async fn refusals_are_retried_with_backoff_until_the_callee_accepts() {
        let transport = Scripted(Mutex::new(vec![refusal(ErrorKind::Throttled), refusal(ErrorKind::Unavailable), Ok(Vec::new())]));
        let started = Instant::now();
        hand_over(&transport, "echo", &call(), Duration::from_millis(90)).await.expect("the third attempt is accepted");
        assert!(started.elapsed() >= Duration::from_millis(90) + RETRY_BACKOFF[0] + RETRY_BACKOFF[1], "the enqueue delay, then two backoffs");
        assert!(transport.0.lock().unwrap().is_empty(), "three attempts");
    }

    #[tokio::test]
    async fn a_call_still_refused_after_every_retry_fails_with_the_last_error() {
        let attempts = RETRY_BACKOFF.len() + 1;
        let transport = Scripted(Mutex::new((0..attempts).map(|_| refusal(ErrorKind::Throttled)).collect()));
        let error = hand_over(&transport, "echo", &call(), Duration::ZERO).await.expect_err("never accepted");
        assert_eq!(error.kind, ErrorKind::Throttled);
        assert!(transport.0.lock().unwrap().is_empty(), "one attempt and {} retries", RETRY_BACKOFF.len());
    }

    #[tokio::test]
    async fn an_error_that_a_retry_cannot_fix_is_not_retried() {
        let transport = Scripted(Mutex::new(vec![refusal(ErrorKind::NotFound), Ok(Vec::new())]));
        let error = hand_over(&transport, "echo", &call(), Duration::ZERO).await.expect_err("not found");
        assert_eq!(error.kind, ErrorKind::NotFound);
        assert_eq!(transport.0.lock().unwrap().len(), 1, "one attempt only");
    }

    #[test]
    fn a_refused_call_is_a_failed_span_of_the_callee_that_never_ran() {
        let mut call = call();
        call.trace.parent_span = Some("caller-span".into());
        call.trace.caller = Some("relay".into());
        let span = refused_span(&call, "echo", 128, Instant::now(), &CallError::new(ErrorKind::Throttled, "full"));
        assert_eq!((span.task.as_str(), span.caller.as_deref(), span.parent_span.as_deref()), ("echo", Some("relay"), Some("caller-span")));
        assert_eq!(span.error, Some(ErrorKind::Throttled));
        assert!(span.remote && span.never_ran());
    }
}
