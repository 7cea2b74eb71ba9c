//! The slice of the kernel's V4L2 ABI (`linux/videodev2.h`) that Lookout uses, written by hand:
//! `#[repr(C)]` structs, constants and ioctl request numbers, with one safe function per
//! ioctl. No bindgen (it needs libclang at build time) and no V4L2 crate.
//!
//! # Layout checks
//!
//! Each struct's size is asserted at compile time against what gcc reports for the kernel
//! headers (Debian 12, linux-libc-dev 6.1) on x86_64, aarch64 and armv7 (`arm-linux-gnueabihf`):
//! a wrong field breaks the build rather than memory, and so does a request number that
//! differs from gcc's. Two layouts differ by word size:
//!
//! - `v4l2_format` holds a union whose `v4l2_window` member has pointers, so the union is
//!   pointer-aligned: 208 bytes on 64-bit, 204 on 32-bit.
//! - `v4l2_buffer` holds a `struct timeval` and an `unsigned long`: 88 bytes on 64-bit, 68 on
//!   32-bit. We always use the `long`-sized timeval (the kernel's original layout) even where
//!   the C library has a 64-bit `time_t` (Debian 13 armhf): 32-bit kernels and 64-bit kernels
//!   running 32-bit programs (the usual Raspberry Pi OS) accept both layouts, told apart by
//!   the size encoded in the request number. Buffer timestamps are CLOCK_MONOTONIC, seconds
//!   since boot, which fit in 32 bits for 68 years of uptime.
//!
//! The request encoding is the generic one (x86, arm, aarch64, riscv); the architectures that
//! encode ioctls differently are refused at compile time below.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

use libc::{c_int, c_long, c_ulong};

#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
compile_error!("the v4l2 feature knows only the generic ioctl encoding (x86, arm, aarch64, riscv)");

// Buffer types, memory kinds, fields.
pub const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub const MEMORY_MMAP: u32 = 1;
pub const FIELD_NONE: u32 = 1;

// Capabilities (`v4l2_capability.capabilities` / `device_caps`).
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub const CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
pub const CAP_VIDEO_M2M_MPLANE: u32 = 0x0000_4000;
pub const CAP_VIDEO_M2M: u32 = 0x0000_8000;
pub const CAP_META_CAPTURE: u32 = 0x0080_0000;
pub const CAP_STREAMING: u32 = 0x0400_0000;
pub const CAP_DEVICE_CAPS: u32 = 0x8000_0000;

/// `v4l2_captureparm.capability`: the frame interval can be set.
pub const CAP_TIMEPERFRAME: u32 = 0x1000;

// Frame size and interval enumeration kinds (both use the same numbers).
pub const FRM_TYPE_DISCRETE: u32 = 1;
pub const FRM_TYPE_CONTINUOUS: u32 = 2;
pub const FRM_TYPE_STEPWISE: u32 = 3;

// Control types.
pub const CTRL_TYPE_INTEGER: u32 = 1;
pub const CTRL_TYPE_BOOLEAN: u32 = 2;
pub const CTRL_TYPE_MENU: u32 = 3;
pub const CTRL_TYPE_INTEGER_MENU: u32 = 9;

// Control flags.
pub const CTRL_FLAG_DISABLED: u32 = 0x0001;
pub const CTRL_FLAG_READ_ONLY: u32 = 0x0004;
pub const CTRL_FLAG_INACTIVE: u32 = 0x0010;
pub const CTRL_FLAG_WRITE_ONLY: u32 = 0x0040;
/// Or'ed into the id given to QUERYCTRL / QUERY_EXT_CTRL: "the control after this one".
pub const CTRL_FLAG_NEXT_CTRL: u32 = 0x8000_0000;

// Buffer flags.
/// The driver filled the buffer but the data may be damaged.
pub const BUF_FLAG_ERROR: u32 = 0x0040;
pub const BUF_FLAG_TIMESTAMP_MASK: u32 = 0xe000;
/// No clock named: older drivers stamped with `gettimeofday`, i.e. CLOCK_REALTIME.
pub const BUF_FLAG_TIMESTAMP_UNKNOWN: u32 = 0x0000;
pub const BUF_FLAG_TIMESTAMP_MONOTONIC: u32 = 0x2000;

