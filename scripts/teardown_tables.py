#!/usr/bin/env python3
"""teardown_tables.py JSON: the tables of docs/benchmarks.md's teardown section.

Reads the one JSON line of `pmm bench teardown --json` and prints, per case
and mapcount model, a Markdown table in the style of the kernel cover
letters (order x mode, ms per GiB, speedup over per page, the floor), the
rmap and free phases, and the goals as that run measured them, so that the
tables and the plot (scripts/plot_teardown.sh) come from the same run.
"""
import json
import sys

MODES = ("per_page", "ranges", "encoded")
CASES = ("exit", "munmap", "partial", "fork_exit", "fork")
FLOORED = ("exit", "munmap")


def ms(ns):
    return "-" if ns is None else "%.2f" % (ns / 1e6)


def main():
    with open(sys.argv[1]) as f:
        run = json.load(f)
    rows = {}
    for r in run["results"]:
        rows[(r["case"], r["mapcount"], r["order"], r["mode"])] = r
    orders = sorted({r["order"] for r in run["results"]})
    models = [m for m in ("page", "folio") if any(k[1] == m for k in rows)]
    print("Run: %d samples after %d warm-up, %d MiB per sample, backing %s, %s build.\n"
          % (run["samples"], run["warmup"], run["size_bytes"] >> 20, run["backing"], run["build"]))
    for case in CASES:
        if not any(k[0] == case for k in rows):
            continue
        print("#### %s\n" % case)
        floored = case in FLOORED
        head = "| order | mapcount | per page | ranges | encoded | ranges x | encoded x |"
        rule = "|---|---|---|---|---|---|---|"
        if floored:
            head += " floor | encoded / floor |"
            rule += "---|---|"
        head += " split queue locks (p / r / e) |"
        rule += "---|"
        print(head)
        print(rule)
        for model in models:
            for k in orders:
                r = [rows.get((case, model, k, m)) for m in MODES]
                if not all(r):
                    continue
                line = "| %d | %s | %s | %s | %s | %.2fx | %.2fx |" % (
                    k, model, ms(r[0]["ns_per_gib"]), ms(r[1]["ns_per_gib"]),
                    ms(r[2]["ns_per_gib"]), r[1]["speedup"], r[2]["speedup"])
                if floored:
                    line += " %s | %.2f |" % (ms(r[2]["floor_ns_per_gib"]), r[2]["over_floor"])
                line += " %d / %d / %d |" % tuple(x["split_queue_locks"] for x in r)
                print(line)
        print()
        if case == "fork":
            continue
        print("Phases (ms per GiB):\n")
        print("| order | mapcount | rmap: per page | ranges | encoded | ranges x | encoded x "
              "| free: per page | ranges | encoded |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for model in models:
            for k in orders:
                r = [rows.get((case, model, k, m)) for m in MODES]
                if not all(r):
                    continue
                print("| %d | %s | %s | %s | %s | %.2fx | %.2fx | %s | %s | %s |" % (
                    k, model, ms(r[0]["rmap_ns_per_gib"]), ms(r[1]["rmap_ns_per_gib"]),
                    ms(r[2]["rmap_ns_per_gib"]), r[1]["rmap_speedup"], r[2]["rmap_speedup"],
                    ms(r[0]["free_ns_per_gib"]), ms(r[1]["free_ns_per_gib"]),
                    ms(r[2]["free_ns_per_gib"])))
        print()
    print("#### The goals (issue 10), as this run measured them\n")
    print("| goal | measured | |")
    print("|---|---|---|")
    for g in run["goals"]:
        unit = " locks" if "lock" in g["goal"] else ("x floor" if "floor" in g["goal"] else "x")
        print("| %s | %.2f%s | %s |" % (g["goal"], g["value"], unit,
                                        "met" if g["met"] else "**missed**"))


if __name__ == "__main__":
    main()
