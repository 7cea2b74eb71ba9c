#!/usr/bin/python3
"""A stand-in IP camera for the tests: GStreamer's RTSP server on 127.0.0.1.

Serves an H.264 test picture at /cam (what most IP cameras send) and, with --mjpeg, an
MJPEG/RTP one at /mjpeg (what some older cameras send). With --credentials USER:PASSWORD every
mount needs RTSP Basic authentication, as a real camera's does (--digest: Digest, RFC 2617, as
most current cameras ask for).

When it listens it prints one line, "READY rtsp://127.0.0.1:PORT", and keeps running until it
is killed (SIGTERM/SIGINT end it cleanly). --port 0 (the default) picks a free port, which the
ready line names, so parallel tests never race for one.

Needs Debian's gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-good (RTP, JPEG)
and gstreamer1.0-plugins-ugly (x264), for /usr/bin/python3 (the `python3` on PATH may be
another interpreter without them).
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# The role every authenticated user gets; the mounts grant it access.
ROLE = "camera-viewer"


def test_source(width, height, fps):
    # is-live: frames at the given rate, like a camera, not as fast as the CPU allows.
    return (
        f"videotestsrc is-live=true pattern=smpte ! "
        f"video/x-raw,width={width},height={height},framerate={fps}/1"
    )


def h264_launch(width, height, fps):
    # zerolatency: no B-frames and no look-ahead, so the first picture comes at once;
    # key-int-max: a keyframe every second, so a client that joins late starts quickly.
    return (
        f"( {test_source(width, height, fps)} ! "
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! "
        f"rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def mjpeg_launch(width, height, fps):
    # RFC 2435 (JPEG over RTP) carries only 4:2:0 and 4:2:2: jpegenc must get I420.
    return (
        f"( {test_source(width, height, fps)} ! videoconvert ! video/x-raw,format=I420 ! "
        f"jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )"
    )


def factory(launch, auth):
    f = GstRtspServer.RTSPMediaFactory.new()
    f.set_launch(launch)
    # One pipeline for every client, as a camera has one sensor.
    f.set_shared(True)
    if auth:
        perms = GstRtspServer.RTSPPermissions.new()
        perms.add_role(ROLE)
        perms.add_permission_for_role(ROLE, "media.factory.access", True)
        perms.add_permission_for_role(ROLE, "media.factory.construct", True)
        f.set_permissions(perms)
    return f


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="TCP port (0: any free one)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--mjpeg", action="store_true", help="also serve MJPEG/RTP at /mjpeg")
    p.add_argument("--credentials", metavar="USER:PASSWORD", help="require RTSP Basic auth")
    p.add_argument("--digest", action="store_true", help="with --credentials: Digest, not Basic")
    args = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    auth = None
    if args.credentials:
        user, sep, password = args.credentials.partition(":")
        if not sep or not user:
            p.error("--credentials takes USER:PASSWORD")
        auth = GstRtspServer.RTSPAuth.new()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", ROLE)
        if args.digest:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(user, password, token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        # RTSPAuth offers Basic only by default, which ffmpeg answers with the URL's credentials.
        server.set_auth(auth)

    mounts = server.get_mount_points()
    mounts.add_factory("/cam", factory(h264_launch(args.width, args.height, args.fps), auth))
    if args.mjpeg:
        mounts.add_factory(
            "/mjpeg", factory(mjpeg_launch(args.width, args.height, args.fps), auth)
        )

    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
