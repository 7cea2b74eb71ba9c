#!/usr/bin/env bash
# Runs CMD inside a qemu VM booting Debian's kernel, with real V4L2 devices: /dev/video0 is a
# vivid test camera and /dev/video10 a v4l2loopback device fed by ffmpeg. The host's `/` is the
# guest's root (read-only over 9p), in the caller's working directory, so test binaries built
# on the host run there as they are. Prints CMD's output and exits with its exit code.
#
#   scripts/v4l2-vm/run.sh v4l2-ctl --list-formats-ext -d /dev/video0
#
# This machine's own kernel has no modules and no /dev/video*; see README.md beside this file
# for the layout, the cache under target/v4l2-vm/, the environment knobs and `v4l2-vm-replug`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${LOOKOUT_VM_CACHE:-$repo/target/v4l2-vm}"
timeout_secs="${LOOKOUT_VM_TIMEOUT:-600}"

die() {
    echo "v4l2-vm: $*" >&2
    exit 125
}

(($#)) || die "usage: run.sh CMD [ARGS...]"

# Programs the harness runs on the host, and the ones CMD's environment relies on in the guest
# (the guest's root is the host's), each with its Debian package.
need=(qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio depmod:kmod
    modprobe:kmod dpkg-deb:dpkg apt-get:apt dkms:dkms v4l2-ctl:v4l-utils ffmpeg:ffmpeg
    flock:util-linux timeout:coreutils)
missing=()
for pair in "${need[@]}"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
# The initramfs needs the static build (the `busybox` package's is dynamically linked).
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
    missing+=(busybox-static)
compgen -G '/usr/src/v4l2loopback-*' >/dev/null || missing+=(v4l2loopback-dkms)
if ((${#missing[@]})); then
    die "missing Debian packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  install them: apt-get install --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  (scripts/test.sh installs them all)"
fi

# The kernel: Debian's default one, the ABI the `linux-headers-amd64` meta-package points at.
# The newest image apt lists is not always usable: Debian's v4l2loopback-dkms only builds for
# the default series (e.g. 0.12.7 fails on 6.12, which dropped strlcpy). LOOKOUT_VM_KERNEL
# (e.g. 6.1.0-56-amd64) overrides it.
kernel_version() {
    local deps
    deps="$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null || true)"
    [ -n "$deps" ] || deps="$(apt-cache depends linux-headers-amd64 2>/dev/null || true)"
    grep -oE 'linux-headers-[0-9][^ ,()]*-amd64' <<<"$deps" | head -n1 | sed 's/^linux-headers-//' || true
}
kver="${LOOKOUT_VM_KERNEL:-$(kernel_version)}"
[ -n "$kver" ] || die "missing the headers of Debian's default kernel (which one the VM boots)
  (apt-get update && apt-get install --no-install-recommends linux-headers-amd64 dkms v4l2loopback-dkms)
  or set LOOKOUT_VM_KERNEL to a version such as 6.1.0-56-amd64"
[ -e "/usr/src/linux-headers-$kver" ] || die "missing linux-headers-$kver (v4l2loopback is built against it):
  apt-get install --no-install-recommends linux-headers-$kver"

mkdir -p "$cache"
kdir="$cache/$kver"

# Everything below is prepared once per kernel version; a lock keeps concurrent runs (two test
# binaries at once) from preparing the same files twice.
prepare() {
    local root="$kdir/root" mods="$kdir/root/lib/modules/$kver"
    echo "v4l2-vm: preparing kernel $kver in $kdir (once)" >&2
    # Other kernel versions' files are stale: one unpacked kernel is ~400 MB.
    find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$(basename "$kdir")" ! -name runs \
        -exec rm -rf {} +
    rm -rf "$kdir"
    mkdir -p "$kdir/download" "$root"

    # The kernel and its modules, unpacked from Debian's package (never installed on the host).
    (cd "$kdir/download" && apt-get download "linux-image-$kver" >/dev/null 2>"$kdir/download/log") ||
        die "apt-get download linux-image-$kver failed ($(tail -n1 "$kdir/download/log"));
  run apt-get update, or upgrade linux-headers-amd64 if the archive dropped this version"
    dpkg-deb -x "$kdir"/download/linux-image-*.deb "$root"
    rm -rf "$kdir/download" "${root:?}/usr"

    # v4l2loopback, built by dkms against the matching headers, added to the unpacked modules.
    local src lbver ko
    src="$(compgen -G '/usr/src/v4l2loopback-*' | sort -V | tail -n1)"
    lbver="${src##*/v4l2loopback-}"
    ko="$(compgen -G "/var/lib/dkms/v4l2loopback/$lbver/$kver/x86_64/module/v4l2loopback.ko*" | head -n1 || true)"
    if [ -z "$ko" ]; then
        dkms build -m v4l2loopback -v "$lbver" -k "$kver" >"$kdir/dkms.log" 2>&1 ||
            die "dkms could not build v4l2loopback $lbver for $kver; see $kdir/dkms.log"
        ko="$(compgen -G "/var/lib/dkms/v4l2loopback/$lbver/$kver/x86_64/module/v4l2loopback.ko*" | head -n1 || true)"
    fi
    [ -n "$ko" ] || die "dkms built v4l2loopback but its .ko is not under /var/lib/dkms/v4l2loopback/$lbver/$kver"
    mkdir -p "$mods/updates"
    cp "$ko" "$mods/updates/"
    depmod -b "$root" "$kver"

    # The initramfs: static busybox, the modules that reach the 9p shares, and a tiny /init.
    local ird="$kdir/initramfs" m verb path
    mkdir -p "$ird/bin" "$ird/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/host" "$ird/share"
    cp /bin/busybox "$ird/bin/busybox"
    for m in virtio_pci 9pnet_virtio 9p; do
        modprobe -d "$root" -S "$kver" --show-depends "$m" | while read -r verb path _; do
            [ "$verb" = insmod ] || continue
            grep -qxF "${path##*/}" "$ird/modules/order" 2>/dev/null && continue
            cp "$path" "$ird/modules/"
            echo "${path##*/}" >>"$ird/modules/order"
        done
    done
    cp "$here/init" "$ird/init"
    chmod +x "$ird/init"
    (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$kdir/initramfs.cpio.gz"
    cp "$root/boot/vmlinuz-$kver" "$kdir/vmlinuz"
    touch "$kdir/ready"
}

exec 9>"$cache/lock"
flock 9
# The cache is fresh when it is complete and newer than the /init it holds a copy of.
if [ ! -e "$kdir/ready" ] || [ "$here/init" -nt "$kdir/ready" ]; then
    prepare
fi
flock -u 9

# One run's writable share: the command to run, its exit status, logs.
mkdir -p "$cache/runs"
run="$(mktemp -d "$cache/runs/run.XXXXXX")"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ "${LOOKOUT_VM_KEEP:-}" = 1 ]; then
        echo "v4l2-vm: kept $run" >&2
    else
        rm -rf "$run"
    fi
}
trap cleanup EXIT

# The command, quoted by bash for bash (the chroot's /bin/bash runs it) with the environment
# passed through: LOOKOUT_*, RUST_LOG, RUST_BACKTRACE, PATH, HOME, CI and the names listed in
# LOOKOUT_VM_ENV. Nothing else leaks in; TERM stays unset so test output has no colour codes.
{
    echo "cd -- $(printf %q "$PWD") || { echo \"v4l2-vm: $(printf %q "$PWD") is not visible in the VM\" >&2; exit 126; }"
    read -ra extra_names <<<"${LOOKOUT_VM_ENV:-}"
    names=(RUST_LOG RUST_BACKTRACE RUST_LIB_BACKTRACE HOME CI "${extra_names[@]}")
    mapfile -t lookout_names < <(compgen -e LOOKOUT_ || true)
    for name in "${names[@]}" "${lookout_names[@]}"; do
        [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "LOOKOUT_VM_ENV: $name is not a variable name"
        [ -n "${!name+set}" ] && echo "export $name=$(printf %q "${!name}")"
    done
    echo "export PATH=/run/v4l2-vm/bin:$(printf %q "${PATH:-/usr/sbin:/usr/bin:/sbin:/bin}")"
    echo "export V4L2_VM_KERNEL=$(printf %q "$kver")"
    printf 'exec'
    printf ' %q' "$@"
    echo
} >"$run/cmd.sh"
mkdir -p "$run/bin"
cp "$here/guest.sh" "$run/guest.sh"
cp "$here/v4l2-vm-replug" "$run/bin/v4l2-vm-replug"
chmod +x "$run/bin/v4l2-vm-replug"
# The chroot's /tmp is a fresh tmpfs; a caller working under the host's /tmp (a fresh clone in
# /tmp, say), or naming a program or file there, keeps those top directories visible in it.
keep_tmp=""
for path in "$PWD" "$@"; do
    case "$path" in
    /tmp/?*)
        top="${path#/tmp/}"
        top="${top%%/*}"
        if [[ "$top" =~ ^[A-Za-z0-9._-]+$ ]] && [[ " $keep_tmp " != *" $top "* ]]; then
            keep_tmp="${keep_tmp:+$keep_tmp }$top"
        fi
        ;;
    esac
done
cat >"$run/vm.env" <<EOF
KVER='$kver'
MODROOT='$kdir/root'
KEEP_TMP='$keep_tmp'
EOF

# CMD's stderr comes out through a FIFO that `cat` copies to our own stderr: qemu opening
# /dev/stderr itself would write through a new file offset and clobber a redirected log.
# Holding the FIFO open here too makes `cat` end at EOF even if qemu never opens it.
mkfifo "$run/stderr"
cat "$run/stderr" >&2 &
stderr_copier=$!
exec 8>"$run/stderr"

# 2 vCPUs and 1.5 GB in software emulation (KVM hangs on these machines). Serial ports:
# ttyS0 is CMD's stdout, ttyS1 its stderr, ttyS2 the kernel console (a log shown on failure).
# qemu's default CPU model and no boot-time crypto self-tests: with `-cpu max` a boot hung
# once in a dozen in cryptomgr_test (soft lockup for the whole 10 minutes).
start=$(date +%s)
set +e
timeout -k 10 "$timeout_secs" qemu-system-x86_64 \
    -accel tcg -smp 2 -m 1536 \
    -nodefaults -display none -no-reboot -nic none \
    -kernel "$kdir/vmlinuz" -initrd "$kdir/initramfs.cpio.gz" \
    -append "console=ttyS2 loglevel=4 quiet panic=-1 cryptomgr.notests rdinit=/init" \
    -chardev stdio,id=out -serial chardev:out \
    -chardev "file,id=err,path=$run/stderr" -serial chardev:err \
    -serial "file:$run/console.log" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$run,mount_tag=share,security_model=none,multidevs=remap" \
    </dev/null 8>&-
qemu_status=$?
exec 8>&-
wait "$stderr_copier"
set -e
elapsed=$(($(date +%s) - start))

show_console() {
    cp "$run/console.log" "$cache/last-failure-console.log" 2>/dev/null &&
        echo "v4l2-vm: the whole console log: $cache/last-failure-console.log" >&2
    echo "v4l2-vm: --- guest console (last 40 lines) ---" >&2
    if [ -s "$run/console.log" ]; then
        tail -n 40 "$run/console.log" >&2
    else
        echo "(empty: the kernel prints only warnings, and CMD had not started)" >&2
    fi
    echo "v4l2-vm: ---" >&2
}
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    show_console
    die "the VM did not finish within ${timeout_secs}s (LOOKOUT_VM_TIMEOUT) and was killed"
fi
if [ ! -s "$run/status" ]; then
    show_console
    die "the VM stopped (qemu exit $qemu_status) without reporting CMD's exit status"
fi
status="$(cat "$run/status")"
if [ -s "$run/error" ]; then
    show_console
    die "$(cat "$run/error")"
fi
[ "${LOOKOUT_VM_VERBOSE:-}" = 1 ] && echo "v4l2-vm: $* exited $status after ${elapsed}s (boot included)" >&2
exit "$status"
