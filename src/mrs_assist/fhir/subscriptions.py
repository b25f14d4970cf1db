"""FHIR PAS Subscriptions (R4 Subscriptions Backport, rest-hook): a provider system subscribes
to the PAS topic for its organization; when a request it submitted changes (a pend answered, a
physician's signature), the server POSTs an id-only notification Bundle to its endpoint, and
the provider fetches the new state with $inquiry.

Endpoints are limited to the hosts the operator allows (setting fhir_subscription_hosts): the
server never posts to an address a caller picks freely. Pushes run in a sweep (a daemon thread
in the API, or `mrs-assist fhir notify`); a sweep claims its events with a compare-and-set on
the subscription row, so several workers never send the same notice twice.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from mrs_assist.auth import Role, User
from mrs_assist.errors import NotFoundError
from mrs_assist.fhir.resources import FhirError, build, issue, parse
from mrs_assist.records.audit import append_entry
from mrs_assist.records.db import utc_now
from mrs_assist.records.tables import SubscriptionRow

log = logging.getLogger("mrs_assist.fhir.subscriptions")

TOPIC = "http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER = BACKPORT + "backport-filter-criteria"
PAYLOAD = BACKPORT + "backport-payload-content"
PUSH_TIMEOUT = 5.0


def _ext(element: dict[str, Any] | None, url: str) -> Any:
    for ext in (element or {}).get("extension") or []:
        if ext.get("url") == url:
            return next((v for k, v in ext.items() if k.startswith("value")), None)
    return None


def _refuse(message: str, expression: str, code: str = "value") -> FhirError:
    return FhirError(message, issues=[issue(message, expression=expression, code=code)])


RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection",
                              "te", "trailer", "upgrade", "expect", "keep-alive", "proxy-authorization"})
"""Channel headers a subscriber may not set: they belong to the HTTP exchange itself."""
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
MAX_HEADERS = 5


def _channel_headers(channel: dict[str, Any]) -> list[str]:
    """The channel's 'Name: value' headers, refused (FhirError) unless each is a plain ASCII
    header the HTTP exchange does not own."""
    headers = channel.get("header") or []
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS:
        raise _refuse(f"at most {MAX_HEADERS} channel headers", "Subscription.channel.header")
    out = []
    for h in headers:
        name, sep, value = str(h).partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
            raise _refuse("a channel header must be 'Name: value' with a name the HTTP exchange does not own",
                          "Subscription.channel.header")
        if not value or len(value) > 1000 or not all(32 <= ord(c) < 127 for c in value):
            raise _refuse("a channel header value must be visible ASCII", "Subscription.channel.header")
        out.append(f"{name}: {value}")
    return out


def read_subscription(data: Any, allowed_hosts: list[str], user: User | None = None) -> dict[str, Any]:
    """What a PAS Subscription asks for (raises FhirError naming the element it cannot accept).
    A provider's system subscribes to its own organization's requests only."""
    parse(data, "Subscription")
    if data.get("criteria") != TOPIC:
        raise _refuse(f"criteria must be the PAS topic {TOPIC}", "Subscription.criteria")
    channel = data.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise _refuse("only rest-hook channels are offered", "Subscription.channel.type", "not-supported")
    endpoint = str(channel.get("endpoint") or "")
    try:
        parts = urlsplit(endpoint)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _refuse("channel.endpoint must be an absolute http(s) URL", "Subscription.channel.endpoint") from None
    if parts.scheme not in ("http", "https") or not hostname or len(endpoint) > 2000:
        raise _refuse("channel.endpoint must be an absolute http(s) URL", "Subscription.channel.endpoint")
    if "@" in parts.netloc or any(not (32 < ord(c) < 127) for c in endpoint):
        raise _refuse("channel.endpoint may carry no credentials, spaces or control characters (use a channel header)",
                      "Subscription.channel.endpoint")
    if hostname not in allowed_hosts:
        raise _refuse("channel.endpoint names a host this server does not post to (ask the operator)",
                      "Subscription.channel.endpoint", "security")
    # Backport (R4): the payload content is an extension on channel.payload, i.e. channel._payload.
    content = _ext(channel.get("_payload"), PAYLOAD) or _ext(data.get("_payload"), PAYLOAD) or "id-only"
    if content not in ("id-only", "full-resource", "empty"):
        raise _refuse("payload content must be empty, id-only or full-resource", "Subscription.channel._payload",
                      "not-supported")
    org = None
    filt = _ext(data.get("_criteria"), FILTER)
    if filt:
        key, _, value = str(filt).partition("=")
        if key.strip() != "org-identifier" or not value.strip():
            raise _refuse("the only filter is org-identifier=<the requesting organization's identifier>",
                          "Subscription._criteria")
        org = value.strip()[:100]
    if user is not None and user.role == Role.provider:
        if org not in (None, user.organization):
            raise FhirError("a provider system subscribes to its own organization's requests only", http_status=403,
                            issues=[issue("org-identifier must be your own organization", code="forbidden",
                                          expression="Subscription._criteria")])
        org = user.organization
    return {"endpoint": endpoint, "payload_content": content, "org_identifier": org,
            "headers": _channel_headers(channel)}


def _headers(row: SubscriptionRow) -> dict[str, str]:
    pairs = (h.split(":", 1) for h in json.loads(row.headers_json))
    return {k.strip(): v.strip() for k, v in pairs} | {"Content-Type": "application/fhir+json"}


def notification(row: SubscriptionRow, kind: str, focus: list[str], *, base_url: str, at: datetime,
                 resources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A backport notification Bundle (history) with its SubscriptionStatus Parameters first;
    for a full-resource subscription, each focus (a PAS response Bundle) follows as an entry."""
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{base_url}/fhir/Subscription/{row.id}"}},
        {"name": "topic", "valueCanonical": TOPIC},
        {"name": "status", "valueCode": "active"},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(row.events + len(focus))},
    ]
    for n, ref in enumerate(focus, start=row.events + 1):
        part: list[dict[str, Any]] = [{"name": "event-number", "valueString": str(n)},
                                      {"name": "timestamp", "valueInstant": at.isoformat()}]
        if row.payload_content in ("id-only", "full-resource"):
            part.append({"name": "focus", "valueReference": {"reference": ref}})
        parameters.append({"name": "notification-event", "part": part})
    status_id = str(uuid.uuid4())
    return build("Bundle", {
        "type": "history",
        "timestamp": at.isoformat(),
        "meta": {"profile": [BACKPORT + "backport-subscription-notification-r4"]},
        "entry": [{
            "fullUrl": f"urn:uuid:{status_id}",
            "resource": {"resourceType": "Parameters", "id": status_id, "parameter": parameters,
                         "meta": {"profile": [BACKPORT + "backport-subscription-status-r4"]}},
            "request": {"method": "GET", "url": f"{base_url}/fhir/Subscription/{row.id}/$status"},
            "response": {"status": "200"},
        }, *[{"fullUrl": ref, "resource": res, "request": {"method": "GET", "url": ref}, "response": {"status": "200"}}
             for ref, res in zip(focus, resources or [], strict=False)
             if row.payload_content == "full-resource"]],
    })


