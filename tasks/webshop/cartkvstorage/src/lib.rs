//! Webshop cartkvstorage: the cart database. `add` writes one item and runs a sieve (as the
//! original did), `get` is one query, `empty` is a query plus one delete per item; every
//! database operation is an emulated wait.

use fusion_guest::Error;
use serde_json::{Value, json};
use webshop_catalog::{ShopRequest, stored_cart};
use workload::{db_op, sieve};

fn handle(req: ShopRequest) -> Result<Value, Error> {
    match req.cart_op.as_str() {
        "add" => {
            db_op(&req.work);
            sieve(req.work.sieve);
            Ok(json!({ "added": req.product_id, "quantity": req.quantity }))
        }
        "get" => {
            db_op(&req.work);
            Ok(json!(stored_cart(&req.user_id)))
        }
        "empty" => {
            db_op(&req.work);
            let items = stored_cart(&req.user_id);
            for _ in &items {
                db_op(&req.work);
            }
            Ok(json!({ "deleted": items.len() }))
        }
        other => Err(Error::msg(format!("unknown cart operation '{other}'"))),
    }
}

fusion_guest::export_task!(handle);
