"""``python -m mmlab.data.byo``: check or convert your own catalog (see :func:`mmlab.data.byo.main`)."""

import sys

from mmlab.data.byo import main

sys.exit(main())