/// Structs the kernel fills: plain integers and byte arrays, for which all-zero is valid.
///
/// # Safety
/// Implement only for `#[repr(C)]` structs made of integers and arrays of integers.
pub unsafe trait Plain: Sized {
    fn zeroed() -> Self {
        // SAFETY: the trait's contract: every field is an integer, so all-zero bits are a value.
        unsafe { std::mem::zeroed() }
    }
}

/// `struct v4l2_capability`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}

/// `struct v4l2_fmtdesc`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FmtDesc {
    pub index: u32,
    pub type_: u32,
    pub flags: u32,
    pub description: [u8; 32],
    pub pixelformat: u32,
    pub mbus_code: u32,
    pub reserved: [u32; 3],
}

/// `struct v4l2_frmsizeenum`. The union is kept as six words: a discrete size is
/// `[width, height]`, a stepwise range `[min_w, max_w, step_w, min_h, max_h, step_h]`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FrmSizeEnum {
    pub index: u32,
    pub pixel_format: u32,
    pub type_: u32,
    pub u: [u32; 6],
    pub reserved: [u32; 2],
}

/// `struct v4l2_frmivalenum`. The union as six words: a discrete interval is
/// `[numerator, denominator]`, a stepwise range `[min_n, min_d, max_n, max_d, step_n, step_d]`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FrmIvalEnum {
    pub index: u32,
    pub pixel_format: u32,
    pub width: u32,
    pub height: u32,
    pub type_: u32,
    pub u: [u32; 6],
    pub reserved: [u32; 2],
}

/// `struct v4l2_pix_format`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PixFormat {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub priv_: u32,
    pub flags: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}

/// The 200-byte union of `struct v4l2_format`, of which we use the single-planar `pix`;
/// aligned like a pointer, as the union's `v4l2_window` member makes it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FormatUnion {
    pub pix: PixFormat,
    pub rest: [u8; 200 - size_of::<PixFormat>()],
    pub align: [c_ulong; 0],
}

/// `struct v4l2_format`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Format {
    pub type_: u32,
    pub fmt: FormatUnion,
}

/// `struct v4l2_fract`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fract {
    pub numerator: u32,
    pub denominator: u32,
}

/// `struct v4l2_captureparm`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CaptureParm {
    pub capability: u32,
    pub capturemode: u32,
    pub timeperframe: Fract,
    pub extendedmode: u32,
    pub readbuffers: u32,
    pub reserved: [u32; 4],
}

/// `struct v4l2_streamparm` (the union's 200 bytes: `capture`, then the rest).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StreamParm {
    pub type_: u32,
    pub capture: CaptureParm,
    pub rest: [u8; 200 - size_of::<CaptureParm>()],
}

/// `struct v4l2_requestbuffers`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RequestBuffers {
    pub count: u32,
    pub type_: u32,
    pub memory: u32,
    pub capabilities: u32,
    pub flags: u8,
    pub reserved: [u8; 3],
}

/// `struct timeval` as the kernel's original V4L2 ABI has it: two `long`s (see the module
/// docs for 32-bit systems).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Timeval {
    pub tv_sec: c_long,
    pub tv_usec: c_long,
}

/// `struct v4l2_timecode`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Timecode {
    pub type_: u32,
    pub flags: u32,
    pub frames: u8,
    pub seconds: u8,
    pub minutes: u8,
    pub hours: u8,
    pub userbits: [u8; 4],
}

/// The `m` union of `struct v4l2_buffer` (`offset`, `userptr`, `planes`, `fd`): as wide as an
/// `unsigned long`; for MMAP buffers only `offset`, at its start, is used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BufferM {
    pub offset: u32,
    pub rest: [u8; size_of::<c_ulong>() - 4],
    pub align: [c_ulong; 0],
}

