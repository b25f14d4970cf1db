"""A policy's criteria as data: the rule tree in ``corpus/<policy id>.criteria.yaml``.

Nodes are ``all: [...]``, ``any: [...]``, ``not: node`` or a leaf ``fact: <name>``. Every
node may carry ``clause`` (a local id such as ``indications.1`` or a full id such as
``cohere-mrs#indications.1``), ``label`` and ``see_also`` (further clauses the node
encodes); every leaf must carry a clause. Clause ids are stored as full ids after loading.

A policy's whole formula — scope, indications and exclusions — is read-once: each fact
appears at most once. That keeps three-valued evaluation exact and makes "which unknown
facts could change the outcome" a walk up the tree (see ``engine``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from mrs_assist.data import YamlFile
from mrs_assist.criteria.catalogue import FACT_NAME, Catalogue, load_catalogue
from mrs_assist.errors import CorpusError

LOCAL_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$")
POLICY_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
REGION_FACT = "non_brain_mrs_requested"
"""The scope fact every policy's scope negates: MRS of a region other than the brain."""
CRITERIA_SUFFIX = ".criteria.yaml"


def _clause_syntax(value: str) -> str:
    policy_id, sep, local = value.rpartition("#")
    if (sep and not re.match(POLICY_ID, policy_id)) or not LOCAL_ID.match(local):
        raise ValueError(f"clause {value!r} is not a valid clause id ('local.id' or 'policy-id#local.id')")
    return value


ClauseRef = Annotated[str, AfterValidator(_clause_syntax)]
"""A clause id as written in a criteria file: local ('indications.1') or full."""


