//! `lookout-bench floor-server`: the least work any server must do to deliver what Lookout's
//! `stream.mjpeg` delivers, for `lookout-bench fanout --server floor` to measure beside Lookout.
//!
//! One thread, std and `poll(2)`. Each frame interval it reads the next JPEG of the folder (as
//! Lookout's `files` source does), builds ONE buffer of chunk size line, part head, JPEG,
//! delimiter and CRLF ([`lookout_bench::floor_wire`], the same bytes as Lookout's), and gives
//! every viewer that buffer with one non-blocking `send`. A viewer whose socket was full keeps
//! the rest of its part, written as soon as `poll` says the socket has room, and misses the
//! frames that come meanwhile, as Lookout's hub skips frames for a viewer still writing. No
//! logins (the credential a request carries is not checked), no per-viewer state beyond that.

use lookout_bench::floor_wire;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A request head larger than this is refused (Lookout's own limit is of the same order).
const MAX_REQUEST_HEAD: usize = 16 * 1024;

#[derive(Debug, clap::Args)]
pub struct FloorArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub listen: SocketAddr,
    /// Folder of JPEGs played in name order, looping (as a `files` source).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Frames per second.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fps: u32,
}

/// One accepted connection.
struct Conn {
    stream: TcpStream,
    state: State,
}

enum State {
    /// Reading the request head.
    Request(Vec<u8>),
    /// A viewer: what is left of the last buffer it was given (none when it has all of it).
    Viewer(Option<(Rc<Vec<u8>>, usize)>),
    /// Writing a short answer (`/healthz`, 404), then closing.
    Answer(Rc<Vec<u8>>, usize),
}

pub fn run(args: &FloorArgs) -> io::Result<()> {
    let files = jpeg_files(&args.dir)?;
    let listener = TcpListener::bind(args.listen)?;
    // Until killed: the bench stops it with SIGTERM, whose default action ends the process.
    serve(&listener, &files, args.fps, &AtomicBool::new(false))
}

/// Serves viewers on `listener`, playing `files` at `fps`, until `stop` is set.
fn serve(listener: &TcpListener, files: &[PathBuf], fps: u32, stop: &AtomicBool) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let interval = Duration::from_secs(1) / fps.max(1);
    let mut conns: Vec<Conn> = Vec::new();
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut next_frame = Instant::now() + interval;
    let mut frame_index = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next_frame {
            let path = &files[frame_index % files.len()];
            frame_index += 1;
            let jpeg = std::fs::read(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            let frame = Rc::new(floor_wire::frame_chunk(&jpeg, SystemTime::now()));
            conns.retain_mut(|c| give_frame(c, &frame));
            // The next deadline counts from the last, so that frames do not drift; after a
            // stall (the process was not scheduled) it restarts from now instead of bursting.
            next_frame += interval;
            if next_frame <= now {
                next_frame = now + interval;
            }
        }
        fds.clear();
        fds.push(pollfd(listener.as_raw_fd(), libc::POLLIN));
        for c in &conns {
            let events = match &c.state {
                State::Request(_) => libc::POLLIN,
                State::Viewer(Some(_)) | State::Answer(..) => libc::POLLOUT,
                State::Viewer(None) => 0, // nothing to write; a closed socket shows at the next send
            };
            fds.push(pollfd(c.stream.as_raw_fd(), events));
        }
        let wait_ms = next_frame
            .saturating_duration_since(Instant::now())
            .as_millis()
            .saturating_add(1);
        let timeout = libc::c_int::try_from(wait_ms).unwrap_or(libc::c_int::MAX);
        let nfds = libc::nfds_t::try_from(fds.len()).map_err(io::Error::other)?;
        // SAFETY: `fds` is a live, initialised array of `nfds` pollfd structs that poll may
        // write `revents` into; nothing else touches it during the call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if ready == 0 {
            continue;
        }
        // Connections first (their indexes match `fds[1..]`), then new ones.
        let mut i = 0;
        conns.retain_mut(|c| {
            i += 1;
            fds[i].revents == 0 || advance(c)
        });
        if fds[0].revents != 0 {
            accept_all(listener, &mut conns)?;
        }
    }
    Ok(())
}

fn pollfd(fd: libc::c_int, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// The folder's `.jpg`/`.jpeg` files sorted by name, as Lookout's `files` source plays them.
fn jpeg_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
    {
        let path = entry?.path();
        let is_jpeg = path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"));
        if is_jpeg {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(io::Error::other(format!(
            "no .jpg or .jpeg files in {}",
            dir.display()
        )));
    }
    Ok(files)
}

fn accept_all(listener: &TcpListener, conns: &mut Vec<Conn>) -> io::Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(true)?;
                // As hyper does for every connection: a part must not wait for an ACK (Nagle).
                stream.set_nodelay(true)?;
                conns.push(Conn {
                    stream,
                    state: State::Request(Vec::new()),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // A connection reset before it was accepted, or out of descriptors for a moment:
            // the others go on.
            Err(e) => {
                eprintln!("floor-server: accept: {e}");
                return Ok(());
            }
        }
    }
}

/// A new frame for `c`, if it is a viewer with nothing left to write. False: close it.
fn give_frame(c: &mut Conn, frame: &Rc<Vec<u8>>) -> bool {
    match &mut c.state {
        State::Viewer(pending @ None) => match c.stream.write(frame) {
            Ok(n) if n == frame.len() => true,
            Ok(n) => {
                *pending = Some((Rc::clone(frame), n));
                true
            }
            // A full socket took none of it: the viewer misses this frame, the stream stays whole.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(_) => false,
        },
        // Still writing an earlier frame: skip this one.
        _ => true,
    }
}

