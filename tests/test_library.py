"""The library's public face: typed functions whose docstring examples run, and README's library examples, run."""

from __future__ import annotations

import doctest
import inspect
import re
from pathlib import Path

import pytest

import optimizer

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ["audit", "load_scenario", "pairing_graph", "plan_frame", "plan_value", "solve"]


def library_examples() -> list[str]:
    """The ```python blocks of README.md's "Use as a library" section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Use as a library\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_public_face_is_typed_and_documented() -> None:
    assert set(PUBLIC) <= set(optimizer.__all__)
    for name in optimizer.__all__:
        function = getattr(optimizer, name)
        signature = inspect.signature(function)
        assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type"
        untyped = [p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty]
        assert not untyped, f"{name}: untyped parameters {untyped}"
        assert ">>> " in (function.__doc__ or ""), f"{name}: no example in its docstring"


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_example(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples name scenarios by paths from the repository root
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(getattr(optimizer, name), name, globs={}):
        runner.run(test, out=report.append)
    assert runner.summarize(verbose=False).attempted > 0
    assert runner.failures == 0, "".join(report)


def test_readme_library_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = library_examples()
    assert len(blocks) >= 5
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "readme"}
    for i, block in enumerate(blocks, 1):
        exec(compile(block, f"README.md, library example {i}", "exec"), namespace)
