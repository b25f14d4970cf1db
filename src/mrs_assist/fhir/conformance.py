"""A profile checker driven by the published Da Vinci packages (PAS 2.2.1, DTR 2.0.1, CRD 2.0.1),
not by a reading of them: it walks a StructureDefinition's snapshot and checks an instance's
cardinalities, fixed and pattern values, required bindings (against the ValueSets and
CodeSystems the packages ship, plus the R4 core value sets they bind but do not ship, in
``igs/r4-core-codes.json``), slicing where a discriminator decides (extension url, resource
type, choice type, fixed/pattern values), type profiles of extensions, datatypes and bundle
entries, and it reports which must-support elements of each profile an instance populates.

The packages are the HL7 FHIR NPM tarballs in ``igs/`` (CC0; taken from the Inferno test kits,
Apache-2.0; see ``igs/SOURCES.md``). FHIRPath invariants (``constraint.expression``) are
evaluated with fhirpathpy when asked (``invariants=True``). What the checker does not do:
bindings to value sets outside the packages (X12, US Core, LOINC: counted as unchecked), and
discriminators written as FHIRPath functions (the slice is not decided, so not enforced).

>>> report = validate(resource, PAS + "profile-claimresponse")
>>> report.errors, report.must_support
"""

from __future__ import annotations

import json
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mrs_assist.data import shipped

IG_DIR = shipped("fhir/igs")
PACKAGES = ("davinci_pas_2.2.1.tgz", "davinci_dtr_2.0.1.tgz", "davinci-crd-2.0.1.tgz")
CORE_CODES = IG_DIR / "r4-core-codes.json"
MAX_DEPTH = 64


def _bare(url: str) -> str:
    return url.split("|", 1)[0]


@dataclass
class Profile:
    """One StructureDefinition snapshot, indexed by element id."""

    url: str
    type: str
    kind: str
    elements: dict[str, dict[str, Any]]
    children: dict[str, list[str]]
    must_support: frozenset[str]

    @classmethod
    def of(cls, sd: dict[str, Any]) -> Profile:
        elements: dict[str, dict[str, Any]] = {}
        children: dict[str, list[str]] = defaultdict(list)
        for element in sd.get("snapshot", {}).get("element", []):
            eid = element["id"]
            elements[eid] = element
            if "." in eid:
                children[eid.rsplit(".", 1)[0]].append(eid)
        ms = frozenset(e for e, el in elements.items() if el.get("mustSupport") and "." in e)
        return cls(_bare(sd["url"]), sd["type"], sd.get("kind", ""), elements, dict(children), ms)


class Registry:
    """StructureDefinitions, ValueSets and CodeSystems of the packages, by canonical URL."""

    def __init__(self, paths: list[Path] | None = None) -> None:
        self.profiles: dict[str, Profile] = {}
        self.value_sets: dict[str, dict[str, Any]] = {}
        self.code_systems: dict[str, dict[str, Any]] = {}
        self.examples: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.package_of: dict[str, str] = {}
        for path in paths or [IG_DIR / name for name in PACKAGES]:
            self._load(path)
        core = json.loads(CORE_CODES.read_text(encoding="utf-8"))
        self.core_codes = {url: frozenset(codes) for url, codes in core.items() if not url.startswith("_")}
        self._expanded: dict[str, frozenset[tuple[str | None, str]] | None] = {}

    def _load(self, path: Path) -> None:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name
                if not member.isfile() or not name.endswith(".json") or name.endswith("package.json"):
                    continue
                folder, _, base = name.rpartition("/")
                if folder.endswith("/other") or folder.endswith("/openapi") or base.startswith(".") or base.startswith("ig-"):
                    continue
                data = json.loads(tar.extractfile(member).read())  # type: ignore[union-attr]
                kind = data.get("resourceType")
                if folder.endswith("/example"):
                    self.examples[path.name].append((base, data))
                elif kind == "StructureDefinition" and data.get("snapshot"):
                    profile = Profile.of(data)
                    self.profiles[profile.url] = profile
                    self.package_of[profile.url] = path.name
                elif kind == "ValueSet":
                    self.value_sets[_bare(data["url"])] = data
                elif kind == "CodeSystem":
                    self.code_systems[_bare(data["url"])] = data

    def codes(self, vs_url: str) -> frozenset[tuple[str | None, str]] | None:
        """(system, code) pairs of a value set (system None: any system); None when the value set
        or one of its code systems is not in the packages (the binding cannot be checked)."""
        url = _bare(vs_url)
        if url not in self._expanded:
            self._expanded[url] = None  # a cycle reads as unknown
            self._expanded[url] = self._expand(url)
        return self._expanded[url]

    def _expand(self, url: str) -> frozenset[tuple[str | None, str]] | None:
        if url in self.core_codes:
            return frozenset((None, c) for c in self.core_codes[url])
        vs = self.value_sets.get(url)
        if vs is None or not (vs.get("compose") or {}).get("include"):
            return None
        out: set[tuple[str | None, str]] = set()
        for inc in vs["compose"]["include"]:
            if inc.get("filter"):
                return None
            system = inc.get("system")
            if inc.get("concept"):
                out |= {(system, c["code"]) for c in inc["concept"]}
            elif system:
                cs = self.code_systems.get(system)
                if cs is None or cs.get("content") not in ("complete", None):
                    return None
                out |= {(system, c) for c in _concepts(cs.get("concept") or [])}
            for other in inc.get("valueSet") or []:
                codes = self.codes(other)
                if codes is None:
                    return None
                out |= codes
        return frozenset(out)


