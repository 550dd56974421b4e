"""Reporting: tables and figures over finished runs (`benchmark report`), and grids of runs
(`benchmark sweep`)."""
from benchmark.reporting.report import build_report, write_run_report

__all__ = ["build_report", "write_run_report"]
