#!/usr/bin/python3
"""The malformed-frame set of tools/attack.sh: frames every layer of the stack must drop and count.

usage: malformed.py TAP STACK_MAC STACK_IP SECONDS MAX_FRAMES
Sends the set round after round on TAP (the kernel's side of the stack's TAP, in the private
namespace tools/attack.sh made) until SECONDS have passed or MAX_FRAMES were sent.
"""
import sys
import time

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, conf, get_if_hwaddr  # noqa: E402

tap, stack_mac, stack_ip, seconds, max_frames = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
host_mac = get_if_hwaddr(tap)
host_ip = "10.77.0.1"
eth = Ether(src=host_mac, dst=stack_mac)


def ip(**kw):
    return IP(src=kw.pop("src", host_ip), dst=kw.pop("dst", stack_ip), **kw)


def raw(pkt):
    return bytes(pkt)


def with_byte(frame, offset, value):
    b = bytearray(frame)
    b[offset] = value
    return bytes(b)


IP_AT = 14
tcp_ok = raw(eth / ip() / TCP(sport=40000, dport=7, flags="S", seq=1))
frames = {
    # Ethernet
    "runt frame": raw(eth)[:10],
    "unknown ethertype": raw(Ether(src=host_mac, dst=stack_mac, type=0x88B5) / Raw(b"x" * 46)),
    # ARP
    "arp truncated": raw(Ether(src=host_mac, dst=stack_mac, type=0x0806) / Raw(b"\x00\x01\x08\x00\x06")),
    "arp bad operation": raw(eth / ARP(op=9, psrc=host_ip, pdst=stack_ip, hwsrc=host_mac)),
    "arp hardware length 0": raw(eth / ARP(hwlen=0, psrc=host_ip, pdst=stack_ip)),
    "arp sender broadcast mac": raw(eth / ARP(op=1, hwsrc="ff:ff:ff:ff:ff:ff", psrc="10.77.0.9", pdst=stack_ip)),
    # IPv4 header
    "ip ihl 3": with_byte(tcp_ok, IP_AT, 0x43),
    "ip ihl 15 beyond the packet": with_byte(tcp_ok, IP_AT, 0x4F),
    "ip version 6": with_byte(tcp_ok, IP_AT, 0x65),
    "ip total length beyond the frame": raw(eth / ip(len=1400) / TCP(dport=7)),
    "ip total length below the header": raw(eth / ip(len=12) / TCP(dport=7)),
    "ip bad checksum": raw(eth / ip(chksum=0x1234) / TCP(dport=7)),
    "ip option length 0": raw(eth / ip(options=[b"\x07\x00\x00\x00"]) / TCP(dport=7)),
    "ip option overlong": raw(eth / ip(options=[b"\x07\x28\x04\x00"]) / TCP(dport=7)),
    "ip ttl 0": raw(eth / ip(ttl=0) / ICMP()),
    "ip source broadcast": raw(eth / ip(src="255.255.255.255") / TCP(dport=7, flags="S")),
    "ip source multicast": raw(eth / ip(src="224.0.0.1") / TCP(dport=7, flags="S")),
    "ip source is the stack": raw(eth / ip(src=stack_ip) / ICMP()),
    "ip not for us": raw(eth / ip(dst="10.77.0.99") / ICMP()),
    "ip unknown protocol": raw(eth / ip(proto=253) / Raw(b"x" * 20)),
    "fragment offset overflow": raw(eth / ip(frag=8189, flags="MF", id=77) / Raw(b"x" * 200)),
    "tiny first fragment": raw(eth / ip(flags="MF", id=78, proto=6) / Raw(b"\x9c\x40\x00\x07\x00\x00\x00\x01")),
    # TCP
    "tcp truncated header": raw(eth / ip(proto=6) / Raw(b"\x9c\x40\x00\x07\x00\x00\x00\x01\x00\x00")),
    "tcp data offset 0": raw(eth / ip() / TCP(dport=7, dataofs=0, flags="S")),
    "tcp data offset 3": raw(eth / ip() / TCP(dport=7, dataofs=3, flags="S")),
    "tcp data offset 15 beyond the segment": raw(eth / ip() / TCP(dport=7, dataofs=15, flags="S")),
    "tcp bad checksum": raw(eth / ip() / TCP(dport=7, flags="S", chksum=0x4321)),
    "tcp option length 0": raw(eth / ip() / TCP(dport=7, flags="S", options=[(2, b"")]) if False else eth / ip() / TCP(dport=7, flags="S", dataofs=6) / Raw(b"\x02\x00\x05\xb4")),
    "tcp option overlong": raw(eth / ip() / TCP(dport=7, flags="S", dataofs=6) / Raw(b"\x02\x28\x05\xb4")),
    "tcp mss option length 3": raw(eth / ip() / TCP(dport=7, flags="S", dataofs=6) / Raw(b"\x02\x03\x05\x00")),
    "tcp timestamp option length 9": raw(eth / ip() / TCP(dport=7, flags="S", dataofs=8) / Raw(b"\x08\x09" + b"\x00" * 10)),
    "tcp sack option odd length": raw(eth / ip() / TCP(dport=7, flags="A", dataofs=8) / Raw(b"\x05\x0b" + b"\x00" * 10)),
    "tcp all flags": raw(eth / ip() / TCP(dport=7, flags="FSRPAUEC")),
    "tcp no flags": raw(eth / ip() / TCP(dport=7, flags="")),
    "tcp syn fin": raw(eth / ip() / TCP(dport=7, flags="SF")),
    "tcp syn rst": raw(eth / ip() / TCP(dport=7, flags="SR")),
    "tcp to port 0": raw(eth / ip() / TCP(dport=0, flags="S")),
    "land attack": raw(eth / ip(src=stack_ip) / TCP(sport=7, dport=7, flags="S")),
    "tcp to broadcast": raw(Ether(src=host_mac, dst="ff:ff:ff:ff:ff:ff") / ip(dst="10.77.0.255") / TCP(dport=7, flags="S")),
    # UDP
    "udp length beyond the datagram": raw(eth / ip() / UDP(dport=7, len=500) / Raw(b"x" * 10)),
    "udp length below 8": raw(eth / ip() / UDP(dport=7, len=4) / Raw(b"x" * 10)),
    "udp bad checksum": raw(eth / ip() / UDP(dport=7, chksum=0x1111) / Raw(b"x" * 10)),
    "udp truncated header": raw(eth / ip(proto=17) / Raw(b"\x00\x07\x00")),
    # ICMP
    "icmp truncated": raw(eth / ip(proto=1) / Raw(b"\x08\x00\x00")),
    "icmp bad checksum": raw(eth / ip() / ICMP(chksum=0x2222)),
    "icmp echo to broadcast": raw(Ether(src=host_mac, dst="ff:ff:ff:ff:ff:ff") / ip(dst="10.77.0.255") / ICMP()),
    "icmp error about nothing": raw(eth / ip() / ICMP(type=3, code=3) / Raw(b"\x45\x00")),
    "icmp unknown type": raw(eth / ip() / ICMP(type=42)),
}

sock = conf.L2socket(iface=tap)
start = time.monotonic()
sent = 0
rounds = 0
while time.monotonic() - start < seconds and sent < max_frames:
    for frame in frames.values():
        sock.send(frame)
        sent += 1
    rounds += 1
    time.sleep(0.001)
sock.close()
print(f"malformed: {len(frames)} kinds, {rounds} rounds, {sent} frames in {time.monotonic() - start:.1f} s")
