"""The baseline of deforestation associated with cocoa, and what is built from a screening:
groups and regions, restoration rings, the supply chain, monitoring. Frames in, frames out."""

from .build import BaselineInputs, BaselineMeasure, BaselineResult, ScreeningRead, build_baseline

__all__ = ["BaselineInputs", "BaselineMeasure", "BaselineResult", "ScreeningRead", "build_baseline"]
