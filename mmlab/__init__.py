"""mmlab: shared code for the multimodal product retrieval workbook."""

__version__ = "0.1.0"