def _concepts(concepts: list[dict[str, Any]]) -> list[str]:
    out = []
    for c in concepts:
        out.append(c["code"])
        out += _concepts(c.get("concept") or [])
    return out


@cache
def registry() -> Registry:
    """The packages shipped in ``igs/`` (loaded once per process)."""
    return Registry()


@dataclass
class Report:
    """What one check found: issues (OperationOutcome-shaped) and must-support coverage."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    must_support: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """profile url → the must-support element ids the instance populated."""
    unchecked_bindings: set[str] = field(default_factory=set)
    invariants: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    """constraint key → [times it held, times it failed] (FHIRPath invariants, when evaluated)."""
    unevaluated: set[str] = field(default_factory=set)
    """constraint keys whose FHIRPath the library could not evaluate (not counted as pass or fail)."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [i for i in self.issues if i["severity"] in ("error", "fatal")]

    def error(self, where: str, message: str, code: str = "invalid") -> None:
        self.issues.append({"severity": "error", "code": code, "diagnostics": message, "expression": [where]})

    def merge(self, other: Report) -> None:
        self.issues += other.issues
        for url, ids in other.must_support.items():
            self.must_support[url] |= ids
        self.unchecked_bindings |= other.unchecked_bindings
        for key, (held, failed) in other.invariants.items():
            self.invariants[key][0] += held
            self.invariants[key][1] += failed
        self.unevaluated |= other.unevaluated


# --- matching values --------------------------------------------------------------------------

