"""Speed-ups to medspaCy 1.3.1 that keep its rules and results (figures: README, "Extraction speed").

- ``FastRegexMatcher``: medspaCy's RegexMatcher rebuilds ``doc.text_with_ws`` for every
  pattern and matches case-insensitively, which stops Python's regex engine from skipping
  ahead to a literal prefix. This one builds the text once, matches case-insensitive
  patterns as lower-case patterns against an ASCII-lowered copy of the text (same length,
  so offsets hold), and maps offsets to tokens by bisection, resolving unaligned ends as
  medspaCy does (start left, end right). Patterns with a case-sensitive part ``(?-i:...)``
  keep IGNORECASE on the original text.
- ``expand_token_patterns``: ConText rules given as token patterns (LOWER/IN/OP "?") run
  in spaCy's Matcher; expanded into the phrases they stand for, they run in the
  PhraseMatcher, which is much faster.
- ``add_context_rules``: medspaCy's matcher tokenizes every ConText phrase and files it under
  its rule id, for which spaCy's PhraseMatcher computes a lexeme's every attribute; this files
  the same entries with the ids in a vocabulary of their own and the phrases' words remembered.
- ``SentenceContext``: medspaCy's ConText compares every target with every modifier in
  the note; scopes never leave a sentence, so this builds one graph per sentence.
- ``BoundedContextGraph``: medspaCy's ConTextGraph still compares every modifier with every
  other modifier and every target of the sentence, O(n^2) in a run-on note (50,000
  characters of "no GBM no GBM …" in one sentence). This one compares only the pairs that
  can interact — a modifier with what lies inside its scope — and gets medspaCy's scopes
  and edges exactly. Every scope is at most spec.MAX_SCOPE tokens each way, so the
  comparisons are O(tokens x MAX_SCOPE).
"""

# no "from __future__ import annotations": spaCy resolves factory signatures at run time

import hashlib
import itertools
from bisect import bisect_left, bisect_right
from collections import defaultdict

from medspacy.common.regex_matcher import RegexMatcher
from medspacy.context import ConText, ConTextGraph, ConTextModifier, ConTextRule
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from mrs_assist.extract.recache import remembered
from mrs_assist.extract.regex import compile_fast
from mrs_assist.normalize import ascii_lower

CONTEXT = "mrs_assist_context"


class FastRegexMatcher(RegexMatcher):
    """medspaCy's RegexMatcher, built for speed (see the module docstring)."""

    def add(self, match_id: str, regex_rules, on_match=None) -> None:
        if match_id not in self.vocab:
            self.vocab.strings.add(match_id)
        key = self.vocab.strings[match_id]
        for pattern in regex_rules:
            self._patterns.setdefault(key, []).append(compile_fast(pattern))
            self._callbacks[key] = on_match

    def get(self, key):
        return [p for p, _, _ in self._patterns.get(self.vocab.strings[key], [])]

    def __call__(self, doc: Doc) -> list:
        if not self._patterns:
            return []
        text = doc.text_with_ws
        lowered = ascii_lower(text)
        trigrams = {lowered[i : i + 3] for i in range(len(lowered) - 2)}
        starts = [t.idx for t in doc]
        matches: list = []
        for match_id, patterns in self._patterns.items():
            on_match = self._callbacks[match_id]
            for pattern, on_lowered, triggers in patterns:
                if triggers is not None and trigrams.isdisjoint(triggers):
                    continue  # no match can start anywhere in this note
                for m in pattern.finditer(lowered if on_lowered else text):
                    if m.end() <= m.start():
                        continue
                    first = bisect_right(starts, m.start()) - 1  # token holding the first char
                    last = bisect_right(starts, m.end() - 1) - 1  # token holding the last char
                    if first < 0 or last < first:
                        continue
                    matches.append((match_id, first, last + 1))
                    if on_match is not None:
                        on_match(self, doc, len(matches) - 1, matches)
        return matches


def install_fast_regex(component: object, nlp: Language) -> None:
    """Swap the regex matcher inside a TargetMatcher, ConText or Sectionizer (before rules are added)."""
    inner = (
        getattr(component, "_TargetMatcher__matcher", None)
        or getattr(component, "_Sectionizer__matcher", None)
        or getattr(component, "_ConText__matcher")
    )
    inner._MedspacyMatcher__regex_matcher = FastRegexMatcher(nlp.vocab)


