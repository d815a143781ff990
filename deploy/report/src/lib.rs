//! What Fusion shows people: text tables for the terminal (endpoints, load summaries, setup
//! comparisons, extracted call graphs) and the self-contained HTML report of an optimizer loop.

pub mod html;
pub mod text;
