"""The summary `make run` prints, as the README shows it: produced by a real run of the sample,
never typed by hand (the test suite compares it with a run).

    python tools/readme_summary.py          # run the sample (configs/sample.yaml) and rewrite the README's block
    python tools/readme_summary.py --check  # exit 1 when the block is not what a run prints

The block is the run's standard output between the README's markers, with the output folder
written as ``outputs/`` and long lines cut at :data:`WIDTH` characters, up to the baseline's first
year.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- sample-summary: tools/readme_summary.py -->\n```\n", "```\n<!-- /sample-summary -->"
#: Lines longer than this end in "...".
WIDTH = 100


def block(stdout: str, outputs: str | Path) -> str:
    """The README's block from a run's standard output (``outputs``: the run's output folder):
    up to the baseline's first year, then "..."."""
    lines = []
    for line in stdout.splitlines():
        line = line.replace(str(outputs).rstrip("/") + "/", "outputs/")
        lines.append(line if len(line) <= WIDTH else line[: WIDTH - 3].rstrip() + "...")
        if re.match(r"^  \d{4}: .* vs baseline$", line):
            lines.append("  ...")
            break
    return "\n".join(lines) + "\n"


def current() -> str | None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0]


def run_sample() -> str:
    cli = Path(sys.executable).with_name("cacao-screen")
    done = subprocess.run(
        [str(cli), "run", "--config", str(ROOT / "configs" / "sample.yaml"), "--overwrite"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return block(done.stdout, ROOT / "outputs")


def main(argv: list[str]) -> int:
    fresh = run_sample()
    if "--check" in argv:
        if current() != fresh:
            print("README.md: the sample summary is not what `make run` prints; run `make docs`", file=sys.stderr)
            return 1
        return 0
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    README.write_text(head + START + fresh + END + rest.split(END, 1)[1], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
