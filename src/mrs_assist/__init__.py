"""mrs-assist: cited answers and criteria-checked determinations for MR spectroscopy (CPT 76390)."""

__version__ = "0.1.0"
