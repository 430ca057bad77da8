"""The appendix's scan estimate on a whole report in Athena extract mode, against a moto server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.test_athena_extract import unload  # noqa: F401
from tests.integration.test_athena_runs import answers, moto_athena  # noqa: F401
from tests.support.athena import WINDOW, AthenaPlan
from tests.support.athena_unload import UNLOAD_SCANNED, UnloadEmulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _appendix_cells(html: str) -> dict[str, list[str]]:
    """Per appendix row (query name): rows, runtime, data scanned, estimate, scan cost."""
    appendix = html[html.index('id="appendix-h"') :]
    appendix = appendix[: appendix.index("</table>")]
    return {
        name: re.findall(r'<td class="num">([^<]*)</td>', row)
        for name, row in re.findall(r"<tr><td>([a-z0-9_]+)</td>(.*?)</tr>", appendix, re.DOTALL)
    }


def test_extract_mode_estimates_the_two_unloads_and_not_the_local_queries(
    unload: UnloadEmulator,  # noqa: F811
    moto_athena: AthenaPlan,  # noqa: F811
) -> None:
    from flows.report import finops_report

    path = finops_report(engine="athena", start=WINDOW[0], end=WINDOW[1])
    html = Path(path).read_text()
    cells = _appendix_cells(html)
    estimated = {n for n, c in cells.items() if c[3] != "&ndash;"}
    # the currency survey and the two UNLOADs read the source on Athena; the stored queries and
    # the comparisons ran on the local copies and have neither Athena bytes nor an estimate
    assert estimated == {"currency_survey", "athena_extract", "athena_extract_comparisons"}
    assert cells["window_totals"][2:4] == ["local", "&ndash;"]
    assert cells["previous_period_totals"][2:4] == ["local", "&ndash;"]
    total_mb = 2 * UNLOAD_SCANNED / 1048576  # moto reports no bytes for the survey
    note = re.search(
        r'<p id="athena-scan">The 3 statements that read the source table scanned ([\d,.]+) MB',
        html,
    )
    assert note is not None
    assert note.group(1) == f"{total_mb:,.1f}"
    # the split keeps Athena's total (each estimate rounded to 0.1 MB on the page)
    shown = sum(float(cells[n][3].split(" MB")[0].replace(",", "")) for n in estimated)
    assert shown == pytest.approx(total_mb, abs=0.2)
