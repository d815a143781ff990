//! Webshop shipmentquote: shipping costs 1.5 USD per item.

use fusion_guest::Error;
use webshop_catalog::{Money, ShopRequest};

fn handle(req: ShopRequest) -> Result<Money, Error> {
    Ok(Money::new(req.product_ids.len().max(1) as f64 * 1.5, "USD"))
}

fusion_guest::export_task!(handle);
