//! What the Webshop tasks share: the request they pass around, the product catalog, exchange
//! rates and ads (static data in the original BeFaaS shop too), and a cart's items.

use serde::{Deserialize, Serialize};
use workload::Work;

/// The request every Webshop task takes; each task reads the fields it needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopRequest {
    pub work: Work,
    /// Frontend operation: get, product, search, cart, checkout, addcart, emptycart.
    pub op: String,
    pub user_id: String,
    pub currency: String,
    pub product_id: String,
    pub quantity: u32,
    /// An amount to convert (currency) or ids to recommend for (listrecommendations).
    pub amount: Option<Money>,
    pub product_ids: Vec<String>,
    /// Cart store operation: add, get, empty.
    pub cart_op: String,
    pub query: String,
}

impl Default for ShopRequest {
    fn default() -> Self {
        ShopRequest {
            work: Work::default(),
            op: "get".into(),
            user_id: "0".into(),
            currency: "USD".into(),
            product_id: "1".into(),
            quantity: 1,
            amount: None,
            product_ids: Vec::new(),
            cart_op: String::new(),
            query: String::new(),
        }
    }
}

impl ShopRequest {
    /// A copy for a callee with the work sizes, user and currency kept.
    pub fn next(&self) -> ShopRequest {
        ShopRequest { work: self.work, user_id: self.user_id.clone(), currency: self.currency.clone(), ..Default::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Money {
    pub units: i64,
    pub nanos: i32,
    #[serde(with = "code")]
    pub currency: [u8; 3],
}

impl Money {
    pub fn new(amount: f64, currency: &str) -> Money {
        let units = amount.trunc() as i64;
        let nanos = ((amount - units as f64) * 1e9).round() as i32;
        let mut code = [b'?'; 3];
        code.copy_from_slice(&currency.as_bytes()[..3]);
        Money { units, nanos, currency: code }
    }

    pub fn amount(&self) -> f64 {
        self.units as f64 + self.nanos as f64 / 1e9
    }

    pub fn currency(&self) -> &str {
        std::str::from_utf8(&self.currency).unwrap_or("???")
    }
}

mod code {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(code: &[u8; 3], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(std::str::from_utf8(code).unwrap_or("???"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 3], D::Error> {
        let text = String::deserialize(d)?;
        text.as_bytes().get(..3).and_then(|b| b.try_into().ok()).ok_or_else(|| serde::de::Error::custom("a 3-letter currency code"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub price_usd: f64,
    pub categories: Vec<String>,
}

/// The shop's 11 products.
pub fn products() -> Vec<Product> {
    const CATALOG: [(&str, f64, &[&str]); 11] = [
        ("Vintage Typewriter", 67.99, &["vintage"]),
        ("Vintage Camera Lens", 12.49, &["photography", "vintage"]),
        ("Home Barista Kit", 124.0, &["cookware"]),
        ("Terrarium", 36.45, &["gardening"]),
        ("Film Camera", 2245.0, &["photography", "vintage"]),
        ("Vintage Record Player", 65.5, &["music", "vintage"]),
        ("Metal Camping Mug", 24.33, &["kitchen"]),
        ("City Bike", 789.5, &["cycling"]),
        ("Air Plant", 12.3, &["gardening"]),
        ("Bamboo Glass Jar", 5.49, &["kitchen"]),
        ("Hairdryer", 24.99, &["beauty"]),
    ];
    CATALOG
        .iter()
        .enumerate()
        .map(|(i, (name, price, cats))| Product {
            id: (i + 1).to_string(),
            name: name.to_string(),
            price_usd: *price,
            categories: cats.iter().map(|c| c.to_string()).collect(),
        })
        .collect()
}

/// Units of each currency per euro.
pub const EUR_RATES: [(&str, f64); 10] = [
    ("EUR", 1.0),
    ("USD", 1.1305),
    ("JPY", 126.40),
    ("GBP", 0.85970),
    ("CHF", 1.1360),
    ("CAD", 1.5128),
    ("AUD", 1.6173),
    ("SEK", 10.5375),
    ("NOK", 9.8315),
    ("PLN", 4.2969),
];

pub fn eur_rate(currency: &str) -> Option<f64> {
    EUR_RATES.iter().find(|(c, _)| *c == currency).map(|(_, r)| *r)
}

pub const ADS: [&str; 10] = [
    "Film camera for sale. 50% off.",
    "Vintage typewriter. Buy now.",
    "Camera lens. Limited time only.",
    "Barista kit for your home.",
    "Terrariums: a garden on your desk.",
    "Record player: sound like 1969.",
    "City bike: ride in style.",
    "Air plants need no soil.",
    "Glass jars for everything.",
    "Camping mugs that last.",
];

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartItem {
    pub product_id: String,
    pub quantity: u32,
}

/// A cheap, deterministic pick of `n` indexes below `len`, varying with `salt`.
pub fn pick(salt: &str, n: usize, len: usize) -> Vec<usize> {
    let seed = salt.bytes().fold(17usize, |h, b| h.wrapping_mul(131).wrapping_add(b as usize));
    (0..n.min(len)).map(|i| (seed + i * 7) % len).collect()
}
