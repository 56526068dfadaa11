"""Touchpoint name patterns: globs translate to regexes every engine reads the same way."""

from __future__ import annotations

import re

import ibis
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeylens.journeys.patterns import glob_to_regex, is_glob, match_expr, matches_name


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("Resolve*", "Resolve ticket", True),
    ("Resolve*", "Unresolved", False),
    ("T0?-1 *", "T07-1 Draft intern advice", True),
    ("T0?-1 *", "T07-12 Draft", False),
    ("a.b*", "a.bc", True),
    ("a.b*", "aXbc", False),          # the dot is literal
    ("(x)+|y*", "(x)+|yyy", True),    # regex metacharacters are literal
    ("(x)+|y*", "xx", False),
    ("[!A-C]*", "Dog", True),
    ("[!A-C]*", "Cat", False),
    ("[AB]x", "Bx", True),
    ("$identify*", "$identify", True),
])
def test_globs(pattern: str, name: str, expected: bool) -> None:
    assert is_glob(pattern)
    assert matches_name(name, match=[pattern], regex=None) is expected


def test_exact_names_and_regex() -> None:
    assert not is_glob("Closed")
    assert matches_name("Closed", match=["Closed"], regex=None)
    assert not matches_name("Closed!", match=["Closed"], regex=None)
    assert matches_name("T02 Check", match=[], regex=r"^T\d+ ")
    assert not matches_name("XT02 Check", match=[], regex=r"^T\d+ ")
    assert matches_name("CLOSED", match=[], regex="(?i)^closed$")
    assert matches_name("a*b", match=[], regex=None, exact=["a*b"])      # exact even with glob chars
    assert not matches_name("aXb", match=[], regex=None, exact=["a*b"])


@given(st.text(alphabet="ab.*?x()+|^$ -", max_size=8), st.text(alphabet="ab.x()+|^$ -", max_size=8))
def test_glob_regex_agrees_with_a_reference_glob(pattern: str, name: str) -> None:
    reference = "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + "$"
    assert (re.search(glob_to_regex(pattern), name) is not None) == (re.search(reference, name) is not None)


def test_match_expr_on_the_engine_agrees_with_python() -> None:
    names = ["Resolve ticket", "a.bc", "aXbc", "T07-1 Draft", "Closed", "(x)+|yy", "T02 Check", None]
    rules = {"match": ["Resolve*", "a.b*", "T0?-1 *", "Closed", "(x)+|y*"], "regex": r"^T\d+ "}
    t = ibis.memtable(pa.table({"name": pa.array(names, pa.string()), "i": list(range(len(names)))}))
    got = t.mutate(m=match_expr(t.name, **rules)).order_by("i").m.to_list()
    assert got == [n is not None and matches_name(n, **rules) for n in names]
    assert got == [True, True, False, True, True, True, True, False]
