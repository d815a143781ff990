//! Never returns: a runaway loop the host must stop at its deadline.

fn spin(_: serde_json::Value) -> Result<u64, fusion_guest::Error> {
    let mut i: u64 = 0;
    loop {
        i = std::hint::black_box(i.wrapping_add(1));
        if i == u64::MAX {
            return Ok(i);
        }
    }
}

fusion_guest::export_task!(spin);
