"""Maintainer tools around the workbook: exporting the models written in the notebooks into mmlab."""
