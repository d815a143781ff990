//! Webshop frontend (entry): serves the shop's pages. `get` assembles the home page from seven
//! services (11 currency conversions at once); `product` and `search` show one product and the
//! products matching a query, priced in the user's currency; `cart`, `checkout`, `addcart` and
//! `emptycart` drive the cart, the slow parts asynchronously.

use fusion_guest::{Error, call, call_all, spawn};
use serde_json::{Value, json};
use webshop_catalog::{Money, Product, ShopRequest};

fn handle(req: ShopRequest) -> Result<Value, Error> {
    let next = req.next();
    match req.op.as_str() {
        "get" => home(&req),
        "product" => {
            let product: Product = call("getproduct", &ShopRequest { product_id: req.product_id.clone(), ..next.clone() })?;
            let price: Money = call("currency", &ShopRequest { amount: Some(Money::new(product.price_usd, "USD")), ..next })?;
            Ok(json!({ "id": product.id, "name": product.name, "price": price }))
        }
        "search" => {
            let found: Vec<Product> = call("searchproducts", &ShopRequest { query: req.query.clone(), ..next })?;
            Ok(json!({ "query": req.query, "products": found.iter().map(|p| json!({ "id": p.id, "name": p.name })).collect::<Vec<_>>() }))
        }
        "cart" => {
            let cart: Value = call("getcart", &next)?;
            let shipping: Value = call("shipmentquote", &ShopRequest { product_ids: ids(&cart), ..next })?;
            Ok(json!({ "cart": cart, "shipping": shipping }))
        }
        "checkout" => {
            spawn("checkout", &next)?;
            Ok(json!({ "checkout": "accepted" }))
        }
        "addcart" => {
            let item = ShopRequest { product_id: req.product_id.clone(), quantity: req.quantity, ..next.clone() };
            spawn("addcartitem", &item)?;
            let cart: Value = call("getcart", &next)?;
            Ok(json!({ "added": req.product_id, "cart": cart }))
        }
        "emptycart" => {
            spawn("emptycart", &next)?;
            Ok(json!({ "emptied": req.user_id }))
        }
        other => Err(Error::msg(format!("unknown operation '{other}'"))),
    }
}

fn home(req: &ShopRequest) -> Result<Value, Error> {
    let next = req.next();
    let currencies: Value = call("supportedcurrencies", &next)?;
    let products: Vec<Product> = call("listproducts", &next)?;
    let conversions: Vec<ShopRequest> = products
        .iter()
        .map(|p| ShopRequest { amount: Some(Money::new(p.price_usd, "USD")), ..next.clone() })
        .collect();
    let prices = call_all::<_, Money>(conversions.iter().map(|c| ("currency", c)))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let ads: Value = call("getads", &next)?;
    let cart: Value = call("getcart", &next)?;
    let recommendations: Value = call("listrecommendations", &ShopRequest { product_ids: ids(&cart), ..next })?;
    Ok(json!({
        "currencies": currencies,
        "products": products.iter().zip(&prices).map(|(p, m)| json!({ "id": p.id, "name": p.name, "price": m })).collect::<Vec<_>>(),
        "ads": ads,
        "cart": cart,
        "recommendations": recommendations,
    }))
}

/// The product ids in a cart answer.
fn ids(cart: &Value) -> Vec<String> {
    cart.as_array()
        .map(|items| items.iter().filter_map(|i| i["product_id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fusion_guest::export_task!(handle);
