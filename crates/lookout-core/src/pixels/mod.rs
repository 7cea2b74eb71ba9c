//! Pixel formats cameras send and their conversion to RGB: V4L2 webcams' raw buffers and ROS
//! images in the same layouts become an [`RgbImage`](crate::RgbImage) to encode as JPEG.

mod convert;
mod format;

pub use convert::{
    bgr24_to_rgb, grey_to_rgb, nv12_to_rgb, rgb24_to_rgb, row_bytes, to_rgb, uyvy_to_rgb,
    yuv_to_rgb, yuyv_to_rgb,
};
pub use format::{PixelFormat, fourcc};
