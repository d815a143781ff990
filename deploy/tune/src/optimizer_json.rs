//! The JSON forms of the optimizer's types that a recorded loop holds. The optimizer's types carry
//! no serde of their own; these mirrors name their fields once more, and serde's `remote` derive
//! checks every field against the original when it compiles, so the two cannot drift apart.

use std::collections::BTreeMap;

use fusion_optimizer::model::Prediction;
use fusion_optimizer::profile::Measured;
use fusion_optimizer::search::{Goal, Objective};
use serde::{Deserialize, Serialize};

/// [`Prediction`]'s JSON form.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Prediction")]
pub(crate) struct PredictionDef {
    latency_ms: f64,
    cost: f64,
    invocations: f64,
}

/// [`Measured`]'s JSON form.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Measured")]
pub(crate) struct MeasuredDef {
    p50_latency_ms: f64,
    mean_cost: f64,
    invocations: f64,
    cost_by_function: BTreeMap<String, f64>,
}

/// [`Objective`]'s JSON form: its name on the command line.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Objective", rename_all = "lowercase")]
pub(crate) enum ObjectiveDef {
    Cost,
    Latency,
    Balanced,
}

/// [`Goal`]'s JSON form.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Goal")]
pub(crate) struct GoalDef {
    #[serde(with = "ObjectiveDef")]
    objective: Objective,
    latency_slo_ms: Option<f64>,
}

/// `Option<Prediction>`'s JSON form, for `#[serde(with = "optional_prediction")]`.
pub(crate) mod optional_prediction {
    use fusion_optimizer::model::Prediction;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::PredictionDef;

    #[derive(Serialize, Deserialize)]
    struct Wrapped(#[serde(with = "PredictionDef")] Prediction);

    pub(crate) fn serialize<S: Serializer>(value: &Option<Prediction>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(Wrapped).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Prediction>, D::Error> {
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(p)| p))
    }
}
