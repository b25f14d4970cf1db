"""A two-document packet whose documents disagree (issue 18), shared by the API and browser tests:
document B (the later) denies the brain tumor and the inconclusive MRI that the order form in
document A asserts, and contests its own pacemaker line."""

PACKET = (
    "DOCUMENT A - ORDER FORM 01/10/2025\n"
    "Reason for study: known brain tumor. Conventional MRI inconclusive.\n"
    "MRS requested to distinguish tumor recurrence from radiation necrosis.\n"
    "\n"
    "DOCUMENT B - NEUROLOGY NOTE 02/20/2025\n"
    "Work-up complete: biopsy showed demyelination; no brain tumor.\n"
    "MRI brain conclusive for tumefactive demyelination.\n"
    "No pacemaker. Implants: pacemaker placed 2019.\n"
)
