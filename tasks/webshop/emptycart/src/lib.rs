//! Webshop emptycart: asks the cart store to empty the cart, asynchronously.

use fusion_guest::{Error, spawn};
use webshop_catalog::ShopRequest;

fn handle(req: ShopRequest) -> Result<bool, Error> {
    spawn("cartkvstorage", &ShopRequest { cart_op: "empty".into(), ..req.next() })?;
    Ok(true)
}

fusion_guest::export_task!(handle);
