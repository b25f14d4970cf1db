"""Read a criteria data file into a pydantic model; every error names the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mrs_assist.errors import CorpusError

M = TypeVar("M", bound=BaseModel)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (much faster), else the pure-Python one."""


class YamlFile:
    """A parsed YAML file that can tell the line of any value by its path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"{path.name}:1: cannot read file: {exc}") from exc
        try:
            self.root: yaml.Node | None = yaml.compose(text, Loader=LOADER)
            self.data: Any = yaml.load(text, Loader=LOADER)  # noqa: S506 (a safe loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            detail = getattr(exc, "problem", None) or str(exc)
            raise CorpusError(f"{path.name}:{line}: not valid YAML: {detail}") from exc
        if not isinstance(self.data, dict):
            raise CorpusError(f"{path.name}:1: the file must hold a YAML mapping")

    def line_of(self, loc: Sequence[Any]) -> int:
        """1-based line of the deepest node found along ``loc`` (keys and list indexes)."""
        node = self.root
        line = 1
        for part in loc:
            if node is None:
                break
            line = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == str(part)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            else:
                node = None
        if node is not None:
            line = node.start_mark.line + 1
        return line

    def error(self, loc: Sequence[Any], message: str) -> CorpusError:
        """A CorpusError naming the file, the line of ``loc`` and the path to it."""
        where = ".".join(str(p) for p in loc)
        prefix = f"{where}: " if where else ""
        return CorpusError(f"{self.path.name}:{self.line_of(loc)}: {prefix}{message}")

    def validate(self, model: type[M]) -> M:
        """The file parsed as ``model``; raises CorpusError naming file and line."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [p for p in err["loc"] if isinstance(p, (int, str))]
            msg = err["msg"].removeprefix("Value error, ")
            raise self.error(loc, msg) from exc
