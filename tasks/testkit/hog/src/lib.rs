//! Takes memory. Given `{"mb": N, "hold_ms": M}` it allocates N MB, touches every page, holds them
//! for M ms and returns N (for tests of the environment's shared memory budget); given anything
//! else it allocates without bound, and the host must stop it at its memory limit.

#[derive(serde::Deserialize)]
struct Take {
    mb: usize,
    #[serde(default)]
    hold_ms: u64,
}

fn hog(input: serde_json::Value) -> Result<usize, fusion_guest::Error> {
    if let Ok(Take { mb, hold_ms }) = serde_json::from_value::<Take>(input) {
        let block = std::hint::black_box(vec![1u8; mb << 20]);
        std::thread::sleep(std::time::Duration::from_millis(hold_ms));
        return Ok(block.len() >> 20);
    }
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 16 << 20];
        block[0] = blocks.len() as u8;
        blocks.push(std::hint::black_box(block));
        if blocks.len() == usize::MAX {
            return Ok(blocks.len());
        }
    }
}

fusion_guest::export_task!(hog);
