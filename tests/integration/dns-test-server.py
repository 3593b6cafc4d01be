#!/usr/bin/python3
"""A tiny authoritative DNS server for the network tests (UDP and TCP).

dns-test-server.py PORTFILE NAME=ADDR... : listens on 127.0.0.1 on a
kernel-chosen port (written to PORTFILE), answers A/AAAA for the listed
names (over UDP, names starting with "big." get a truncated answer) (ADDR IPv4 or IPv6; "*.x" entries match subdomains), NXDOMAIN for
others. Logs each question to stderr, so tests can see what reached it.
"""
import ipaddress
import socket
import socketserver
import struct
import sys
import threading

records = {}
for arg in sys.argv[2:]:
    name, addr = arg.split("=", 1)
    records.setdefault(name.lower().rstrip("."), []).append(ipaddress.ip_address(addr))


def lookup(name):
    name = name.lower().rstrip(".")
    if name in records:
        return records[name]
    parts = name.split(".")
    for i in range(1, len(parts)):
        wild = "*." + ".".join(parts[i:])
        if wild in records:
            return records[wild]
    return None


def answer(msg, udp=False):
    if len(msg) < 12:
        return None
    tid, flags, qd = struct.unpack("!HHH", msg[:6])
    pos, labels = 12, []
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += n + 1
    qend = pos + 5
    qtype, _ = struct.unpack("!HH", msg[pos + 1:qend])
    name = ".".join(labels)
    print(f"query {name} {qtype}", file=sys.stderr, flush=True)
    addrs = lookup(name)
    rcode = 0 if addrs is not None else 3
    if udp and name.lower().startswith("big."):
        # "Too large for UDP": truncated, the client must ask over TCP.
        hdr = struct.pack("!HHHHHH", tid, 0x8600 | (flags & 0x0100) | rcode, 1, 0, 0, 0)
        return hdr + msg[12:qend]
    ans = b""
    count = 0
    for a in addrs or []:
        if (qtype == 1 and a.version == 4) or (qtype == 28 and a.version == 6):
            ans += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(a.packed)) + a.packed
            count += 1
    hdr = struct.pack("!HHHHHH", tid, 0x8400 | (flags & 0x0100) | rcode, 1, count, 0, 0)
    return hdr + msg[12:qend] + ans


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        out = answer(data, udp=True)
        if out:
            sock.sendto(out, self.client_address)


class Tcp(socketserver.BaseRequestHandler):
    def handle(self):
        head = self.request.recv(2)
        if len(head) < 2:
            return
        (n,) = struct.unpack("!H", head)
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                return
            data += chunk
        out = answer(data)
        if out:
            self.request.sendall(struct.pack("!H", len(out)) + out)


udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
port = udp.server_address[1]
socketserver.ThreadingTCPServer.allow_reuse_address = True
tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
threading.Thread(target=tcp.serve_forever, daemon=True).start()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
udp.serve_forever()
