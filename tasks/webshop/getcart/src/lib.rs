//! Webshop getcart: reads the user's cart from the cart store (a sync call).

use fusion_guest::{Error, call};
use webshop_catalog::{CartItem, ShopRequest};

fn handle(req: ShopRequest) -> Result<Vec<CartItem>, Error> {
    Ok(call("cartkvstorage", &ShopRequest { cart_op: "get".into(), ..req.next() })?)
}

fusion_guest::export_task!(handle);
