//! Webshop email: sends the order confirmation; CPU-bound (one burn loop, as the original's one
//! worker).

use fusion_guest::Error;
use serde_json::{Value, json};
use webshop_catalog::ShopRequest;
use workload::burn;

fn handle(req: ShopRequest) -> Result<Value, Error> {
    Ok(json!({ "sent": true, "burn": burn(req.work.burn) }))
}

fusion_guest::export_task!(handle);
