//! Passes its payload to `echo` with a synchronous call and returns the answer: the caller of the
//! call benchmark, doing nothing but the call.

fn forward(payload: Vec<u8>) -> Result<Vec<u8>, fusion_guest::Error> {
    Ok(fusion_guest::call_bytes("echo", &payload)?)
}

fusion_guest::export_task!(bytes forward);
