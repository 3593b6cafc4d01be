"""bench/launchtime.py — the timing core of bench/launch.sh and
bench/fs-policy.sh: launchers started with posix_spawn and timed with a
monotonic clock, alternating (the order flips every round) so that all see
the same machine state, and the Markdown table of the results.

    check(launchers)            runs each once with its output shown;
                                returns those that exit 0
    time_launchers(launchers, runs, warmup)
                                -> (times in ms, failed runs) per name
    print_table(title, launchers, times, failures)
    machine_comment(script, details)
"""
import math
import os
import platform
import statistics
import sys
import time

QUIET = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
         (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
         (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]


def launch(argv, file_actions=QUIET):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=file_actions)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter_ns() - t0, os.waitstatus_to_exitcode(status)


def check(launchers):
    usable = []
    for name, argv in launchers:
        _, code = launch(argv, file_actions=[])
        if code == 0:
            usable.append((name, argv))
        else:
            print(f"warning: {name} exits with {code}", file=sys.stderr)
    return usable


def time_launchers(launchers, runs, warmup):
    times = {name: [] for name, _ in launchers}
    failures = {name: 0 for name, _ in launchers}
    for _ in range(warmup):
        for _, argv in launchers:
            launch(argv)
    for i in range(runs):
        order = launchers if i % 2 == 0 else launchers[::-1]
        for name, argv in order:
            ns, code = launch(argv)
            failures[name] += code != 0
            times[name].append(ns / 1e6)
    return times, failures


def p90(xs):
    xs = sorted(xs)
    return xs[math.ceil(0.9 * len(xs)) - 1]


def machine_comment(script, details):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return (f"<!-- {script}, {time.strftime('%Y-%m-%d %H:%M %Z')}: Linux {platform.release()}, "
            f"{os.cpu_count()} CPUs ({cpu}), {details} -->")


def print_table(title, launchers, times, failures):
    print(f"| {title} | median | p90 | min | failed runs |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in launchers:
        xs = times[name]
        print(f"| {name} | {statistics.median(xs):.2f} ms | {p90(xs):.2f} ms | {min(xs):.2f} ms | {failures[name]} |")
