"""One place builds the app's state: `create_app` builds (or is handed) one `Services` that owns
the records, the authenticator, the FHIR service and readiness; dependencies only read it;
background work starts and stops with the app's lifespan."""

from __future__ import annotations

from functools import cached_property

import pytest
from fastapi.testclient import TestClient

from mrs_assist.api import create_app
from mrs_assist.api.deps import get_fhir, get_readiness, get_records
from mrs_assist.config import Settings
from mrs_assist.errors import ConfigError
from mrs_assist.readiness import ReadinessReport
from mrs_assist.service import Services

LOCAL = "http://127.0.0.1"


class FakeReadiness:
    def __init__(self) -> None:
        self.started = 0

    def check(self) -> ReadinessReport:
        return ReadinessReport(ready=True, checks={"index": {"ok": True, "message": "fake"}})

    def start_background(self) -> None:
        self.started += 1


class SpyServices(Services):
    closed = 0

    @cached_property
    def readiness(self):
        return FakeReadiness()

    def close(self) -> None:
        self.closed += 1
        super().close()


def test_a_configuration_error_stops_create_app_not_a_request(tmp_path):
    with pytest.raises(ConfigError, match="API key is required"):
        create_app(Settings(data_dir=tmp_path, auth="on", api_keys=None, api_keys_file=None))


def test_the_routes_read_what_create_app_built(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, public_url="https://um.example.org/"), host="127.0.0.1")
    services = app.state.services
    assert get_fhir(services) is services.fhir and get_readiness(services) is services.readiness
    assert services.fhir.base_url == "https://um.example.org"  # the setting, never a request's Host
    client = TestClient(app, base_url=LOCAL)
    body = client.get("/fhir/metadata", headers={"Host": "127.0.0.1:9999"}).json()
    assert body["implementation"]["url"] == "https://um.example.org/fhir"
    assert get_records(services) is services.records  # opened once, on first use, by the Services
    services.close()


def test_background_work_starts_and_stops_with_the_lifespan(tmp_path):
    services = SpyServices(Settings(data_dir=tmp_path))
    app = create_app(services=services, host="127.0.0.1")
    client = TestClient(app, base_url=LOCAL)
    assert client.get("/readyz").status_code == 200 and services.readiness.started == 0  # no lifespan, no threads
    assert "subscriptions" not in vars(services.fhir)  # no pusher either
    with TestClient(app, base_url=LOCAL) as running:
        assert services.readiness.started == 1 and services.closed == 0
        pusher = services.fhir.subscriptions._thread
        assert pusher is not None and pusher.is_alive()  # before any subscription: none starts it later
        assert running.get("/healthz").status_code == 200
    assert services.closed == 1
    assert not pusher.is_alive() and services.fhir.subscriptions._thread is None


def test_the_pusher_starts_while_the_database_is_down(tmp_path):
    """A worker started during a database outage still pushes once it is back: starting the
    pusher opens nothing (a request never starts it later)."""
    from support.servers import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"  # nothing listens there
    services = SpyServices(Settings(data_dir=tmp_path, database_url=url, fhir_notify_interval_seconds=60))
    with TestClient(create_app(services=services, host="127.0.0.1"), base_url=LOCAL):
        assert services.fhir.subscriptions._thread.is_alive()
    assert services.fhir.subscriptions._thread is None


def test_a_test_swaps_a_dependency_without_touching_globals(tmp_path):
    app = create_app(Settings(data_dir=tmp_path), host="127.0.0.1")
    fake = FakeReadiness()
    app.dependency_overrides[get_readiness] = lambda: fake
    assert TestClient(app, base_url=LOCAL).get("/readyz").json()["checks"]["index"]["message"] == "fake"


def test_the_asker_reads_one_collaborator_the_services(tmp_path):
    services = Services(Settings(data_dir=tmp_path))
    assert services.asker.sources is services and services.asker.settings is services.settings
    assert services.asker.corpus is services.corpus


def test_an_ask_hands_the_thread_pool_only_the_answer(tmp_path, monkeypatch):
    """Dependencies that only read attributes, and the response check, run on the event loop:
    each hand-off to the thread pool costs more than they do (issue 22 item 8)."""
    import fastapi.dependencies.utils
    import fastapi.routing
    import starlette.concurrency

    from mrs_assist.api.routers import ask as ask_route
    from mrs_assist.schemas import AskResponse

    handed: list[str] = []
    real = starlette.concurrency.run_in_threadpool

    async def counting(func, *args, **kwargs):
        handed.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    for module in (fastapi.routing, fastapi.dependencies.utils, ask_route):
        monkeypatch.setattr(module, "run_in_threadpool", counting)
    services = SpyServices(Settings(data_dir=tmp_path))
    monkeypatch.setattr(services, "ask", lambda body: AskResponse(answer=body.question, citations=[], mode="extractive"))
    with TestClient(create_app(services=services, host="127.0.0.1"), base_url=LOCAL) as client:
        handed.clear()
        reply = client.post("/v1/ask", json={"question": "Is MRS covered for epilepsy?"})
    assert reply.status_code == 200 and reply.json()["answer"] == "Is MRS covered for epilepsy?"
    assert handed == ["<lambda>"]
