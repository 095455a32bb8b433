"""The models the notebooks teach, forward passes only: each module is generated from its notebook's saved cells."""
