# Trellis's Bash runner: runs main.sh with the step's input (JSON) on stdin; what it writes on stdout is its
# output (JSON), what it writes on stderr its log. Writes one result envelope (the contract is in Trellis's
# app/flows/runtimes.py).
#
# Bash and busybox only (mktemp, wc, cat, tr, rm, grep, tail; curl or wget to post a large output): it runs in
# the stock bash image, as a non-root user, on a read-only root filesystem with a writable TMPDIR. The output
# cannot be checked here: Trellis refuses an envelope that is not JSON. Exit code 0 with an output or posted
# envelope, 1 with an error.

step_dir=${TRELLIS_STEP_DIR:-$(cd "$(dirname "$0")" && pwd)}
result_path=${TRELLIS_RESULT_PATH:-/dev/termination-log}
inline_max=${TRELLIS_RESULT_INLINE_MAX:-4000}
output_max=${TRELLIS_OUTPUT_MAX:-1048576}
output_url=${TRELLIS_OUTPUT_URL:-}
step_token=${TRELLIS_STEP_TOKEN:-}
case $inline_max in '' | *[!0-9]*) inline_max=4000 ;; esac
case $output_max in '' | *[!0-9]*) output_max=1048576 ;; esac

# An error envelope: printable ASCII only, quotes and backslashes escaped, cut to fit in inline_max.
fail() {
    local kind=$1 raw escaped room
    raw=$(printf '%s' "$2" | LC_ALL=C tr -c ' -~' ' ')
    room=$((inline_max - ${#kind} - 34)) # the envelope's own characters
    ((room < 0)) && room=0
    while :; do
        escaped=${raw//\\/\\\\}
        escaped=${escaped//\"/\\\"}
        ((${#escaped} <= room)) && break
        raw=${raw:0:$((${#raw} - (${#escaped} - room)))}
    done
    printf '{"error":{"type":"%s","message":"%s"}}' "$kind" "$escaped" >"$result_path"
    rm -f -- ${out:+"$out"} ${err:+"$err"}
    exit 1
}

out= err=
scratch=${TMPDIR:-/tmp}
out=$(mktemp "$scratch/trellis-output.XXXXXX") || fail RunnerError "cannot create a file in $scratch"
err=$(mktemp "$scratch/trellis-post.XXXXXX") || fail RunnerError "cannot create a file in $scratch"

[ -r "$step_dir/input.json" ] || fail InputError "the step's input cannot be read: $step_dir/input.json"

"${BASH:-bash}" "$step_dir/main.sh" <"$step_dir/input.json" >"$out"
code=$?
((code == 0)) || fail ExitError "main.sh exited with code $code"

size=$(wc -c <"$out")
size=$((size))
((size > 0)) || fail OutputError "main.sh wrote nothing on stdout; its output must be JSON"
((size <= output_max)) ||
    fail OutputTooLarge "the output is $size bytes of JSON, more than the limit of $output_max"

if ((size + 11 <= inline_max)); then
    {
        printf '{"output":'
        cat "$out"
        printf '}'
    } >"$result_path"
    rm -f -- "$out" "$err"
    exit 0
fi

[ -n "$output_url" ] || fail OutputTooLarge "the output is $size bytes of JSON, larger than the inline limit \
of $inline_max, and no output URL is configured"

if command -v curl >/dev/null 2>&1; then
    status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --max-time 60 \
        -H "Authorization: Bearer $step_token" -H 'Content-Type: application/json' \
        --data-binary "@$out" "$output_url" 2>"$err")
    case $status in
    2??) ;;
    000 | '') fail OutputPostError "posting the output failed: $(tr '\n' ' ' <"$err")" ;;
    *) fail OutputPostError "posting the output answered HTTP $status" ;;
    esac
elif command -v wget >/dev/null 2>&1; then
    # No -T: Debian's busybox wget crashes with it; the step's deadline bounds the POST anyway.
    wget -O /dev/null --header "Authorization: Bearer $step_token" \
        --header 'Content-Type: application/json' --post-file "$out" "$output_url" 2>"$err"
    status=$?
    if ((status != 0)); then
        reason=$(grep -v '^[[:space:]]*$' "$err" | tail -n 1)
        fail OutputPostError "posting the output failed: ${reason:-wget exited with code $status}"
    fi
else
    fail OutputPostError "the output is larger than the inline limit and neither curl nor wget is installed"
fi
printf '{"posted":%d}' "$size" >"$result_path"
rm -f -- "$out" "$err"
exit 0
