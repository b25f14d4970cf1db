"""What the digest says, yes or no, from its own sentences (issue 23, literature kind): a
sentence that holds every asked word answers by its polarity (stated, negated, only possible);
a readiness question ("ready / proven / recommended?") is answered from the topic section's
"not yet" sentence; a hedge, an open "whether" or a sentence missing an asked word answers nothing."""

from __future__ import annotations

import pytest
from support.no_index import NoIndex

from mrs_assist.answer import literature, stance
from mrs_assist.answer.stance import Sentence
from mrs_assist.config import Settings
from mrs_assist.schemas import AskRequest
from mrs_assist.service import Services

DISC = "MRS for discogenic pain"
CORD = "MRS of cord lesions"
DOC = [
    Sentence("d", "d#disc.1", DISC, "Although it is not ready for regular use, it may be beneficial with conventional imaging."),
    Sentence("d", "d#disc.1", DISC, "Our findings suggest that MRS may explain a painful disc; however, this technique requires validation by larger studies."),
    Sentence("d", "d#disc.2", DISC, "Most studies performed to date have focused on the lumbar spine."),
    Sentence("d", "d#disc.2", DISC, "Future studies of the cervical region are required to determine whether MRS for discogenic pain is technically feasible."),
    Sentence("d", "d#disc.3", DISC, "MRS is typically requested by academic institutions in limited quantities."),
    Sentence("d", "d#disc.3", DISC, "Magellan does not anticipate that MRS for discogenic pain will gain a foothold in community hospitals anytime soon."),
    Sentence("d", "d#cord.1", CORD, "Technical issues need to be addressed, and we will continue to monitor the literature on lesions inside the spinal cord for possible inclusion in our clinical guidelines."),
]


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("Does the digest say MRS is typically requested by academic institutions?", "yes", "d#disc.3"),
        ("Does the digest expect discogenic MRS to catch on in community hospitals?", "no", "d#disc.3"),  # "does not anticipate … gain a foothold"
        ("Per the digest, is MRS for discogenic pain ready for routine use?", "no", "d#disc.1"),
        ("Has Magellan added spinal cord MRS to its clinical guidelines, per the digest?", "no", "d#cord.1"),  # only "possible inclusion"
        ("Does the digest say Magellan will keep monitoring the literature on cord lesions?", "yes", "d#cord.1"),
        ("Per the digest, does MRS for a painful disc still need validation by larger studies?", "yes", "d#disc.1"),
        ("Does the digest endorse MRS for spinal cord tumors?", "no", "d#cord.1"),  # readiness: the cord section's "not yet"
        ("Magellan digest: is MRS for discogenic pain still being studied?", "yes", "d#disc.1"),
    ],
)
def test_a_yes_no_question_is_answered_from_the_documents_sentence(question, claim, clause):
    verdict = literature.from_literature(question, DOC, {"d": "D"})
    assert verdict is not None and verdict.claim == claim
    assert [i for c in verdict.claims for i in c.clause_ids] == [clause] and f"[{clause}]" in verdict.text


@pytest.mark.parametrize(
    "question",
    [
        "Does the digest say most discogenic-pain studies focused on the cervical spine?",  # "cervical" is in another sentence
        "Is MRS for discogenic pain in the cervical region technically feasible per the digest?",  # "to determine whether": open
        "Does the digest say MRS explains a painful disc?",  # the sentence only suggests it may
        "Does the digest say MRS for discogenic pain is more promising than cord MRS?",  # a comparison: stance's to read
        "What does the digest say about cord lesions?",  # no yes/no question
    ],
)
def test_no_sentence_of_that_shape_gives_no_verdict(question):
    assert literature.from_literature(question, DOC, {"d": "D"}) is None


def test_a_comparison_asked_the_other_way_round_is_read_in_its_direction():
    said = Sentence("d", "d#disc.1", DISC, "It appears less promising than MRS for intralesional cord evaluation.")
    assert stance.from_stance("Per the digest, is cord MRS more promising than MRS for discogenic pain?", [said], {"d": "D"}).claim == "yes"
    assert stance.from_stance("Per the digest, is cord MRS less promising than MRS for discogenic pain?", [said], {"d": "D"}).claim == "no"


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(Settings(), retriever=NoIndex())


@pytest.mark.parametrize(
    ("question", "claim", "clause"),
    [
        ("According to the Advanced Imaging Digest, is MRS for discogenic pain ready for regular use?", "no",
         "magellan-mrs-digest#discogenic-pain.1"),
        ("Does the Magellan digest expect discogenic-pain MRS to catch on in community hospitals soon?", "no",
         "magellan-mrs-digest#discogenic-pain.3"),
        ("Does the digest mention respiratory and cardiac motion as technical issues for spinal cord MRS?", "yes",
         "magellan-mrs-digest#cord-lesions.1"),
        # "future" asked is part of the proposition, not the sentence's hedge on it
        ("Per the Magellan article, are future studies of the thoracic and cervical regions required?", "yes",
         "magellan-mrs-digest#discogenic-pain.2"),
    ],
)
def test_ask_answers_what_the_digest_says_and_the_verdict_is_checked(services, question, claim, clause):
    verdict = services.ask(AskRequest(question=question)).verdict
    assert verdict.claim == claim and verdict.checked
    assert [i for c in verdict.claims for i in c.clause_ids] == [clause]


def test_a_tense_or_plural_ending_does_not_part_two_words():
    assert literature._stem("joined") == literature._stem("join")
    assert literature._stem("requires") == literature._stem("required") == literature._stem("require")
