"""Running a configured job: the only package that chains the stages with reading and writing.

One module per command job, as :mod:`pipeline.cli` has one per command:

* :mod:`.screen` — :func:`run`, a screening job (``cacao-screen run`` and ``screen``): check the
  destinations, open the products, screen the plots (:mod:`.streaming`: in chunks, in bounded
  memory), write ``screening.gpkg`` atomically, then the baseline, exports and report it asks for;
* :mod:`.baseline` — :func:`run_baseline`, the baseline from an existing screening;
* :mod:`.export` — :func:`run_export`; :mod:`.report` — :func:`run_report`;
* :mod:`.validate` — :func:`run_validate`, quality control alone;
* :mod:`.fetch` — :func:`run_fetch_tiles`, the raster tiles under the plots;
* :mod:`.common` — what they share: :class:`Invocation`, provenance, :class:`Phases`.

Everything is checked before the work starts (destinations, inputs), so a bad input fails in a
second, not after an hour of screening.
"""

from .baseline import BaselineSources, load_baseline_inputs, run_baseline, stage_baseline, stored_config
from .common import Invocation, Phases, published
from .export import run_export
from .fetch import TileRequest, run_fetch_tiles
from .report import run_report
from .screen import JobResult, check_job_targets, job_inputs, open_products, run, screening_metadata
from .validate import run_validate

__all__ = [
    "BaselineSources",
    "Invocation",
    "JobResult",
    "Phases",
    "TileRequest",
    "check_job_targets",
    "job_inputs",
    "load_baseline_inputs",
    "open_products",
    "published",
    "run",
    "run_baseline",
    "run_export",
    "run_fetch_tiles",
    "run_report",
    "run_validate",
    "screening_metadata",
    "stage_baseline",
    "stored_config",
]
