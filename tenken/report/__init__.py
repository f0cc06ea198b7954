"""The report folder a road crew hands on: map page, GeoJSON, CSV and a JSON summary."""

from tenken.report.writer import write_report

__all__ = ["write_report"]
