//! Webshop listproducts: the product catalog.

use fusion_guest::Error;
use webshop_catalog::{Product, ShopRequest, products};

fn handle(_: ShopRequest) -> Result<Vec<Product>, Error> {
    Ok(products())
}

fusion_guest::export_task!(handle);
