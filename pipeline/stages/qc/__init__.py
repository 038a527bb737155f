"""Quality control of plot geometries: what can be screened, and what to tell the user."""

from .checks import QCResult, check_plots, declared_areas
from .codes import ISSUE_CODES, SEVERITY_ORDER, IssueCode

__all__ = ["ISSUE_CODES", "SEVERITY_ORDER", "IssueCode", "QCResult", "check_plots", "declared_areas"]
