//! An open V4L2 capture device: capabilities, format offers, controls, memory-mapped
//! streaming. Closing (stream off, unmap, close) happens on drop.
//!
//! Errors say what to do: a missing node or `ENODEV`/`EIO` mean the camera was unplugged
//! (the supervisor retries and finds it again), `EACCES` a missing `video` group, `EBUSY`
//! another program holding the camera.

use super::capture::{ActualFormat, CaptureDevice, DriverTimestamp, RawFrame};
use super::controls::{ControlInfo, ControlKind};
use super::formats::{Choice, FormatOffer, PixelFormat};
use super::ranges::{fps_fract, fract_fps, range_rates, range_sizes};
use super::sys::{self, Plain};
use lookout_core::{Error, ErrorKind};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::Duration;

/// What `VIDIOC_QUERYCAP` tells about a device node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCaps {
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    /// The capabilities of this node (`device_caps` when the driver reports them).
    pub caps: u32,
}

impl DeviceCaps {
    /// A node that captures video frames by streaming: not a metadata, output or
    /// memory-to-memory (codec) node, not a multi-planar one (which Lookout does not read).
    pub fn is_video_capture(&self) -> bool {
        let m2m = sys::CAP_VIDEO_M2M | sys::CAP_VIDEO_M2M_MPLANE;
        self.caps & sys::CAP_VIDEO_CAPTURE != 0
            && self.caps & sys::CAP_STREAMING != 0
            && self.caps & m2m == 0
    }

    fn kind(&self) -> &'static str {
        if self.caps & sys::CAP_META_CAPTURE != 0 {
            "a metadata node"
        } else if self.caps & sys::CAP_VIDEO_CAPTURE_MPLANE != 0 {
            "a multi-planar capture node, which Lookout does not read"
        } else if self.caps & (sys::CAP_VIDEO_M2M | sys::CAP_VIDEO_M2M_MPLANE) != 0 {
            "a memory-to-memory (codec) node"
        } else if self.caps & sys::CAP_VIDEO_CAPTURE != 0 {
            "a capture node without streaming I/O"
        } else {
            "not a video capture node"
        }
    }
}

/// One memory-mapped driver buffer.
struct Mapping {
    ptr: NonNull<libc::c_void>,
    len: usize,
}

impl Mapping {
    fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: `ptr` maps `self.len` readable bytes for as long as `self` lives, and `len`
        // is clamped to it. The driver writes only into buffers it holds, and we read a
        // buffer only between DQBUF and the next QBUF.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>(), len.min(self.len)) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; nothing borrows the mapping now.
        unsafe { libc::munmap(self.ptr.as_ptr(), self.len) };
    }
}

pub struct V4l2Device {
    // Field order matters: mappings are unmapped before the fd closes.
    buffers: Vec<Mapping>,
    fd: OwnedFd,
    path: PathBuf,
    caps: DeviceCaps,
    streaming: bool,
}

/// Turns an OS error into one that says what to do.
pub fn device_error(path: &Path, what: &str, err: &io::Error) -> Error {
    let path = path.display();
    match err.raw_os_error() {
        Some(libc::ENOENT) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "{path} does not exist: the camera is unplugged or the name is wrong \
                 (`lookout devices` lists the cameras)"
            ),
        ),
        Some(libc::ENODEV | libc::EIO | libc::ENXIO | libc::ESHUTDOWN) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "{path}: the camera was unplugged or stopped responding ({what}: {err}); \
                 Lookout opens it again when it is back"
            ),
        ),
        Some(libc::EACCES | libc::EPERM) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "{path}: permission denied ({what}); run Lookout as a user in the `video` group"
            ),
        ),
        Some(libc::EBUSY) => Error::new(
            ErrorKind::Unavailable,
            format!("{path} is busy ({what}): another program is using the camera"),
        ),
        Some(libc::ENOTTY) => {
            Error::invalid(format!("{path} is not a V4L2 video device ({what}: {err})"))
        }
        _ => Error::new(ErrorKind::Unavailable, format!("{path}: {what}: {err}")),
    }
}

fn is_errno(err: &io::Error, errno: i32) -> bool {
    err.raw_os_error() == Some(errno)
}

