"""docs/compatibility.md stays true: every gap it lists still raises (a closed gap fails here until its
line is removed), and a gap raises an ordinary exception, not a crash."""

import os
import re

import pytest

import fastnn

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "compatibility.md")


def _gaps():
    text = open(DOC, encoding="utf-8").read()
    section = text.split("## Not supported yet", 1)[1].split("\n## ", 1)[0]
    gaps = []
    for line in section.splitlines():
        if line.startswith("- "):
            gaps.append((line[2:60], re.findall(r"`([^`]+)`", line)[-1]))
    return gaps


GAPS = _gaps()


def test_the_list_is_not_empty():
    assert len(GAPS) >= 10


@pytest.mark.parametrize("what,snippet", GAPS, ids=[g[0] for g in GAPS])
def test_listed_gap_still_raises(what, snippet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a snippet that writes a file writes it here
    namespace = {"torch": fastnn, "__file__": __file__}
    with pytest.raises((AttributeError, TypeError, ValueError, RuntimeError, NotImplementedError)):
        exec(snippet, namespace)  # noqa: S102  (snippets from the project's own doc)
