"""The MiniMart catalog: committed assets, the deterministic generator, and your own catalog."""
