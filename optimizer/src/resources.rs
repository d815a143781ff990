//! Lambda's resources as the model sees them: the CPU share a memory size buys, and the memory
//! sizes the search considers.

use fusion_host::cpu::{BURST_PERIOD, vcpus};

/// Memory sizes the search tries per function: Lambda's range, denser where the CPU share
/// changes most, including the one-vCPU point (1,769 MB).
pub const MEMORY_SIZES_MB: [u32; 14] = [128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 3538, 4096, 5307, 7076, 10_240];

/// Wall time `cpu_ms` of guest CPU takes at `memory_mb` in an invocation of its own: a burst of
/// one scheduler period at the function's share runs at full speed, the rest at the share. A
/// single task is one thread, so a share above one vCPU does not make it faster. Work that runs
/// concurrently in one invocation shares the share: pass its total.
pub fn paced_ms(cpu_ms: f64, memory_mb: u32) -> f64 {
    CpuBank::full(memory_mb).run(cpu_ms)
}

/// One invocation's CPU budget as the host keeps it (`fusion_host::cpu::CpuBudget`): it starts
/// with one burst period's worth at the share, refills at the share while the invocation waits
/// (up to that burst again), and work beyond it runs at the share. Every task fused into the
/// invocation draws on the same bank: back-to-back fused work gets one burst, not one each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuBank {
    /// vCPUs of the memory size, at most one (one thread).
    share: f64,
    /// The most CPU time banked, ms.
    cap_ms: f64,
    /// CPU time that may still run at full speed, ms.
    credit_ms: f64,
}

impl CpuBank {
    /// The bank of a new invocation at `memory_mb`: full.
    pub fn full(memory_mb: u32) -> CpuBank {
        let cap_ms = BURST_PERIOD.as_secs_f64() * 1e3 * vcpus(memory_mb);
        CpuBank { share: vcpus(memory_mb).min(1.0), cap_ms, credit_ms: cap_ms }
    }

    /// Runs `cpu_ms` of guest CPU; returns the wall time it takes. The bank refills at the share
    /// while the guest runs too, so work beyond the credit ends when the refill has paid for it.
    pub fn run(&mut self, cpu_ms: f64) -> f64 {
        let wall = cpu_ms.max((cpu_ms - self.credit_ms) / self.share);
        self.credit_ms = (self.credit_ms + wall * self.share - cpu_ms).clamp(0.0, self.cap_ms);
        wall
    }

    /// The invocation waits `ms` (on I/O, a remote call): the bank refills meanwhile.
    pub fn wait(&mut self, ms: f64) {
        self.credit_ms = (self.credit_ms + ms * self.share).min(self.cap_ms);
    }
}

/// A fused async call with everything it causes in its invocation, ms: its guest CPU, and the
/// waits along its longest path, which run after its CPU.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chain {
    pub cpu: f64,
    pub waits: f64,
}

/// How long `chains` take together from one start, ms: they share the invocation's CPU `bank`
/// (drawn on for all their CPU) as the host shares it, equally among those still running, and a
/// chain's waits overlap the others' CPU. Under that sharing, chains finish their CPU in order of
/// how much they have: when the k-th of m has, it and the m−k after it each ran as much.
pub(crate) fn together(chains: &[Chain], bank: &mut CpuBank) -> f64 {
    let mut by_cpu = chains.to_vec();
    by_cpu.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
    let (mut ran, mut longest) = (0.0, 0.0f64);
    for (k, chain) in by_cpu.iter().enumerate() {
        let cpu_done = bank.clone().run(ran + (by_cpu.len() - k) as f64 * chain.cpu);
        longest = longest.max(cpu_done + chain.waits);
        ran += chain.cpu;
    }
    longest.max(bank.run(ran))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_beyond_the_burst_runs_at_the_memory_share() {
        assert_eq!(paced_ms(1.0, 128), 1.0, "within the burst");
        let at_128 = paced_ms(100.0, 128);
        let share = 128.0 / 1769.0;
        assert!((at_128 - (100.0 - 20.0 * share) / share).abs() < 1e-9, "{at_128}");
        assert_eq!(paced_ms(100.0, 1769), 100.0, "one vCPU: full speed");
        assert_eq!(paced_ms(100.0, 10_240), 100.0, "one thread cannot use more than one vCPU");
    }

    #[test]
    fn back_to_back_work_shares_one_burst_and_a_wait_refills_it() {
        let share = 128.0 / 1769.0;
        let burst = 20.0 * share;
        let mut bank = CpuBank::full(128);
        let first = bank.run(burst);
        assert!((first - burst).abs() < 1e-9, "the burst runs at full speed");
        let second = bank.run(burst);
        // What the bank earned while the first ran pays for a little of it.
        assert!((second - (burst / share - burst)).abs() < 1e-9, "the next task finds the bank nearly empty: {second}");
        bank.wait(20.0);
        assert!((bank.run(burst) - burst).abs() < 1e-9, "a scheduler period of waiting refills it");
        let mut long_wait = CpuBank::full(128);
        long_wait.run(burst);
        long_wait.wait(1000.0);
        assert!((long_wait.run(2.0 * burst) - burst / share).abs() < 1e-9, "never more than one burst banked");
    }

    #[test]
    fn a_chain_waits_while_the_others_run_and_runs_as_slowly_as_they_do_before() {
        let chain = |cpu, waits| Chain { cpu, waits };
        // One vCPU: wall time is CPU time.
        assert_eq!(together(&[chain(10.0, 50.0)], &mut CpuBank::full(1769)), 60.0, "alone: its CPU, then its waits");
        // Sharing the vCPU, the waiting chain's 10 ms take 20; the other runs alone while it waits.
        assert_eq!(together(&[chain(10.0, 50.0), chain(40.0, 0.0)], &mut CpuBank::full(1769)), 70.0);
        assert_eq!(together(&[chain(40.0, 0.0), chain(10.0, 5.0)], &mut CpuBank::full(1769)), 50.0, "its waits hidden by the other's CPU");
        assert_eq!(together(&[chain(40.0, 30.0), chain(10.0, 0.0)], &mut CpuBank::full(1769)), 80.0, "its CPU finishes last, then it waits");
        let mut bank = CpuBank::full(128);
        let took = together(&[chain(10.0, 0.0), chain(10.0, 0.0)], &mut bank);
        assert!((took - paced_ms(20.0, 128)).abs() < 1e-9, "all their CPU paced from one bank: {took}");
        assert!(bank.run(1.0) > 10.0, "which they leave drained");
    }
}
