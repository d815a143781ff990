//! Webshop supportedcurrencies: the currency codes the shop converts to.

use fusion_guest::Error;
use serde_json::{Value, json};
use webshop_catalog::{EUR_RATES, ShopRequest};

fn handle(_: ShopRequest) -> Result<Value, Error> {
    Ok(json!({ "currency_codes": EUR_RATES.iter().map(|(code, _)| *code).collect::<Vec<_>>() }))
}

fusion_guest::export_task!(handle);