/// `struct v4l2_buffer`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Buffer {
    pub index: u32,
    pub type_: u32,
    pub bytesused: u32,
    pub flags: u32,
    pub field: u32,
    pub timestamp: Timeval,
    pub timecode: Timecode,
    pub sequence: u32,
    pub memory: u32,
    pub m: BufferM,
    pub length: u32,
    pub reserved2: u32,
    pub request_fd: u32,
}

/// `struct v4l2_queryctrl` (32-bit limits; the fallback for drivers without QUERY_EXT_CTRL).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QueryCtrl {
    pub id: u32,
    pub type_: u32,
    pub name: [u8; 32],
    pub minimum: i32,
    pub maximum: i32,
    pub step: i32,
    pub default_value: i32,
    pub flags: u32,
    pub reserved: [u32; 2],
}

/// `struct v4l2_query_ext_ctrl`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QueryExtCtrl {
    pub id: u32,
    pub type_: u32,
    pub name: [u8; 32],
    pub minimum: i64,
    pub maximum: i64,
    pub step: u64,
    pub default_value: i64,
    pub flags: u32,
    pub elem_size: u32,
    pub elems: u32,
    pub nr_of_dims: u32,
    pub dims: [u32; 4],
    pub reserved: [u32; 32],
}

/// `struct v4l2_querymenu` (packed in C; these fields need no padding either way). The
/// union holds the item's name, or for integer menus its value as an `i64` in the first
/// eight bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QueryMenu {
    pub id: u32,
    pub index: u32,
    pub name: [u8; 32],
    pub reserved: u32,
}

/// `struct v4l2_control`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Control {
    pub id: u32,
    pub value: i32,
}

// SAFETY: all of these are `#[repr(C)]` structs of integers and integer arrays.
unsafe impl Plain for Capability {}
unsafe impl Plain for FmtDesc {}
unsafe impl Plain for FrmSizeEnum {}
unsafe impl Plain for FrmIvalEnum {}
unsafe impl Plain for Format {}
unsafe impl Plain for StreamParm {}
unsafe impl Plain for RequestBuffers {}
unsafe impl Plain for Buffer {}
unsafe impl Plain for QueryCtrl {}
unsafe impl Plain for QueryExtCtrl {}
unsafe impl Plain for QueryMenu {}
unsafe impl Plain for Control {}

