"""Test-session settings."""

import atexit
import os
import shutil
import tempfile

# The prepared-KB cache (mrs_asp/kb.py) of this test session lives in a
# directory of its own, removed at the end: the tests decide many copies and
# mutants of kb/, each with its own fingerprint. CLI tests run in child
# processes, which inherit it.
if "MRS_ASP_CACHE" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="mrs-asp-test-cache-")
    os.environ["MRS_ASP_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)
