#!/usr/bin/python3
"""An upstream proxy for the network tests, on the host's loopback.

proxy-test-server.py PORTFILE [USER:PASSWORD|""] [NAME=ADDR...]: on a kernel-chosen port
(written to PORTFILE) speaks SOCKS5 (CONNECT; username/password
authentication required when USER:PASSWORD is given, else none) or HTTP
CONNECT, told apart by the first byte. Logs "socks HOST PORT" / "http HOST
PORT" / "auth-failed" to stderr, then tunnels.
"""
import base64
import os
import socket
import struct
import sys
import threading

creds = sys.argv[2].split(":", 1) if len(sys.argv) > 2 and sys.argv[2] else None
# The test names (the host's resolver does not know them): NAME=ADDR...
hosts = dict(a.split("=", 1) for a in sys.argv[3:])


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def recvn(c, n):
    b = b""
    while len(b) < n:
        chunk = c.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def tunnel(c, host, port):
    try:
        u = socket.create_connection((hosts.get(host, host), port), timeout=5)
    except OSError:
        return None
    return u


def socks(c):
    ver, n = recvn(c, 2)
    methods = recvn(c, n)
    want = 2 if creds else 0
    if want not in methods:
        c.sendall(b"\x05\xff")
        return None
    c.sendall(bytes([5, want]))
    if creds:
        _, ul = recvn(c, 2)
        user = recvn(c, ul).decode()
        (pl,) = recvn(c, 1)
        pw = recvn(c, pl).decode()
        if [user, pw] != creds:
            log("auth-failed")
            c.sendall(b"\x01\x01")
            return None
        c.sendall(b"\x01\x00")
    _, cmd, _, atyp = recvn(c, 4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recvn(c, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recvn(c, 16))
    else:
        (n,) = recvn(c, 1)
        host = recvn(c, n).decode()
    (port,) = struct.unpack("!H", recvn(c, 2))
    log("socks", host, port)
    u = tunnel(c, host, port)
    c.sendall(b"\x05" + (b"\x00" if u else b"\x05") + b"\x00\x01" + b"\0" * 6)
    return u


def http(c, first):
    data = first
    while b"\r\n\r\n" not in data:
        data += c.recv(4096)
    if creds:
        want = "Basic " + base64.b64encode(":".join(creds).encode()).decode()
        got = [l.split(b":", 1)[1].strip().decode() for l in data.split(b"\r\n")[1:]
               if l.lower().startswith(b"proxy-authorization:")]
        if got != [want]:
            log("auth-failed")
            c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            return None
    line = data.split(b"\r\n")[0].decode()
    method, target, _ = line.split(" ", 2)
    host, port = target.rsplit(":", 1)
    host = host.strip("[]")
    log("http", host, port)
    u = tunnel(c, host, int(port))
    c.sendall(b"HTTP/1.1 200 OK\r\n\r\n" if u else b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
    return u


def handle(c):
    try:
        first = c.recv(1, socket.MSG_PEEK)
        u = socks(c) if first == b"\x05" else http(c, b"")
        if u:
            threading.Thread(target=pipe, args=(u, c), daemon=True).start()
            pipe(c, u)
    except Exception:
        pass


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
