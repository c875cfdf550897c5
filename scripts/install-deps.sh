#!/bin/sh
# install-deps.sh [--test]: installs what audiocap needs on Debian/Ubuntu (as root, or through sudo).
#   runtime and build: ffmpeg, libasound2-dev (ALSA headers for device discovery), libflac-dev (libFLAC,
#   which writes and repairs FLAC segments), pkg-config, make, tzdata (the time zones of schedules in
#   local time, and their daylight-saving changes)
#   --test adds what the test suite's ALSA test microphone needs: alsa-utils, pulseaudio,
#   pulseaudio-utils, libasound2-plugins; sox (an independent level reader in the tests); flac (flac and
#   metaflac, an independent FLAC decoder and reader of the FLAC files' STREAMINFO); systemd
#   (systemd-analyze checks the shipped unit, systemd-sysusers the sysusers.d file, and the service tests
#   boot it as PID 1 of a throwaway box, Tests/Fixtures/sysbox) with util-linux (unshare, nsenter) and mount
#   (the box's namespaces and overlay; the service tests need root); groff-base (the install test renders
#   the man pages); python3-venv, and then schemathesis from PyPI in /opt/audiocap-test-venv
#   (scripts/install-test-python.sh: the fuzz tests run it against docs/openapi.yaml), with jsonschema and
#   guano (the metadata tests read the files' GUANO chunks with it).
# The Swift toolchain (6.2 or later) is not installed here: see https://swift.org/install.
set -eu
packages="ffmpeg libasound2-dev libflac-dev libsqlite3-dev rclone pkg-config make tzdata"
if [ "${1:-}" = "--test" ]; then
    packages="$packages alsa-utils pulseaudio pulseaudio-utils libasound2-plugins sox flac libflac-dev python3 python3-venv systemd util-linux mount groff-base openssh-server openssh-client"
fi
if [ "$(id -u)" -eq 0 ]; then
    run=""
elif command -v sudo >/dev/null 2>&1; then
    run="sudo"
else
    echo "install-deps.sh: run as root (or install sudo) to install: $packages" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq
$run apt-get install -y -qq $packages >/dev/null
if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "install-deps.sh: Swift is at /opt/swift/usr/bin; add it to PATH: export PATH=/opt/swift/usr/bin:\$PATH" >&2
    else
        echo "install-deps.sh: no Swift toolchain found; install Swift 6.2 or later from https://swift.org/install" >&2
    fi
fi
if [ "${1:-}" = "--test" ]; then
    $run sh "$(dirname "$0")/install-test-python.sh"
fi
echo "install-deps.sh: installed $packages"
