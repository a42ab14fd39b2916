#!/usr/bin/env python3
"""A flame graph SVG from `perf script` output, with no tool beyond perf itself.

Usage:
  perf record -F 999 -g -o perf.data -- terraform plan ...      (or -p PID)
  perf script -i perf.data | scripts/bench/flamegraph.py --comm terraform-provi \
      --title "..." > docs/perf/flame.svg

Stacks are folded per process name (--comm keeps one; perf shows at most 15 characters of it),
frames are function names with Rust hashes and argument lists dropped, and the SVG is the usual
icicle-less flame: the root at the bottom, the width of a frame its share of the samples. Hover
a frame for its name and share.
"""
import argparse
import collections
import html
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")


def clean(sym):
    sym = sym.split("+0x")[0]
    sym = HASH.sub("", sym)
    return sym or "[unknown]"


def fold(lines, comm):
    stacks = collections.Counter()
    head, frames = None, []

    def flush():
        if head is not None and frames and (comm is None or head.startswith(comm)):
            stacks[tuple([head] + list(reversed(frames)))] += 1

    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            head, frames = None, []
        elif not line.startswith((" ", "\t")):
            flush()
            head, frames = line.split()[0], []
        else:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                sym = parts[1].rsplit(" (", 1)[0]
                frames.append(clean(sym))
    flush()
    return stacks


def color(name):
    h = sum(map(ord, name)) % 60
    if "tfplugin" in name or "cicd" in name:
        return f"rgb(230,{120 + h},40)"
    if name.startswith(("tokio", "hyper", "h2", "tonic", "tower")):
        return f"rgb({200 + h // 2},{150 + h},90)"
    return f"rgb(220,{80 + h * 2},{50 + h})"


def render(stacks, title, width=1200, row=16):
    tree = {"n": 0, "kids": {}}
    for st, n in stacks.items():
        node = tree
        node["n"] += n
        for f in st:
            node = node["kids"].setdefault(f, {"n": 0, "kids": {}})
            node["n"] += n
    total = tree["n"] or 1
    depth = max((len(s) for s in stacks), default=0) + 1
    height = depth * row + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="#fdfdf6"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" font-family="sans-serif">'
           f'{html.escape(title)} ({total} samples)</text>']
    scale = (width - 20) / total

    def walk(node, name, x, d):
        w = node["n"] * scale
        if w < 0.3:
            return
        y = height - 20 - (d + 1) * row
        pct = 100 * node["n"] / total
        label = html.escape(name)
        out.append(f'<g><title>{label} ({node["n"]} samples, {pct:.1f}%)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" fill="{color(name)}" rx="2"/>')
        chars = int(w / 6.6)
        if chars >= 3:
            text = name if len(name) <= chars else name[: chars - 2] + ".."
            out.append(f'<text x="{x + 3:.1f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
        cx = x
        for k, kid in sorted(node["kids"].items()):
            walk(kid, k, cx, d + 1)
            cx += kid["n"] * scale

    walk(tree, "all", 10, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--comm", default=None, help="keep only samples of processes whose name starts with this")
    ap.add_argument("--title", default="flame graph")
    a = ap.parse_args()
    stacks = fold(sys.stdin, a.comm)
    if not stacks:
        sys.exit("no samples (wrong --comm?)")
    sys.stdout.write(render(stacks, a.title))


if __name__ == "__main__":
    main()
