#!/bin/sh
# Tools/link-order/generate.sh: writes Tools/link-order/audiocapd.order, the functions audiocapd runs, which
# `make build` hands to the linker (--symbol-ordering-file) so that they sit together at the front of the
# binary. The kernel maps a binary's pages in 64 kB runs around each one a program touches: with the code
# that runs scattered over 28 MB of text, audiocapd kept 17 MB of its binary resident; gathered, 10 MB
# (bench/README.md, "Memory"). A stale list costs only memory: functions it does not name are placed after
# the ones it does. Run it again after large changes, then compare `sh bench/compare.sh 60`'s RSS.
#
# How: the release build runs under valgrind's callgrind on the test microphone for SECONDS (default 65: as
# long as `bench/compare.sh 60` records, so what runs at 30 s, such as the state file, is in) through what a
# recording day does: start, segments closing (WAV and FLAC), `audiocap status`, `levels`,
# a reload (SIGHUP) and the stop; every function of the binary callgrind saw run is listed.
# Needs: valgrind, ffmpeg, pulseaudio and pulseaudio-utils (the test microphone), a release build
# (`make build`; env AUDIOCAP_SCRATCH: SwiftPM's scratch folder, default .build), perf (optional). Takes
# about ten minutes. Then `make build` links with the new list.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-65}
case $seconds in '' | *[!0-9]*) echo "usage: generate.sh [SECONDS]" >&2; exit 64 ;; esac
for tool in valgrind ffmpeg nm strip; do
    command -v $tool >/dev/null || { echo "generate.sh: $tool is missing" >&2; exit 1; }
done
scratch=${AUDIOCAP_SCRATCH:-$root/.build}
bin=$scratch/release
[ -x "$bin/audiocapd" ] && [ -x "$bin/audiocap" ] || { echo "generate.sh: run make build first" >&2; exit 1; }
work=$(mktemp -d /tmp/link-order.XXXXXX)
mic=$work/mic
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
    sh "$root/Tests/Fixtures/testmic/stop.sh" "$mic" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
export "$(sh "$root/Tests/Fixtures/testmic/start.sh" "$mic" | tail -n 1)"
# valgrind 3.19 cannot read the debug information lld writes: it runs a copy without it (same code).
strip --strip-debug -o "$work/audiocapd" "$bin/audiocapd"
cat >"$work/audiocapd.toml" <<TOML
[source]
# An absolute path: valgrind ends a child whose execve fails, so ffmpeg is not looked up in PATH.
ffmpeg = "$(command -v ffmpeg)"
input_format = "alsa"
device = "testmic"
sample_rate = 48000
channels = 2
sample_format = "s16"

[[recording]]
name = "wav"
directory = "$work/wav"
segment_seconds = 10

[[recording]]
name = "flac"
directory = "$work/flac"
segment_seconds = 10
format = "flac"

# As bench/compare.sh records.
[[recording]]
name = "seq"
directory = "$work/seq"
segment_seconds = 10
align = "samples"
filename = "{seq}.wav"

[control]
socket = "$work/control.sock"

[storage]
root = "$work"
state = "$work/state"
TOML
cli() { "$bin/audiocap" --socket "$work/control.sock" "$@" >/dev/null 2>&1; }
# One recording day, the program started by "$@": start, SECONDS of recording, the queries, a reload, the stop.
day() {
    rm -rf "$work/wav" "$work/flac" "$work/seq"
    "$@" --config "$work/audiocapd.toml" >"$work/audiocapd.log" 2>&1 &
    daemon=$!
    waited=0
    until cli status; do
        sleep 1; waited=$((waited + 1))
        [ $waited -lt 60 ] || { cat "$work/audiocapd.log" >&2; echo "generate.sh: audiocapd did not answer" >&2; exit 1; }
    done
    sleep "$seconds"
    cli status; cli status --json; cli levels
    # audiocapd itself: valgrind's tool runs as the process it started; perf starts it as a child.
    target=$(pgrep -P "$daemon" -f -- "--config $work/audiocapd.toml" || echo "$daemon")
    kill -HUP "$target"; sleep 3; cli status
    kill -TERM "$target"; wait "$daemon" || true
    daemon=
    find "$work/wav" -name '*.wav' | grep -q . || { cat "$work/audiocapd.log" >&2; echo "generate.sh: nothing was recorded" >&2; exit 1; }
}
day valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$work/callgrind.out" "$work/audiocapd"
# Functions callgrind named (fn= and cfn= lines name each one once) that the binary defines. A name defined
# in several objects (a specialization each of them made for itself) moves every copy: `make build` compiles
# with -function-sections, so each copy is a section of its own, a few hundred bytes.
sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$work/callgrind.out" | sort -u >"$work/ran"
nm --defined-only "$work/audiocapd" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u >"$work/defined"
comm -12 "$work/ran" "$work/defined" >"$here/audiocapd.order"
# Callgrind misses a few functions that run (it names some small ones by a neighbour, such as an allocating
# initializer by the initializer it calls). Where perf is installed, ROUNDS native days follow (env, default
# 6): each links with the list so far, records the page faults of the day, and adds the functions of the
# binary that faulted. Each round finds fewer (here 50, 21, 15, ...): a fault maps 64 kB, and the functions
# it hid show up once it is gone.
if command -v perf >/dev/null; then
    round=0
    while [ $round -lt "${ROUNDS:-6}" ]; do
        round=$((round + 1))
        make -C "$root" build SCRATCH="$scratch" >/dev/null
        # From disk, as after a boot (and as bench/compare.sh starts it): as just linked, more of the binary is
        # mapped per fault on Linux 6.16 and later (bench/README.md, "Memory, third pass"), hiding functions.
        sync "$bin/audiocapd" && dd if="$bin/audiocapd" iflag=nocache count=0 2>/dev/null
        day perf record -q -e page-faults -c 1 -o "$work/perf.data" -- "$bin/audiocapd"
        perf script -i "$work/perf.data" --no-demangle -F ip,sym,dso 2>/dev/null |
            awk '$NF ~ /release\/audiocapd\)$/ && NF == 3 { print $2 }' | sort -u >"$work/faulted"
        echo "round $round: $(comm -23 "$work/faulted" "$here/audiocapd.order" | wc -l) functions added"
        sort -u "$here/audiocapd.order" "$work/faulted" -o "$here/audiocapd.order"
    done
fi
echo "$(wc -l <"$here/audiocapd.order") functions in $here/audiocapd.order"