/// The last item of an enumeration: drivers answer EINVAL past the end.
fn is_end(err: &io::Error) -> bool {
    is_errno(err, libc::EINVAL)
}

/// A stepwise or continuous range, which drivers report as the only item of an enumeration.
fn is_range(kind: u32) -> bool {
    kind == sys::FRM_TYPE_CONTINUOUS || kind == sys::FRM_TYPE_STEPWISE
}

/// Enumerations stop here even if a broken driver never says "end".
const MAX_ENUM: u32 = 1000;

impl V4l2Device {
    /// Opens a capture node. The path may be a `/dev/v4l/by-id/…` link: it is followed now,
    /// so a camera that came back under another `/dev/videoN` is found.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::invalid(format!("{}: a NUL byte in the path", path.display())))?;
        // SAFETY: `c_path` is a valid NUL-terminated string; the flags are plain open flags.
        let raw = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(device_error(path, "open", &io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a file descriptor we just opened and own alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut cap = sys::Capability::zeroed();
        sys::querycap(fd.as_fd(), &mut cap)
            .map_err(|e| device_error(path, "VIDIOC_QUERYCAP", &e))?;
        let caps = DeviceCaps {
            driver: sys::c_str(&cap.driver),
            card: sys::c_str(&cap.card),
            bus_info: sys::c_str(&cap.bus_info),
            caps: if cap.capabilities & sys::CAP_DEVICE_CAPS != 0 {
                cap.device_caps
            } else {
                cap.capabilities
            },
        };
        Ok(Self {
            buffers: Vec::new(),
            fd,
            path: path.to_owned(),
            caps,
            streaming: false,
        })
    }

    /// Opens a node that must capture video, with a clear error for the other kinds.
    pub fn open_capture(path: &Path) -> Result<Self, Error> {
        let dev = Self::open(path)?;
        if !dev.caps.is_video_capture() {
            return Err(Error::invalid(format!(
                "{} ({}) is {}; pick another /dev/video* (`lookout devices` lists the cameras)",
                path.display(),
                dev.caps.card,
                dev.caps.kind()
            )));
        }
        Ok(dev)
    }

    pub fn caps(&self) -> &DeviceCaps {
        &self.caps
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn err(&self, what: &str, e: &io::Error) -> Error {
        device_error(&self.path, what, e)
    }

    /// The current format (what `configure` would start from).
    fn current_format(&self) -> Result<sys::PixFormat, Error> {
        let mut f = sys::Format::zeroed();
        f.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
        sys::g_fmt(self.fd(), &mut f).map_err(|e| self.err("VIDIOC_G_FMT", &e))?;
        Ok(f.fmt.pix)
    }

    fn pixel_formats(&self) -> Result<Vec<u32>, Error> {
        let mut formats = Vec::new();
        for index in 0..MAX_ENUM {
            let mut d = sys::FmtDesc::zeroed();
            d.index = index;
            d.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
            match sys::enum_fmt(self.fd(), &mut d) {
                Ok(()) => formats.push(d.pixelformat),
                Err(e) if is_end(&e) => break,
                Err(e) => return Err(self.err("VIDIOC_ENUM_FMT", &e)),
            }
        }
        Ok(formats)
    }

    fn sizes(&self, pixel_format: u32) -> Result<Vec<(u32, u32)>, Error> {
        let mut sizes = Vec::new();
        for index in 0..MAX_ENUM {
            let mut s = sys::FrmSizeEnum::zeroed();
            s.index = index;
            s.pixel_format = pixel_format;
            match sys::enum_framesizes(self.fd(), &mut s) {
                Ok(()) if s.type_ == sys::FRM_TYPE_DISCRETE => sizes.push((s.u[0], s.u[1])),
                Ok(()) if index == 0 && is_range(s.type_) => return Ok(range_sizes(s.u)),
                Ok(()) => break,
                Err(e) if is_end(&e) || is_errno(&e, libc::ENOTTY) => break,
                Err(e) => return Err(self.err("VIDIOC_ENUM_FRAMESIZES", &e)),
            }
        }
        Ok(sizes)
    }

    fn rates(&self, pixel_format: u32, width: u32, height: u32) -> Result<Vec<f64>, Error> {
        let mut rates = Vec::new();
        for index in 0..MAX_ENUM {
            let mut i = sys::FrmIvalEnum::zeroed();
            i.index = index;
            i.pixel_format = pixel_format;
            i.width = width;
            i.height = height;
            match sys::enum_frameintervals(self.fd(), &mut i) {
                Ok(()) if i.type_ == sys::FRM_TYPE_DISCRETE => {
                    rates.extend(fract_fps(i.u[0], i.u[1]));
                }
                Ok(()) if index == 0 && is_range(i.type_) => return Ok(range_rates(i.u)),
                Ok(()) => break,
                Err(e) if is_end(&e) || is_errno(&e, libc::ENOTTY) => break,
                Err(e) => return Err(self.err("VIDIOC_ENUM_FRAMEINTERVALS", &e)),
            }
        }
        Ok(rates)
    }

    /// Every format at every size with its rates, as `v4l2-ctl --list-formats-ext` shows.
    /// A driver that enumerates no sizes offers its current size.
    pub fn format_offers(&self) -> Result<Vec<FormatOffer>, Error> {
        let mut offers = Vec::new();
        for code in self.pixel_formats()? {
            let mut sizes = self.sizes(code)?;
            if sizes.is_empty() {
                let current = self.current_format()?;
                sizes.push((current.width, current.height));
            }
            for (width, height) in sizes {
                offers.push(FormatOffer {
                    format: PixelFormat::from_fourcc(code),
                    width,
                    height,
                    fps: self.rates(code, width, height)?,
                });
            }
        }
        Ok(offers)
    }

    /// The control after `id` (`None`: start), through QUERY_EXT_CTRL or, on drivers
    /// without it, QUERYCTRL. `Ok(None)` past the last.
    fn next_control(
        &self,
        after: u32,
        extended: &mut bool,
    ) -> Result<Option<sys::QueryExtCtrl>, Error> {
        let id = after | sys::CTRL_FLAG_NEXT_CTRL;
        if *extended {
            let mut q = sys::QueryExtCtrl::zeroed();
            q.id = id;
            match sys::query_ext_ctrl(self.fd(), &mut q) {
                Ok(()) => return Ok(Some(q)),
                Err(e) if is_end(&e) => return Ok(None),
                Err(e) if is_errno(&e, libc::ENOTTY) => *extended = false,
                Err(e) => return Err(self.err("VIDIOC_QUERY_EXT_CTRL", &e)),
            }
        }
        let mut q = sys::QueryCtrl::zeroed();
        q.id = id;
        match sys::queryctrl(self.fd(), &mut q) {
            Ok(()) => {
                let mut ext = sys::QueryExtCtrl::zeroed();
                ext.id = q.id;
                ext.type_ = q.type_;
                ext.name = q.name;
                ext.minimum = i64::from(q.minimum);
                ext.maximum = i64::from(q.maximum);
                ext.step = u64::try_from(q.step).unwrap_or(1);
                ext.default_value = i64::from(q.default_value);
                ext.flags = q.flags;
                Ok(Some(ext))
            }
            Err(e) if is_end(&e) => Ok(None),
            Err(e) => Err(self.err("VIDIOC_QUERYCTRL", &e)),
        }
    }

    /// Menu items from `min` to `max`; indices the driver skips are left out.
    fn menu_items(&self, q: &sys::QueryExtCtrl) -> Result<Vec<(i64, String)>, Error> {
        let mut items = Vec::new();
        // Menus are short; a broken driver's huge range must not take forever.
        let max = q.maximum.min(q.minimum.saturating_add(255));
        for index in q.minimum.max(0)..=max {
            let mut m = sys::QueryMenu::zeroed();
            m.id = q.id;
            m.index = u32::try_from(index).unwrap_or(u32::MAX);
            match sys::querymenu(self.fd(), &mut m) {
                Ok(()) => {
                    let name = if q.type_ == sys::CTRL_TYPE_INTEGER_MENU {
                        let mut value = [0u8; 8];
                        value.copy_from_slice(&m.name[..8]);
                        i64::from_ne_bytes(value).to_string()
                    } else {
                        sys::c_str(&m.name)
                    };
                    items.push((index, name));
                }
                Err(e) if is_end(&e) => {}
                Err(e) => return Err(self.err("VIDIOC_QUERYMENU", &e)),
            }
        }
        Ok(items)
    }

    /// The device's integer, boolean and menu controls with their current values. Other
    /// kinds (buttons, strings, 64-bit, compound) and disabled controls are left out.
    pub fn read_controls(&self) -> Result<Vec<ControlInfo>, Error> {
        let mut controls = Vec::new();
        let mut extended = true;
        let mut after = 0;
        for _ in 0..MAX_ENUM {
            let Some(q) = self.next_control(after, &mut extended)? else {
                break;
            };
            if q.id & !sys::CTRL_FLAG_NEXT_CTRL <= after & !sys::CTRL_FLAG_NEXT_CTRL {
                break; // A driver going round in circles.
            }
            after = q.id;
            if q.flags & sys::CTRL_FLAG_DISABLED != 0 {
                continue;
            }
            let kind = match q.type_ {
                sys::CTRL_TYPE_INTEGER => ControlKind::Integer {
                    min: q.minimum,
                    max: q.maximum,
                    step: i64::try_from(q.step).unwrap_or(1),
                    default: q.default_value,
                },
                sys::CTRL_TYPE_BOOLEAN => ControlKind::Boolean {
                    default: q.default_value != 0,
                },
                sys::CTRL_TYPE_MENU | sys::CTRL_TYPE_INTEGER_MENU => ControlKind::Menu {
                    min: q.minimum,
                    max: q.maximum,
                    default: q.default_value,
                    items: self.menu_items(&q)?,
                },
                _ => continue,
            };
            let current = if q.flags & sys::CTRL_FLAG_WRITE_ONLY != 0 {
                q.default_value
            } else {
                self.get_control(q.id).unwrap_or_else(|e| {
                    tracing::debug!("{}: reading control {:#x}: {e}", self.path.display(), q.id);
                    q.default_value
                })
            };
            controls.push(ControlInfo {
                id: q.id,
                name: sys::c_str(&q.name),
                kind,
                current,
                read_only: q.flags & sys::CTRL_FLAG_READ_ONLY != 0,
                inactive: q.flags & sys::CTRL_FLAG_INACTIVE != 0,
            });
        }
        Ok(controls)
    }

    pub fn get_control(&self, id: u32) -> Result<i64, Error> {
        let mut c = sys::Control { id, value: 0 };
        sys::g_ctrl(self.fd(), &mut c).map_err(|e| self.err("VIDIOC_G_CTRL", &e))?;
        Ok(i64::from(c.value))
    }

    /// Sets one control; `name` is for the error message.
    pub fn write_control(&self, id: u32, value: i64, name: &str) -> Result<(), Error> {
        let value = i32::try_from(value).map_err(|_| {
            Error::invalid(format!("{name}: {value} does not fit a 32-bit control"))
        })?;
        let mut c = sys::Control { id, value };
        sys::s_ctrl(self.fd(), &mut c).map_err(|e| match e.raw_os_error() {
            Some(libc::EACCES) => Error::invalid(format!(
                "{name} cannot be set now: it is inactive or read-only (an automatic mode such \
                 as auto exposure or autofocus may be in charge; switch that off first)"
            )),
            Some(libc::EBUSY) => Error::new(
                ErrorKind::Unavailable,
                format!("{name} cannot change while the camera streams"),
            ),
            Some(libc::EINVAL | libc::ERANGE) => {
                Error::invalid(format!("{name}: the camera refused the value {value}: {e}"))
            }
            _ => self.err(&format!("setting {name}"), &e),
        })
    }

    /// Stops streaming and frees the buffers, so the format can change.
    fn release(&mut self) {
        if self.streaming {
            let mut t: libc::c_int = sys::BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
            // Errors are moot: an unplugged device has stopped anyway.
            let _ = sys::streamoff(self.fd(), &mut t);
            self.streaming = false;
        }
        if !self.buffers.is_empty() {
            self.buffers.clear();
            let mut req = sys::RequestBuffers::zeroed();
            req.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
            req.memory = sys::MEMORY_MMAP;
            let _ = sys::reqbufs(self.fd(), &mut req);
        }
    }

    /// Asks for a frame rate; drivers that cannot set one keep theirs. Returns the rate the
    /// driver reports afterwards.
    fn set_rate(&self, fps: Option<f64>) -> Option<f64> {
        let mut p = sys::StreamParm::zeroed();
        p.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
        sys::g_parm(self.fd(), &mut p).ok()?;
        if let (Some(fract), true) = (
            fps.and_then(fps_fract),
            p.capture.capability & sys::CAP_TIMEPERFRAME != 0,
        ) {
            p.capture.timeperframe = fract;
            if let Err(e) = sys::s_parm(self.fd(), &mut p) {
                tracing::warn!("{}: cannot set {fps:?} fps: {e}", self.path.display());
            }
        }
        let t = p.capture.timeperframe;
        fract_fps(t.numerator, t.denominator)
    }

    fn map_buffers(&mut self, count: u32) -> Result<(), Error> {
        let mut req = sys::RequestBuffers::zeroed();
        req.count = count.clamp(1, 32);
        req.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
        req.memory = sys::MEMORY_MMAP;
        sys::reqbufs(self.fd(), &mut req).map_err(|e| self.err("VIDIOC_REQBUFS", &e))?;
        if req.count == 0 {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("{}: the driver granted no buffers", self.path.display()),
            ));
        }
        for index in 0..req.count {
            let mut b = sys::Buffer::zeroed();
            b.index = index;
            b.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
            b.memory = sys::MEMORY_MMAP;
            sys::querybuf(self.fd(), &mut b).map_err(|e| self.err("VIDIOC_QUERYBUF", &e))?;
            let len = b.length as usize;
            // The offset is a cookie naming the buffer (small multiples of the page size).
            // Infallible where off_t is 64-bit, not on 32-bit ARM.
            #[allow(clippy::unnecessary_fallible_conversions)]
            let offset = libc::off_t::try_from(b.m.offset).map_err(|_| {
                Error::internal(format!(
                    "buffer offset {:#x} does not fit off_t",
                    b.m.offset
                ))
            })?;
            // SAFETY: maps `len` bytes of the buffer at the driver's offset, shared, from our
            // fd; the result is checked before use.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                    offset,
                )
            };
            if ptr == libc::MAP_FAILED || len == 0 {
                return Err(self.err("mmap", &io::Error::last_os_error()));
            }
            let ptr = NonNull::new(ptr).ok_or_else(|| Error::internal("mmap returned null"))?;
            self.buffers.push(Mapping { ptr, len });
        }
        Ok(())
    }

    fn queue(&self, index: u32) -> Result<(), Error> {
        let mut b = sys::Buffer::zeroed();
        b.index = index;
        b.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
        b.memory = sys::MEMORY_MMAP;
        sys::qbuf(self.fd(), &mut b).map_err(|e| self.err("VIDIOC_QBUF", &e))
    }

    /// Waits up to `timeout` for the fd to have a frame or an error: the `revents`, 0 on
    /// timeout.
    fn wait_readable(&self, timeout: Duration) -> Result<libc::c_short, Error> {
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&self.fd),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r >= 0 {
                return Ok(if r > 0 { pfd.revents } else { 0 });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(self.err("poll", &e));
            }
        }
    }
}

