//! H.264 as Lookout carries it: NAL units from Annex B byte streams or length-prefixed
//! samples, access units (one picture each) with a key-frame flag, and the codec parameters
//! (SPS, PPS, profile, level, size) a player needs, as the RFC 6381 codec string and avcC.
//!
//! Pure functions over bytes, no I/O. Every parser returns an error on bad input, never
//! panics, and bounds what it keeps ([`MAX_NAL_BYTES`]): the input comes from cameras and
//! pipes and is fuzzed.

pub mod access_unit;
pub mod annexb;
pub mod bits;
#[cfg(feature = "openh264")]
pub mod decoder;
#[cfg(feature = "openh264")]
pub mod encoder;
pub mod nal;
pub mod params;
pub mod reader;
#[cfg(any(test, feature = "test-util"))]
pub mod samples;
pub mod sps;

pub use access_unit::{AccessUnit, AccessUnitAssembler};
pub use annexb::{AnnexBSplitter, annex_b_to_length_prefixed, nal_units, split_length_prefixed};
#[cfg(feature = "openh264")]
pub use decoder::H264Decoder;
#[cfg(feature = "openh264")]
pub use encoder::{EncoderSettings, H264Encoder};
pub use nal::{MAX_NAL_BYTES, NalHeader, NalType};
pub use params::{CodecParams, ParamTracker};
pub use reader::{AnnexBReader, begins_access_unit};
pub use sps::Sps;
