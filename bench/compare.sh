#!/bin/sh
# bench/compare.sh: audiocapd against the anchors, on the paced test microphone. See bench/README.md.
#
#   sh bench/compare.sh [SECONDS]               audiocapd, arecord --max-file-time and ffmpeg -f segment
#                                               recording SECONDS (default 60) side by side
#   sh bench/compare.sh --soak MINUTES          audiocapd alone: RSS every minute, growth, drops
#   sh bench/compare.sh --ffmpeg-options [SECONDS] [ROUNDS]
#                                               ffmpeg to a pipe with several option sets side by side
#                                               (default 30 s, 1 round)
#   sh bench/compare.sh --sources [SECONDS] [ROUNDS]
#                                               audiocapd with 1, 2 and 4 sources in turn on testmic, one
#                                               recording each (default 60 s per run, 1 round): own CPU and
#                                               RSS per source, goal linear (<= 1.1 x one source's)
#   sh bench/compare.sh --flac [SECONDS] [ROUNDS]
#                                               audiocapd with one FLAC and with one WAV recording side by
#                                               side (default 60 s, 1 round): own CPU, goal FLAC adds <= 0.2 %
#                                               of a core; size ratio on the pattern and on speech (espeak-ng);
#                                               every FLAC file decodes bit-exact to its WAV twin
#
# Extra flags, before the mode: --keep (leave the temp directory with the recordings and logs),
# --input-options 'OPTS' (audiocapd's [source] input_options), --daemon-ffmpeg-output-options 'OPTS'
# (extra output options for audiocapd's ffmpeg, put in through a wrapper script; the Swift code is untouched),
# --flac-level N (the FLAC recordings' flac_level, default 5), --keep-page-cache (start audiocapd from its
# binary as the page cache holds it; by default its cached pages are dropped first, as after a boot: a binary
# just linked or copied measures up to 3 MB more resident on Linux 6.16 and later, see bench/README.md).
# Env: AUDIOCAP_SCRATCH (SwiftPM scratch dir, default .build); binaries are built (release) when missing.
# Exit status: 0 every goal met, 1 a goal failed, 2 a run failed, 64 bad usage.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
usage() {
    sed -n '3,27p' "$here/compare.sh" | sed 's/^# \{0,1\}//' >&2
    exit 64
}
number() { case $1 in '' | *[!0-9.]* | *.*.*) usage ;; esac; }

keep=
extra=
while [ $# -gt 0 ]; do
    case $1 in
    --keep) keep=1; shift ;;
    --keep-page-cache) extra="$extra --keep-page-cache"; shift ;;
    --input-options) [ $# -ge 2 ] || usage; extra="$extra --input-options=$(printf '%s' "$2" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"; shift 2 ;;
    --daemon-ffmpeg-output-options) [ $# -ge 2 ] || usage
        extra="$extra --daemon-ffmpeg-output-options=$(printf '%s' "$2" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"; shift 2 ;;
    --flac-level) [ $# -ge 2 ] || usage; case $2 in [0-8]) ;; *) usage ;; esac; extra="$extra --flac-level=$2"; shift 2 ;;
    -h | --help) usage ;;
    *) break ;;
    esac
done
mode=compare
amount=60
rounds=1
case ${1:-} in
--soak) mode=soak; [ $# -eq 2 ] || usage; amount=$2
    case $amount in '' | *[!0-9]* | 0*) usage ;; esac ;;
--ffmpeg-options) mode=ffmpeg-options; amount=${2:-30}; rounds=${3:-1}; [ $# -le 3 ] || usage ;;
--flac) mode=flac; amount=${2:-60}; rounds=${3:-1}; [ $# -le 3 ] || usage
    case $rounds in '' | *[!0-9]* | 0*) usage ;; esac ;;
--sources) mode=sources; amount=${2:-60}; rounds=${3:-1}; [ $# -le 3 ] || usage
    case $rounds in '' | *[!0-9]* | 0*) usage ;; esac ;;
'') ;;
*) [ $# -eq 1 ] || usage; amount=$1 ;;
esac
number "$amount"
number "$rounds"

scratch=${AUDIOCAP_SCRATCH:-$root/.build}
bin=$scratch/release
# One product per `swift build`: given several --product flags, SwiftPM builds only the last.
build() {
    echo "building $1 (release, into $scratch; the first build takes several minutes) ..." >&2
    (cd "$root" && swift build -c release --scratch-path "$scratch" --product "$1") >&2
}
if [ "$mode" != ffmpeg-options ]; then
    for product in audiocapd testmic-check; do
        [ -x "$bin/$product" ] || build $product
    done
    # The soak, sources and flac modes read drops through `audiocap status --json` when the CLI builds;
    # else over the socket.
    if { [ "$mode" = soak ] || [ "$mode" = sources ] || [ "$mode" = flac ]; } && [ ! -x "$bin/audiocap" ]; then
        build audiocap || echo "compare.sh: audiocap (the CLI) did not build; reading the status over the socket" >&2
    fi
fi
for tool in ffmpeg arecord python3; do
    command -v $tool >/dev/null || { echo "compare.sh: $tool is missing" >&2; exit 2; }
done

# Short, under /tmp: the test microphone's socket path must fit in 108 bytes.
work=$(mktemp -d /tmp/acbench.XXXXXX)
cleanup() {
    sh "$root/Tests/Fixtures/testmic/stop.sh" "$work/mic"
    # The flac mode's second microphone (compare.py stops it too; stop.sh is idempotent).
    [ ! -d "$work/speechmic" ] || sh "$root/Tests/Fixtures/testmic/stop.sh" "$work/speechmic"
    if [ -n "$keep" ]; then echo "kept $work (recordings, logs, configuration)" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

alsa=$(sh "$root/Tests/Fixtures/testmic/start.sh" "$work/mic")
export "${alsa?}"
echo "testmic started ($alsa)" >&2
set +e
eval "python3 \"\$here/compare.py\" $mode $amount --bin \"\$bin\" --work \"\$work\" --rounds $rounds $extra"
status=$?
set -e
exit $status
