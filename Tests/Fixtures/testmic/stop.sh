#!/bin/sh
# stop.sh STATE_DIR: stops the test microphone that start.sh started in STATE_DIR and removes its pid files
# and socket; leaves the rest of STATE_DIR (logs, pattern) to the caller. Idempotent; always exits 0.
# Only processes of this STATE_DIR are signalled: each pid is checked against the marker start.sh put on
# its command line, so a recycled pid is never hit. Processes whose pid file was lost are found the same way.
set -u
state=${1:?usage: stop.sh STATE_DIR}
[ -d "$state" ] || exit 0
state=$(cd "$state" && pwd)
run=$state/run
pulse_marker=$state/testmic.pa
feeder_marker=testmic-feeder:$state

# ours PID COMM MARKER: PID is alive, not a zombie, named COMM, and has MARKER as one of its arguments.
ours() {
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
    grep -qzxF -- "$3" "/proc/$1/cmdline" 2>/dev/null || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# end PID COMM MARKER [group]: SIGTERM (to the whole process group with "group"), up to 5 s, then SIGKILL.
end() {
    case $1 in '' | *[!0-9]*) return 0 ;; esac
    ours "$1" "$2" "$3" || return 0
    target=$1
    if [ "${4:-}" = group ]; then
        # Only the group leader is signalled (as its group): the subshells it forked carry the marker too.
        [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f3)" = "$1" ] || return 0
        target=-$1
    fi
    kill -s TERM -- "$target" 2>/dev/null
    i=0
    while ours "$1" "$2" "$3" && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if ours "$1" "$2" "$3"; then kill -s KILL -- "$target" 2>/dev/null; fi
    return 0
}

# The feeder first (its group: sh, cat and pacat), so the server never sees its input vanish mid-block.
[ -s "$run/feeder.pid" ] && end "$(cat "$run/feeder.pid")" sh "$feeder_marker" group
[ -s "$run/pulse.pid" ] && end "$(cat "$run/pulse.pid")" pulseaudio "$pulse_marker"
# Leftovers whose pid file is gone (a start.sh killed half-way, a pid file deleted by hand).
for f in $(grep -lzxF -e "$feeder_marker" -e "$pulse_marker" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    end "$pid" sh "$feeder_marker" group
    end "$pid" pulseaudio "$pulse_marker"
done
rm -f "$run/feeder.pid" "$run/pulse.pid" "$run/native"
exit 0