def add_context_rules(context: ConText, rules: list) -> None:
    """``context.add(rules)``: the same rules, rule ids and matcher entries, built for less.

    medspaCy's matcher tokenizes each phrase rule and adds it to spaCy's PhraseMatcher under
    its rule id ("NEGATED_EXISTENCE_4021"), and the PhraseMatcher makes that id a lexeme of the
    pipeline's vocabulary, computing every lexical attribute of a string no note ever holds:
    ~4,700 ids, ~0.1 s of a cold ``determine`` (issue 22 item 8). Here the phrase matcher files
    its ids in a vocabulary of its own (no attributes computed), and the ids go into the
    pipeline's string store, where the components look them up. Each phrase's lower-case
    words are remembered in the active code cache (``extract.recache``), keyed by the spaCy and
    medspaCy versions, the serialized tokenizer and the phrases, so a cold process files their
    hashes instead of tokenizing ~4,700 phrases. Either way the matcher holds the entries
    medspaCy's ``add`` builds: (id, the LOWER hash of each token).
    """
    inner = context._ConText__matcher
    tokenizer = inner.nlp  # medspaCy keeps only the tokenizer, to tokenize phrases
    if inner._MedspacyMatcher__phrase_matcher_attr.upper() != "LOWER" or len(inner._MedspacyMatcher__phrase_matcher):
        context.add(rules)  # not the set-up this is built for: medspaCy's own way
        return
    inner._MedspacyMatcher__phrase_matcher = PhraseMatcher(Vocab(), attr="LOWER")
    phrases = sorted({rule.literal.lower() for rule in rules if rule.pattern is None})
    words = dict(zip(phrases, remembered(
        "context phrases", _phrases_key(tokenizer, phrases),
        lambda: [[token.lower_ for token in tokenizer(phrase)] for phrase in phrases],
    )))
    strings = tokenizer.vocab.strings
    inner.nlp = lambda text: [strings.add(w) for w in words[text]] if text in words else tokenizer(text)
    try:
        context.add(rules)
    finally:
        inner.nlp = tokenizer
    for rule_id in inner.rule_map:
        strings.add(rule_id)


def _phrases_key(tokenizer, phrases: list[str]) -> str:
    """What a phrase's tokens depend on: the libraries, the tokenizer's rules, the phrases."""
    import medspacy
    import spacy

    digest = hashlib.sha256(f"spacy {spacy.__version__} medspacy {medspacy.__version__}\0".encode())
    digest.update(tokenizer.to_bytes(exclude=["vocab"]))
    digest.update("\0".join(phrases).encode())
    return digest.hexdigest()


def expand_token_patterns(rules: list, limit: int = 5000) -> list:
    """ConText rules with LOWER/IN/OP-"?" token patterns rewritten as one rule per phrase.

    The PhraseMatcher tokenizes each phrase as it tokenizes the notes, so a phrase matches
    wherever its words appear. (A few medspaCy patterns name tokens the tokenizer never
    produces, such as "n't" or "risk of" as one token; as phrases they match as intended.)
    A rule is kept as it is when its pattern uses anything else or stands for more than
    ``limit`` phrases.
    """
    out = []
    for rule in rules:
        phrases = _phrases(rule.pattern, limit) if isinstance(rule.pattern, list) else None
        if phrases is None:
            out.append(rule)
            continue
        for words in phrases:
            out.append(
                ConTextRule(
                    " ".join(words),
                    rule.category,
                    direction=rule.direction,
                    max_scope=rule.max_scope,
                    allowed_types=rule.allowed_types,
                    terminated_by=rule.terminated_by or None,
                    metadata=rule.metadata,
                )
            )
    return out


def _phrases(pattern: list, limit: int):
    options = []
    for token in pattern:
        if set(token) - {"LOWER", "OP"} or token.get("OP", "?") != "?":
            return None
        value = token["LOWER"]
        if isinstance(value, dict):
            if set(value) != {"IN"}:
                return None
            words = [w.lower() for w in value["IN"]]
        else:
            words = [value.lower()]
        options.append(words + [None] if token.get("OP") == "?" else words)
    total = 1
    for o in options:
        total *= len(o)
    if total > limit:
        return None
    phrases = []
    for combo in itertools.product(*options):
        words = [w for w in combo if w is not None]
        if words:
            phrases.append(words)
    return phrases



