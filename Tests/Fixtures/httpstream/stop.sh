#!/bin/sh
# stop.sh STATE_DIR: stops the HTTP stream that start.sh started in STATE_DIR (its loop and the ffmpeg
# serving), and returns once the port is closed. Idempotent; always exits 0; keeps STATE_DIR and its log.
# Only the process group whose leader carries STATE_DIR's marker on its command line is signalled, so a
# recycled pid is never hit.
set -u
state=${1:?usage: stop.sh STATE_DIR}
[ -d "$state" ] || exit 0
state=$(cd "$state" && pwd)
marker=httpstream-server:$state

ours() { grep -qzxF -- "$marker" "/proc/$1/cmdline" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
# group_alive PGID: some process of the group is alive (zombies left for their parent to reap do not count).
group_alive() {
    awk -v g="$1" '{ sub(/.*\) /, ""); if ($3 == g && $1 != "Z") alive = 1 } END { exit !alive }' \
        /proc/[0-9]*/stat 2>/dev/null
}

leaders=
[ -s "$state/server.pid" ] && leaders=$(cat "$state/server.pid")
# Loops whose pid file was lost (a start.sh killed half-way).
for f in $(grep -lzxF -e "$marker" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}
    leaders="$leaders ${pid%/cmdline}"
done
for pid in $leaders; do
    case $pid in '' | *[!0-9]*) continue ;; esac
    ours "$pid" || continue
    # Only a group leader is signalled, as its group (the loop's subshells carry the marker too).
    [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f3)" = "$pid" ] || continue
    kill -s TERM -- "-$pid" 2>/dev/null
    i=0
    while group_alive "$pid" && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    group_alive "$pid" && kill -s KILL -- "-$pid" 2>/dev/null
    i=0
    while group_alive "$pid" && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
done
rm -f "$state/server.pid"
exit 0
