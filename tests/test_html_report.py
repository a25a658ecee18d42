"""The offline HTML report in headless Chromium: it loads with no console error and no request, shows the
figures of the run's summary.json, and its plan table sorts and filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from models import load_plan
from optimizer import audit, load_scenario
from optimizer.cli import app
from optimizer.html_report import render

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "scenario.yaml"
GUANGDONG = ROOT / "scenarios" / "guangdong-2021" / "scenario.yaml"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(.ci/run does this before the tests)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail('playwright is missing: pip install -e ".[dev]"')
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Page:
    """A report opened in Chromium, with every console error, page error and request it caused."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.as_uri()
        self.page.goto(self.url, wait_until="load")

    def figure(self, key: str) -> str:
        return str(self.page.inner_text(f'[data-figure="{key}"] b'))

    def column(self, key: str) -> list[str]:
        index = self.page.eval_on_selector(f'#plan-table th[data-key="{key}"]', "th => th.cellIndex")
        return list(self.page.eval_on_selector_all(
            "#plan-table tbody tr:not([hidden])", f"rows => rows.map(r => r.cells[{index}].textContent)"))

    def assert_clean(self) -> None:
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(null)))")
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.requests == [self.url], f"the page fetched more than itself: {self.requests}"


def _run(*args: str, code: int = 0) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output


def _solved(scenario: Path, out: Path) -> dict[str, Any]:
    """Solve and report through the CLI; the run's summary.json."""
    _run("solve", str(scenario), "--out", str(out), "--quiet")
    _run("report", str(scenario), str(out / "plan.csv"), "--out", str(out / "report.html"))
    return dict(json.loads((out / "summary.json").read_text(encoding="utf-8")))


def _assert_matches_summary(page: Page, summary: dict[str, Any]) -> None:
    assert int(page.figure("key_towns")) == summary["key_towns"]
    for tier, count in summary["tier_counts"].items():
        assert int(page.figure(tier)) == count
    assert int(page.figure("objective")) == summary["objective"]
    assert int(page.figure("kept")) == summary["continuity"]["kept"]
    assert int(page.figure("changed")) == summary["continuity"]["changed"]
    assert page.figure("audit") == ("passed" if summary["audit"]["passed"] else "failed")
    totals = page.page.eval_on_selector_all("#tiers text.total", "ts => ts.map(t => Number(t.textContent))")
    assert sum(totals) == summary["key_towns"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("tiny")
    return out, _solved(TINY, out)


def test_tiny_report_shows_the_summary_figures(browser: Any, tiny: tuple[Path, dict[str, Any]]) -> None:
    out, summary = tiny
    page = Page(browser, out / "report.html")
    _assert_matches_summary(page, summary)
    assert (summary["key_towns"], summary["tier_counts"]) == (10, {"prd": 5, "provincial": 2, "local": 3})
    assert page.page.locator("#plan-table tbody tr").count() == 10
    assert page.page.locator("#map circle.town").count() == 10
    assert page.page.locator("#map line.link").count() == 10
    assert page.page.get_attribute("[data-audit]", "data-audit") == "passed"
    page.assert_clean()


def test_plan_table_sorts_and_filters(browser: Any, tiny: tuple[Path, dict[str, Any]]) -> None:
    page = Page(browser, tiny[0] / "report.html")
    ids = page.column("town_id")
    heading = page.page.locator('#plan-table th[data-key="town_id"]')
    heading.click()
    assert page.column("town_id") == sorted(ids)
    assert heading.get_attribute("aria-sort") == "ascending"
    heading.click()
    assert page.column("town_id") == sorted(ids, reverse=True)
    assert heading.get_attribute("aria-sort") == "descending"
    page.page.locator('#plan-table th[data-key="city"]').click()
    assert page.column("city")[0] == "河源市"  # Chinese collation: hé before méi
    page.page.fill("#plan-filter", "梅州")
    assert page.column("city") == ["梅州市"] * 5
    assert page.page.inner_text("#plan-count") == "5"
    page.page.select_option("#plan-tier", "prd")
    assert set(page.column("tier")) == {"prd"} and page.page.inner_text("#plan-count") == "2"
    page.assert_clean()


def test_violations_are_listed_by_rule(browser: Any, tiny: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    plan = (tiny[0] / "plan.csv").read_text(encoding="utf-8")
    broken = tmp_path / "plan.csv"
    broken.write_text(plan.replace(",hy-office,", ",sz-futian,"), encoding="utf-8")
    _run("report", str(TINY), str(broken), "--out", str(tmp_path / "report.html"), code=1)
    expected = audit(load_scenario(TINY), load_plan(broken))
    page = Page(browser, tmp_path / "report.html")
    assert page.figure("audit") == "failed"
    shown = page.page.eval_on_selector_all("#audit details", "ds => ds.map(d => [d.dataset.rule, "
                                           "d.querySelectorAll('li').length])")
    counts = {rule.value: sum(v.rule is rule for v in expected.violations) for rule in expected.rules_broken()}
    assert dict(shown) == counts and counts
    page.assert_clean()


def test_render_audits_when_no_report_is_given(tiny: tuple[Path, dict[str, Any]]) -> None:
    scenario, plan = load_scenario(TINY), load_plan(tiny[0] / "plan.csv")
    assert render(scenario, plan) == render(scenario, plan, audit(scenario, plan))


def test_guangdong_report(browser: Any, tmp_path: Path) -> None:
    summary = _solved(GUANGDONG, tmp_path)
    page = Page(browser, tmp_path / "report.html")
    _assert_matches_summary(page, summary)
    assert summary["tier_counts"] == {"prd": 300, "provincial": 120, "local": 180}
    assert page.page.locator("#plan-table tbody tr").count() == 600
    assert page.page.locator("#map circle.town").count() == 600
    assert page.page.locator("#capacity svg g").count() == 287
    page.assert_clean()