def _post(row: SubscriptionRow, bundle: dict[str, Any]) -> bool:
    try:
        response = httpx.post(row.endpoint, json=bundle, headers=_headers(row), timeout=PUSH_TIMEOUT)
    except httpx.HTTPError as exc:
        log.warning("rest-hook %s unreachable: %s", row.id, type(exc).__name__)
        return False
    return response.is_success


class Subscriptions:
    """Create subscriptions and push notices, over the record store's database."""

    def __init__(self, records, settings, *, base_url: str = "http://127.0.0.1:8000", render=None) -> None:
        self._records = records
        """() → the record store, opened on first use: the pusher starts while the database is down."""
        self.render = render
        """record → its PAS response Bundle (full-resource notices); None: they carry the focus only."""
        self.allowed_hosts = list(settings.fhir_subscription_hosts)
        self.interval = float(settings.fhir_notify_interval_seconds)
        self.base_url = base_url.rstrip("/")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def store(self):
        """The record store (raises ServiceUnavailableError while its database is down)."""
        return self._records()

    def create(self, data: Any, *, user: User) -> dict[str, Any]:
        """Store a Subscription after a handshake with its endpoint; returns it with its id and
        status (active, or error when the handshake failed). Audited."""
        wanted = read_subscription(data, self.allowed_hosts, user)
        now = utc_now()
        row = SubscriptionRow(
            id=str(uuid.uuid4()), status="requested", org_identifier=wanted["org_identifier"],
            endpoint=wanted["endpoint"], payload_content=wanted["payload_content"],
            headers_json=json.dumps(wanted["headers"]), created_at=now, created_by=user.name,
            last_event_at=now, events=0,
        )
        row.status = "active" if _post(row, notification(row, "handshake", [], base_url=self.base_url, at=now)) else "error"
        with self.store.db.write() as session:
            session.add(row)
            append_entry(session, actor=user.name, role=user.role.value, action="fhir_subscribe", at=now,
                         details={"subscription": row.id, "status": row.status, "org_identifier": row.org_identifier})
        return self._resource(row, data)

    def _row(self, session, id: str, user: User | None) -> SubscriptionRow:
        row = session.get(SubscriptionRow, str(id)[:36])
        if row is None or (user is not None and user.role == Role.provider and row.org_identifier != user.organization):
            raise NotFoundError("no such subscription")
        return row

    def get(self, id: str, data: dict[str, Any] | None = None, *, user: User | None = None) -> dict[str, Any]:
        """A stored Subscription (raises NotFoundError; a provider sees its organization's only)."""
        with self.store.db.read() as session:
            return self._resource(self._row(session, id, user), data)

    def update(self, id: str, data: Any, *, user: User) -> dict[str, Any]:
        """PUT Subscription/{id}: replace what it asks for, after a new handshake. Audited."""
        wanted = read_subscription(data, self.allowed_hosts, user)
        if isinstance(data, dict) and data.get("id") not in (None, id):
            raise _refuse("the resource id must match the URL", "Subscription.id")
        now = utc_now()
        with self.store.db.read() as session:
            row = self._row(session, id, user)
            session.expunge(row)
        row.endpoint, row.payload_content, row.org_identifier = (
            wanted["endpoint"], wanted["payload_content"], wanted["org_identifier"])
        row.headers_json = json.dumps(wanted["headers"])
        status = "active" if _post(row, notification(row, "handshake", [], base_url=self.base_url, at=now)) else "error"
        with self.store.db.write() as session:
            session.execute(update(SubscriptionRow).where(SubscriptionRow.id == row.id).values(
                endpoint=row.endpoint, payload_content=row.payload_content, org_identifier=row.org_identifier,
                headers_json=row.headers_json, status=status))
            append_entry(session, actor=user.name, role=user.role.value, action="fhir_subscription_update", at=now,
                         details={"subscription": row.id, "status": status, "org_identifier": row.org_identifier})
        row.status = status
        return self._resource(row, data)

    def delete(self, id: str, *, user: User) -> None:
        """DELETE Subscription/{id}: no more notices (raises NotFoundError). Audited."""
        with self.store.db.write() as session:
            row = self._row(session, id, user)
            session.delete(row)
            append_entry(session, actor=user.name, role=user.role.value, action="fhir_unsubscribe", at=utc_now(),
                         details={"subscription": row.id})

    def status(self, id: str, *, user: User | None = None) -> dict[str, Any]:
        """$status: a backport SubscriptionStatus (Parameters) of a stored Subscription."""
        with self.store.db.read() as session:
            row = self._row(session, id, user)
            return build("Parameters", {
                "meta": {"profile": [BACKPORT + "backport-subscription-status-r4"]},
                "parameter": [
                    {"name": "subscription", "valueReference": {"reference": f"{self.base_url}/fhir/Subscription/{row.id}"}},
                    {"name": "topic", "valueCanonical": TOPIC},
                    {"name": "status", "valueCode": row.status},
                    {"name": "type", "valueCode": "query-status"},
                    {"name": "events-since-subscription-start", "valueString": str(row.events)},
                ]})

    def _resource(self, row: SubscriptionRow, data: dict[str, Any] | None) -> dict[str, Any]:
        resource = {
            "id": row.id,
            "status": row.status,
            "reason": (data or {}).get("reason") or "Prior authorization update notification",
            "criteria": TOPIC,
            "channel": {"type": "rest-hook", "endpoint": row.endpoint, "payload": "application/fhir+json",
                        "_payload": {"extension": [{"url": PAYLOAD, "valueCode": row.payload_content}]}},
        }
        if row.org_identifier:
            resource["_criteria"] = {"extension": [{"url": FILTER, "valueString": f"org-identifier={row.org_identifier}"}]}
        return build("Subscription", resource)

    def dispatch(self, *, now: datetime | None = None) -> int:
        """Push every change since each active subscription's last event; returns notices sent.
        A failed push is retried at the next sweep (its events stay unclaimed)."""
        now = now or utc_now()
        sent = 0
        with self.store.db.read() as session:
            rows = session.execute(select(SubscriptionRow).where(SubscriptionRow.status == "active")).scalars().all()
            session.expunge_all()
        for row in rows:
            changed = [r for r in self.store.changed_submissions(row.last_event_at, now)
                       if row.org_identifier is None or (r.request.provider and r.request.provider.id == row.org_identifier)]
            if not changed:
                continue
            full = row.payload_content == "full-resource" and self.render is not None
            focus = [f"{self.base_url}/fhir/{'Bundle' if full else 'ClaimResponse'}/{r.id}" for r in changed]
            resources = [self.render(r) for r in changed] if full else None
            if not self._move(row.id, row.last_event_at, now, row.events + len(focus)):
                continue  # another worker claimed these events
            if _post(row, notification(row, "event-notification", focus, base_url=self.base_url, at=now,
                                       resources=resources)):
                sent += 1
            else:  # give the events back: the next sweep retries them
                self._move(row.id, now, row.last_event_at, row.events)
        return sent

    def _move(self, id: str, old: datetime | None, new: datetime | None, events: int) -> bool:
        """Set the subscription's last event time from `old` to `new` (compare-and-set); True if it moved."""
        with self.store.db.write() as session:
            result = session.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.id == id, SubscriptionRow.last_event_at == old)
                .values(last_event_at=new, events=events)
            )
            return result.rowcount == 1

    def start(self) -> None:
        """Sweep every `interval` seconds in a daemon thread (interval 0 = never). The app's lifespan
        starts it (mrs_assist.api.app), never a request: a subscription created later is picked up
        by the next sweep."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.dispatch()
                except Exception as exc:  # noqa: BLE001 - a sweep must never kill the pusher
                    log.error("rest-hook sweep failed: %s", type(exc).__name__)

        self._thread = threading.Thread(target=run, name="fhir-rest-hook", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the sweeping thread, waiting up to `timeout` seconds for a sweep in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