/// `poll` reported `c` ready: read its request, or write what it has left. False: close it.
fn advance(c: &mut Conn) -> bool {
    match &mut c.state {
        State::Request(head) => {
            let mut buf = [0u8; 4096];
            match c.stream.read(&mut buf) {
                Ok(0) => false,
                Ok(n) => {
                    head.extend_from_slice(&buf[..n]);
                    match answer_for(head) {
                        Some(state) => {
                            c.state = state;
                            advance(c)
                        }
                        None => head.len() <= MAX_REQUEST_HEAD,
                    }
                }
                Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            }
        }
        State::Viewer(Some((buf, at))) | State::Answer(buf, at) => {
            match c.stream.write(&buf[*at..]) {
                Ok(n) => {
                    *at += n;
                    if *at < buf.len() {
                        return true;
                    }
                    match c.state {
                        State::Answer(..) => false,
                        _ => {
                            c.state = State::Viewer(None);
                            true
                        }
                    }
                }
                Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            }
        }
        // Nothing asked for, so poll reported an error or a hang-up: the viewer is gone.
        State::Viewer(None) => false,
    }
}

/// Once `head` holds a whole request head: the viewer's response head and first chunk for a
/// stream, a short answer for anything else.
fn answer_for(head: &[u8]) -> Option<State> {
    head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let target = head
        .split(|&b| b == b' ')
        .nth(1)
        .map(|t| t.split(|&b| b == b'?').next().unwrap_or(t));
    Some(match target {
        Some(b"/healthz") => State::Answer(
            Rc::new(
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_vec(),
            ),
            0,
        ),
        Some(t) if t.ends_with(b"/stream.mjpeg") => {
            let mut out = floor_wire::response_head(&floor_wire::http_date(SystemTime::now()));
            out.extend_from_slice(&floor_wire::first_chunk());
            State::Viewer(Some((Rc::new(out), 0)))
        }
        _ => State::Answer(
            Rc::new(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            ),
            0,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(state: Option<State>) -> Option<Vec<u8>> {
        match state? {
            State::Viewer(Some((b, 0))) | State::Answer(b, 0) => Some(b.to_vec()),
            _ => None,
        }
    }

    #[test]
    fn a_stream_request_gets_the_head_and_first_delimiter() {
        assert!(answer_for(b"GET /cameras/bench/stream.mjpeg HTTP/1.1\r\nHost: x\r\n").is_none());
        let out = written(answer_for(
            b"GET /cameras/bench/stream.mjpeg?token=x HTTP/1.1\r\nHost: x\r\n\r\n",
        ))
        .expect("a viewer");
        let text = String::from_utf8(out).expect("ASCII");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            text.ends_with("\r\n\r\n16\r\n--boundarydonotcross\r\n\r\n"),
            "{text}"
        );
        let health = written(answer_for(b"GET /healthz HTTP/1.1\r\n\r\n")).expect("an answer");
        assert!(health.ends_with(b"\r\n\r\nok"));
        let other = written(answer_for(b"GET /x HTTP/1.1\r\n\r\n")).expect("an answer");
        assert!(other.starts_with(b"HTTP/1.1 404"));
    }

    /// The real client reads the floor's stream: the folder's JPEGs, in order, each whole.
    #[test]
    fn a_viewer_gets_the_folders_jpegs_in_order() {
        let dir = super::super::server::ScratchDir::new().expect("scratch dir");
        let jpegs: Vec<Vec<u8>> = (0u8..3)
            .map(|i| vec![0xff, 0xd8, i, i, i, 0xff, 0xd9])
            .collect();
        for (i, j) in jpegs.iter().enumerate() {
            std::fs::write(dir.path().join(format!("f{i}.jpg")), j).expect("write");
        }
        let files = jpeg_files(dir.path()).expect("files");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let server = {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || serve(&listener, &files, 100, &stop))
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let bodies = rt.block_on(async {
            let read = async {
                let health = lookout_bench::get(addr, "/healthz", &[]).await?;
                assert_eq!((health.status, &health.body[..]), (200, &b"ok"[..]));
                let mut s =
                    lookout_bench::open_stream(addr, "/cameras/bench/stream.mjpeg", &[]).await?;
                assert_eq!(s.status(), 200);
                let mut bodies = Vec::new();
                while bodies.len() < 6 {
                    let part = s.next_part().await?.expect("a part");
                    assert!(part.latency().is_some(), "an X-Timestamp");
                    bodies.push(part.body.to_vec());
                }
                io::Result::Ok(bodies)
            };
            tokio::time::timeout(Duration::from_secs(10), read).await
        });
        stop.store(true, Ordering::Relaxed);
        server.join().expect("no panic").expect("served");
        let bodies = bodies.expect("6 frames within 10 s").expect("read");
        // The viewer may join at any frame; from there the files follow in order, looping.
        let first = jpegs.iter().position(|j| *j == bodies[0]).expect("a file");
        for (k, body) in bodies.iter().enumerate() {
            assert_eq!(*body, jpegs[(first + k) % 3], "part {k}");
        }
    }

    #[test]
    fn the_folder_plays_in_name_order() {
        let dir = super::super::server::ScratchDir::new().expect("scratch dir");
        for name in ["b.JPG", "a.jpg", "c.jpeg", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        let names: Vec<String> = jpeg_files(dir.path())
            .expect("files")
            .iter()
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
            .collect();
        assert_eq!(names, ["a.jpg", "b.JPG", "c.jpeg"]);
        std::fs::remove_file(dir.path().join("notes.txt")).expect("remove");
        for name in ["a.jpg", "b.JPG", "c.jpeg"] {
            std::fs::remove_file(dir.path().join(name)).expect("remove");
        }
        assert!(jpeg_files(dir.path()).is_err());
    }
}
