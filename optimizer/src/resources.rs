//! Lambda's resources as the model sees them: the CPU share a memory size buys, and the memory
//! sizes the search considers.

use fusion_host::cpu::{BURST_PERIOD, vcpus};

/// Memory sizes the search tries per function: Lambda's range, denser where the CPU share
/// changes most, including the one-vCPU point (1,769 MB).
pub const MEMORY_SIZES_MB: [u32; 14] = [128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 3538, 4096, 5307, 7076, 10_240];

/// Wall time `cpu_ms` of guest CPU takes at `memory_mb`, as the emulator paces it: a burst of
/// one scheduler period at the function's share runs at full speed, the rest at the share. A
/// single task is one thread, so a share above one vCPU does not make it faster. Work that runs
/// concurrently in one invocation shares the share: pass its total.
pub fn paced_ms(cpu_ms: f64, memory_mb: u32) -> f64 {
    let share = vcpus(memory_mb);
    let burst_ms = BURST_PERIOD.as_secs_f64() * 1e3 * share;
    cpu_ms.max((cpu_ms - burst_ms) / share)
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
}
