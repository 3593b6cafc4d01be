#!/usr/bin/python3
"""A varlink client that misbehaves on purpose, for test-hostile-client.sh.

hostile-client.py SOCKET SCENARIO [ARG...]

Each scenario talks raw varlink (NUL-terminated JSON, fds as SCM_RIGHTS) to
fenced and prints one line saying what happened (a reply's error and
parameters as JSON, "closed" when fenced dropped the connection, ...). The
shell script makes the assertions.
"""
import array
import json
import os
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def send(s, obj, fds=()):
    data = json.dumps(obj).encode() + b"\0"
    if fds:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        s.sendall(data)


def read_reply(s, timeout=10):
    """The next message as an object, or None when fenced closed the connection."""
    s.settimeout(timeout)
    buf = b""
    while b"\0" not in buf:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf[:buf.index(b"\0")])


def closed_by_peer(s, timeout=10):
    """True when fenced closes the connection (EOF/reset) without replying."""
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
            if b"\0" in chunk:
                return False
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def run_params(fds_base=0, **extra):
    p = {"argv": ["true"], "env": [], "cwdFd": fds_base, "stdinFd": fds_base + 1,
         "stdoutFd": fds_base + 2, "stderrFd": fds_base + 3}
    p.update(extra)
    return p


def std_fds(cwd="."):
    return [os.open(cwd, os.O_RDONLY | os.O_DIRECTORY), 0, 1, 2]


def report(reply):
    if reply is None:
        print("closed")
    else:
        print(json.dumps({"error": reply.get("error"), "parameters": reply.get("parameters", {})},
                         sort_keys=True))