class BoundedContextGraph(ConTextGraph):
    """medspaCy's ConTextGraph with the same scopes and edges, comparing only pairs that can interact.

    ``comparisons`` counts the modifier-modifier and modifier-target pairs compared: at most
    a constant times the tokens, as every scope is bounded (spec.MAX_SCOPE).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.comparisons = 0

    def update_scopes(self) -> None:
        """medspaCy's ``update_scopes`` without the calls that cannot change a scope.

        medspaCy calls ``a.limit_scope(b)`` then ``b.limit_scope(a)`` for every pair a before b
        in the list. ``m.limit_scope(o)`` changes only m's scope, and only when m reaches
        forward and o's span starts inside m's scope after m's start, or m reaches backward
        and o's span ends inside m's scope before m's end (a TERMINATE or PSEUDO modifier's
        scope never changes). Scopes only ever shrink, so a call that fails this test on the
        scopes as first set is a no-op whenever it runs; skipping those and running the rest
        in medspaCy's order (a call reads the other modifier's current scope) gives its result.
        """
        mods = self.modifiers
        spans = [m.modifier_span for m in mods]
        by_start = sorted(range(len(mods)), key=lambda k: spans[k][0])
        starts = [spans[k][0] for k in by_start]
        by_end = sorted(range(len(mods)), key=lambda k: spans[k][1])
        ends = [spans[k][1] for k in by_end]
        calls = []
        for i, modifier in enumerate(mods):
            direction = modifier.direction.lower()
            start, end = spans[i]
            scope_start, scope_end = modifier.scope_span
            others: set[int] = set()
            if direction in ("forward", "bidirectional"):  # o > m and o starts before the scope ends
                others.update(by_start[bisect_right(starts, start) : bisect_left(starts, scope_end)])
            if direction in ("backward", "bidirectional"):  # o < m and o ends after the scope starts
                others.update(by_end[bisect_right(ends, scope_start) : bisect_left(ends, end)])
            others.discard(i)
            # medspaCy's order: pair (a, b) with a < b, a's call first.
            calls += [(i, j, 0, i, j) if i < j else (j, i, 1, i, j) for j in others]
        calls.sort()
        for *_, i, j in calls:
            mods[i].limit_scope(mods[j])
        self.comparisons += len(calls)

    def apply_modifiers(self) -> None:
        """medspaCy's ``apply_modifiers``, trying each modifier only on the targets its scope reaches.

        ``modifies`` is false unless the target starts or ends inside the scope (medspaCy's
        ``tuple_overlaps``), and always false for TERMINATE and PSEUDO modifiers; targets are
        tried in the graph's order, so each modifier's targets and the edges keep medspaCy's order.
        """
        if self.prune_on_modifier_overlap:  # not used by this pipeline: medspaCy's own, unbounded
            super().apply_modifiers()
            return
        targets = self.targets
        by_start = sorted(range(len(targets)), key=lambda k: targets[k].start)
        starts = [targets[k].start for k in by_start]
        by_end = sorted(range(len(targets)), key=lambda k: targets[k].end)
        ends = [targets[k].end for k in by_end]
        for modifier in self.modifiers:
            if modifier.direction in ("TERMINATE", "PSEUDO"):
                continue
            scope_start, scope_end = modifier.scope_span
            reached = set(by_start[bisect_left(starts, scope_start) : bisect_left(starts, scope_end)])
            reached.update(by_end[bisect_right(ends, scope_start) : bisect_right(ends, scope_end)])
            self.comparisons += len(reached)
            for k in sorted(reached):
                if modifier.modifies(targets[k]):
                    modifier.modify(targets[k])
        edges = []
        for modifier in self.modifiers:
            modifier.reduce_targets()
            edges += [(target, modifier) for target in modifier._targets]
        self.edges = edges


class SentenceContext(ConText):
    """ConText applied one sentence at a time (same rules, same edges, fewer comparisons).

    ``doc._.context_graph.comparisons`` is the number of pairs compared (see BoundedContextGraph).
    """

    def sentence_graphs(self, doc: Doc) -> list[tuple[list, list]]:
        """Each sentence's targets and newly built modifiers (sentences without a target left out)."""
        group = doc.spans[self.span_group_name] if self.span_group_name in doc.spans else []
        sentences = [(s.start, s.end) for s in doc.sents]
        sentence_starts = [s for s, _ in sentences]
        by_sentence: dict[int, list] = defaultdict(list)
        for target in group:
            by_sentence[bisect_right(sentence_starts, target.start) - 1].append(target)
        modifiers: dict[int, list] = defaultdict(list)
        matcher = self._ConText__matcher
        for match_id, start, end in matcher(doc):
            i = bisect_right(sentence_starts, start) - 1
            if i in by_sentence:
                rule = matcher.rule_map[self.nlp.vocab.strings[match_id]]
                modifier = ConTextModifier(rule, start, end, doc, max_scope=self.max_scope)
                if modifier.direction in ("TERMINATE", "PSEUDO"):
                    # Such a cue modifies nothing; its scope only decides whether it ends another
                    # cue's scope. medspaCy gives it the whole sentence, and its overlap test
                    # misses a scope wholly inside another, so a clause break ("; and will not
                    # alter management") ended a "not" only when the "not" began its sentence.
                    modifier._scope_start, modifier._scope_end = start, end
                else:
                    _widen_over_line_breaks(modifier, doc, sentences[i])
                modifiers[i].append(modifier)
        return [(by_sentence[i], _without_auxiliaries(sentence_modifiers)) for i, sentence_modifiers in modifiers.items()]

    def __call__(self, doc: Doc, targets: str = None) -> Doc:
        edges = []
        comparisons = 0
        for sentence_targets, sentence_modifiers in self.sentence_graphs(doc):
            graph = BoundedContextGraph(prune_on_modifier_overlap=self.prune_on_target_overlap)
            graph.targets = sentence_targets
            graph.modifiers = sentence_modifiers
            graph.update_scopes()
            graph.apply_modifiers()
            edges += graph.edges
            comparisons += graph.comparisons
        for target, modifier in edges:
            target._.modifiers += (modifier,)
        if self.context_attributes_mapping:
            self.set_context_attributes(edges)
        group = doc.spans[self.span_group_name] if self.span_group_name in doc.spans else []
        doc._.context_graph = BoundedContextGraph(targets=list(group), edges=edges)
        doc._.context_graph.comparisons = comparisons
        return doc


