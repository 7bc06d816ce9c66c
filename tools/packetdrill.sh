#!/usr/bin/env bash
# Runs google/packetdrill itself against UserStack, through the shared-object adapter
# (tools/packetdrill-adapter, packetdrill's --so_filename mode): no kernel, no tun device, no root
# needed beyond installing bison and flex once.
#
#   tools/packetdrill.sh SRC_DIR [SCRIPT_DIR_OR_FILE...]
#
# SRC_DIR is a checkout of github.com/google/packetdrill (or its gtests/net/packetdrill folder).
# It is copied to a build folder ($PACKETDRILL_BUILD, default /tmp/ustack-packetdrill) and built
# there with ./configure && make, so the checkout stays clean. Scripts default to
# tools/packetdrill-adapter/scripts (handshake.pkt, calls.pkt); a folder means every *.pkt in it.
# Extra packetdrill options go in $PACKETDRILL_ARGS (e.g. "--tolerance_usecs=10000"), adapter
# options in $SO_FLAGS (e.g. "verbose"). One line per script, then "N passed, N failed, N skipped".
# Scripts with `shell commands` (packetdrill runs them with system(); Linux's own suite uses them
# to set sysctls on the machine) are skipped unless PACKETDRILL_ALLOW_COMMANDS=1.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '==> %s\n' "$*" >&2; }

if [[ $# -lt 1 ]]; then
  echo "usage: $0 PACKETDRILL_SRC_DIR [SCRIPT_DIR_OR_FILE...]" >&2
  exit 2
fi
src=$1; shift
if [[ -f $src/gtests/net/packetdrill/packetdrill.c ]]; then src=$src/gtests/net/packetdrill
elif [[ ! -f $src/packetdrill.c ]]; then
  echo "$src has neither gtests/net/packetdrill/packetdrill.c nor packetdrill.c: not a packetdrill source tree" >&2
  exit 2
fi
src=$(cd "$src" && pwd)

# 1. Tools packetdrill's build needs: a C compiler, make, bison (parser.y) and flex (lexer.l).
need=()
for tool in gcc make bison flex; do command -v $tool >/dev/null 2>&1 || need+=($tool); done
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } \
      || { echo "could not install ${need[*]}" >&2; exit 2; }
  else
    echo "packetdrill needs ${need[*]}: install them (Debian: apt-get install ${need[*]})" >&2
    exit 2
  fi
fi

# 2. packetdrill, built in a copy of the source (cp -u keeps make incremental).
build=${PACKETDRILL_BUILD:-/tmp/ustack-packetdrill}
mkdir -p "$build/packetdrill" "$build/adapter"
cp -a -u "$src/." "$build/packetdrill/"
log "building packetdrill in $build/packetdrill"
if ! out=$(cd "$build/packetdrill" && ./configure 2>&1 && make 2>&1); then
  printf '%s\n' "$out" | tail -n 30 >&2
  echo "packetdrill build failed" >&2
  exit 2
fi
packetdrill=$build/packetdrill/packetdrill

# 3. The adapter, published with NativeAOT as a shared object.
log "publishing the adapter (NativeAOT)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! out=$(dotnet publish "$here/tools/packetdrill-adapter/PacketdrillAdapter.csproj" -c Release -o "$build/adapter" -nologo 2>&1); then
  printf '%s\n' "$out" | grep -E 'error|Error' | head -n 30 >&2
  echo "adapter publish failed" >&2
  exit 2
fi
adapter=$build/adapter/libustack-packetdrill.so

# 4. The scripts.
scripts=()
(($# == 0)) && set -- "$here/tools/packetdrill-adapter/scripts"
for arg in "$@"; do
  if [[ -d $arg ]]; then
    while IFS= read -r f; do scripts+=("$f"); done < <(find "$arg" -maxdepth 1 -name '*.pkt' | sort)
  elif [[ -f $arg ]]; then scripts+=("$arg")
  else echo "no such script or folder: $arg" >&2; exit 2
  fi
done

# The adapter's stack is 192.168.0.2/16 behind packetdrill's default gateway 192.168.0.1;
# packetdrill would otherwise draw a random local address the adapter cannot know.
passed=0 failed=0 skipped=0
for script in "${scripts[@]}"; do
  # A `command` line runs through the shell; the Linux test suite's set sysctls on the machine.
  if grep -q '`' "$script" && [[ ${PACKETDRILL_ALLOW_COMMANDS:-0} != 1 ]]; then
    skipped=$((skipped + 1)); echo "SKIP $script (runs shell commands; PACKETDRILL_ALLOW_COMMANDS=1 allows them)"
    continue
  fi
  # packetdrill resolves nothing relative to the script; running in its folder lets scripts name neighbours.
  out=$(cd "$(dirname "$script")" && timeout "${PACKETDRILL_TIMEOUT:-120}" "$packetdrill" \
          --so_filename="$adapter" ${SO_FLAGS:+--so_flags="$SO_FLAGS"} \
          --local_ip=192.168.0.2 --ip_version=ipv4 ${PACKETDRILL_ARGS:-} "$(basename "$script")" 2>&1)
  status=$?
  if [[ $status -eq 0 ]]; then
    passed=$((passed + 1)); echo "PASS $script"
  else
    failed=$((failed + 1)); echo "FAIL $script (exit $status)"
    printf '%s\n' "$out" | head -n 20 | sed 's/^/    /'
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
