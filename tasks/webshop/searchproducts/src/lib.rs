//! Webshop searchproducts: products whose name contains the query (asks listproducts).

use fusion_guest::{Error, call};
use webshop_catalog::{Product, ShopRequest};

fn handle(req: ShopRequest) -> Result<Vec<Product>, Error> {
    let products: Vec<Product> = call("listproducts", &req.next())?;
    let query = req.query.to_lowercase();
    Ok(products.into_iter().filter(|p| p.name.to_lowercase().contains(&query)).collect())
}

fusion_guest::export_task!(handle);
