"""``check_*`` helpers for the notebooks' exercises, one module per notebook (``mmlab.exercises.text`` for
notebook 03, ...). Each check prints a pass/fail verdict with a hint and returns it; see ``common``."""
