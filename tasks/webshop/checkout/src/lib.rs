//! Webshop checkout: prices the cart (getcart, listproducts, a currency conversion per item and
//! for shipping, shipmentquote, all sync), burns CPU like the original's two workers, charges the
//! total (payment, sync), then ships, mails and empties the cart asynchronously.

use fusion_guest::{Error, call, call_all, spawn};
use serde_json::{Value, json};
use webshop_catalog::{CartItem, Money, Product, ShopRequest};
use workload::burn_reps;

fn handle(req: ShopRequest) -> Result<Value, Error> {
    let next = req.next();
    let cart: Vec<CartItem> = call("getcart", &next)?;
    let burned = burn_reps(&req.work, req.work.burn);
    let products: Vec<Product> = call("listproducts", &next)?;
    let conversions: Vec<ShopRequest> = cart
        .iter()
        .filter_map(|item| products.iter().find(|p| p.id == item.product_id))
        .map(|p| ShopRequest { amount: Some(Money::new(p.price_usd, "USD")), ..next.clone() })
        .collect();
    let prices = call_all::<_, Money>(conversions.iter().map(|c| ("currency", c))).into_iter().collect::<Result<Vec<_>, _>>()?;
    let ids = cart.iter().map(|i| i.product_id.clone()).collect();
    let quote: Money = call("shipmentquote", &ShopRequest { product_ids: ids, ..next.clone() })?;
    let shipping: Money = call("currency", &ShopRequest { amount: Some(quote), ..next.clone() })?;
    let total = Money::new(prices.iter().map(Money::amount).sum::<f64>() + shipping.amount(), &req.currency);
    let charged: Value = call("payment", &ShopRequest { amount: Some(total), ..next.clone() })?;
    for task in ["shiporder", "email", "emptycart"] {
        spawn(task, &next)?;
    }
    Ok(json!({ "items": prices.len(), "total": total, "payment": charged, "burn": burned }))
}

fusion_guest::export_task!(handle);
