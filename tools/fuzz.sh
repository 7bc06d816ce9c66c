#!/usr/bin/env bash
# Fuzzes the TCP core (issue 7; docs/fuzzing.md).
#   tools/fuzz.sh SECONDS [--afl] [--jobs N] [--seed N]
#   tools/fuzz.sh --differential [OPTIONS]   (the scripts against Linux; docs/differential.md)
# Without --afl: the built-in deterministic engine. With --afl: SharpFuzz-instrumented core under
# AFL++ (installed if missing), seeded from the packetdrill scripts. Prints one line per finding and
# last "N execs (N/s), N crashes, transitions N/M". Work files: ${FUZZ_WORK:-/tmp/ustack-fuzz}.
set -uo pipefail
cd "$(dirname "$0")/.."

# tools/fuzz.sh --differential [--only a,b] [--max-script-seconds N] [--markdown FILE] [--log DIR]
# The scripts' conversations against the Linux kernel (root; docs/differential.md).
if [[ ${1:-} == --differential ]]; then
  shift
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  printf '==> building tools/differential\n' >&2
  if ! out=$(dotnet build tools/differential -c Release -v quiet -nologo 2>&1); then
    printf '%s\n' "$out" | grep -E 'error' | head -20
    exit 1
  fi
  exec dotnet tools/differential/bin/Release/net10.0/UserStack.Differential.dll "$@"
fi

seconds=${1:-}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: tools/fuzz.sh SECONDS [--afl] [--jobs N] [--seed N]" >&2; exit 2; }
shift
afl=0 jobs=1 seed=1
while (($#)); do
  case $1 in
    --afl) afl=1 ;;
    --jobs) jobs=$2; shift ;;
    --seed) seed=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $jobs =~ ^[1-9][0-9]*$ && $seed =~ ^[0-9]+$ ]] || { echo "--jobs needs a positive number and --seed a number" >&2; exit 2; }

log() { printf '==> %s\n' "$*" >&2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
work=${FUZZ_WORK:-/tmp/ustack-fuzz}
mkdir -p "$work"
bin=tools/fuzz/bin/Release/net10.0
fuzz() { dotnet "$bin/UserStack.Fuzz.dll" "$@"; }

log "building tools/fuzz"
if ! out=$(dotnet build tools/fuzz -c Release -v quiet -nologo 2>&1); then
  printf '%s\n' "$out" | grep -E 'error' | head -20
  exit 1
fi

if ((afl == 0)); then
  fuzz run --seconds "$seconds" --jobs "$jobs" --seed "$seed" --findings "$work/findings"
  exit $?
fi

# ---- AFL++ -----------------------------------------------------------------------------------
if ! command -v afl-fuzz >/dev/null; then
  log "installing afl++"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q afl++ >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q afl++ >/dev/null; } \
    || { echo "afl++ could not be installed"; exit 1; }
fi
export PATH="$PATH:$HOME/.dotnet/tools"
if ! command -v sharpfuzz >/dev/null; then
  log "installing the sharpfuzz tool"
  dotnet tool install -g SharpFuzz.CommandLine --version 2.3.0 >/dev/null || { echo "sharpfuzz could not be installed"; exit 1; }
fi

# The instrumented copy lives apart from the build output (the tests use that one).
rm -rf "$work/bin" "$work/afl" "$work/seeds"
cp -r "$bin" "$work/bin"
sharpfuzz "$work/bin/UserStack.Stack.dll" >/dev/null || { echo "sharpfuzz failed"; exit 1; }
fuzz seeds "$work/seeds" >/dev/null

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
log "afl-fuzz for $seconds s with $jobs job(s)"
pids=()
for ((j = 0; j < jobs; j++)); do
  role=(-S "s$j"); ((j == 0)) && role=(-M main)
  # Inputs go through standard input: a file argument aborts the instrumented run.
  afl-fuzz -i "$work/seeds" -o "$work/afl" "${role[@]}" -V "$seconds" -t 10000 -m none \
    -- dotnet "$work/bin/UserStack.Fuzz.dll" afl >"$work/afl-$j.log" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"

execs=0 crashes=()
for stats in "$work"/afl/*/fuzzer_stats; do
  [[ -f $stats ]] || continue
  execs=$((execs + $(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")))
done
[[ $execs -gt 0 ]] || { echo "afl-fuzz did not run; see $work/afl-0.log"; tail -20 "$work/afl-0.log"; exit 1; }
# Findings: every crash AFL saved, replayed on the plain build and grouped by signature.
mapfile -t crashes < <(find "$work"/afl/*/crashes -name 'id:*' 2>/dev/null)
found=0
if ((${#crashes[@]})); then
  while IFS= read -r line; do echo "$line"; found=$((found + 1)); done < <(fuzz replay "${crashes[@]}" | grep '^crash:')
fi
# Coverage: AFL's queue replayed with the transition map.
replay=$(fuzz replay "$work"/afl/*/queue)
printf '%s\n' "$replay" | sed -n '/^state/,/^transitions/p'
transitions=$(printf '%s\n' "$replay" | tail -1 | grep -oE 'transitions [0-9]+/[0-9]+')
echo "$execs execs ($((execs / seconds))/s), $found crashes, $transitions"
((found == 0))