impl Drop for V4l2Device {
    fn drop(&mut self) {
        self.release();
    }
}

impl CaptureDevice for V4l2Device {
    fn offers(&mut self) -> Result<Vec<FormatOffer>, Error> {
        self.format_offers()
    }

    fn controls(&mut self) -> Result<Vec<ControlInfo>, Error> {
        self.read_controls()
    }

    fn set_control(&mut self, id: u32, value: i64) -> Result<(), Error> {
        self.write_control(id, value, &format!("control {id:#x}"))
    }

    fn configure(&mut self, choice: &Choice, buffers: u32) -> Result<ActualFormat, Error> {
        self.release();
        let mut f = sys::Format::zeroed();
        f.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
        f.fmt.pix.width = choice.width;
        f.fmt.pix.height = choice.height;
        f.fmt.pix.pixelformat = choice.format.fourcc();
        f.fmt.pix.field = sys::FIELD_NONE;
        sys::s_fmt(self.fd(), &mut f).map_err(|e| self.err("VIDIOC_S_FMT", &e))?;
        let pix = f.fmt.pix;
        let fps = self.set_rate(choice.fps);
        self.map_buffers(buffers)?;
        Ok(ActualFormat {
            format: PixelFormat::from_fourcc(pix.pixelformat),
            width: pix.width,
            height: pix.height,
            bytesperline: pix.bytesperline,
            fps,
        })
    }

