#!/bin/sh
# filemic.sh STATE_DIR [RAW_FILE] [CHANNELS]: an ALSA capture device named "filemic" that delivers the bytes
# of RAW_FILE (s16le, 48 kHz; default: one period of the test pattern) exactly, as fast as it is read, then
# junk. Not paced in real time; needs only alsa-lib (its "file" plugin), no sound server.
# Prints the ALSA_CONFIG_PATH to export for the process that opens it:
#   export $(sh filemic.sh /tmp/x) ; ffmpeg -f alsa -channels 2 -sample_rate 48000 -i filemic ...
# Through ffmpeg 5.1 this device yields one frame per packet (about 2.6x real time) and a flood of
# "non monotonically increasing dts" errors on stderr: a good stress for stderr handling, not for speed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
state=${1:?usage: filemic.sh STATE_DIR [RAW_FILE] [CHANNELS]}
channels=${3:-2}
case $channels in
1 | 2) ;;
*) echo "filemic.sh: CHANNELS must be 1 or 2, not '$channels'" >&2; exit 64 ;;
esac
mkdir -p "$state"
state=$(cd "$state" && pwd)
raw=${2:-$state/pattern-$channels.raw}
[ -s "$raw" ] || python3 "$here/pattern.py" "$raw" "$channels"
raw=$(cd "$(dirname "$raw")" && pwd)/$(basename "$raw")
cat >"$state/filemic.conf" <<CONF
pcm.filemic { type file; slave.pcm "null"; file "/dev/null"; infile "$raw"; format "raw" }
CONF
echo "ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$state/filemic.conf"
