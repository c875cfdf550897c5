#!/bin/sh
# start.sh STATE_DIR PORT RAW_FILE [PATH]: an HTTP audio stream at http://127.0.0.1:PORT/PATH (default
# stream.wav), served by ffmpeg: RAW_FILE (s16le, 48 kHz, HTTPSTREAM_CHANNELS channels, default 2) played in
# a loop as WAV, paced in real time (-re). ffmpeg's HTTP server (`-listen 1`) serves one client and exits,
# so a supervisor loop starts it again each time: clients may come and go as with a real streaming server.
# Each connection begins at RAW_FILE's first frame. ffmpeg's server never asks for credentials: a client's
# `user:password@` in the URL is accepted and ignored (ffmpeg's client sends them only when asked).
# Returns once the port listens; exits non-zero with the reason on stderr otherwise, stopping what it started.
# Stop it with stop.sh STATE_DIR; start it again with the same arguments (an outage). The server's log is
# STATE_DIR/server.log: one "httpstream: run N" line before each run, then that run's ffmpeg output.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: start.sh STATE_DIR PORT RAW_FILE [PATH]}
port=${2:?usage: start.sh STATE_DIR PORT RAW_FILE [PATH]}
raw=${3:?usage: start.sh STATE_DIR PORT RAW_FILE [PATH]}
path=${4:-stream.wav}
channels=${HTTPSTREAM_CHANNELS:-2}
die() {
    echo "httpstream/start.sh: $*" >&2
    exit 1
}
case $port in '' | *[!0-9]*) die "PORT must be a number, not '$port'" ;; esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "PORT must be 1-65535, not $port"
case $channels in 1 | 2) ;; *) die "HTTPSTREAM_CHANNELS must be 1 or 2, not '$channels'" ;; esac
case $path in '' | /* | *[!A-Za-z0-9._/-]*) die "PATH must be relative, of letters, digits and ._/-, not '$path'" ;; esac
command -v ffmpeg >/dev/null || die "ffmpeg is missing (Debian/Ubuntu: apt-get install ffmpeg)"
[ -s "$raw" ] || die "RAW_FILE '$raw' is missing or empty"
mkdir -p "$state"
state=$(cd "$state" && pwd)
raw=$(cd "$(dirname "$raw")" && pwd)/$(basename "$raw")
marker=httpstream-server:$state

# listening: 127.0.0.1:PORT is in LISTEN state (read from /proc, so no client is taken from the server).
hex=$(printf '%04X' "$port")
listening() { grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A " /proc/net/tcp; }

if [ -s "$state/server.pid" ] && grep -qzxF -- "$marker" "/proc/$(cat "$state/server.pid")/cmdline" 2>/dev/null; then
    die "a stream is already served from $state; stop it with stop.sh $state"
fi
sh "$here/stop.sh" "$state"
listening && die "127.0.0.1:$port is taken by another program"

ready=
trap '[ -n "$ready" ] || sh "$here/stop.sh" "$state"' EXIT
trap 'exit 1' HUP INT TERM
# The loop gets its own process group, which stop.sh ends as a whole; "$marker" (its $0) is the marker
# stop.sh recognises it by. A run that fails at once (the port taken) is retried after a pause.
setsid sh -c 'run=0
    while :; do
        run=$((run + 1))
        echo "httpstream: run $run"
        ffmpeg -nostdin -hide_banner -nostats -loglevel info -re -stream_loop -1 -f s16le -ar 48000 \
            -ac "$3" -i "$2" -c:a pcm_s16le -f wav -listen 1 "http://127.0.0.1:$1/$4" </dev/null
        sleep 0.05
    done' "$marker" "$port" "$raw" "$channels" "$path" </dev/null >>"$state/server.log" 2>&1 &
echo $! >"$state/server.pid"
i=0
until listening; do
    i=$((i + 1))
    [ $i -le 200 ] || die "ffmpeg did not listen on 127.0.0.1:$port within 10 s; see $state/server.log"
    sleep 0.05
done
ready=1
echo "URL=http://127.0.0.1:$port/$path"