class Node(BaseModel):
    """One node of an indication tree: exactly one of all / any / not / fact."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    all_: list[Node] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Node] | None = Field(default=None, alias="any", min_length=1)
    not_: Node | None = Field(default=None, alias="not")
    fact: str | None = Field(default=None, pattern=FACT_NAME, description="Leaf: catalogue fact.")
    clause: ClauseRef | None = Field(default=None, description="Clause this node encodes.")
    label: str | None = Field(default=None, description="Reviewer-facing name of the node.")
    see_also: list[ClauseRef] = Field(default_factory=list, description="Further clauses it encodes.")

    @model_validator(mode="after")
    def _one_kind(self) -> Node:
        kinds = [k for k, v in (("all", self.all_), ("any", self.any_), ("not", self.not_),
                                ("fact", self.fact)) if v is not None]
        if len(kinds) != 1:
            raise ValueError(f"a node needs exactly one of all, any, not, fact (got {kinds or 'none'})")
        if self.fact is not None and not self.clause:
            raise ValueError(f"leaf {self.fact!r} must name the clause it encodes")
        return self

    @property
    def kind(self) -> Literal["all", "any", "not", "fact"]:
        """Which of all / any / not / fact this node is."""
        if self.all_ is not None:
            return "all"
        if self.any_ is not None:
            return "any"
        return "not" if self.not_ is not None else "fact"

    @property
    def children(self) -> list[Node]:
        """Sub-nodes (empty for a leaf)."""
        if self.all_ is not None:
            return self.all_
        if self.any_ is not None:
            return self.any_
        return [self.not_] if self.not_ is not None else []

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> Iterator[Node]:
        """The fact leaves below this node, left to right."""
        return (n for n in self.walk() if n.fact is not None)


class Item(BaseModel):
    """A listed fact: an exclusion, a safety flag or an investigational indication."""

    model_config = ConfigDict(extra="forbid")

    fact: str = Field(pattern=FACT_NAME)
    clause: ClauseRef = Field(description="Clause this item encodes.")
    label: str | None = None
    see_also: list[ClauseRef] = Field(default_factory=list)
    safety: bool = Field(
        default=False,
        description="Exclusions only: a true value also raises a safety flag for the reviewer.",
    )


class Scope(BaseModel):
    """What the policy covers: the CPT codes and the body region."""

    model_config = ConfigDict(extra="forbid")

    cpt_codes: list[str] = Field(min_length=1, description="Codes the policy governs.")
    cpt_clause: ClauseRef = Field(description="Clause listing the codes (cited when none is requested).")
    body_region: str = Field(min_length=1)
    region_clause: ClauseRef = Field(
        description=f"Clause cited when a non-brain region is requested (fact {REGION_FACT})."
    )
    asked_region: str | None = Field(
        default=None,
        description="A scope fact naming a region the policy's own text names without criteria for "
        "it (Cohere: muscle). Documented, the scope is the physician reviewer's to decide (unknown: "
        "a pend when the indications hold, a denial draft when they fail, never an approval); "
        "any other region is outside the policy.",
    )


class Notice(BaseModel):
    """A message surfaced on every determination under the policy."""

    model_config = ConfigDict(extra="forbid")

    clause: ClauseRef
    message: str = Field(min_length=1)
    kind: Literal["inconsistency", "scope", "info"] = Field(
        default="info",
        description="inconsistency: the policy contradicts itself; scope: members or "
        "requests the policy does not govern; info: anything else.",
    )
    facts: list[str] = Field(default_factory=list, description="Facts the notice concerns.")


class Policy(BaseModel):
    """A policy's criteria: scope, indication tree, exclusions, safety flags and notices."""

    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(pattern=POLICY_ID)
    version: str = Field(min_length=1, description="Must equal the corpus document's version.")
    scope: Scope
    indications: Node
    exclusions_clause: ClauseRef | None = Field(
        default=None, description="Lead-in clause of the exclusion list, cited with a true exclusion."
    )
    exclusions: list[Item] = Field(default_factory=list)
    safety_flags: list[Item] = Field(default_factory=list)
    investigational: list[Item] = Field(
        default_factory=list,
        description="Indications the policy calls experimental/investigational; cited as the "
        "reason when the indication tree is false and such a fact is true.",
    )
    notices: list[Notice] = Field(default_factory=list)
    interpretations: list[str] = Field(default_factory=list)

    _catalogue: Catalogue | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Policy:
        for node in self.indications.walk():
            node.clause = self._full(node.clause) if node.clause else None
            node.see_also = [self._full(c) for c in node.see_also]
        for item in (*self.exclusions, *self.safety_flags, *self.investigational):
            item.clause = self._full(item.clause)
            item.see_also = [self._full(c) for c in item.see_also]
        for notice in self.notices:
            notice.clause = self._full(notice.clause)
        self.scope.cpt_clause = self._full(self.scope.cpt_clause)
        self.scope.region_clause = self._full(self.scope.region_clause)
        if self.exclusions_clause:
            self.exclusions_clause = self._full(self.exclusions_clause)

        seen: set[str] = set()
        for name in self.formula_facts():
            if name in seen:
                raise ValueError(
                    f"fact {name!r} appears more than once in scope, indications and exclusions; "
                    "the formula must be read-once (encode the duplicate once and note it)"
                )
            seen.add(name)
        for group in ("safety_flags", "investigational"):
            names = [i.fact for i in getattr(self, group)]
            if dup := sorted({n for n in names if names.count(n) > 1}):
                raise ValueError(f"{group} lists {dup} more than once")
            if clash := sorted(set(names) & seen):
                raise ValueError(f"{group} fact(s) {clash} also appear in the formula")
        if bad := [i.fact for i in (*self.safety_flags, *self.investigational) if i.safety]:
            raise ValueError(f"'safety: true' is for exclusions only (found on {bad})")
        return self

    def _full(self, clause: str) -> str:
        policy_id, sep, local = clause.rpartition("#")
        if sep and policy_id != self.policy_id:
            raise ValueError(f"clause {clause!r} belongs to another policy than {self.policy_id!r}")
        if not LOCAL_ID.match(local):
            raise ValueError(f"clause {clause!r} is not a valid clause id")
        return f"{self.policy_id}#{local}"

    def formula_facts(self) -> list[str]:
        """Fact names of the whole formula (scope, indications, exclusions), in order."""
        return [
            REGION_FACT,
            *([self.scope.asked_region] if self.scope.asked_region else []),
            *(leaf.fact for leaf in self.indications.leaves() if leaf.fact),
            *(item.fact for item in self.exclusions),
        ]

    def all_facts(self) -> list[str]:
        """Every fact the policy file names (formula, safety flags, investigational, notices)."""
        names = [*self.formula_facts(), *(i.fact for i in self.safety_flags)]
        names += [i.fact for i in self.investigational]
        names += [f for n in self.notices for f in n.facts]
        return list(dict.fromkeys(names))

    def clause_ids(self) -> list[str]:
        """Every full clause id the policy file cites, in file order, without repeats."""
        ids = [self.scope.cpt_clause, self.scope.region_clause]
        for node in self.indications.walk():
            ids += ([node.clause] if node.clause else []) + node.see_also
        ids += [self.exclusions_clause] if self.exclusions_clause else []
        for item in (*self.exclusions, *self.safety_flags, *self.investigational):
            ids += [item.clause, *item.see_also]
        ids += [n.clause for n in self.notices]
        return list(dict.fromkeys(ids))

    @property
    def catalogue(self) -> Catalogue | None:
        """The facts catalogue the policy was loaded against, if any."""
        return self._catalogue

    def bind(self, catalogue: Catalogue) -> Policy:
        """Check every fact against ``catalogue`` and remember it; returns self.

        Raises ValueError naming the facts the catalogue lacks.
        """
        if missing := [f for f in self.all_facts() if f not in catalogue]:
            raise ValueError(f"fact(s) not in the facts catalogue: {', '.join(missing)}")
        self._catalogue = catalogue
        return self


