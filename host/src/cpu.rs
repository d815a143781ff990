//! Lambda's CPU model: a function gets CPU time in proportion to its memory size (1,769 MB is one
//! vCPU). An invocation draws on a budget that refills at its share; a guest that overdraws it is
//! paused until the budget has caught up, so guest CPU time stretches into wall time as it would
//! on a small Lambda. Guest time is measured per execution, which also gives each span its CPU time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Memory size that buys one full vCPU on Lambda.
pub const MB_PER_VCPU: f64 = 1769.0;

/// CPU time an invocation may bank while it waits (one scheduler period at its share). A short
/// burst after a wait is not throttled, as under a CFS quota; longer work is paced.
pub const BURST_PERIOD: Duration = Duration::from_millis(20);

/// The vCPUs a function of `memory_mb` gets.
pub fn vcpus(memory_mb: u32) -> f64 {
    memory_mb as f64 / MB_PER_VCPU
}

/// The CPU budget of one invocation, shared by every task it runs (fused parallel work competes
/// for it, as it would inside one Lambda instance).
pub struct CpuBudget {
    /// None: no pacing (the host's own CPU is the only limit).
    vcpus: Option<f64>,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    /// CPU nanoseconds the invocation may still use; negative while in debt.
    tokens: f64,
    refilled: Instant,
}

impl CpuBudget {
    /// A budget refilling at `vcpus`, starting with one burst period's worth.
    pub fn paced(vcpus: f64) -> Arc<CpuBudget> {
        let cap = burst_cap(vcpus);
        Arc::new(CpuBudget { vcpus: Some(vcpus), bucket: Mutex::new(Bucket { tokens: cap, refilled: Instant::now() }) })
    }

    /// A budget that never pauses the guest: CPU pacing is off.
    pub fn unlimited() -> Arc<CpuBudget> {
        Arc::new(CpuBudget { vcpus: None, bucket: Mutex::new(Bucket { tokens: 0.0, refilled: Instant::now() }) })
    }

    /// Takes `used` CPU time from the budget.
    fn charge(&self, used: Duration) {
        if self.vcpus.is_some() {
            let mut bucket = self.refill();
            bucket.tokens -= used.as_nanos() as f64;
        }
    }

    /// When the invocation may run again: None if it is not in debt.
    pub fn resume_at(&self) -> Option<Instant> {
        let vcpus = self.vcpus?;
        let bucket = self.refill();
        (bucket.tokens < 0.0).then(|| bucket.refilled + Duration::from_nanos((-bucket.tokens / vcpus) as u64))
    }

    /// Waits until the invocation is out of debt.
    pub async fn settle(&self) {
        if let Some(at) = self.resume_at() {
            tokio::time::sleep_until(at.into()).await;
        }
    }

    fn refill(&self) -> std::sync::MutexGuard<'_, Bucket> {
        let mut bucket = self.bucket.lock().unwrap();
        if let Some(vcpus) = self.vcpus {
            let now = Instant::now();
            let earned = now.saturating_duration_since(bucket.refilled).as_nanos() as f64 * vcpus;
            bucket.tokens = (bucket.tokens + earned).min(burst_cap(vcpus));
            bucket.refilled = now;
        }
        bucket
    }
}

fn burst_cap(vcpus: f64) -> f64 {
    BURST_PERIOD.as_nanos() as f64 * vcpus
}

/// Measures one task execution: the time it runs guest code (between wasmtime's call hooks and
/// around epoch yields), charged to the invocation's budget, and the time it waits on its sync
/// calls. The rest of its span is its own waiting (I/O, sleeps) and CPU pacing.
pub struct CpuMeter {
    budget: Arc<CpuBudget>,
    state: Mutex<MeterState>,
}

#[derive(Default)]
struct MeterState {
    /// The running thread's CPU clock when guest code last resumed.
    running_since: Option<Duration>,
    total: Duration,
    in_calls: Duration,
    /// The tasks called with `invoke-all`.
    together: std::collections::BTreeSet<String>,
}

