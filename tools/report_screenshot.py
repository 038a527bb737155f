"""docs/images/report.png: the top of the sample's report (`make run`), as headless chromium draws
it at 1366 px, cropped to the page (down to the loss chart) and scaled to 825 px wide.

    python tools/report_screenshot.py [outputs/report.html [docs/images/report.png]]

The Spanish one: ``LANG=es_PE.UTF-8 make run``, then
``python tools/report_screenshot.py outputs/report.html docs/images/report_es.png``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "report.png"
WIDTH, HEIGHT, SHOWN = 1366, 1900, 825


def main(argv: list[str]) -> int:
    report = Path(argv[0] if argv else ROOT / "outputs" / "report.html").resolve()
    out = Path(argv[1]).resolve() if len(argv) > 1 else OUT
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             f"--user-data-dir={tmp}/profile", f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}",
             report.as_uri()],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        image = Image.open(shot).convert("RGB")
    left = (WIDTH - 1100) // 2  # the page's column (main: 1100 px wide, centred)
    page = image.crop((left, 0, left + 1100, HEIGHT))
    page = page.resize((SHOWN, round(HEIGHT * SHOWN / 1100)), Image.Resampling.LANCZOS)
    page.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    print(f"{out}: {page.size[0]} x {page.size[1]} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
