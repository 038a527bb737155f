"""Running a configured job: the only package that chains the stages with reading and writing.

One module per command job, as :mod:`pipeline.cli` has one per command:

* :mod:`.screen` — :func:`run`, a screening job (``cacao-screen run`` and ``screen``): check the
  destinations, open the products, screen the plots (:mod:`.streaming`: in chunks, in bounded
  memory), write ``screening.gpkg`` atomically, then the baseline, exports and report it asks for;
* :mod:`.baseline` — :func:`run_baseline`, the baseline from an existing screening;
* :mod:`.export` — :func:`run_export`; :mod:`.report` — :func:`run_report`;
* :mod:`.validate` — :func:`run_validate`, quality control alone;
* :mod:`.fetch` — :func:`run_fetch_tiles`, the raster tiles under the plots;
* :mod:`.fieldpack` — :func:`run_field_pack`, a package of forms for the field check;
  :mod:`.reviews` — :func:`run_reviews_import`, the filled forms into the review log;
* :mod:`.common` — what they share: :class:`Invocation`, provenance, :class:`Phases`.

Everything is checked before the work starts (destinations, inputs), so a bad input fails in a
second, not after an hour of screening.
"""

import importlib
from typing import TYPE_CHECKING, Any

#: Where each name lives. A command imports only its own job's module (on first use of the name):
#: ``screen`` does not load the baseline's, the exports' or the report's code (see tests/test_startup.py).
_WHERE = {
    "BaselineSources": "baseline",
    "load_baseline_inputs": "baseline",
    "run_baseline": "baseline",
    "stage_baseline": "baseline",
    "stored_config": "baseline",
    "Invocation": "common",
    "Phases": "common",
    "published": "common",
    "run_export": "export",
    "TileRequest": "fetch",
    "run_fetch_tiles": "fetch",
    "FieldPackResult": "fieldpack",
    "run_field_pack": "fieldpack",
    "run_report": "report",
    "ImportResult": "reviews",
    "run_reviews_import": "reviews",
    "JobResult": "screen",
    "check_job_targets": "screen",
    "job_inputs": "screen",
    "open_products": "screen",
    "run": "screen",
    "screening_metadata": "screen",
    "run_validate": "validate",
}

if TYPE_CHECKING:
    from .baseline import BaselineSources, load_baseline_inputs, run_baseline, stage_baseline, stored_config
    from .common import Invocation, Phases, published
    from .export import run_export
    from .fetch import TileRequest, run_fetch_tiles
    from .fieldpack import FieldPackResult, run_field_pack
    from .report import run_report
    from .reviews import ImportResult, run_reviews_import
    from .screen import JobResult, check_job_targets, job_inputs, open_products, run, screening_metadata
    from .validate import run_validate


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "BaselineSources",
    "FieldPackResult",
    "ImportResult",
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
    "run_field_pack",
    "run_report",
    "run_reviews_import",
    "run_validate",
    "screening_metadata",
    "stage_baseline",
    "stored_config",
]
