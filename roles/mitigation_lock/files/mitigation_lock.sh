# shellcheck shell=sh
# The per-project mitigation lock (roles/mitigation_lock), run as: sh -c "$(cat this)" mitigation_lock MODE ...
#   acquire DIR NAME STALE_SECONDS HOLDER_JSON   exit 0 acquired, 3 held by another run, 1 error
#   inspect DIR NAME STALE_SECONDS               exit 0 (read-only: state=free|held|stale)
#   release DIR NAME TOKEN CREATED_PARENT        exit 0 (removes the lock only when it carries TOKEN)
# Output: key=value lines. The lock file is created with O_EXCL (set -C) while holding a flock on DIR, so
# checking for a stale lock, breaking it and creating the new one is one critical section. Arguments are
# data: they are never evaluated.
set -u
mode=$1
dir=$2
name=$3
lock="$dir/$name.lock"
parent=$(dirname -- "$dir")

show_holder() {
    printf 'holder='
    head -c 2048 -- "$lock" 2>/dev/null | tr -d '\n\r'
    printf '\n'
}

lock_age() {
    now=$(date +%s)
    mtime=$(stat -c %Y -- "$lock" 2>/dev/null) || mtime=$now
    echo $((now - mtime))
}

# One attempt in a subshell: a directory removed under us (a concurrent release) only fails the attempt.
# Exit 0 acquired, 3 held, 4 retry.
acquire_once() (
    exec 9<"$dir" 2>/dev/null || exit 4
    flock -w 30 9 || { echo "error=timed out after 30 s waiting for the flock on $dir"; exit 1; }
    if [ -e "$lock" ]; then
        age=$(lock_age)
        if [ "$age" -lt "$stale" ]; then
            echo "state=held"
            echo "age=$age"
            show_holder
            exit 3
        fi
        echo "stale_age=$age"
        printf 'stale_'
        show_holder
        rm -f -- "$lock"
    fi
    if (set -C; printf '%s\n' "$holder" > "$lock") 2>/dev/null; then
        echo "state=acquired"
        exit 0
    fi
    exit 4
)

case $mode in
inspect)
    stale=$4
    if [ -e "$lock" ]; then
        age=$(lock_age)
        if [ "$age" -lt "$stale" ]; then echo "state=held"; else echo "state=stale"; fi
        echo "age=$age"
        show_holder
    else
        echo "state=free"
    fi
    ;;
acquire)
    stale=$4
    holder=$5
    created_parent=0
    if [ ! -d "$parent" ]; then
        mkdir -p -- "$parent" && created_parent=1
    fi
    echo "created_parent=$created_parent"
    attempt=0
    while [ "$attempt" -lt 5 ]; do
        attempt=$((attempt + 1))
        mkdir -p -- "$parent" 2>/dev/null
        mkdir -m 0700 -- "$dir" 2>/dev/null
        [ -d "$dir" ] || continue
        acquire_once
        rc=$?
        [ "$rc" -eq 4 ] || exit "$rc"
    done
    echo "error=could not create the lock directory $dir or the lock $lock (5 attempts)"
    exit 1
    ;;
release)
    token=$4
    created_parent=$5
    [ -d "$dir" ] || { echo "state=free"; exit 0; }
    (
        exec 9<"$dir" 2>/dev/null || exit 0
        flock -w 30 9 || { echo "error=timed out after 30 s waiting for the flock on $dir"; exit 1; }
        if [ -e "$lock" ] && grep -qF -- "\"token\": \"$token\"" "$lock"; then
            rm -f -- "$lock"
            echo "state=released"
        else
            echo "state=not_ours"
        fi
        # leave nothing behind that this run created (the directories go only when empty)
        rmdir -- "$dir" 2>/dev/null && echo "removed=$dir"
        if [ "$created_parent" = 1 ]; then
            rmdir -- "$parent" 2>/dev/null && echo "removed=$parent"
        fi
        exit 0
    )
    ;;
*)
    echo "error=unknown mode $mode"
    exit 1
    ;;
esac
