#!/usr/bin/env python3
"""Select the ONNX node tests that exercise onnxq's operators, run them, and rewrite tests/onnx_node/cases.txt.

usage:
  update_node_cases.py --runner BUILD/run_node_test [--cache DIR] [--jobs N]   run all, rewrite the list
  update_node_cases.py --check [--cache DIR]                                  only check the list's case set

Which cases are listed: the op types onnxq registers are read from src/ops/registry.c (the comment after
each descriptor declaration). A case is listed if
  (a) every node of its model (subgraphs included) is a registered ai.onnx op, or
  (b) the op it tests is registered; the op a case tests is the op of its base case's node(s) (for
      "test_foo_expanded[_verN]" the base is "test_foo"). Such a case may use other, unsupported ops
      (function-expanded variants) and is then an expected failure with the load error as its reason.
Each listed line is "<case> <Op> pass" or "<case> <Op> xfail <first line of the observed error>"; <Op> is the
tested op. The list is exactly what the runner observed (paths to the cache are replaced by <cache> so the
file does not depend on the machine). The script prints what changed against the previous list, the totals
and the expected failures per op.

--check compares the set of listed cases (and their <Op>) with the selection, without running anything;
CTest runs it as onnx_node/list_complete so a case cannot silently drop out of the list.

Needs only onnx (to read model.onnx). Run with the interpreter given to CMake as ONNXQ_PYTHON.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CASES = os.path.join(REPO, "tests", "onnx_node", "cases.txt")
DEFAULT_TOLS = os.path.join(REPO, "tests", "onnx_node", "tolerances.txt")
DEFAULT_REGISTRY = os.path.join(REPO, "src", "ops", "registry.c")
EXPANDED = re.compile(r"_expanded(_ver\d+)?$")
MAX_REASON = 240


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "onnxq", "onnx_node")


def registered_ops(registry_c: str) -> set[str]:
    with open(registry_c) as f:
        text = f.read()
    # A declaration of an op descriptor followed by its op type in a comment, in either form used so far:
    #   OQ_OP_DECL(oq_op_conv) /* Conv */
    #   extern const struct oq_op_def oq_op_conv; /* Conv */
    decl = re.compile(r"^\s*(?:OQ_OP_DECL\(\s*\w+\s*\)|extern\s+const\s+struct\s+oq_op_def\s+\w+[^;]*;)"
                      r"\s*/\*\s*([A-Za-z0-9_]+)\s*\*/", re.M)
    ops = set(decl.findall(text))
    if not ops:
        sys.exit("error: no op declarations with an '/* OpType */' comment found in %s (expected lines like "
                 "'extern const struct oq_op_def oq_op_conv; /* Conv */')" % registry_c)
    return ops


def _graph_ops(graph, out: list[str]) -> None:
    import onnx

    for node in graph.node:
        dom = node.domain if node.domain not in ("", "ai.onnx") else ""
        out.append(node.op_type if not dom else "%s:%s" % (dom, node.op_type))
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                _graph_ops(a.g, out)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    _graph_ops(g, out)


def model_ops(case_dir: str, cache: dict) -> tuple[list[str], list[str]]:
    """(top-level node ops, all ops including subgraphs), in node order."""
    if case_dir not in cache:
        import onnx

        m = onnx.load(os.path.join(case_dir, "model.onnx"), load_external_data=False)
        top = [n.op_type if n.domain in ("", "ai.onnx") else "%s:%s" % (n.domain, n.op_type) for n in m.graph.node]
        every: list[str] = []
        _graph_ops(m.graph, every)
        cache[case_dir] = (top, every)
    return cache[case_dir]


def select_cases(cache_dir: str, ops: set[str]) -> dict[str, str]:
    """case name -> tested op, for the cases onnxq should be tested on."""
    names = sorted(n for n in os.listdir(cache_dir)
                   if n.startswith("test_") and os.path.isfile(os.path.join(cache_dir, n, "model.onnx")))
    if not names:
        sys.exit("error: no node tests in %s; run tools/fetch_onnx_node_tests.py first" % cache_dir)
    memo: dict = {}
    chosen: dict[str, str] = {}
    for name in names:
        top, every = model_ops(os.path.join(cache_dir, name), memo)
        base = EXPANDED.sub("", name)
        if base != name and os.path.isdir(os.path.join(cache_dir, base)):
            tested = model_ops(os.path.join(cache_dir, base), memo)[0]
        else:
            tested = top
        reg_tested = [o for o in tested if o in ops]
        if reg_tested:
            chosen[name] = reg_tested[0]
        elif every and all(o in ops for o in every):
            chosen[name] = tested[0] if tested else every[0]
    return chosen


def read_list(path: str) -> dict[str, tuple[str, str]]:
    """case -> (op, status line after the op)."""
    out: dict[str, tuple[str, str]] = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                parts = line.split(" ", 2)
                if len(parts) == 3:
                    out[parts[0]] = (parts[1], parts[2])
    return out


def run_all(runner: str, cache_dir: str, chosen: dict[str, str], tols: str, jobs: int) -> dict[str, str | None]:
    """case -> None (pass) or the first line of its error."""
    names = sorted(chosen)
    shards = [names[i::jobs] for i in range(jobs)]
    procs = []
    tmpdir = tempfile.mkdtemp(prefix="onnxq_cases.")
    for k, shard in enumerate(shards):
        lst = os.path.join(tmpdir, "shard%d.txt" % k)
        with open(lst, "w") as f:
            for n in shard:
                f.write("%s %s pass\n" % (n, chosen[n]))
        cmd = [runner, "--list", lst, "--dir", cache_dir, "--tolerances", tols]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    result: dict[str, str | None] = {}
    for p in procs:
        out, err = p.communicate()
        if p.returncode not in (0, 1):
            sys.exit("error: %s exited %d:\n%s" % (runner, p.returncode, err))
        for line in out.splitlines():
            m = re.match(r"^(PASS|FAIL)\s+(\S+?)(?::\s(.*))?$", line)
            if m:
                result[m.group(2)] = None if m.group(1) == "PASS" else (m.group(3) or "failed")
    for f in os.listdir(tmpdir):
        os.unlink(os.path.join(tmpdir, f))
    os.rmdir(tmpdir)
    missing = [n for n in names if n not in result]
    if missing:
        sys.exit("error: the runner reported nothing for %d cases (first: %s)" % (len(missing), missing[0]))
    return result


def clean_reason(reason: str, cache_dir: str) -> str:
    reason = reason.replace(os.path.abspath(cache_dir), "<cache>").replace(cache_dir, "<cache>")
    # The case's own model path adds nothing to a line that starts with the case name.
    reason = re.sub(r"<cache>/[^/\s]+/model\.onnx: ", "", reason)
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    return reason


def reason_group(reason: str) -> str:
    """A coarse class of a failure, for the summary: the message with names and numbers blanked."""
    m = re.search(r"opset \d+ is newer than onnxq supports", reason)
    if m:
        return "model opset newer than onnxq's maximum"
    m = re.search(r"does not support: (\w+)", reason)
    if m:
        return "unsupported op %s" % m.group(1)
    r = re.sub(r"'[^']*'", "'.'", reason)
    r = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "N", r)
    r = re.sub(r"^test_data_set_N: ", "", r)
    return r[:110]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner", help="path to the built run_node_test")
    ap.add_argument("--cache", default=default_cache(), help="node test cache (default: %(default)s)")
    ap.add_argument("--cases", default=DEFAULT_CASES)
    ap.add_argument("--tolerances", default=DEFAULT_TOLS)
    ap.add_argument("--registry", default=DEFAULT_REGISTRY)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--check", action="store_true", help="only check that the list names the selected cases")
    args = ap.parse_args()

    ops = registered_ops(args.registry)
    chosen = select_cases(args.cache, ops)
    old = read_list(args.cases)

    if args.check:
        bad = 0
        for n in sorted(set(chosen) - set(old)):
            print("missing from %s: %s (%s)" % (args.cases, n, chosen[n]))
            bad += 1
        for n in sorted(set(old) - set(chosen)):
            print("listed but not selected (no registered op, or not in the cache): %s" % n)
            bad += 1
        for n in sorted(set(old) & set(chosen)):
            if old[n][0] != chosen[n]:
                print("%s: listed op %s, tests %s" % (n, old[n][0], chosen[n]))
                bad += 1
        print("%d cases selected for %d registered ops, %d listed, %d problems%s"
              % (len(chosen), len(ops), len(old), bad, "; run the update_node_cases target" if bad else ""))
        return 1 if bad else 0

    if not args.runner:
        ap.error("--runner is required unless --check")
    res = run_all(os.path.abspath(args.runner), args.cache, chosen, args.tolerances, max(1, args.jobs))

    lines = []
    xfail_by_op: dict[str, int] = collections.Counter()
    pass_by_op: dict[str, int] = collections.Counter()
    newly_pass, newly_fail = [], []
    for n in sorted(chosen):
        op = chosen[n]
        was = old.get(n, (None, None))[1]
        if res[n] is None:
            lines.append("%s %s pass" % (n, op))
            pass_by_op[op] += 1
            if was is not None and was != "pass":
                newly_pass.append(n)
        else:
            lines.append("%s %s xfail %s" % (n, op, clean_reason(res[n], args.cache)))
            xfail_by_op[op] += 1
            if was == "pass":
                newly_fail.append(n)
    tmp = args.cases + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, args.cases)

    for n in newly_pass:
        print("now passing (was xfail): %s" % n)
    for n in newly_fail:
        print("REGRESSION (was pass, now fails): %s: %s" % (n, res[n]))
    gone = sorted(set(old) - set(chosen))
    added = sorted(set(chosen) - set(old))
    if added:
        print("%d cases added to the list" % len(added))
    if gone:
        print("%d cases dropped from the list: %s" % (len(gone), " ".join(gone[:20])))
    print("\nper op (tested op: pass / xfail):")
    for op in sorted(set(chosen.values())):
        print("  %-22s %4d / %d%s" % (op, pass_by_op[op], xfail_by_op[op], "" if op in ops else "  (expanded only)"))
    groups: dict[str, int] = collections.Counter(reason_group(clean_reason(r, args.cache)) for r in res.values() if r is not None)
    print("\nxfail reasons (grouped):")
    for g, k in groups.most_common():
        print("  %4d  %s" % (k, g))
    npass = sum(pass_by_op.values())
    print("\n%s: %d cases, %d pass, %d xfail" % (os.path.relpath(args.cases, REPO), len(chosen), npass,
                                                len(chosen) - npass))
    return 0


if __name__ == "__main__":
    sys.exit(main())
