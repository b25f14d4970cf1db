"""The compiled-regex file a cold `determine` reads (extract.recache) builds exactly what `re` builds."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from mrs_assist.config import ROOT, Settings
from mrs_assist.criteria import load_catalogue
from mrs_assist.extract import extract_facts
from mrs_assist.extract.pipeline import build_detector
from mrs_assist.extract.recache import FILE_NAME, CodeCache, code_cache
from mrs_assist.extract.regex import compile_fast


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(Settings().corpus_dir / "facts.yaml")


@pytest.fixture(scope="module")
def filled(tmp_path_factory, catalogue):
    """A cache folder filled by one pipeline build."""
    folder = tmp_path_factory.mktemp("regex-cache")
    re.purge()  # every compile of the build reaches the cache, as in a fresh process
    with code_cache(folder) as cache:
        build_detector(catalogue)
    assert cache is not None and cache.missed > 500  # the build compiles its rules through it
    return folder


def test_every_cached_pattern_is_the_pattern_re_compiles(filled):
    cache = CodeCache(filled / FILE_NAME)
    assert len(cache.entries) > 500
    for pattern, flags in list(cache.entries):
        # Pattern equality in CPython compares the pattern, the flags and the compiled code.
        assert cache.compile(pattern, flags) == re.compile(pattern, flags), pattern
    assert cache.missed == 0  # every one came from the file


def test_remembered_lowerings_and_trigrams_are_what_compile_fast_derives(filled):
    patterns = [k.split("\0", 1)[1] for k in CodeCache(filled / FILE_NAME).memos if k.startswith("lowered\0")]
    assert len(patterns) > 50
    with code_cache(filled) as cache:
        cached = [compile_fast(p) for p in patterns]
    assert cache.missed == 0
    assert cached == [compile_fast(p) for p in patterns]  # no cache active: derived afresh


def test_a_pipeline_built_from_the_file_reads_the_notes_the_same(filled, catalogue):
    re.purge()
    plain = build_detector(catalogue)  # re alone
    re.purge()
    with code_cache(filled) as cache:
        cached = build_detector(catalogue)
    assert cache.missed == 0 and len(cache.used) > 500
    cases = yaml.safe_load((ROOT / "eval" / "cases.yaml").read_text(encoding="utf-8"))

    def read(detector, notes):
        facts = extract_facts(notes, detector=detector, mrs_requested=True)
        return {k: (v.value, [(e.start, e.end, e.modifiers) for e in v.evidence]) for k, v in facts.items()}

    for case in cases[::6]:
        assert read(cached, case["notes"]) == read(plain, case["notes"])


@pytest.mark.parametrize("content", [
    "not json",
    json.dumps({"engine": "another python", "entries": [["a", 0, 0, [1, 2], 0, {}, [None]]]}),
    json.dumps({"engine": None, "entries": 5}),
])
def test_a_foreign_or_damaged_file_is_ignored_and_replaced(tmp_path, content):
    path = tmp_path / FILE_NAME
    path.write_text(content, encoding="utf-8")
    re.purge()  # so the compile below reaches the cache, not re's own
    with code_cache(tmp_path) as cache:
        compiled = re.compile(r"glio(?:ma|blastoma)\s+grade\s+(\d)", re.IGNORECASE | re.MULTILINE)
    assert compiled.search("Glioma grade 3").group(1) == "3"
    assert cache.missed == 1
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert [e[0] for e in saved["entries"]] == [r"glio(?:ma|blastoma)\s+grade\s+(\d)"]
    assert CodeCache(path).entries  # our own engine: read back


def test_a_damaged_entry_is_compiled_afresh(tmp_path):
    re.purge()
    with code_cache(tmp_path):
        re.compile(r"(?P<n>\d+) ?mm")
    data = json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))
    data["entries"][0][3] = [999999]  # code the regex engine refuses
    (tmp_path / FILE_NAME).write_text(json.dumps(data), encoding="utf-8")
    cache = CodeCache(tmp_path / FILE_NAME)
    assert cache.compile(r"(?P<n>\d+) ?mm", 0).match("12 mm").group("n") == "12"
    assert cache.missed == 1


def test_without_a_folder_re_is_untouched_and_it_is_restored_after(tmp_path):
    from re import _compiler

    original = _compiler.compile
    with code_cache(None) as cache:
        re.compile("x+y")
        assert cache is None and _compiler.compile is original
    with code_cache(tmp_path) as cache:
        assert _compiler.compile is not original
    assert _compiler.compile is original  # restored on the way out


def test_what_another_thread_compiles_meanwhile_never_reaches_the_file(tmp_path):
    import threading

    re.purge()
    other = threading.Thread(target=re.compile, args=(r"Jane Q\. Patient, MRN 4417",))
    with code_cache(tmp_path) as cache:
        other.start()
        other.join()
        re.compile(r"astrocytoma,? (?:WHO )?grade (\d)")
    assert cache.missed == 1
    assert "Patient" not in (tmp_path / FILE_NAME).read_text(encoding="utf-8")
    assert "astrocytoma" in (tmp_path / FILE_NAME).read_text(encoding="utf-8")


def test_code_is_kept_as_base64_words_and_read_back_as_re_builds_it(filled):
    """Parsing every code word from JSON was ~0.02 s of a cold `determine`: the file keeps each
    code list as the base64 of its words."""
    data = json.loads((filled / FILE_NAME).read_text(encoding="utf-8"))
    assert data["entries"] and all(isinstance(entry[3], str) for entry in data["entries"])
    pattern, flags = data["entries"][0][:2]
    assert CodeCache(filled / FILE_NAME).compile(pattern, flags) == re.compile(pattern, flags)


def test_a_code_that_is_not_base64_is_compiled_afresh(tmp_path):
    re.purge()
    with code_cache(tmp_path):
        re.compile(r"(?P<n>\d+) ?cm")
    data = json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))
    data["entries"][0][3] = "not base64!"
    (tmp_path / FILE_NAME).write_text(json.dumps(data), encoding="utf-8")
    cache = CodeCache(tmp_path / FILE_NAME)
    assert cache.compile(r"(?P<n>\d+) ?cm", 0).match("12 cm").group("n") == "12"
    assert cache.missed == 1
