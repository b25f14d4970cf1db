"""The HTTP contract through TestClient: shapes, errors, and no stack traces."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from mrs_assist.api import create_app
from mrs_assist.config import Settings
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"  # without keys the app answers only a loopback Host (mrs_assist.api.loopback)


@dataclass
class FakeHit:
    clause_id: str
    policy_id: str
    payer: str
    section: str
    text: str
    score: float


@dataclass
class FakeResult:
    hits: list
    best_dense_similarity: float


@dataclass
class KeywordRetriever:
    """Returns clauses sharing a word with the question; records the calls."""

    corpus: object
    calls: list = field(default_factory=list)

    def search(self, question, policy_ids=None, top_k=5, **options):
        self.calls.append((question, policy_ids, top_k))
        words = {w.lower() for w in question.split() if len(w) > 4}
        hits = []
        for c in self.corpus.clauses():
            if policy_ids and c.policy_id not in policy_ids:
                continue
            overlap = len(words & {w.lower().strip(".,;()") for w in c.text.split()})
            if overlap:
                payer = self.corpus.documents[c.policy_id].meta.payer
                hits.append(FakeHit(c.id, c.policy_id, payer, c.section, c.text, float(overlap)))
        hits.sort(key=lambda h: -h.score)
        return FakeResult(hits[:top_k], 0.9 if hits else 0.0)


@pytest.fixture()
def services():
    s = Services(Settings())
    s._retriever = KeywordRetriever(s.corpus)
    return s


@pytest.fixture()
def client(services):
    return TestClient(create_app(services=services), base_url=LOCAL, raise_server_exceptions=False)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_policies_lists_every_document(client):
    r = client.get("/v1/policies")
    assert r.status_code == 200
    ids = [p["policy_id"] for p in r.json()]
    assert ids[:4] == sorted(["cohere-mrs", "floridablue-mrs", "healthhelp-mrs", "nia-brain-mrs"])
    assert "magellan-mrs-digest" in ids
    cohere = next(p for p in r.json() if p["policy_id"] == "cohere-mrs")
    assert cohere["version"] == "2" and cohere["dates"]["effective"] == "2024-10-30"


def test_ask_contract_shape_and_verbatim_citations(client, services):
    r = client.post("/v1/ask", json={"question": "What does the evidence say about glioma grading?", "top_k": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"answer", "citations", "mode", "verdict"}  # verdict: new in issue 13, nothing removed
    # claim and described: new in issue 23, nothing removed
    assert set(body["verdict"]) == {"text", "basis", "claims", "checked", "claim", "described"}
    assert body["answer"].startswith(body["verdict"]["text"])
    assert body["mode"] == "extractive"
    assert 1 <= len(body["citations"]) <= 3
    for c in body["citations"]:
        assert set(c) == {"clause_id", "policy_id", "section", "text", "score"}
        assert services.corpus.clause(c["clause_id"]).text == c["text"]
        assert f"[{c['clause_id']}]" in body["answer"]


def test_ask_passes_policy_filter_and_top_k(client, services):
    r = client.post("/v1/ask", json={"question": "recurrent tumor", "policy_ids": ["nia-brain-mrs"], "top_k": 2})
    assert r.status_code == 200
    assert services.retriever.calls[-1] == ("recurrent tumor", ["nia-brain-mrs"], 2)
    assert all(c["policy_id"] == "nia-brain-mrs" for c in r.json()["citations"])


def test_ask_nothing_relevant_says_not_addressed(client):
    r = client.post("/v1/ask", json={"question": "zzzzzz qqqqqq"})
    assert r.status_code == 200
    assert r.json()["citations"] == [] and "do not address" in r.json()["answer"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid_request"),
        ({"question": ""}, 422, "invalid_request"),
        ({"question": "x", "top_k": 0}, 422, "invalid_request"),
        ({"question": "x", "top_k": "many"}, 422, "invalid_request"),
        ({"question": "x", "surprise": 1}, 422, "invalid_request"),
        ({"question": "x" * 2001}, 422, "invalid_request"),
        ({"question": "x", "policy_ids": ["aetna-mrs"]}, 404, "unknown_policy"),
    ],
)
def test_ask_bad_input_gets_json_error(client, body, status, code):
    r = client.post("/v1/ask", json=body)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert "Traceback" not in r.text


def test_malformed_json_and_unknown_route(client):
    r = client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_unknown_policy_error_lists_known_ids(client):
    r = client.post("/v1/ask", json={"question": "x", "policy_ids": ["aetna-mrs"]})
    assert "cohere-mrs" in r.json()["error"]["message"]


def test_unexpected_failure_is_json_500_without_details(services):
    class Broken:
        def search(self, *a, **k):
            raise RuntimeError("secret note text")

    services._retriever = Broken()
    # raise_server_exceptions=True: the exception must not escape to the server (which
    # would log its traceback, text and all); the app answers the JSON 500 itself.
    client = TestClient(create_app(services=services), base_url=LOCAL, raise_server_exceptions=True)
    r = client.post("/v1/ask", json={"question": "anything"})
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": "internal error; the event was logged"}}
    assert "secret" not in r.text


def test_openapi_docs_served(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200 and "/v1/ask" in r.json()["paths"]
