"""Top functions by self and inclusive time from a py-spy collapsed-stack file.

``py-spy record --format raw -o stacks.txt --pid PID`` writes one line per
distinct stack (``frame;frame;...;leaf COUNT``); this prints the leaf
(self) and inclusive shares, which is what ``py-spy top`` shows live::

    python bench/profile_summary.py stacks.txt [--top 25] [--filter lockgate]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

__all__ = ["summarize"]

_LINE = re.compile(r"^(.*) (\d+)$")
# "function (path/to/file.py:123)" -> "function (file.py)" so lines of one function merge
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("path")
    short = "/".join(path.split("/")[-3:]) if "lockgate" in path else path.rsplit("/", 1)[-1]
    return f"{m.group('func')} ({short})"


def summarize(path: Path, top: int = 25, contains: str = "") -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for raw in path.read_text().splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        count = int(m.group(2))
        frames = [_frame_name(f) for f in m.group(1).split(";")]
        # the first frame is the thread/process name in py-spy's raw format
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "self %  function"]
    for name, count in own.most_common():
        if contains and contains not in name:
            continue
        lines.append(f"{100 * count / total:6.1f}  {name}")
        if len(lines) >= top + 3:
            break
    lines += ["", "incl %  function"]
    shown = 0
    for name, count in inclusive.most_common():
        if contains and contains not in name:
            continue
        lines.append(f"{100 * count / total:6.1f}  {name}")
        shown += 1
        if shown >= top:
            break
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--filter", default="", help="only functions whose name contains this")
    args = parser.parse_args()
    print(summarize(args.stacks, args.top, args.filter))


if __name__ == "__main__":
    main()
