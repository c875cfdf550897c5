#!/bin/sh
# start.sh STATE_DIR [RAW_FILE]: a real-time paced ALSA capture device named "testmic" (or $TESTMIC_DEVICE)
# whose content is RAW_FILE (s16le, 48 kHz) played in a loop; default: the test pattern (see pattern.py).
# PulseAudio runs with a private socket under STATE_DIR and a null sink; a feeder plays RAW_FILE into it;
# the device is the sink's monitor, reached through ALSA's pulse plugin. Works as root, with no systemd
# user session and no D-Bus. Env: TESTMIC_CHANNELS (1 or 2, default 2), TESTMIC_FEED_MS (default 500),
# TESTMIC_DEVICE (the ALSA device's name, default testmic: give each microphone of one process its own).
# Prints the ALSA_CONFIG_PATH to export for the process that opens the device, once it delivers audio:
#   export $(sh start.sh /tmp/mic) ; ffmpeg -f alsa -channels 2 -sample_rate 48000 -i testmic ...
# Note: ffmpeg 5.1's alsa input takes -channels and -sample_rate; it ignores -ac.
# Stop it with stop.sh STATE_DIR. Two microphones need two STATE_DIRs. Leftovers of an earlier run in
# STATE_DIR (a dead or hung server, stale pid files or socket) are cleaned up first; a live one is an error.
# On failure it stops what it started and exits non-zero with the reason on stderr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: start.sh STATE_DIR [RAW_FILE]}
channels=${TESTMIC_CHANNELS:-2}
feed_ms=${TESTMIC_FEED_MS:-500}
die() {
    echo "start.sh: $*" >&2
    exit 1
}
case $channels in 1 | 2) ;; *) die "TESTMIC_CHANNELS must be 1 or 2, not '$channels'" ;; esac
case $feed_ms in '' | *[!0-9]*) die "TESTMIC_FEED_MS must be a number of milliseconds, not '$feed_ms'" ;; esac
device=${TESTMIC_DEVICE:-testmic}
case $device in '' | [!A-Za-z]* | *[!A-Za-z0-9_]*) die "TESTMIC_DEVICE must be a letter then letters, digits or _, not '$device'" ;; esac
for tool in pulseaudio pactl pacat; do
    command -v $tool >/dev/null ||
        die "$tool is missing; install pulseaudio and pulseaudio-utils (Debian/Ubuntu: apt-get install pulseaudio pulseaudio-utils)"
done
plugin=
for dir in ${ALSA_PLUGIN_DIR:-} /usr/lib/*/alsa-lib /usr/lib64/alsa-lib /usr/lib/alsa-lib /usr/local/lib/alsa-lib; do
    if [ -e "$dir/libasound_module_pcm_pulse.so" ]; then plugin=$dir/libasound_module_pcm_pulse.so; break; fi
done
[ -n "$plugin" ] ||
    die "ALSA's pulse plugin (libasound_module_pcm_pulse.so) is missing; install libasound2-plugins"

mkdir -p "$state/run" "$state/home"
state=$(cd "$state" && pwd)
run=$state/run
sock=$run/native
raw=${2:-$state/pattern-$channels.raw}
# A private server and client configuration: nothing of the caller's session (D-Bus, X11, ~/.config/pulse)
# is used, and no client ever autospawns a server of its own.
unset DBUS_SESSION_BUS_ADDRESS DISPLAY PULSE_COOKIE
export XDG_RUNTIME_DIR=$run XDG_CONFIG_HOME=$state/home HOME=$state/home PULSE_SERVER=unix:$sock \
    PULSE_CLIENTCONFIG=$state/client.conf
printf 'autospawn = no\n' >"$state/client.conf"

if [ -S "$sock" ] && timeout 5 pactl info >/dev/null 2>&1; then
    die "a test microphone is already running in $state; stop it with stop.sh $state"
fi
# Whatever an earlier run left here is dead or hung: end it and remove its pid files and socket.
sh "$here/stop.sh" "$state"

[ -s "$raw" ] || python3 "$here/pattern.py" "$raw" "$channels"
raw=$(cd "$(dirname "$raw")" && pwd)/$(basename "$raw")
nice_level=-11
nice -n $nice_level true 2>/dev/null || nice_level=0
cat >"$state/testmic.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$sock
load-module module-null-sink sink_name=testmic format=s16le rate=48000 channels=$channels sink_properties=device.description=testmic
set-default-sink testmic
set-default-source testmic.monitor
PA
cat >"$state/testmic.conf" <<CONF
pcm.$device { type pulse; server "unix:$sock"; device "testmic.monitor" }
ctl.$device { type pulse; server "unix:$sock" }
CONF

ready=
trap '[ -n "$ready" ] || sh "$here/stop.sh" "$state"' EXIT
trap 'exit 1' HUP INT TERM
# "$state/testmic.pa" on the command line is the marker stop.sh recognises the server by.
setsid nice -n $nice_level pulseaudio -n -F "$state/testmic.pa" --daemonize=no --exit-idle-time=-1 \
    --realtime=no --high-priority=yes --use-pid-file=no --disallow-exit --log-target=file:"$run/pulse.log" \
    </dev/null >>"$run/pulse.out" 2>&1 &
pulse_pid=$!
echo $pulse_pid >"$run/pulse.pid"
i=0
until pactl info >/dev/null 2>&1; do
    kill -0 $pulse_pid 2>/dev/null || die "pulseaudio exited at start; see $run/pulse.log and $run/pulse.out"
    i=$((i + 1))
    [ $i -le 200 ] || die "pulseaudio did not answer within 10 s; see $run/pulse.log"
    sleep 0.05
done
# The feeder gets its own process group, which stop.sh ends as a whole; "testmic-feeder:$state" (its $0)
# is the marker stop.sh recognises it by.
setsid nice -n $nice_level sh -c 'while cat "$1"; do :; done | exec pacat --raw --format=s16le --rate=48000 \
    --channels="$2" --latency-msec="$3" -d testmic --client-name=testmic-feeder' \
    "testmic-feeder:$state" "$raw" "$channels" "$feed_ms" </dev/null >>"$run/feeder.out" 2>&1 &
echo $! >"$run/feeder.pid"
i=0
until pactl list short sink-inputs | grep -q .; do
    i=$((i + 1))
    [ $i -le 200 ] || die "the feeder did not connect within 10 s; see $run/feeder.out"
    sleep 0.05
done
# The null sink's first block takes about 1.7 s; the device is ready once its monitor delivers audio.
got=$(timeout 10 pacat -r --raw --format=s16le --rate=48000 --channels="$channels" --latency-msec=20 \
    -d testmic.monitor 2>/dev/null | head -c 960 | wc -c)
[ "$got" -ge 960 ] || die "the monitor delivered no audio within 10 s; see $run/pulse.log"
ready=1
echo "ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$state/testmic.conf"
