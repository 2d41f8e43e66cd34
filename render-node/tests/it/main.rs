//! Render node integration tests: real pipelines, real encoders, real receivers, real pixels.
//!
//! Streams render small canvases (320x240) so the suite stays fast on two cores; frames are
//! checked either decoded from what a receiver got (FLV file or RTMP via `ffmpeg -listen`),
//! or straight from the composed-frame tap when frame-exactness matters.

// Tests fail loudly on anything unexpected: unwrapping is the point.
#![allow(clippy::unwrap_used)]

mod cli;
mod effects;
mod helpers;
mod live;
mod output;
mod pixels;
mod policy;
mod typography;
mod video;