def _contains(value: Any, pattern: Any) -> bool:
    """FHIR pattern semantics: every element the pattern has, the value has (arrays: each
    pattern item matched by some value item)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and _contains(value[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_contains(v, p) for v in value) for p in pattern)
    return value == pattern


def _prefixed(element: dict[str, Any], prefix: str) -> tuple[str, Any] | None:
    for key, value in element.items():
        if key.startswith(prefix) and key[len(prefix):][:1].isupper():
            return key[len(prefix):], value
    return None


def _values(node: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """(type suffix or '', value) for each value of element `name` ('value[x]' → every valueX)."""
    if name.endswith("[x]"):
        base = name[:-3]
        found = [(k[len(base):], v) for k, v in node.items() if k.startswith(base) and k[len(base):][:1].isupper()]
    else:
        found = [("", node[name])] if name in node else []
    out = []
    for suffix, value in found:
        out += [(suffix, v) for v in value] if isinstance(value, list) else [(suffix, value)]
    return out


def _navigate(value: Any, path: str) -> list[Any] | None:
    """Values at a simple dotted path below `value` (None: a FHIRPath the checker does not evaluate)."""
    if path == "$this":
        return [value]
    if any(ch in path for ch in "()[]"):
        return None
    current = [value]
    for part in path.split("."):
        nxt = []
        for v in current:
            if isinstance(v, dict) and part in v:
                nxt += v[part] if isinstance(v[part], list) else [v[part]]
        current = nxt
    return current


@cache
def _parsed(expression: str):
    """A FHIRPath invariant parsed once by fhirpathpy; None when the library cannot parse it."""
    from fhirpathpy.parser import parse

    try:
        return parse(expression)
    except Exception:  # noqa: BLE001 - a grammar the library does not cover: unevaluated, not failed
        return None


def _compiled(base: str, expression: str):
    """fhirpathpy's evaluation of `expression` on a value at element path `base` (typed by the R4
    model, as `fhirpathpy.evaluate` with a base does), or None when it cannot be parsed."""
    from fhirpathpy import apply_parsed_path
    from fhirpathpy.engine.nodes import ResourceNode
    from fhirpathpy.models import models

    node = _parsed(expression)
    if node is None:
        return None
    return lambda value, env: apply_parsed_path(ResourceNode.create_node(value, base), node, dict(env), models["r4"],
                                                {"traceFn": lambda *_: None, "userInvocationTable": _FUNCTIONS})


def _has_value(inputs: list[Any]) -> list[bool]:
    """FHIRPath hasValue() (not in fhirpathpy): a single primitive with a value."""
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], (dict, list))]


_FUNCTIONS = {"hasValue": {"fn": _has_value, "arity": {0: []}}}


class _Checker:
    def __init__(self, reg: Registry, report: Report, claimed: bool = True, invariants: bool = False) -> None:
        self.reg = reg
        self.report = report
        self.claimed = claimed
        self.invariants = invariants
        self.resources: list[dict[str, Any]] = []
        """The enclosing resources, outermost first (%rootResource, %resource)."""

    def invariant(self, element: dict[str, Any], suffix: str, value: Any, where: str) -> None:
        """Each FHIRPath constraint of `element` on `value` (a complex value: a JSON primitive
        always has a value, so ele-1 holds for it), evaluated with fhirpathpy; a failed `error`
        constraint is an error, a failed `warning` a warning."""
        if not isinstance(value, dict):
            return
        codes = [t["code"] for t in element.get("type") or []]
        if "resourceType" in value:  # a resource (root, entry, contained): its own type
            base = value["resourceType"]
        elif suffix:  # a choice: the datatype chosen
            base = suffix
        elif len(codes) == 1 and codes[0][:1].isupper() and codes[0] not in ("BackboneElement", "Element"):
            base = codes[0]  # a datatype (Extension, CodeableConcept...): typed as itself
        else:
            base = element.get("path", "")  # a backbone element: by its path in the resource
        here = value if "resourceType" in value else (self.resources[-1] if self.resources else value)
        env = {"resource": here, "rootResource": self.resources[0] if self.resources else here}
        for constraint in element.get("constraint") or []:
            key, expression = constraint.get("key", "?"), constraint.get("expression")
            if not expression:
                continue
            compiled = _compiled(base, expression)
            try:
                result = compiled(value, env) if compiled is not None else None
            except Exception:  # noqa: BLE001 - a function the library does not implement
                result = None
            if result is None:
                self.report.unevaluated.add(key)
                continue
            held = result == [True] or result == []  # an empty result does not fail (FHIR validators agree)
            self.report.invariants[key][0 if held else 1] += 1
            if not held:
                severity = "error" if constraint.get("severity") == "error" else "warning"
                self.report.issues.append({"severity": severity, "code": "invariant", "expression": [where],
                                           "diagnostics": f"{key}: {constraint.get('human', '')[:200]}"})

    # A resource or datatype against a whole profile
    def profile(self, value: Any, url: str, where: str, depth: int) -> None:
        profile = self.reg.profiles.get(_bare(url))
        if profile is None or depth > MAX_DEPTH:
            return
        root = profile.elements.get(profile.type)
        if profile.kind == "resource" and isinstance(value, dict) and value.get("resourceType") != profile.type:
            self.report.error(where, f"{url}: resourceType must be {profile.type}", "structure")
            return
        if root is None:
            return
        entered = isinstance(value, dict) and "resourceType" in value
        if entered:
            self.resources.append(value)
        try:
            self.element_value(profile, root, "", value, where, depth)
        finally:
            if entered:
                self.resources.pop()

    def any_profile(self, value: Any, urls: list[str], where: str, depth: int) -> None:
        """Conformant to at least one of `urls` (those in the packages): the first that passes,
        else (preferring one the instance claims in meta.profile) the issues of the closest."""
        known = [u for u in urls if _bare(u) in self.reg.profiles]
        if not known:
            return
        claimed = {_bare(p) for p in ((value.get("meta") or {}).get("profile") or [])} if isinstance(value, dict) else set()
        best: Report | None = None
        for url in sorted(known, key=lambda u: _bare(u) not in claimed):
            trial = Report()
            checker = _Checker(self.reg, trial, self.claimed, self.invariants)
            checker.resources = self.resources
            checker.profile(value, url, where, depth)
            if not trial.errors:
                self.report.merge(trial)
                return
            if best is None or len(trial.errors) < len(best.errors):
                best = trial
        if best is not None:
            self.report.merge(best)

    # One value of one element
    def element_value(self, profile: Profile, element: dict[str, Any], suffix: str, value: Any, where: str,
                      depth: int) -> None:
        eid = element["id"]
        types = element.get("type") or []
        if suffix and types and suffix not in {t["code"][:1].upper() + t["code"][1:] for t in types} \
                and not any(t["code"].startswith("http://hl7.org/fhirpath") for t in types):
            self.report.error(where, f"{profile.url}#{eid}: type {suffix} is not allowed", "structure")
            return
        if (fixed := _prefixed(element, "fixed")) is not None and value != fixed[1]:
            self.report.error(where, f"{profile.url}#{eid}: must be exactly {json.dumps(fixed[1])[:120]}", "value")
        if (pattern := _prefixed(element, "pattern")) is not None and not _contains(value, pattern[1]):
            self.report.error(where, f"{profile.url}#{eid}: must match the pattern {json.dumps(pattern[1])[:120]}", "value")
        if self.invariants:
            self.invariant(element, suffix, value, where)
        binding = element.get("binding") or {}
        if binding.get("strength") == "required" and binding.get("valueSet"):
            self.binding(value, binding["valueSet"], f"{profile.url}#{eid}", where)
        if not isinstance(value, dict):
            return
        if profile.children.get(eid):
            self.children(profile, eid, value, where, depth + 1)
        elif element.get("contentReference"):
            target = element["contentReference"].split("#", 1)[-1]
            if target in profile.elements:
                self.children(profile, target, value, where, depth + 1)
        type_codes = {t["code"] for t in types}
        profiles = [p for t in types for p in t.get("profile") or []]
        if profiles and not (type_codes == {"Extension"} and profile.children.get(eid)):
            self.any_profile(value, profiles, where, depth + 1)
        elif self.claimed and type_codes == {"Resource"} and "resourceType" in value:
            # a bundle entry or contained resource the profile leaves open: checked against
            # each packaged profile it claims (as the HL7 validator does)
            for url in (value.get("meta") or {}).get("profile") or []:
                if isinstance(url, str) and _bare(url) in self.reg.profiles:
                    self.profile(value, url, where, depth + 1)

    def binding(self, value: Any, vs_url: str, what: str, where: str) -> None:
        codes = self.reg.codes(vs_url)
        if codes is None:
            self.report.unchecked_bindings.add(_bare(vs_url))
            return
        if isinstance(value, str):
            if not any(code == value for _, code in codes):
                self.report.error(where, f"{what}: code not in the required value set {_bare(vs_url)}", "code-invalid")
            return
        if not isinstance(value, dict):
            return
        codings = value.get("coding") if "coding" in value or "text" in value else [value]
        codings = [c for c in codings or [] if isinstance(c, dict) and "code" in c]
        if "coding" not in value and "text" not in value and "code" not in value:
            return  # Quantity and the like without a code: nothing to bind
        if not any((s is None or s == c.get("system")) and code == c.get("code") for c in codings for s, code in codes):
            self.report.error(where, f"{what}: no coding from the required value set {_bare(vs_url)}", "code-invalid")

    # Every child element of `eid` on one object
    def children(self, profile: Profile, eid: str, node: dict[str, Any], where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.report.error(where, "nested too deeply to check", "too-costly")
            return
        kids = profile.children.get(eid, [])
        for cid in kids:
            last = cid.rsplit(".", 1)[1]
            if ":" in last:
                continue
            element = profile.elements[cid]
            values = _values(node, last)
            slices = [profile.elements[s] for s in kids
                      if s.rsplit(".", 1)[1].startswith(last + ":") and "/" not in s.rsplit(".", 1)[1]]
            self.cardinality(profile, element, len(values), where, last)
            if values and cid in profile.must_support:
                self.report.must_support[profile.url].add(cid)
            assigned: dict[int, dict[str, Any]] = {}
            decided = True
            if slices and element.get("slicing"):
                slicing = element["slicing"]
                for i, (suffix, value) in enumerate(values):
                    hits = []
                    for sl in slices:
                        verdict = self.matches(profile, sl, slicing.get("discriminator") or [], suffix, value)
                        if verdict is None:
                            decided = False
                        elif verdict:
                            hits.append(sl)
                    if hits:
                        assigned[i] = hits[0]
                    elif slicing.get("rules") == "closed" and decided:
                        self.report.error(self._at(where, last, i, len(values)),
                                          f"{profile.url}#{cid}: matches no slice of a closed slicing", "structure")
                for sl in slices:
                    count = sum(1 for s in assigned.values() if s is sl)
                    if decided or count:
                        self.cardinality(profile, sl, count, where, last, decided)
                    if count and sl["id"] in profile.must_support:
                        self.report.must_support[profile.url].add(sl["id"])
            for i, (suffix, value) in enumerate(values):
                target = assigned.get(i, element)
                self.element_value(profile, target, suffix, value, self._at(where, last, i, len(values)), depth)

    @staticmethod
    def _at(where: str, name: str, i: int, n: int) -> str:
        name = name.replace("[x]", "")
        base = f"{where}.{name}" if where else name
        return f"{base}[{i}]" if n > 1 or i else base

    def cardinality(self, profile: Profile, element: dict[str, Any], count: int, where: str, name: str,
                    decided: bool = True) -> None:
        low, high = element.get("min", 0), element.get("max", "*")
        label = f"{profile.url}#{element['id']}"
        at = f"{where}.{name.replace('[x]', '')}" if where else name
        if decided and count < low:
            self.report.error(at, f"{label}: at least {low} required, {count} present", "required")
        if high != "*" and count > int(high):
            self.report.error(at, f"{label}: at most {high} allowed, {count} present", "structure")

    def matches(self, profile: Profile, sl: dict[str, Any], discriminators: list[dict[str, Any]], suffix: str,
                value: Any) -> bool | None:
        """Whether `value` belongs to slice `sl` (None: the checker cannot decide)."""
        for disc in discriminators:
            kind, path = disc.get("type"), disc.get("path", "$this")
            if kind == "type" and path == "$this":
                wanted = {t["code"][:1].upper() + t["code"][1:] for t in sl.get("type") or []}
                if suffix:
                    if suffix not in wanted:
                        return False
                    continue
                return None
            candidates = _navigate(value, path)
            if candidates is None:
                return None
            if kind == "type":
                wanted = {t["code"] for t in (self._at_path(profile, sl, path) or {}).get("type") or []}
                if not wanted:
                    return None
                if not any(isinstance(c, dict) and c.get("resourceType") in wanted for c in candidates):
                    return False
                continue
            if kind not in ("value", "pattern"):
                return None
            target = self._at_path(profile, sl, path)
            expected = None
            if target is not None:
                expected = _prefixed(target, "fixed") or _prefixed(target, "pattern")
            if expected is None and path == "url":
                urls = [p for t in sl.get("type") or [] for p in t.get("profile") or []]
                expected = ("Uri", _bare(urls[0])) if urls else None
            if expected is None:
                return None
            if not any(_contains(c, expected[1]) for c in candidates):
                return False
        return True

    @staticmethod
    def _at_path(profile: Profile, sl: dict[str, Any], path: str) -> dict[str, Any] | None:
        if path == "$this":
            return sl
        return profile.elements.get(sl["id"] + "." + path)


def validate(resource: Any, profile_url: str | None = None, *, reg: Registry | None = None,
             claimed: bool = True, invariants: bool = False) -> Report:
    """Check `resource` against `profile_url` (default: each packaged profile its meta.profile
    names). A bundle entry (or contained resource) the profile leaves open is checked against
    the packaged profiles it claims in its own meta.profile, unless `claimed` is False (what a
    server reads from a request: the bundle's profile decides). With `invariants`, each
    element's FHIRPath constraints (`constraint.expression`) are evaluated too (fhirpathpy),
    counted per key in `Report.invariants`. Issues name the element and the profile rule, never
    the instance's values."""
    reg = reg or registry()
    report = Report()
    urls = [profile_url] if profile_url else [
        p for p in ((resource.get("meta") or {}).get("profile") or []) if _bare(p) in reg.profiles
    ] if isinstance(resource, dict) else []
    checker = _Checker(reg, report, claimed, invariants)
    for url in urls:
        if _bare(url) not in reg.profiles:
            report.error("", f"profile {url} is not in the packages", "not-found")
            continue
        checker.profile(resource, url, resource.get("resourceType", "") if isinstance(resource, dict) else "", 0)
    return report


def coverage(reports: list[Report], reg: Registry | None = None) -> dict[str, tuple[int, int]]:
    """profile url → (must-support elements populated by any of `reports`, must-support elements)."""
    reg = reg or registry()
    seen: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        for url, ids in report.must_support.items():
            seen[url] |= ids
    return {url: (len(ids & reg.profiles[url].must_support), len(reg.profiles[url].must_support))
            for url, ids in seen.items() if url in reg.profiles}
