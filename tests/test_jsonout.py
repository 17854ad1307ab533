"""The fast JSON writer of reports writes exactly what ``json.dumps(indent=2)`` writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ccspend.cli.jsonout import PLAIN_ROWS, dumps, dumps_fast

_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=("Cs",))), inner,
                      max_size=4),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(_values)
def test_same_bytes_as_the_standard_library(data):
    assert dumps_fast(data) == json.dumps(data, indent=2)


def test_the_numbers_and_texts_that_differ_between_the_encoders():
    data = {
        "tiny": [1e-05, 7.916623184004055e-06, -2.5e-07, 0.0001, 0.00012],
        "huge": [1e16, 1.2345678901234568e17, 1.7976931348623157e308, 9999999999999998.0],
        "plain": [0.1, 12345.678, 0, -3, 100.0],
        "text": ["données", "日本語", "emoji 😀", 'quote " and \\ and \n', "1e-05", "e"],
        "données": {"0.00001": 1e-05, "nested": [[], {}, [{}]]},
    }
    assert dumps_fast(data) == json.dumps(data, indent=2)


def test_a_lone_surrogate_is_written_as_the_standard_library_writes_it():
    data = {"path": "/tmp/bad-\udcff-name"}
    assert dumps_fast(data) == json.dumps(data, indent=2)


def test_a_report_of_few_rows_is_written_by_the_standard_library_and_many_by_msgspec():
    """Both give the same bytes; a report after a new line (a few rows) so imports no
    msgspec, a long one (thousands of sessions) is not left to the slow encoder."""
    import subprocess
    import sys

    for n in (PLAIN_ROWS, PLAIN_ROWS + 1):
        data = {"rows": [{"key": str(i), "cost_usd": 1e-05 * i, "é": "日本"} for i in range(n)]}
        assert dumps(data) == json.dumps(data, indent=2)
    code = ("import sys; from ccspend.cli.jsonout import dumps; "
            "dumps({{'rows': [{{'k': 1}}] * {n}}}); print('msgspec' in sys.modules)")
    for n, loaded in ((PLAIN_ROWS, "False"), (PLAIN_ROWS + 1, "True")):
        r = subprocess.run([sys.executable, "-c", code.format(n=n)], capture_output=True,
                           text=True)  # fmt: skip
        assert r.stdout.split() == [loaded], r.stderr
