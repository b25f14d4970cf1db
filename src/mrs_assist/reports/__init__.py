"""Reports computed from the stored records (no record is changed)."""
