//! Webshop getproduct: one product by id (asks listproducts).

use fusion_guest::{Error, call};
use webshop_catalog::{Product, ShopRequest};

fn handle(req: ShopRequest) -> Result<Product, Error> {
    let products: Vec<Product> = call("listproducts", &req.next())?;
    products.into_iter().find(|p| p.id == req.product_id).ok_or_else(|| Error::msg(format!("no product '{}'", req.product_id)))
}

fusion_guest::export_task!(handle);
