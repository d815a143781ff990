//! Returns its payload unchanged: the cheapest possible task, the callee of the call benchmark.

fn echo(payload: Vec<u8>) -> Result<Vec<u8>, fusion_guest::Error> {
    Ok(payload)
}

fusion_guest::export_task!(bytes echo);