    fn start(&mut self) -> Result<(), Error> {
        for index in 0..self.buffers.len() {
            self.queue(u32::try_from(index).unwrap_or(u32::MAX))?;
        }
        let mut t: libc::c_int = sys::BUF_TYPE_VIDEO_CAPTURE as libc::c_int;
        sys::streamon(self.fd(), &mut t).map_err(|e| self.err("VIDIOC_STREAMON", &e))?;
        self.streaming = true;
        Ok(())
    }

    fn next_frame(&mut self, timeout: Duration) -> Result<Option<RawFrame>, Error> {
        let revents = self.wait_readable(timeout)?;
        if revents == 0 {
            return Ok(None);
        }
        let mut b = sys::Buffer::zeroed();
        b.type_ = sys::BUF_TYPE_VIDEO_CAPTURE;
        b.memory = sys::MEMORY_MMAP;
        match sys::dqbuf(self.fd(), &mut b) {
            Ok(()) => {}
            // POLLERR with nothing to dequeue would wake poll at once forever: the queue
            // is in error (vb2 sets that when the hardware fails).
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && revents & libc::POLLERR != 0 => {
                return Err(self.err("poll", &io::Error::from_raw_os_error(libc::EIO)));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(self.err("VIDIOC_DQBUF", &e)),
        }
        let mapping = self.buffers.get(b.index as usize).ok_or_else(|| {
            Error::internal(format!("the driver returned unknown buffer {}", b.index))
        })?;
        let data = mapping.bytes(b.bytesused as usize).to_vec();
        self.queue(b.index)?;
        let at = Duration::new(
            u64::try_from(b.timestamp.tv_sec).unwrap_or(0),
            u32::try_from(b.timestamp.tv_usec).unwrap_or(0).min(999_999) * 1000,
        );
        let timestamp = match b.flags & sys::BUF_FLAG_TIMESTAMP_MASK {
            _ if at.is_zero() => DriverTimestamp::None,
            sys::BUF_FLAG_TIMESTAMP_MONOTONIC => DriverTimestamp::Monotonic(at),
            sys::BUF_FLAG_TIMESTAMP_UNKNOWN => DriverTimestamp::Realtime(at),
            // COPY: a timestamp from elsewhere (memory-to-memory devices), no clock of ours.
            _ => DriverTimestamp::None,
        };
        Ok(Some(RawFrame {
            data,
            timestamp,
            sequence: b.sequence,
            damaged: b.flags & sys::BUF_FLAG_ERROR != 0,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_node_is_reported_as_unplugged() {
        let err = V4l2Device::open(Path::new("/dev/v4l/by-id/usb-no-such-camera"))
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("unplugged"), "{err}");
        let gone = device_error(
            Path::new("/dev/video0"),
            "VIDIOC_DQBUF",
            &io::Error::from_raw_os_error(libc::ENODEV),
        );
        assert_eq!(gone.kind(), ErrorKind::Unavailable);
        assert!(
            gone.message().contains("unplugged or stopped responding"),
            "{gone}"
        );
    }

    #[test]
    fn a_file_that_is_no_camera_is_refused() {
        let err = V4l2Device::open(Path::new("/dev/null")).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("not a V4L2 video device"), "{err}");
    }

    #[test]
    fn node_kinds() {
        let caps = |caps| DeviceCaps {
            driver: String::new(),
            card: String::new(),
            bus_info: String::new(),
            caps,
        };
        assert!(caps(sys::CAP_VIDEO_CAPTURE | sys::CAP_STREAMING).is_video_capture());
        let meta = caps(sys::CAP_META_CAPTURE | sys::CAP_STREAMING);
        assert!(!meta.is_video_capture());
        assert_eq!(meta.kind(), "a metadata node");
        assert!(!caps(sys::CAP_VIDEO_CAPTURE).is_video_capture());
        assert!(
            !caps(sys::CAP_VIDEO_CAPTURE | sys::CAP_STREAMING | sys::CAP_VIDEO_M2M)
                .is_video_capture()
        );
    }
}
