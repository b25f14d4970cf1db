"""FHIR faces of the same library: Da Vinci PAS ($submit, $inquiry), DTR questionnaires from
the criteria trees, and a CRD CDS Hooks card.

Resources are parsed and validated with `fhir.resources` (R4B models, which read R4 PAS
content unchanged); nothing here hand-writes FHIR classes. The FHIR path decides nothing
itself: it turns a bundle into the same `DeterminationRequest` the JSON API takes, calls the
same `Services` functions, stores the same records, and turns a record back into FHIR.
"""
