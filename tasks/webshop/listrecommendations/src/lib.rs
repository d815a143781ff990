//! Webshop listrecommendations: two products sharing a category with the given ones (asks
//! listproducts for the catalog).

use fusion_guest::{Error, call};
use webshop_catalog::{Product, ShopRequest, pick};

fn handle(req: ShopRequest) -> Result<Vec<Product>, Error> {
    let products: Vec<Product> = call("listproducts", &req.next())?;
    let wanted: Vec<&String> = products.iter().filter(|p| req.product_ids.contains(&p.id)).flat_map(|p| &p.categories).collect();
    let related: Vec<&Product> =
        products.iter().filter(|p| !req.product_ids.contains(&p.id) && p.categories.iter().any(|c| wanted.contains(&c))).collect();
    Ok(pick(&req.user_id, 2, related.len()).into_iter().map(|i| related[i].clone()).collect())
}

fusion_guest::export_task!(handle);
