"""The CX programme: journey-management maturity from evidence and self-assessment.

>>> from journeylens.operations.maturity import default_model
>>> len(default_model().dimensions)
6
"""

from journeylens.operations.maturity import providers as _providers  # noqa: F401  (registers evidence)
from journeylens.operations.maturity.assessment import (
    MaturityResult,
    assess,
    current_answers,
    history,
    latest,
    submit_answers,
)
from journeylens.operations.maturity.framework import (
    MaturityModel,
    MaturityModelError,
    default_model,
    load_model,
    parse_model,
)

__all__ = ["MaturityModel", "MaturityModelError", "MaturityResult", "assess", "current_answers",
           "default_model", "history", "latest", "load_model", "parse_model", "submit_answers"]
