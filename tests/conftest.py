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


def pytest_collection_modifyitems(items):
    """schemathesis (4.x) gives every operation's test one node id, the
    function's (``test_service_fuzz.py::test_success_no_endpoint_answers_5xx``),
    though each item's name names its operation. Node ids must be unique:
    pytest-xdist hands tests to its workers by node id, and with twenty equal
    ones it ran one operation and reported one test. Each gets its name."""
    for item in items:
        module, _, name = item.nodeid.rpartition("::")
        if name != item.name and item.name.startswith(name + "["):
            if hasattr(item, "_id"):  # pytest >= 9 keeps the id structured
                item._id = item.parent.id.child(item.name)
            else:
                item._nodeid = f"{module}::{item.name}"
            assert item.nodeid == f"{module}::{item.name}", item.nodeid
