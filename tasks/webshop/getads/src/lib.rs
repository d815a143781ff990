//! Webshop getads: two ads, picked per user.

use fusion_guest::Error;
use webshop_catalog::{ADS, ShopRequest, pick};

fn handle(req: ShopRequest) -> Result<Vec<&'static str>, Error> {
    Ok(pick(&req.user_id, 2, ADS.len()).into_iter().map(|i| ADS[i]).collect())
}

fusion_guest::export_task!(handle);
