"""Test and operations support: real servers on loopback, fault injection, load (not shipped in the wheel)."""