// Sizes from the kernel headers (see the module docs).
const _: () = assert!(size_of::<Capability>() == 104);
const _: () = assert!(size_of::<FmtDesc>() == 64);
const _: () = assert!(size_of::<FrmSizeEnum>() == 44);
const _: () = assert!(size_of::<FrmIvalEnum>() == 52);
const _: () = assert!(size_of::<PixFormat>() == 48);
const _: () = assert!(size_of::<FormatUnion>() == 200);
const _: () = assert!(size_of::<CaptureParm>() == 40);
const _: () = assert!(size_of::<StreamParm>() == 204);
const _: () = assert!(size_of::<RequestBuffers>() == 20);
const _: () = assert!(size_of::<Timecode>() == 16);
const _: () = assert!(size_of::<QueryCtrl>() == 68);
const _: () = assert!(size_of::<QueryExtCtrl>() == 232);
const _: () = assert!(size_of::<QueryMenu>() == 44);
const _: () = assert!(size_of::<Control>() == 8);
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<Format>() == 208);
    assert!(size_of::<Buffer>() == 88);
    assert!(std::mem::offset_of!(Buffer, timestamp) == 24);
    assert!(std::mem::offset_of!(Buffer, m) == 64);
    assert!(std::mem::offset_of!(Format, fmt) == 8);
};
#[cfg(target_pointer_width = "32")]
const _: () = {
    assert!(size_of::<Format>() == 204);
    assert!(size_of::<Buffer>() == 68);
    assert!(std::mem::offset_of!(Buffer, timestamp) == 20);
    assert!(std::mem::offset_of!(Buffer, m) == 52);
    assert!(std::mem::offset_of!(Format, fmt) == 4);
};

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, 'V', nr, size)` in the generic encoding: direction in bits 30–31, size in
/// 16–29, type in 8–15, number in 0–7.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    assert!(size < (1 << 14));
    (dir << 30) | ((size as u32) << 16) | ((b'V' as u32) << 8) | nr
}

const R: u32 = IOC_READ;
const W: u32 = IOC_WRITE;
const RW: u32 = IOC_READ | IOC_WRITE;

pub const VIDIOC_QUERYCAP: u32 = ioc(R, 0, size_of::<Capability>());
pub const VIDIOC_ENUM_FMT: u32 = ioc(RW, 2, size_of::<FmtDesc>());
pub const VIDIOC_G_FMT: u32 = ioc(RW, 4, size_of::<Format>());
pub const VIDIOC_S_FMT: u32 = ioc(RW, 5, size_of::<Format>());
pub const VIDIOC_REQBUFS: u32 = ioc(RW, 8, size_of::<RequestBuffers>());
pub const VIDIOC_QUERYBUF: u32 = ioc(RW, 9, size_of::<Buffer>());
pub const VIDIOC_QBUF: u32 = ioc(RW, 15, size_of::<Buffer>());
pub const VIDIOC_DQBUF: u32 = ioc(RW, 17, size_of::<Buffer>());
pub const VIDIOC_STREAMON: u32 = ioc(W, 18, size_of::<c_int>());
pub const VIDIOC_STREAMOFF: u32 = ioc(W, 19, size_of::<c_int>());
pub const VIDIOC_G_PARM: u32 = ioc(RW, 21, size_of::<StreamParm>());
pub const VIDIOC_S_PARM: u32 = ioc(RW, 22, size_of::<StreamParm>());
pub const VIDIOC_G_CTRL: u32 = ioc(RW, 27, size_of::<Control>());
pub const VIDIOC_S_CTRL: u32 = ioc(RW, 28, size_of::<Control>());
pub const VIDIOC_QUERYCTRL: u32 = ioc(RW, 36, size_of::<QueryCtrl>());
pub const VIDIOC_QUERYMENU: u32 = ioc(RW, 37, size_of::<QueryMenu>());
pub const VIDIOC_ENUM_FRAMESIZES: u32 = ioc(RW, 74, size_of::<FrmSizeEnum>());
pub const VIDIOC_ENUM_FRAMEINTERVALS: u32 = ioc(RW, 75, size_of::<FrmIvalEnum>());
pub const VIDIOC_QUERY_EXT_CTRL: u32 = ioc(RW, 103, size_of::<QueryExtCtrl>());

// The request numbers gcc computes from `linux/videodev2.h` (x86_64 and aarch64 agree; armv7
// differs only where a struct's size does), checked when building for each.
const _: () = {
    assert!(VIDIOC_QUERYCAP == 0x8068_5600);
    assert!(VIDIOC_ENUM_FMT == 0xc040_5602);
    assert!(VIDIOC_REQBUFS == 0xc014_5608);
    assert!(VIDIOC_STREAMON == 0x4004_5612);
    assert!(VIDIOC_STREAMOFF == 0x4004_5613);
    assert!(VIDIOC_G_PARM == 0xc0cc_5615);
    assert!(VIDIOC_S_PARM == 0xc0cc_5616);
    assert!(VIDIOC_G_CTRL == 0xc008_561b);
    assert!(VIDIOC_S_CTRL == 0xc008_561c);
    assert!(VIDIOC_QUERYCTRL == 0xc044_5624);
    assert!(VIDIOC_QUERYMENU == 0xc02c_5625);
    assert!(VIDIOC_ENUM_FRAMESIZES == 0xc02c_564a);
    assert!(VIDIOC_ENUM_FRAMEINTERVALS == 0xc034_564b);
    assert!(VIDIOC_QUERY_EXT_CTRL == 0xc0e8_5667);
};
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(VIDIOC_G_FMT == 0xc0d0_5604);
    assert!(VIDIOC_S_FMT == 0xc0d0_5605);
    assert!(VIDIOC_QUERYBUF == 0xc058_5609);
    assert!(VIDIOC_QBUF == 0xc058_560f);
    assert!(VIDIOC_DQBUF == 0xc058_5611);
};
#[cfg(target_pointer_width = "32")]
const _: () = {
    assert!(VIDIOC_G_FMT == 0xc0cc_5604);
    assert!(VIDIOC_S_FMT == 0xc0cc_5605);
    assert!(VIDIOC_QUERYBUF == 0xc044_5609);
    assert!(VIDIOC_QBUF == 0xc044_560f);
    assert!(VIDIOC_DQBUF == 0xc044_5611);
};

/// Issues `request` on `fd`, retrying when a signal interrupts it.
///
/// # Safety
/// `request` must be an ioctl whose argument is a `T` (its size is encoded in the request
/// number, which the functions below derive from `T` itself).
unsafe fn ioctl<T>(fd: BorrowedFd<'_>, request: u32, arg: &mut T) -> io::Result<()> {
    loop {
        // SAFETY: the caller guarantees the kernel reads and writes at most a `T` through
        // `arg`, an exclusive reference valid for the whole call. The cast keeps the bits
        // (glibc takes an unsigned long, musl an int).
        let r = unsafe {
            libc::ioctl(
                fd.as_raw_fd(),
                request as libc::Ioctl,
                std::ptr::from_mut(arg),
            )
        };
        if r != -1 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

macro_rules! ioctls {
    ($($name:ident($request:ident, $ty:ty);)*) => {
        $(
            #[doc = concat!("`", stringify!($request), "`.")]
            pub fn $name(fd: BorrowedFd<'_>, arg: &mut $ty) -> io::Result<()> {
                // SAFETY: the request number was built from `size_of::<$ty>()` above.
                unsafe { ioctl(fd, $request, arg) }
            }
        )*
    };
}

ioctls! {
    querycap(VIDIOC_QUERYCAP, Capability);
    enum_fmt(VIDIOC_ENUM_FMT, FmtDesc);
    g_fmt(VIDIOC_G_FMT, Format);
    s_fmt(VIDIOC_S_FMT, Format);
    reqbufs(VIDIOC_REQBUFS, RequestBuffers);
    querybuf(VIDIOC_QUERYBUF, Buffer);
    qbuf(VIDIOC_QBUF, Buffer);
    dqbuf(VIDIOC_DQBUF, Buffer);
    streamon(VIDIOC_STREAMON, c_int);
    streamoff(VIDIOC_STREAMOFF, c_int);
    g_parm(VIDIOC_G_PARM, StreamParm);
    s_parm(VIDIOC_S_PARM, StreamParm);
    g_ctrl(VIDIOC_G_CTRL, Control);
    s_ctrl(VIDIOC_S_CTRL, Control);
    queryctrl(VIDIOC_QUERYCTRL, QueryCtrl);
    querymenu(VIDIOC_QUERYMENU, QueryMenu);
    enum_framesizes(VIDIOC_ENUM_FRAMESIZES, FrmSizeEnum);
    enum_frameintervals(VIDIOC_ENUM_FRAMEINTERVALS, FrmIvalEnum);
    query_ext_ctrl(VIDIOC_QUERY_EXT_CTRL, QueryExtCtrl);
}

/// A NUL-terminated fixed-size string field as text.
pub fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings() {
        assert_eq!(c_str(b"vivid\0\0\0"), "vivid");
        assert_eq!(c_str(b"no nul"), "no nul");
        assert_eq!(c_str(b"\xff\0"), "\u{fffd}");
        assert_eq!(c_str(b""), "");
    }

    #[test]
    fn a_file_that_is_no_device_answers_with_an_error() {
        let file = std::fs::File::open("/dev/null").unwrap_or_else(|e| panic!("/dev/null: {e}"));
        let mut cap = Capability::zeroed();
        let fd = std::os::fd::AsFd::as_fd(&file);
        let err = querycap(fd, &mut cap).err();
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(libc::ENOTTY));
    }
}
