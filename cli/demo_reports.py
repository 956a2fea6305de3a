"""The demo's reports phase: every report from the exported bundle, with the real command.

Runs after the bundle was exported and verified (``custody.cli.demo``): ``custody report all`` writes the
media register, one disposal certificate per disposed medium, the completion report, the MIC
inspection form and the findings, each as PDF, HTML and JSON, and their tables as CSV and XLSX, in
Japanese; the completion report is written in English as well.  Everything lands in ``demo.reports``
(``demo-output/reports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custody.cli.demo import Demo


def reports_phase(demo: Demo) -> None:
    """Write every report (PDF, HTML, JSON, CSV, XLSX; Japanese, and the completion report in English too)."""
    trust = demo.trust()
    # The demo's bundle verified with exit 0 just before (Demo.export_and_verify), so this exits 0 too.
    demo.custody("report", "all", str(demo.bundle), *trust, "--format", "all", "--lang", "ja",
                 "--output", str(demo.reports))
    demo.custody("report", "completion", str(demo.bundle), *trust, "--format", "all", "--lang", "en",
                 "--output", str(demo.reports))
