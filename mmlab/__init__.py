"""mmlab: shared code for the multimodal product retrieval workbook."""

from mmlab.config import pin_numerics

pin_numerics()  # before PyTorch computes anything: the same numbers on every x86 CPU

__version__ = "0.1.0"