/// CPU time the calling thread has used. Guest code between two call hooks runs on one thread,
/// so the difference is its CPU time, without the time the OS gave other processes: the
/// emulator's functions share the machine's cores, Lambda's do not.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec we own; this clock exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

impl CpuMeter {
    /// A meter that charges the guest time it measures to `budget`.
    pub fn new(budget: Arc<CpuBudget>) -> Arc<CpuMeter> {
        Arc::new(CpuMeter { budget, state: Mutex::new(MeterState::default()) })
    }

    /// The invocation's budget this meter charges.
    pub fn budget(&self) -> &Arc<CpuBudget> {
        &self.budget
    }

    /// Guest code starts (or resumes) running.
    pub fn resume(&self) {
        let mut state = self.state.lock().unwrap();
        state.running_since.get_or_insert_with(thread_cpu_time);
    }

    /// Guest code stops running: what it ran since [`CpuMeter::resume`] is charged.
    pub fn pause(&self) {
        let ran = {
            let mut state = self.state.lock().unwrap();
            let Some(since) = state.running_since.take() else { return };
            let ran = thread_cpu_time().saturating_sub(since);
            state.total += ran;
            ran
        };
        self.budget.charge(ran);
    }

    /// Guest time so far.
    pub fn total(&self) -> Duration {
        self.state.lock().unwrap().total
    }

    /// The task waited `waited` for the results of sync calls.
    pub fn waited_on_calls(&self, waited: Duration) {
        self.state.lock().unwrap().in_calls += waited;
    }

    /// Time spent waiting on sync calls so far.
    pub fn in_calls(&self) -> Duration {
        self.state.lock().unwrap().in_calls
    }

    /// The task called `tasks` with one `invoke-all`, all at once.
    pub fn called_together<'a>(&self, tasks: impl IntoIterator<Item = &'a str>) {
        self.state.lock().unwrap().together.extend(tasks.into_iter().map(str::to_string));
    }

    /// Every task called with `invoke-all` so far, by name.
    pub fn together(&self) -> Vec<String> {
        self.state.lock().unwrap().together.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_in_debt_resumes_after_the_debt_is_earned_back() {
        let budget = CpuBudget::paced(0.5);
        assert!(budget.resume_at().is_none(), "a fresh budget holds a burst");
        let before = Instant::now();
        budget.charge(BURST_PERIOD.mul_f64(0.5) + Duration::from_millis(10));
        let at = budget.resume_at().expect("in debt");
        // 10 ms of debt at half a vCPU takes 20 ms to earn back (less what was earned meanwhile).
        assert!(at >= before + Duration::from_millis(19), "{:?}", at - before);
        assert!(at <= Instant::now() + Duration::from_millis(20));
    }

    #[test]
    fn an_unlimited_budget_never_pauses() {
        let budget = CpuBudget::unlimited();
        budget.charge(Duration::from_secs(10));
        assert!(budget.resume_at().is_none());
    }

    fn spin(cpu: Duration) {
        let start = thread_cpu_time();
        while thread_cpu_time() - start < cpu {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn the_meter_counts_cpu_time_only_while_running() {
        let meter = CpuMeter::new(CpuBudget::unlimited());
        meter.resume();
        spin(Duration::from_millis(2));
        std::thread::sleep(Duration::from_millis(5));
        meter.pause();
        let ran = meter.total();
        assert!(ran >= Duration::from_millis(2) && ran < Duration::from_millis(5), "CPU, not sleep: {ran:?}");
        spin(Duration::from_millis(2));
        meter.pause();
        assert_eq!(meter.total(), ran, "time while paused is not guest time");
    }

    #[test]
    fn one_vcpu_at_1769_mb() {
        assert_eq!(vcpus(1769), 1.0);
        assert!((vcpus(128) - 0.0724).abs() < 1e-3);
    }
}
