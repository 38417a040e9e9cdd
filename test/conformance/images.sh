#!/usr/bin/env bash
# Builds stand-ins for the upstream test images the e2e suite runs, as image archives that
# `podium image import` loads, and keeps them in OUT between runs:
#   agnhost  registry.k8s.io/e2e-test-images/agnhost:2.66.1 (and :2.55): a Debian userland
#            made with debootstrap carrying what upstream's Alpine image carries (curl, wget, dig,
#            nc, ip/ss, bash, socat, iperf, ipcs), bash as /bin/sh, plus the agnhost binary
#            built from the same k8s.io/kubernetes module as e2e.test, and /coredns
#            (CoreDNS with its hosts and log plugins, from ./coredns).
#   busybox  registry.k8s.io/e2e-test-images/busybox:1.37.0-2: busybox 1.37.0 with its default
#            configuration, static.
#   pause    registry.k8s.io/pause:3.10.2: upstream's pause.c from that module, static.
#   nginx    registry.k8s.io/e2e-test-images/nginx:1.27.0-2 and 1.28.0-2: Debian's nginx
#            on the same userland, serving / on port 80.
#   kitten, nautilus  (1.8): agnhost's test-webserver serving their picture and data.json,
#            with an /etc/os-release naming Alpine as upstream's.
#   nonroot  registry.k8s.io/e2e-test-images/nonroot:1.5: the agnhost userland as user 1234.
#   nonewprivs  (1.4): busybox with upstream's setuid nnp program.
#   dnstest  registry.k8s.io/e2e-test-images/glibc-dns-testing:2.1.1: the agnhost userland.
#   sampleapiserver  registry.k8s.io/e2e-test-images/sample-apiserver:1.29.2: k8s.io/sample-apiserver
#            from the module e2e.test is built from, as /sample-apiserver.
#   etcd     registry.k8s.io/etcd:3.7.0-0: etcd from podium's etcd module, /usr/local/bin/etcd.
# Usage: images.sh OUT BIN MODDIR   (BIN holds agnhost, coredns, nnp, sample-apiserver, etcd and
#        mkimage; MODDIR is the
#        k8s.io/kubernetes module directory). Needs root, debootstrap, gcc, make, bzip2, curl.
set -euo pipefail
OUT=${1:?out dir}; BIN=${2:?bin dir}; MOD=${3:?k8s.io/kubernetes module dir}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${DEBIAN_SUITE:-bookworm}
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
E2E=registry.k8s.io/e2e-test-images

# A rootfs tarball, without the package manager's caches.
pack() { # DIR TAR
  rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/locale
  tar --numeric-owner --xattrs -C "$1" -cf "$2" .
}

# image NAME: build OUT/NAME.tar unless it is there, with the function build_NAME.
image() {
  if [ -s "$OUT/$1.tar" ]; then echo "image $1: cached"; return; fi
  local s=$SECONDS
  "build_$1"
  echo "image $1: built in $((SECONDS - s)) s"
}

debian() { # DIR PACKAGES
  debootstrap --variant=minbase --include="$2" "$SUITE" "$1" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log"; exit 1; }
  : > "$1/etc/resolv.conf"; : > "$1/etc/hosts"
}