def _entries(node: object, loc: list) -> Iterator[tuple[list, str, object]]:
    """(YAML path, key, value) of every mapping entry in raw data, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield [*loc, key], str(key), value
            yield from _entries(value, [*loc, key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _entries(value, [*loc, i])


_CLAUSE_KEYS = {"clause", "cpt_clause", "region_clause", "exclusions_clause"}


def _precheck(doc: YamlFile, catalogue: Catalogue) -> None:
    """Errors the model can only report for the whole file, located to their line."""
    policy_id = doc.data.get("policy_id")
    seen: dict[str, list] = {}
    for loc, key, value in _entries(doc.data, []):
        refs = [(loc, value)] if key in _CLAUSE_KEYS else []
        if key == "see_also" and isinstance(value, list):
            refs = [([*loc, i], v) for i, v in enumerate(value)]
        for ref_loc, ref in refs:
            if isinstance(ref, str) and "#" in ref and ref.rpartition("#")[0] != policy_id:
                raise doc.error(ref_loc, f"clause {ref!r} belongs to another policy than {policy_id!r}")
        names = value if key == "facts" and loc[0] == "notices" else [value] if key == "fact" else []
        for name in names if isinstance(names, list) else []:
            if isinstance(name, str) and name not in catalogue:
                raise doc.error(loc, f"fact {name!r} is not in the facts catalogue")
        if key == "fact" and loc[0] in ("indications", "exclusions") and isinstance(value, str):
            if value in seen or value in (REGION_FACT, doc.data.get("scope", {}).get("asked_region")):
                raise doc.error(
                    loc, f"fact {value!r} appears more than once in scope, indications and "
                    "exclusions; the formula must be read-once (encode the duplicate once and note it)"
                )
            seen[value] = loc


def load_policy(path: Path, catalogue: Catalogue | None = None) -> Policy:
    """The policy criteria at ``path``, checked against the facts catalogue.

    The catalogue defaults to ``facts.yaml`` beside the file. Raises CorpusError naming
    file and line when the file is invalid, names an uncatalogued fact, or its name is not
    ``<policy id>.criteria.yaml``.
    """
    if catalogue is None:
        catalogue = load_catalogue(path.parent / "facts.yaml")
    doc = YamlFile(path)
    _precheck(doc, catalogue)
    policy = doc.validate(Policy)
    if path.name != f"{policy.policy_id}{CRITERIA_SUFFIX}":
        raise doc.error(["policy_id"], f"file name must be {policy.policy_id}{CRITERIA_SUFFIX}")
    return policy.bind(catalogue)


def load_policies(corpus_dir: Path, catalogue: Catalogue | None = None) -> dict[str, Policy]:
    """Every ``*.criteria.yaml`` in the folder by policy id; raises CorpusError on any invalid one."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    if catalogue is None:
        catalogue = load_catalogue(corpus_dir / "facts.yaml")
    policies = {}
    for path in sorted(corpus_dir.glob(f"*{CRITERIA_SUFFIX}")):
        policy = load_policy(path, catalogue)
        policies[policy.policy_id] = policy
    return policies
