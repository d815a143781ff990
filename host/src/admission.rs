//! Admission of invocations into a function, with Lambda's meaning of a concurrency limit: at most
//! `limit` invocations run at once; a sync invocation beyond it is refused at once with
//! `throttled`, an async one waits in a bounded queue and runs when a slot frees (queued work is
//! served before new sync work: the semaphore is fair). A full queue refuses with `throttled`.
//! Nothing is refused once accepted.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{CallError, ErrorKind};
use crate::policy::ASYNC_QUEUE_PER_SLOT;

/// The invocation slots of one function and the async work waiting for one.
pub struct Admission {
    function: String,
    slots: Arc<Semaphore>,
    /// The limit the semaphore's permits add up to; read on every invocation, changed (under
    /// `resizing`) only when a setup brings another one.
    limit: AtomicU32,
    resizing: Mutex<()>,
    /// Accepted async invocations not yet started.
    queued: Arc<AtomicU32>,
}

/// A running invocation's slot; freed when dropped.
pub type Slot = OwnedSemaphorePermit;

/// An accepted async invocation's place in the queue; [`Ticket::slot`] waits for its turn.
pub struct Ticket {
    slots: Arc<Semaphore>,
    _place: Place,
}

/// Counts as queued until dropped: when the ticket gets its slot, or its task is cancelled.
struct Place(Arc<AtomicU32>);

impl Admission {
    /// Admission for `function`, whose first limit is `limit`.
    pub fn new(function: &str, limit: u32) -> Admission {
        Admission {
            function: function.to_string(),
            slots: Arc::new(Semaphore::new(limit as usize)),
            limit: AtomicU32::new(limit),
            resizing: Mutex::new(()),
            queued: Arc::new(AtomicU32::new(0)),
        }
    }

    /// A slot for a sync invocation now, or `throttled` when every slot is taken (or promised to
    /// queued async work).
    pub fn enter(&self, limit: u32) -> Result<Slot, CallError> {
        self.resize(limit);
        self.slots.clone().try_acquire_owned().map_err(|_| {
            CallError::new(ErrorKind::Throttled, format!("function '{}' is at its concurrency limit of {limit}: retry later", self.function))
        })
    }

    /// A place in the async queue, or `throttled` when `limit × ASYNC_QUEUE_PER_SLOT` invocations
    /// already wait.
    pub fn queue(&self, limit: u32) -> Result<Ticket, CallError> {
        self.resize(limit);
        let bound = limit.saturating_mul(ASYNC_QUEUE_PER_SLOT);
        let taken = self.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < bound).then_some(n + 1));
        match taken {
            Ok(_) => Ok(Ticket { slots: self.slots.clone(), _place: Place(self.queued.clone()) }),
            Err(_) => Err(CallError::new(
                ErrorKind::Throttled,
                format!("function '{}' has {bound} async invocations waiting, its queue's bound: retry later", self.function),
            )),
        }
    }

    /// Async invocations accepted and waiting for a slot.
    pub fn queued(&self) -> u32 {
        self.queued.load(Ordering::Acquire)
    }

    /// Invocations running now.
    pub fn running(&self) -> u32 {
        let limit = self.limit.load(Ordering::Acquire);
        limit.saturating_sub(self.slots.available_permits() as u32)
    }

    /// Follows a changed limit (a setup applied with another policy): more slots at once, fewer
    /// as running invocations end.
    fn resize(&self, limit: u32) {
        if self.limit.load(Ordering::Acquire) == limit {
            return;
        }
        let _resizing = self.resizing.lock().unwrap();
        let current = self.limit.load(Ordering::Acquire);
        if limit > current {
            self.slots.add_permits((limit - current) as usize);
        } else if limit < current {
            let surplus = current - limit;
            let slots = self.slots.clone();
            tokio::spawn(async move {
                if let Ok(permits) = slots.acquire_many_owned(surplus).await {
                    permits.forget();
                }
            });
        }
        self.limit.store(limit, Ordering::Release);
    }
}

impl Ticket {
    /// Waits for a free slot; the ticket leaves the queue when it has one.
    pub async fn slot(self) -> Slot {
        self.slots.clone().acquire_owned().await.expect("the slots are never closed")
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sync_work_beyond_the_limit_is_throttled_and_async_work_waits_its_turn() {
        let admission = Admission::new("F", 2);
        let (a, b) = (admission.enter(2).unwrap(), admission.enter(2).unwrap());
        assert_eq!(admission.enter(2).unwrap_err().kind, ErrorKind::Throttled);
        let ticket = admission.queue(2).unwrap();
        assert_eq!(admission.queued(), 1);
        let waiting = tokio::spawn(ticket.slot());
        drop(a);
        let slot = waiting.await.unwrap();
        assert_eq!((admission.queued(), admission.running()), (0, 2), "the queued invocation took the freed slot");
        drop((b, slot));
        assert_eq!(admission.running(), 0);
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_follows_the_limit() {
        let admission = Admission::new("F", 1);
        let _running = admission.enter(1).unwrap();
        let tickets: Vec<Ticket> = (0..ASYNC_QUEUE_PER_SLOT).map(|_| admission.queue(1).unwrap()).collect();
        assert_eq!(admission.queue(1).err().map(|e| e.kind), Some(ErrorKind::Throttled));
        drop(tickets);
        assert_eq!(admission.queued(), 0, "dropped tickets leave the queue");
        let _more = admission.enter(3).unwrap();
        assert_eq!(admission.running(), 2, "a raised limit gives slots at once");
    }
}
