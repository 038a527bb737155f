"""Draw docs/images/forest-at-cutoff.png: why a plot under cocoa since 2014 with tree loss in 2022
can be deforestation-free, and when it is not (docs/forest-at-cutoff.md).

    python tools/draw_forest_cutoff.py [OUT.png]

A schematic, not data: one plot (under cocoa since 2014, shade trees above it) on a 30 m loss grid
and a 10 m forest map of 31 December 2020, in two cases side by side.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "forest-at-cutoff.png"


def main(out: Path = OUT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Polygon

    n_fine = 30  # 10 m cells over a 300 m square; 10 x 10 cells of 30 m
    x = (np.arange(n_fine) + 0.5) / n_fine
    xx, yy = np.meshgrid(x, x)
    plot = np.array([[0.22, 0.25], [0.78, 0.2], [0.82, 0.72], [0.3, 0.8]])
    inside = Polygon(plot).get_path().contains_points(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    loss = np.zeros((10, 10), dtype=bool)  # 30 m cells with tree loss in 2022 (shade trees thinned)
    loss[4:7, 3:6] = True
    loss[3, 6] = True
    loss_fine = np.kron(loss, np.ones((3, 3), dtype=bool))
    forest_a = ~inside  # case A: the map shows the plot as cocoa (not forest) in 2020
    forest_b = np.ones_like(inside)  # case B: the map shows forest under the plot (dense shade)

    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2))
    cmap = ListedColormap(["#f3e3c3", "#5c9e5c"])
    cases = (
        (
            axes[0],
            forest_a,
            "A. The forest map of 2020 shows cocoa, not forest",
            "loss on land that was not forest in 2020:\ndeforestation_free (shade trees or renovation)",
        ),
        (
            axes[1],
            forest_b,
            "B. The forest map of 2020 shows forest",
            "loss on forest of 2020: review if the registry says cocoa since 2014\n"
            "(map and declaration disagree); deforestation_detected otherwise",
        ),
    )
    for ax, forest, title, verdict in cases:
        ax.imshow(forest, cmap=cmap, vmin=0, vmax=1, extent=(0, 1, 0, 1), origin="lower", interpolation="nearest")
        hit = loss_fine & forest
        miss = loss_fine & ~forest
        for mask, colour in ((miss, "#e08a2c"), (hit, "#c62828")):
            ys, xs = np.nonzero(mask)
            ax.scatter((xs + 0.5) / n_fine, (ys + 0.5) / n_fine, s=18, marker="s", c=colour, linewidths=0)
        ax.add_patch(Polygon(plot, closed=True, fill=False, edgecolor="black", linewidth=2))
        for k in range(11):  # the 30 m loss grid
            ax.axhline(k / 10, color="white", linewidth=0.4, alpha=0.6)
            ax.axvline(k / 10, color="white", linewidth=0.4, alpha=0.6)
        ax.text(0.5, 0.88, "plot: cocoa since 2014", ha="center", fontsize=10, weight="bold")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(verdict, fontsize=9.5)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [
        plt.Rectangle((0, 0), 1, 1, color="#5c9e5c", label="forest on 31 Dec 2020 (10 m map)"),
        plt.Rectangle((0, 0), 1, 1, color="#f3e3c3", label="not forest on 31 Dec 2020"),
        plt.Rectangle((0, 0), 1, 1, color="#e08a2c", label="tree loss in 2022 on land not forest in 2020"),
        plt.Rectangle((0, 0), 1, 1, color="#c62828", label="tree loss in 2022 on forest of 2020"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.suptitle("Tree loss in 2022 on a plot under cocoa since 2014 (white lines: the 30 m loss grid)", fontsize=12)
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
