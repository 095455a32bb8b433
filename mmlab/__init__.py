"""mmlab: shared code for the multimodal product retrieval workbook."""

from mmlab.config import pin_numerics

pin_numerics()  # before PyTorch computes anything: the same numbers on every CPU of a class

__version__ = "0.1.0"
