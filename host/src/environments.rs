//! Lambda's execution environments of one function. Each serves one invocation at a time and is
//! kept warm for a while after; an invocation that finds no idle one starts a new one, which is a
//! cold start: the first invocation of a function, and every one beyond the warm concurrency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The execution environments of one function: the idle ones still warm, and the generation that
/// retires them all.
pub struct Environments {
    pool: Mutex<Pool>,
    idle_timeout: Duration,
}

#[derive(Default)]
struct Pool {
    /// When each idle environment was last released, most recent last.
    idle: Vec<Instant>,
    /// Bumped by [`Environments::expire`]: environments of an older generation are not reused.
    generation: u64,
}

/// An environment held by one invocation; it becomes idle again when dropped.
pub struct Lease {
    environments: Arc<Environments>,
    generation: u64,
    /// True when the environment was started for this invocation.
    pub cold: bool,
    retired: bool,
}

impl Environments {
    /// Environments that stay warm for `idle_timeout` after their invocation ends.
    pub fn new(idle_timeout: Duration) -> Arc<Environments> {
        Arc::new(Environments { pool: Mutex::new(Pool::default()), idle_timeout })
    }

    /// Takes the most recently used idle environment that is still warm, or starts a new one.
    pub fn acquire(self: &Arc<Self>) -> Lease {
        let mut pool = self.pool.lock().unwrap();
        let now = Instant::now();
        pool.idle.retain(|released| now.duration_since(*released) < self.idle_timeout);
        let cold = pool.idle.pop().is_none();
        Lease { environments: self.clone(), generation: pool.generation, cold, retired: false }
    }

    /// Retires every environment, idle or busy, so the next invocations start cold.
    pub fn expire(&self) {
        let mut pool = self.pool.lock().unwrap();
        pool.idle.clear();
        pool.generation += 1;
    }

    /// Environments idle and warm right now.
    pub fn idle(&self) -> usize {
        self.pool.lock().unwrap().idle.len()
    }
}

impl Lease {
    /// Ends the environment with its invocation (it ran out of memory): the next invocation
    /// will not find it warm.
    pub fn retire(&mut self) {
        self.retired = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut pool = self.environments.pool.lock().unwrap();
        if pool.generation == self.generation && !self.retired {
            pool.idle.push(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_beyond_the_warm_environments_starts_cold() {
        let envs = Environments::new(crate::platform::Platform::LAMBDA.idle_timeout);
        let first = envs.acquire();
        assert!(first.cold, "the first invocation starts an environment");
        let second = envs.acquire();
        assert!(second.cold, "a concurrent invocation needs a second environment");
        drop(first);
        drop(second);
        assert_eq!(envs.idle(), 2);
        let (a, b, c) = (envs.acquire(), envs.acquire(), envs.acquire());
        assert_eq!((a.cold, b.cold, c.cold), (false, false, true));
    }

    #[test]
    fn expired_environments_start_cold_again() {
        let envs = Environments::new(crate::platform::Platform::LAMBDA.idle_timeout);
        drop(envs.acquire());
        let busy = envs.acquire();
        envs.expire();
        drop(busy);
        assert!(envs.acquire().cold, "neither the idle nor the busy environment survives");
        let short = Environments::new(Duration::ZERO);
        drop(short.acquire());
        assert!(short.acquire().cold, "an environment idle past the timeout is gone");
        let mut out_of_memory = envs.acquire();
        out_of_memory.retire();
        drop(out_of_memory);
        assert_eq!(envs.idle(), 0, "a retired environment is not kept warm");
    }
}
