"""mrs-asp: the MR spectroscopy guideline (CPT 76390) as answer-set programming.

Library API::

    from mrs_asp import decide, load_case
    answer = decide([load_case("cases/01-glioma-grading-approved.json")])[0]
    answer.determination, answer.explanation, answer.missing
"""

from .answer import Answer, decide, engine_for
from .case_errors import CaseError
from .cases import case_json_schema
from .loading import LoadedCase, iter_cases, load_case, parse_case

__all__ = ["Answer", "CaseError", "LoadedCase", "case_json_schema", "decide", "engine_for",
           "iter_cases", "load_case", "parse_case"]
__version__ = "0.1.0"