build_agnhost() {
  local r=$WORK/agnhost
  debian "$r" curl,wget,dnsutils,netcat-openbsd,iproute2,socat,iperf,util-linux,ca-certificates,bash
  install -m 0755 "$BIN/agnhost" "$r/agnhost"
  install -m 0755 "$BIN/coredns" "$r/coredns"
  ln -s agnhost "$r/agnhost-2"
  # Upstream's agnhost is Alpine, whose /bin/sh (BusyBox ash) knows [[ ]], which specs'
  # probes use; Debian's dash does not, bash does.
  ln -sf bash "$r/bin/sh"
  mkdir -p "$r/uploads"
  install -m 0644 "$MOD/test/images/agnhost/porter/localhost.crt" "$MOD/test/images/agnhost/porter/localhost.key" "$r/"
  # The user and group a SupplementalGroups spec expects the image to define.
  chroot "$r" useradd -u 1000 -m user-defined-in-image
  chroot "$r" groupadd -g 50000 group-defined-in-image
  chroot "$r" usermod -a -G group-defined-in-image user-defined-in-image
  pack "$r" "$WORK/agnhost.rootfs.tar"
  "$BIN/mkimage" -rootfs "$WORK/agnhost.rootfs.tar" -o "$OUT/agnhost.tar" \
    -ref $E2E/agnhost:2.66.1 -ref $E2E/agnhost:2.55 -entrypoint /agnhost -cmd pause \
    -port 80/tcp -port 8080/tcp -port 8081/tcp -port 9376/tcp -port 5000/tcp
}

# Upstream's busybox image is busybox built with its default configuration. Debian's
# build differs where specs notice (its ash drops environment variables whose names are
# not shell names), so busybox is built here from the release tarball Debian mirrors.
BUSYBOX_TAR=busybox_1.37.0.orig.tar.bz2
BUSYBOX_SHA256=3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4
build_busybox() {
  local r=$WORK/busybox src=$WORK/busybox-src a
  curl -fsS -o "$WORK/$BUSYBOX_TAR" "$MIRROR/pool/main/b/busybox/$BUSYBOX_TAR"
  echo "$BUSYBOX_SHA256  $WORK/$BUSYBOX_TAR" | sha256sum -c --quiet
  mkdir -p "$src" && tar -xjf "$WORK/$BUSYBOX_TAR" -C "$src" --strip-components=1
  (cd "$src" && make defconfig >/dev/null &&
    sed -i -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' -e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' \
      -e 's/^# CONFIG_USE_BB_PWD_GRP is not set/CONFIG_USE_BB_PWD_GRP=y/' -e 's/^# CONFIG_USE_BB_SHADOW is not set/CONFIG_USE_BB_SHADOW=y/' .config &&
    make -j"$(nproc)" >"$WORK/busybox-build.log" 2>&1) || { tail -20 "$WORK/busybox-build.log"; exit 1; }
  mkdir -p "$r"/{bin,etc,tmp,root,home,usr/bin,usr/sbin,var/tmp,proc,sys,dev}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  install -m 0755 "$src/busybox" "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
  : > "$r/etc/hosts"; : > "$r/etc/resolv.conf"
  pack "$r" "$WORK/busybox.rootfs.tar"
  "$BIN/mkimage" -rootfs "$WORK/busybox.rootfs.tar" -o "$OUT/busybox.tar" -ref $E2E/busybox:1.37.0-2 \
    -ref $E2E/busybox:1.36.1-1 -cmd sh
}

build_pause() {
  local r=$WORK/pause
  mkdir -p "$r"
  gcc -Os -static -DVERSION=v3.10.2 -o "$r/pause" "$MOD/build/pause/linux/pause.c"
  strip "$r/pause"
  pack "$r" "$WORK/pause.rootfs.tar"
  "$BIN/mkimage" -rootfs "$WORK/pause.rootfs.tar" -o "$OUT/pause.tar" -ref registry.k8s.io/pause:3.10.2 \
    -entrypoint /pause -user 65535:65535
}

build_nginx() {
  local r=$WORK/nginx
  debian "$r" nginx
  ln -sf /dev/stdout "$r/var/log/nginx/access.log"; ln -sf /dev/stderr "$r/var/log/nginx/error.log"
  pack "$r" "$WORK/nginx.rootfs.tar"
  "$BIN/mkimage" -rootfs "$WORK/nginx.rootfs.tar" -o "$OUT/nginx.tar" \
    -ref $E2E/nginx:1.27.0-2 -ref $E2E/nginx:1.28.0-2 -port 80/tcp -cmd nginx -cmd -g -cmd 'daemon off;'
}

