//! Webshop shiporder: CPU-bound (a sieve of Eratosthenes, 500,000 at the paper's size).

use fusion_guest::Error;
use serde_json::{Value, json};
use webshop_catalog::ShopRequest;
use workload::sieve;

fn handle(req: ShopRequest) -> Result<Value, Error> {
    Ok(json!({ "task": "shiporder", "primes": sieve(req.work.sieve) }))
}

fusion_guest::export_task!(handle);
