//! Allocates without bound: the host must stop it at its memory limit.

fn hog(_: serde_json::Value) -> Result<usize, fusion_guest::Error> {
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
