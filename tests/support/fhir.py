"""Test support for the FHIR tests: the published fixtures, and MRS requests derived from the
published conformant PAS bundle (same resources; the item asks for CPT 76390)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
PAYER = "MARYLAND CAPITAL INSURANCE COMPANY"
"""The insurer of the published examples."""
SUPPORTING = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASSupportingInfoType"


def fixture(name: str) -> dict[str, Any]:
    """A published example from tests/fixtures/fhir (see SOURCES.md)."""
    return json.loads((FIXTURES / name).read_text())


def payer_map(tmp_path: Path, policy_id: str) -> Path:
    """A payer map sending the published examples' insurer to `policy_id`."""
    path = tmp_path / "payers.yaml"
    path.write_text(f"rules:\n  - payer_name: {PAYER}\n    policy_id: {policy_id}\n")
    return path


def answers(policy_id: str, facts: dict[str, bool], *, version: str | None = None) -> dict[str, Any]:
    """A QuestionnaireResponse answering the policy's questions (flat items, linkId = fact)."""
    qr: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": k, "answer": [{"valueBoolean": v}]} for k, v in facts.items()],
    }
    if version:
        qr["questionnaire"] = f"http://mrs-assist.local/fhir/Questionnaire/{policy_id}|{version}"
    return qr


def npi(digits: str) -> str:
    """A valid NPI from up to 9 digits: left-padded to 9, then the Luhn check digit over the
    '80840' prefix (the rule of the snapshots' invariant us-core-17)."""
    base = digits.zfill(9)[-9:]
    total = 0
    for i, ch in enumerate(reversed("80840" + base)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return base + str((10 - total % 10) % 10)


def valid_npis(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle with each NPI that is not 10 digits made a valid one (the PAS 1.1.0 fixture's
    insurer and practitioner NPIs break the snapshots' invariants us-core-16/17)."""
    for entry in bundle["entry"]:
        for ident in entry["resource"].get("identifier") or []:
            if ident.get("system") == "http://hl7.org/fhir/sid/us-npi" and len(ident.get("value", "")) != 10:
                ident["value"] = npi(ident["value"])
    return bundle


def mrs_bundle(*, claim_id: str = "REQ-1", notes: str | None = None, facts_qr: dict[str, Any] | None = None,
               cpt: str = "76390", urgent: bool = False) -> dict[str, Any]:
    """The published conformant PAS bundle asking for `cpt`, with notes as a text attachment
    and a DTR QuestionnaireResponse in supportingInfo when given."""
    bundle = valid_npis(copy.deepcopy(fixture("inferno/conformant_pas_bundle_v110.json")))
    claim = bundle["entry"][0]["resource"]
    claim["identifier"][0]["value"] = claim_id
    claim["item"][0]["productOrService"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": cpt}]}
    # PAS 2.2.1 requires item.category (the fixture is a PAS 1.1.0 bundle): X12 1365 service type
    claim["item"][0]["category"] = {"coding": [{"system": "https://codesystem.x12.org/005010/1365", "code": "73",
                                                "display": "Diagnostic Medical"}]}
    if not urgent:
        claim["extension"] = []
    claim["supportingInfo"] = []
    extra = []
    if notes is not None:
        data = base64.b64encode(notes.encode()).decode()
        extra.append({"resourceType": "DocumentReference", "id": f"notes-{claim_id}", "status": "current",
                      "content": [{"attachment": {"contentType": "text/plain", "data": data}}]})
    if facts_qr is not None:
        extra.append({**facts_qr, "id": f"dtr-{claim_id}"})
    for seq, res in enumerate(extra, start=1):
        bundle["entry"].append({"fullUrl": f"https://example.org/fhir/{res['resourceType']}/{res['id']}", "resource": res})
        claim["supportingInfo"].append({
            "sequence": seq,
            "category": {"coding": [{"system": SUPPORTING, "code": "additionalInformation"}]},
            "valueReference": {"reference": f"{res['resourceType']}/{res['id']}"},
        })
    if not claim["supportingInfo"]:
        del claim["supportingInfo"]
    return bundle


def review_action(bundle: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(X12 306 code, reviewAction sub-extensions) of the first item of the bundle's ClaimResponse."""
    cr = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ClaimResponse")
    ext = cr["item"][0]["adjudication"][0]["extension"][0]["extension"]
    code = next(e["valueCodeableConcept"]["coding"][0]["code"] for e in ext if e["url"].endswith("reviewActionCode"))
    return code, ext


def claim_response(bundle: dict[str, Any]) -> dict[str, Any]:
    """The ClaimResponse of a response bundle."""
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ClaimResponse")


def sign(client, record_id: str, headers: dict[str, str]):
    """Sign a record through the JSON API as a signer would: fill the letter's placeholders (a
    letter still showing one is not signed), then sign as reviewed (review_hash) and attested."""
    plain = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    seen = client.get(f"/v1/determinations/{record_id}", headers=headers).json()
    letter = seen.get("letter_markdown")
    if letter and (filled := fill_placeholders(letter)) != letter:
        client.put(f"/v1/determinations/{record_id}/letter", json={"markdown": filled}, headers=plain)
        seen = client.get(f"/v1/determinations/{record_id}", headers=headers).json()
    return client.post(f"/v1/determinations/{record_id}/sign", json={"review_hash": seen["review_hash"], "attest": True},
                       headers=plain)


def fill_placeholders(markdown: str) -> str:
    """The letter with every placeholder a signer must fill replaced by a sample value."""
    from mrs_assist.letters.settings import load_letter_settings
    from mrs_assist.letters.structure import FILLED_AT_SIGNING

    for name, text in load_letter_settings().placeholders.model_dump().items():
        if name not in FILLED_AT_SIGNING:
            markdown = markdown.replace(text, f"Sample {name.replace('_', ' ')}")
    return markdown