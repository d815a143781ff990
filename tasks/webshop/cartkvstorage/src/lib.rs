//! Webshop cartkvstorage: the cart database, a real key-value store (`cart`, granted in
//! fusion.toml) with one key per item, `USER/PRODUCT` → its quantity. `add` increments an item
//! (and runs a sieve, as the original did), `get` lists the user's items, `empty` deletes them.
//! Each store operation also waits the workload's emulated database latency (`db_ms`), the round
//! trip to a remote database the original paid.

use fusion_guest::{Error, kv};
use serde_json::{Value, json};
use webshop_catalog::{CartItem, ShopRequest};
use workload::{db_op, sieve};

/// The store the carts live in.
const CART: &str = "cart";

fn handle(req: ShopRequest) -> Result<Value, Error> {
    let prefix = format!("{}/", req.user_id);
    match req.cart_op.as_str() {
        "add" => {
            db_op(&req.work);
            sieve(req.work.sieve);
            let quantity = kv::increment(CART, &format!("{prefix}{}", req.product_id), req.quantity.into())?;
            Ok(json!({ "added": req.product_id, "quantity": quantity }))
        }
        "get" => {
            db_op(&req.work);
            let mut items = Vec::new();
            for key in kv::keys(CART, &prefix)? {
                let Some(value) = kv::get(CART, &key)? else { continue };
                let quantity = std::str::from_utf8(&value).ok().and_then(|q| q.parse().ok()).unwrap_or(0);
                items.push(CartItem { product_id: key[prefix.len()..].to_string(), quantity });
            }
            Ok(json!(items))
        }
        "empty" => {
            db_op(&req.work);
            let keys = kv::keys(CART, &prefix)?;
            for key in &keys {
                db_op(&req.work);
                kv::delete(CART, key)?;
            }
            Ok(json!({ "deleted": keys.len() }))
        }
        other => Err(Error::msg(format!("unknown cart operation '{other}'"))),
    }
}

fusion_guest::export_task!(handle);
