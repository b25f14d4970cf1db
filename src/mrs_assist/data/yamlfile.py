"""The one way to read a YAML data file into a pydantic type; every error names the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from mrs_assist.errors import CorpusError, MrsAssistError

T = TypeVar("T")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (much faster), else the pure-Python one."""


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data, from one parse: what ``yaml.compose``
    and ``yaml.load`` return, as ``yaml.load`` builds its data from the tree it composes."""
    loader = LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


class YamlFile:
    """A parsed YAML file that can tell the line of any value by its path.

    ``error`` is the MrsAssistError raised for any problem (CorpusError for the corpus,
    ConfigError for settings-like files); ``root`` the type the top level must be (``dict``,
    ``list``, or ``object`` for anything); ``first_line`` the file line the text starts on
    (YAML front matter inside a Markdown file starts on line 2).
    """

    def __init__(self, path: Path, *, text: str | None = None, error: type[MrsAssistError] = CorpusError,
                 root: type = dict, first_line: int = 1) -> None:
        self.path = path
        self.exc = error
        self.offset = first_line - 1
        if text is None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise error(f"{path.name}:1: cannot read file: {exc}") from exc
        try:
            self.root, self.data = _parse(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            detail = getattr(exc, "problem", None) or str(exc)
            raise error(f"{path.name}:{line + self.offset}: not valid YAML: {detail}") from exc
        if self.data is None and root is not object:
            self.data = root()
        if not isinstance(self.data, root):
            kind = {dict: "a YAML mapping", list: "a YAML list"}.get(root, root.__name__)
            raise error(f"{path.name}:{first_line}: the file must hold {kind}")

    def line_of(self, loc: Sequence[Any]) -> int:
        """1-based file line of the deepest node found along ``loc`` (keys and list indexes)."""
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
        return line + self.offset

    def error(self, loc: Sequence[Any], message: str) -> MrsAssistError:
        """The file's error naming the file, the line of ``loc`` and the path to it."""
        where = ".".join(str(p) for p in loc)
        prefix = f"{where}: " if where else ""
        return self.exc(f"{self.path.name}:{self.line_of(loc)}: {prefix}{message}")

    def validate(self, kind: type[T] | Any) -> T:
        """The file parsed as ``kind`` (a pydantic model, or a type such as ``list[Model]``);
        raises the file's error naming file and line."""
        try:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                return kind.model_validate(self.data)
            return TypeAdapter(kind).validate_python(self.data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [p for p in err["loc"] if isinstance(p, (int, str))]
            msg = err["msg"].removeprefix("Value error, ")
            raise self.error(loc, msg) from exc


def load_yaml(path: Path, kind: type[T] | Any, *, error: type[MrsAssistError] = CorpusError, root: type = dict) -> T:
    """The YAML file at ``path`` parsed as ``kind``; raises ``error`` naming file and line."""
    return YamlFile(path, error=error, root=root).validate(kind)
