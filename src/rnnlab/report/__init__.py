"""HTML reports of run directories."""

from ._html import rebuild_report as rebuild_report
from ._html import render_run_report as render_run_report
from ._html import write_run_report as write_run_report
from ._sweep import write_sweep_report as write_sweep_report