# webpictures NAME: agnhost's test-webserver (it serves its working directory) with the
# picture and data.json of upstream's image NAME. Upstream builds these on agnhost's
# Alpine 3.21 base, and the ImageVolume spec reads the image's /etc/os-release to check
# that the mounted image is the one named, so the stand-in carries Alpine's fields.
webpictures() {
  local r=$WORK/$1
  mkdir -p "$r/etc"
  cp "$MOD/test/images/$1/html/"* "$r/"
  printf '%s\n' 'NAME="Alpine Linux"' 'ID=alpine' 'VERSION_ID=3.21.3' 'PRETTY_NAME="Alpine Linux v3.21"' \
    'HOME_URL="https://alpinelinux.org/"' >"$r/etc/os-release"
  tar --numeric-owner -C "$r" -cf "$WORK/$1.layer.tar" .
  "$BIN/mkimage" -base "$OUT/agnhost.tar" -rootfs "$WORK/$1.layer.tar" -o "$OUT/$1.tar" -ref "$E2E/$1:1.8" \
    -entrypoint /agnhost -cmd test-webserver -port 80/tcp
}
build_kitten() { webpictures kitten; }
build_nautilus() { webpictures nautilus; }

build_nonroot() {
  mkdir -p "$WORK/empty"
  tar -C "$WORK/empty" -cf "$WORK/empty.tar" .
  "$BIN/mkimage" -base "$OUT/agnhost.tar" -rootfs "$WORK/empty.tar" -o "$OUT/nonroot.tar" -ref "$E2E/nonroot:1.5" \
    -user 1234 -cmd /bin/sh
}

build_nonewprivs() {
  local r=$WORK/nonewprivs
  mkdir -p "$r/usr/local/bin"
  install -m 4755 "$BIN/nnp" "$r/usr/local/bin/nnp"
  tar --numeric-owner -C "$r" -cf "$WORK/nonewprivs.layer.tar" .
  "$BIN/mkimage" -base "$OUT/busybox.tar" -rootfs "$WORK/nonewprivs.layer.tar" -o "$OUT/nonewprivs.tar" \
    -ref "$E2E/nonewprivs:1.4" -cmd nnp
}

# Upstream's glibc-dns-testing is a Debian userland with dig, whose glibc resolver the DNS
# specs compare with dig's answers: the agnhost userland is one.
build_dnstest() {
  mkdir -p "$WORK/empty"
  tar -C "$WORK/empty" -cf "$WORK/empty.tar" .
  "$BIN/mkimage" -base "$OUT/agnhost.tar" -rootfs "$WORK/empty.tar" -o "$OUT/dnstest.tar" \
    -ref "$E2E/glibc-dns-testing:2.1.1" -cmd /bin/sh
}

# A static binary alone, with a /tmp: BINARY PATH-IN-IMAGE NAME REF.
binary_image() {
  local r=$WORK/$3
  mkdir -p "$r/tmp" "$r/$(dirname "$2")" && chmod 1777 "$r/tmp"
  install -m 0755 "$BIN/$1" "$r/$2"
  pack "$r" "$WORK/$3.rootfs.tar"
  "$BIN/mkimage" -rootfs "$WORK/$3.rootfs.tar" -o "$OUT/$3.tar" -ref "$4" -entrypoint "/$2"
}

# The Aggregator spec runs both in one pod: the sample API server on an etcd of its own.
build_sampleapiserver() { binary_image sample-apiserver sample-apiserver sampleapiserver "$E2E/sample-apiserver:1.29.2"; }
build_etcd() { binary_image etcd usr/local/bin/etcd etcd registry.k8s.io/etcd:3.7.0-0; }

# Those built on another image come after it.
for i in ${IMAGES:-agnhost busybox pause nginx kitten nautilus nonroot nonewprivs dnstest sampleapiserver etcd}; do image "$i"; done
