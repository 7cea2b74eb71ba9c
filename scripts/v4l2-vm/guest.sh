# The V4L2 test VM's setup, run by busybox sh as PID 1 once the shares are mounted (see init):
# loads vivid and v4l2loopback, feeds the loopback device with ffmpeg, prepares the chroot into
# the host's root and runs the command run.sh wrote to cmd.sh. Writes its exit status to
# /share/status (and a reason to /share/error when the VM itself failed) and powers off.
# shellcheck source=/dev/null
. /share/vm.env
H=/host

finish() {
    echo "$1" >/share/status
    sync
    poweroff -f
    sleep 10
}
# Progress with the guest's uptime in the console log (shown when a run fails).
mark() {
    echo "v4l2-vm guest: $(cut -d' ' -f1 /proc/uptime)s $*" >/dev/console
}
fail() {
    echo "$*" >/share/error
    echo "v4l2-vm guest: $*" >/dev/console
    dmesg >/share/dmesg.log 2>/dev/null
    finish 125
}

# Raw serial lines: CMD's bytes reach the host's stdout and stderr unchanged (no \r\n).
stty -F /dev/ttyS0 raw -echo
stty -F /dev/ttyS1 raw -echo
ip link set lo up || fail "cannot bring up lo"

mount -t devtmpfs devtmpfs $H/dev || fail "cannot mount /dev in the chroot"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts devpts $H/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $H/dev/shm
mount -t proc proc $H/proc
mount -t sysfs sysfs $H/sys
# Directories of the host's /tmp the caller uses (run.sh lists them) stay visible in the
# chroot's own /tmp.
for top in $KEEP_TMP; do
    mkdir -p "/kept-tmp/$top"
    mount -o bind "$H/tmp/$top" "/kept-tmp/$top" || fail "cannot keep /tmp/$top visible"
done
mount -t tmpfs -o mode=1777 tmpfs $H/tmp
for top in $KEEP_TMP; do
    mkdir -p "$H/tmp/$top"
    mount -o bind "/kept-tmp/$top" "$H/tmp/$top"
done
mount -t tmpfs -o mode=755 tmpfs $H/run
mkdir -p $H/run/v4l2-vm
mount -o bind /share $H/run/v4l2-vm
# The booted kernel's modules where modprobe looks for them (the host has the directory when
# the matching linux-headers package is installed, which v4l2loopback needs anyway).
if [ -d "$H/lib/modules/$KVER" ]; then
    mount -o bind "$H$MODROOT/lib/modules/$KVER" "$H/lib/modules/$KVER"
fi

mark "chroot ready"
# The loopback devices first: ffmpeg takes seconds to start under emulation, vivid loads
# meanwhile. /dev/video11 stays without a writer: the H.264 test feeds it itself.
chroot $H /usr/sbin/modprobe -d "$MODROOT" v4l2loopback devices=2 video_nr=10,11 \
    exclusive_caps=1,1 card_label="Lookout loopback,Lookout H.264" ||
    fail "modprobe v4l2loopback failed"
for _ in $(seq 100); do
    [ -e $H/dev/video10 ] && [ -e $H/dev/video11 ] && break
    sleep 0.1
done
[ -e $H/dev/video10 ] || fail "v4l2loopback loaded but /dev/video10 did not appear"
[ -e $H/dev/video11 ] || fail "v4l2loopback loaded but /dev/video11 did not appear"
chroot $H /usr/bin/ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi \
    -i testsrc=size=640x480:rate=15 -pix_fmt yuyv422 -f v4l2 /dev/video10 \
    </dev/null >/share/ffmpeg.log 2>&1 &
ffmpeg=$!

chroot $H /usr/sbin/modprobe -d "$MODROOT" vivid n_devs=1 node_types=0x1 input_types=0x81 ||
    fail "modprobe vivid failed"
for _ in $(seq 100); do
    [ -e $H/dev/video0 ] && break
    sleep 0.1
done
[ -e $H/dev/video0 ] || fail "vivid loaded but /dev/video0 did not appear"
mark "modules loaded"

# With exclusive_caps=1 the loopback device is a capture device only once a writer streams;
# its sysfs `format` is empty until then (cheaper to poll than running v4l2-ctl).
for _ in $(seq 600); do
    [ -n "$(cat /sys/class/video4linux/video10/format 2>/dev/null)" ] && break
    kill -0 $ffmpeg 2>/dev/null || fail "ffmpeg feeding /dev/video10 exited: $(cat /share/ffmpeg.log)"
    sleep 0.1
done
[ -n "$(cat /sys/class/video4linux/video10/format 2>/dev/null)" ] ||
    fail "ffmpeg did not start streaming to /dev/video10 within 60 s: $(cat /share/ffmpeg.log)"

mark "loopback streaming; running the command"
chroot $H /usr/bin/env -i /bin/bash /run/v4l2-vm/cmd.sh </dev/null >/dev/ttyS0 2>/dev/ttyS1
status=$?
mark "command exited $status"
kill $ffmpeg 2>/dev/null
# stty waits for the serial output to drain before it returns.
stty -F /dev/ttyS0 raw
stty -F /dev/ttyS1 raw
finish $status
