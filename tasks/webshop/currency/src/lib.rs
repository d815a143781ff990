//! Webshop currency: converts an amount into the request's currency through euro rates.

use fusion_guest::Error;
use webshop_catalog::{Money, ShopRequest, eur_rate};

fn handle(req: ShopRequest) -> Result<Money, Error> {
    let amount = req.amount.ok_or("no amount to convert")?;
    let from = eur_rate(amount.currency()).ok_or_else(|| Error::msg(format!("unknown currency {}", amount.currency())))?;
    let to = eur_rate(&req.currency).ok_or_else(|| Error::msg(format!("unknown currency {}", req.currency)))?;
    Ok(Money::new(amount.amount() / from * to, &req.currency))
}

fusion_guest::export_task!(handle);
