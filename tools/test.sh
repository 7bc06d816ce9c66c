#!/usr/bin/env bash
# Builds UserStack and runs every test; the last line is "N passed, N failed".
# Run as root on Debian 12 with the .NET 10 SDK: it installs what is missing (apt), and the
# interop tests build their own network namespaces (and remove them) for the TAP devices.
set -uo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# 1. System packages the tests use: ip (iproute2), ping (iputils-ping), nc (netcat-openbsd), libpcap for SharpPcap,
#    tshark (Wireshark's expert analysis referees our captures), curl (also against Kestrel-on-UserStack), python3, sysctl (procps).
need=()
command -v ip   >/dev/null 2>&1 || need+=(iproute2)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v nc   >/dev/null 2>&1 || need+=(netcat-openbsd)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v curl >/dev/null 2>&1 || need+=(curl)
[[ -x /usr/bin/python3 ]] || command -v python3 >/dev/null 2>&1 || need+=(python3)   # python3 -m http.server for HttpClient-on-UserStack
command -v sysctl >/dev/null 2>&1 || need+=(procps)     # the differential run sets per-namespace sysctls
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)  # `--pcap-device` tests switch off checksum/segmentation offload on the kernel's veth end
command -v wrk >/dev/null 2>&1 || need+=(wrk)          # Benchmarks: speed-table and aspnet-wrk (HTTP keep-alive requests/s)
# tools/attack.sh (Tests/Interop/AttackTests): hping3 floods, nmap scans, scapy's malformed frames.
command -v hping3 >/dev/null 2>&1 || need+=(hping3)
command -v nmap >/dev/null 2>&1 || need+=(nmap)
/usr/bin/python3 -c 'import scapy' >/dev/null 2>&1 || need+=(python3-scapy)
ldconfig -p 2>/dev/null | grep -q 'libpcap\.so' || need+=(libpcap0.8)
[[ -d /usr/share/fonts/truetype/dejavu ]] || need+=(fonts-dejavu-core)   # `ustack graph` (ScottPlot on SkiaSharp) draws its labels in a system font
# The packetdrill adapter test publishes with NativeAOT (clang links, zlib1g-dev as .NET documents) and compiles C (gcc).
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v clang >/dev/null 2>&1 || need+=(clang)
[[ -e /usr/include/zlib.h ]] || need+=(zlib1g-dev)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } \
      || log "could not install ${need[*]}; tests that need them will say so"
  else
    log "missing ${need[*]} (not root or no apt): tests that need them will be skipped with the reason"
  fi
fi
[[ -e /dev/net/tun ]] || modprobe tun 2>/dev/null || true

# 2. Namespaces left behind by an earlier run that was killed (named after a dead PID).
if command -v ip >/dev/null 2>&1; then
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(ustest|ustack-demo|usdiff|usspeed)-[0-9]+' || true); do
    pid=$(echo "$ns" | sed -E 's/^(ustest|ustack-demo|usdiff|usspeed)-([0-9]+).*/\2/')
    [[ -d /proc/$pid ]] || { log "removing stale namespace $ns"; ip netns del "$ns" 2>/dev/null || true; }
  done
fi

# 3. Build and test.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log "building"
if ! build=$(dotnet build UserStack.sln -c Release -v quiet -nologo 2>&1); then
  printf '%s\n' "$build" | grep -E 'error|Error' | head -n 40
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

log "testing"
out=$(mktemp)
dotnet test UserStack.sln -c Release --no-build -nologo 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

# dotnet test prints "Passed!  - Failed: F, Passed: P, Skipped: S, ..." per test assembly.
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: +[0-9]+' "$out" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
assemblies=$(grep -cE '(Passed|Failed)! +- +Failed:' "$out" || true)
rm -f "$out"
if [[ $status -ne 0 && $failed -eq 0 ]]; then
  log "dotnet test exited with $status without a failed test (crash or no results)"
  failed=1
fi
[[ ${assemblies:-0} -ge 1 ]] || { log "no test results were found"; failed=$((failed + 1)); }
echo "skipped: $skipped"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