def _without_auxiliaries(modifiers: list) -> list:
    """A clause cue touching another cue is that cue's auxiliary ("has | been excluded", "is |
    not"), not a new clause: it is dropped, so it cannot end the scope of the cue it belongs to."""
    cues = {m.modifier_span for m in modifiers if m.direction not in ("TERMINATE", "PSEUDO")}
    starts, ends = {s for s, _ in cues}, {e for _, e in cues}
    return [m for m in modifiers if not (m.direction == "PSEUDO" and m.category in ("CLAUSE", "SUBJECT")
                                         and (m.modifier_span[1] in starts or m.modifier_span[0] in ends))]


def _widen_over_line_breaks(modifier: ConTextModifier, doc: Doc, sentence: tuple[int, int]) -> None:
    """A scope of ``max_scope`` words, not tokens: a line break inside a sentence is a token of
    its own in spaCy, so a wrapped line ("Brother (age\\n11) was diagnosed with Leigh
    syndrome") cost a cue its reach. Widened within the sentence only; never narrowed."""
    n = modifier.rule.max_scope
    if not n:
        return
    direction = modifier.direction.lower()
    start, end = modifier.modifier_span
    if direction in ("forward", "bidirectional"):
        j, words = end, 0
        while j < sentence[1] and words < n:
            words += not doc[j].is_space
            j += 1
        modifier._scope_end = max(modifier._scope_end, j)
    if direction in ("backward", "bidirectional"):
        j, words = start, 0
        while j > sentence[0] and words < n:
            j -= 1
            words += not doc[j].is_space
        modifier._scope_start = min(modifier._scope_start, j)


Language.factory(CONTEXT)(SentenceContext)