def scenario_deep_config(path, depth):
    """A Run whose config nests DEPTH objects."""
    depth = int(depth)
    cfg = inner = {}
    for _ in range(depth - 1):
        inner["a"] = {}
        inner = inner["a"]
    s = connect(path)
    text = json.dumps({"method": "io.fence.Sandbox.Run", "parameters": run_params(config=cfg), "more": True})
    s.sendmsg([text.encode() + b"\0"],
              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", std_fds()))])
    report(read_reply(s))


def scenario_call(path, method, params_json, flags="more", cwd=".", cwd_flags="dir"):
    """One call with four fds (cwd opened with O_PATH for cwd_flags "path",
    as a plain file for "file"), then stdin, stdout, stderr; prints the
    first reply."""
    s = connect(path)
    msg = {"method": method, "parameters": json.loads(params_json)}
    if flags in ("more", "oneway"):
        msg[flags] = True
    fds = std_fds(".")
    os.close(fds[0])
    fds[0] = os.open(cwd, {"dir": os.O_RDONLY | os.O_DIRECTORY, "path": os.O_PATH,
                           "file": os.O_RDONLY}[cwd_flags])
    send(s, msg, fds)
    if flags == "oneway":
        print("closed" if closed_by_peer(s, 5) else "no reply")
        return
    report(read_reply(s))


def scenario_fd_flood(path, rounds="200"):
    """One byte and 16 fds per sendmsg(), never the NUL: prints "closed" when
    fenced drops the connection, or "open N" with N fds handed over."""
    s = connect(path)
    fds = array.array("i", [0] * 16)
    sent = 0
    for k in range(int(rounds)):
        try:
            s.sendmsg([b"{" if k == 0 else b" "], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        except (BrokenPipeError, ConnectionResetError):
            print("closed")
            return
        sent += 16
    print("closed" if closed_by_peer(s, 5) else "open %d" % sent)


def scenario_orphan_connection(path):
    """Run inside a sandbox. A child connects to fenced, hands the connection
    to us and becomes `sleep 4242`; once it was killed and reaped (its pid is
    free for anyone to take) and a line arrives on stdin, we call Run on the
    connection it opened. Progress goes to stdout: ready, reaped, the reply."""
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        s = connect(path)
        socket.send_fds(a, [b"x"], [s.fileno()])
        os.execv("/bin/sleep", ["sleep", "4242"])
    _, fds, _, _ = socket.recv_fds(b, 1, 1)
    conn = socket.socket(fileno=fds[0])
    print("ready", flush=True)
    os.waitpid(pid, 0)
    print("reaped", flush=True)
    sys.stdin.readline()
    send(conn, {"method": "io.fence.Sandbox.Run", "parameters": run_params(), "more": True}, std_fds())
    report(read_reply(conn))


def scenario_hold_connections(path, count):
    """Opens COUNT idle connections, says "holding", keeps them until a line
    arrives on stdin, then prints how many fenced had closed."""
    import resource
    import select
    n = int(count)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    held = [connect(path) for _ in range(n)]
    print("holding", flush=True)
    sys.stdin.readline()
    closed = 0
    for s in held:
        r, _, _ = select.select([s], [], [], 0)
        if r and not s.recv(1, socket.MSG_PEEK):
            closed += 1
    print("closed %d" % closed, flush=True)


def nested_numbers(n):
    """About N numbers as arrays of 128 (yajl grows an array one element at
    a time, which costs O(n^2) under ASan's realloc): the same tree per value
    as one flat array."""
    inner = "[" + ",".join(["1"] * 128) + "]"
    mid = "[" + ",".join([inner] * 128) + "]"
    return "[" + ",".join([mid] * max(1, n // (129 * 128))) + "]"


def scenario_fat_run(path, megabytes):
    """A Run of `sleep 120` whose call carries 240,000 numbers and a string
    of MEGABYTES MiB in unknown parameters; prints the first reply, keeps the
    sandbox until a line arrives on stdin."""
    params = json.dumps(run_params(argv=["sleep", "120"]))
    junk = nested_numbers(240000)
    text = ('{"method":"io.fence.Sandbox.Run","more":true,"parameters":' + params[:-1] +
            ',"junk":' + junk + ',"blob":"' + "x" * (int(megabytes) << 20) + '"}}')
    s = connect(path)
    s.sendmsg([text.encode() + b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", std_fds()))])
    report(read_reply(s, 60))
    sys.stdout.flush()
    sys.stdin.readline()


def scenario_many_values(path, count):
    """GetFeatures with about COUNT numbers in an unknown parameter; prints
    the reply, or "closed"."""
    s = connect(path)
    text = '{"method":"io.fence.Sandbox.GetFeatures","parameters":{"junk":' + nested_numbers(int(count)) + "}}"
    s.sendall(text.encode() + b"\0")
    report(read_reply(s, 60))


def scenario_partial_flood(path, count, megabytes):
    """COUNT connections each send MEGABYTES MiB of a message that never
    ends; prints "closed N" with N the connections fenced dropped, keeps the
    others until a line arrives on stdin."""
    import select
    chunk = b'{"method":"io.fence.Sandbox.GetFeatures","parameters":{"s":"' + b"a" * ((int(megabytes) << 20) - 64)
    held, closed = [], 0
    for _ in range(int(count)):
        s = connect(path)
        try:
            s.sendall(chunk)
            held.append(s)
        except (BrokenPipeError, ConnectionResetError):
            closed += 1
    time.sleep(0.5)
    for s in held:
        r, _, _ = select.select([s], [], [], 0)
        try:
            if r and not s.recv(1, socket.MSG_PEEK):
                closed += 1
        except ConnectionResetError:
            closed += 1
    print("closed %d" % closed, flush=True)
    sys.stdin.readline()


def scenario_slow_monitor(path, script, done):
    """Run sh SCRIPT with monitor (argv policy denying "git push", cwd
    writable), read nothing until the file DONE appears (the script's last
    act), then everything: prints "received N dropped M exit C" with N the
    exec/denied events that arrived and M the final reply's eventsDropped."""
    s = connect(path)
    cfg = {"command": {"deny": ["git push"], "runtimeExecPolicy": "argv"},
           "filesystem": {"allowWrite": ["."]}}
    send(s, {"method": "io.fence.Sandbox.Run", "more": True,
             "parameters": run_params(argv=["/bin/sh", script], env=["PATH=/usr/bin:/bin"],
                                      monitor=True, config=cfg)}, std_fds())
    first = read_reply(s)
    if not first or first.get("error") or first.get("parameters", {}).get("state") != "started":
        report(first)
        return
    deadline = time.monotonic() + 300
    while not os.path.exists(done):
        if time.monotonic() > deadline:
            print("timeout")
            return
        time.sleep(0.2)
    s.settimeout(60)
    buf, received = b"", 0
    while True:
        while b"\0" not in buf:
            chunk = s.recv(1 << 20)
            if not chunk:
                print("closed after %d events" % received)
                return
            buf += chunk
        msg, buf = buf[:buf.index(b"\0")], buf[buf.index(b"\0") + 1:]
        reply = json.loads(msg)
        p = reply.get("parameters", {})
        if reply.get("error"):
            print("error %s" % reply["error"])
            return
        if p.get("state") == "event":
            ev = p.get("event", {})
            received += ev.get("source") == "exec" and ev.get("action") == "denied"
        elif p.get("state") == "exited":
            print("received %d dropped %d exit %d" % (received, p.get("eventsDropped", 0), p.get("exitCode", -1)))
            return


def main():
    path, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    globals()["scenario_" + name.replace("-", "_")](path, *args)


if __name__ == "__main__":
    main()
