#!/usr/bin/python3
"""Servers for the network tests, run inside a network namespace the test
creates (never on a real network).

net-test-server.py READYFILE CERT KEY ADDR...: on each ADDR serves
  :80    HTTP/1.0, answers "hello-http <Host>"
  :443   TLS (CERT/KEY), answers "hello-tls <SNI>"
  :2222  a banner "banner-ok" sent on connect (a server that speaks first)
  :2223  bulk both ways: reads until the client half-closes, answers
         "<bytes read> <their sha256>\n", then sends BULK (16 MiB, below)
  :2224  bulk, then small messages on the same connection, nothing closed
         in between: reads a line "N\n" and N bytes, answers "<their
         sha256>\n" and the first N bytes of BULK, then echoes every line
         it gets back as "pong <line>" until the client closes
and writes READYFILE once all are listening.
"""
import hashlib
import os
import socket
import ssl
import sys
import threading

ready, cert, key = sys.argv[1:4]
addrs = sys.argv[4:]


def listen(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    return s


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    host = ""
    for line in data.split(b"\r\n")[1:]:
        if line.lower().startswith(b"host:"):
            host = line[5:].strip().decode("ascii", "replace")
    return host


def respond(c, body):
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))


def serve(s, handler):
    while True:
        c, _ = s.accept()
        threading.Thread(target=guard, args=(handler, c), daemon=True).start()


def guard(handler, c):
    try:
        c.settimeout(10)
        handler(c)
    except Exception:
        pass
    finally:
        c.close()


def http(c):
    host = read_head(c)
    respond(c, b"hello-http " + host.encode())


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
sni = {}


def remember_sni(sock, name, _ctx):
    sni[id(sock)] = name or ""


ctx.sni_callback = remember_sni


def tls(c):
    t = ctx.wrap_socket(c, server_side=True)
    read_head(t)
    respond(t, b"hello-tls " + sni.pop(id(t), "").encode())
    t.close()


def banner(c):
    c.sendall(b"banner-ok\n")


# The same bytes as the test computes: sha256 of "0", "1", ... concatenated.
BULK = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(1 << 19))


def bulk(c):
    h, n = hashlib.sha256(), 0
    while True:
        k = c.recv(1 << 20)
        if not k:
            break
        h.update(k)
        n += len(k)
    c.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))
    c.sendall(BULK)


def bulk_then_talk(c):
    f = c.makefile("rb")
    n = int(f.readline())
    h, left = hashlib.sha256(), n
    while left:
        k = f.read(min(left, 1 << 20))
        if not k:
            return
        h.update(k)
        left -= len(k)
    c.sendall(h.hexdigest().encode() + b"\n" + BULK[:n])
    for line in f:
        c.sendall(b"pong " + line)


for a in addrs:
    for port, handler in ((80, http), (443, tls), (2222, banner), (2223, bulk), (2224, bulk_then_talk)):
        threading.Thread(target=serve, args=(listen(a, port), handler), daemon=True).start()
with open(ready + ".tmp", "w") as f:
    f.write("ok")
os.rename(ready + ".tmp", ready)
threading.Event().wait()
