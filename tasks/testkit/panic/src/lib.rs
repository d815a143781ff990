//! Panics on every request: a guest bug the host must survive.

fn boom(_: serde_json::Value) -> Result<(), fusion_guest::Error> {
    panic!("this task always panics")
}

fusion_guest::export_task!(boom);
