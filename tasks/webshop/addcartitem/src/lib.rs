//! Webshop addcartitem: hands the new item to the cart store asynchronously.

use fusion_guest::{Error, spawn};
use webshop_catalog::ShopRequest;

fn handle(req: ShopRequest) -> Result<bool, Error> {
    spawn("cartkvstorage", &ShopRequest { cart_op: "add".into(), product_id: req.product_id.clone(), quantity: req.quantity, ..req.next() })?;
    Ok(true)
}

fusion_guest::export_task!(handle);
