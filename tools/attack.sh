#!/usr/bin/env bash
# Attacks UserStack inside a private network namespace and reports whether it kept serving.
#   sudo tools/attack.sh [--seconds N]      (default 40: the attacks' time budgets add up to N)
# Starts `ustack up` on a TAP in a namespace this script creates (and removes), keeps an echo session
# (a line every 50 ms), a bulk transfer and new-connection probes going, and runs in turn: an hping3
# SYN flood with random sources, a fragment flood, a ping flood, nmap (-sS -O, -sF, -sX, -sU) and a
# scapy set of malformed frames. Everything is bounded in time (timeout) and sent only to the stack's
# address in that namespace. Prints RSS, drops by reason, the worst echo wait and the new connections
# per attack; exits 1 when a live session stalled more than 1 s or a new connection failed, 3 when
# this machine cannot run it (not root, no /dev/net/tun, a tool missing).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=40
while (($#)); do
  case "$1" in
    --seconds) seconds="${2:-}"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "attack.sh: unknown argument $1 (usage: tools/attack.sh [--seconds N])" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds >= 10 && seconds <= 600)) || { echo "attack.sh: --seconds takes 10 to 600" >&2; exit 2; }

cannot() { echo "attack.sh: cannot run here: $*" >&2; exit 3; }
[[ $(id -u) -eq 0 ]] || cannot "needs root (namespaces, a TAP, raw sockets)"
[[ -e /dev/net/tun ]] || cannot "no /dev/net/tun"
for tool in ip hping3 nmap ping timeout; do command -v "$tool" >/dev/null 2>&1 || cannot "'$tool' is not installed (tools/test.sh installs it)"; done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || cannot "python3-scapy is not installed (tools/test.sh installs it)"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for project in tools/ustack/ustack.csproj tools/attack/Attack.csproj; do
  if ! out=$(dotnet build "$project" -c Release -v quiet -nologo 2>&1); then
    printf '%s\n' "$out" | grep -E 'error' | head -n 20; echo "attack.sh: build of $project failed" >&2; exit 2
  fi
done

ns="usattack-$$"
tap="usatk$(($$ % 100000))"
ip netns add "$ns" || cannot "ip netns add failed"
trap 'ip netns del "$ns" 2>/dev/null' EXIT
ip -n "$ns" link set lo up

# The driver and every attack run inside the namespace: nothing leaves it.
ip netns exec "$ns" dotnet tools/attack/bin/Release/net10.0/attack.dll \
  --ustack tools/ustack/bin/Release/net10.0/ustack.dll --netns "$ns" --tap "$tap" \
  --malformed tools/attack/malformed.py --seconds "$seconds"
