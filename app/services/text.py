"""Text as the rules see it: Traditional folded to Simplified Chinese, lower-case, cut into words.

jieba segments Chinese into words, so a keyword matches a word (「漏水」 in 「热水器漏水了」) rather than
any run of characters; English is split on non-letters. Every keyword and synonym the rules use is
added to jieba's dictionary so that it survives segmentation as one word.
"""
import re
import threading
from functools import lru_cache

import jieba
import zhconv

jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on the root logger
_lock = threading.Lock()
_known_words: set[str] = set()

_CJK = re.compile(r"[\u3400-\u9fff]")
_SPACE = re.compile(r"\s+")
# Words that say nothing about the problem; they only dilute the similarity of two reports.
STOPWORDS = frozenset(
    "的 了 是 我 你 他 她 它 们 我们 你们 在 有 和 就 也 都 还 又 很 吗 呢 吧 啊 呀 哦 嗯 请 请问 一下 一个 "
    "这个 那个 这 那 个 把 被 给 让 到 从 对 说 要 想 能 会 可以 已经 现在 今天 昨天 谢谢 您好 你好 麻烦 "
    "the a an is are was were be i my me we our you your it its this that to of in on at for and or "
    "but with have has had do does did can could please hi hello thanks thank".split()
)


def simplify(text: str) -> str:
    """Traditional → Simplified Chinese, full-width ASCII → half-width, lower-case, tidy spaces."""
    if not text:
        return ""
    text = zhconv.convert(text, "zh-cn")
    text = text.translate(_FULLWIDTH)
    return _SPACE.sub(" ", text).strip().lower()


_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20


def add_words(words) -> None:
    """Teach jieba the rules' vocabulary (idempotent, thread-safe). Words jieba already keeps whole are left as
    they are."""
    new = [w for w in words if w and w not in _known_words]
    if not new:
        return
    with _lock:
        for word in new:
            if _CJK.search(word) and " " not in word:
                _teach(jieba.dt, word)
            _known_words.add(word)
        tokens.cache_clear()
        search_words.cache_clear()


def _teach(tokenizer, word: str) -> None:
    """Keep `word` whole, only as strongly as that takes: a keyword forced in with a huge frequency would also
    win inside longer words (「着火」 would cut 「打不着火」 into 打不 + 着火 — a fire). Words the tokenizer
    already keeps whole are left as they are."""
    if tokenizer.lcut(word, HMM=False) != [word]:
        tokenizer.suggest_freq(word, tune=True)


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """The words of an already simplified text, punctuation and spaces dropped."""
    return _kept(jieba.cut(text))


def _kept(pieces) -> tuple[str, ...]:
    out = []
    for token in pieces:
        token = token.strip()
        if token and (token.isalnum() or _CJK.search(token)):
            out.append(token)
    return tuple(out)


def unknown_words(words) -> list[str]:
    """Those of `words` that add_words would still teach jieba."""
    return [w for w in dict.fromkeys(words) if w and w not in _known_words and _CJK.search(w) and " " not in w]


def tokens_with(words):
    """`tokens` as it will cut once `words` are learnt, without teaching them to the live tokenizer (a draft
    rule in the simulator must not change how intake cuts reports): a private copy of jieba's dictionary
    when some of them are new, else `tokens` itself."""
    new = unknown_words(words)
    if not new:
        return tokens
    jieba.dt.check_initialized()
    private = jieba.Tokenizer()
    with _lock:  # add_words changes the live dictionary under this lock
        private.FREQ, private.total = dict(jieba.dt.FREQ), jieba.dt.total
    private.initialized = True
    for word in new:  # exactly as add_words teaches the live one
        _teach(private, word)
    return lru_cache(maxsize=4096)(lambda text: _kept(private.cut(text)))


def words(text: str) -> tuple[str, ...]:
    return tokens(simplify(text))


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS]


def contains_phrase(haystack: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether the word sequence `phrase` occurs in `haystack` as consecutive words."""
    n = len(phrase)
    if n == 0:
        return False
    if n == 1:
        return phrase[0] in haystack
    first = phrase[0]
    return any(haystack[i] == first and haystack[i:i + n] == phrase for i in range(len(haystack) - n + 1))


def cjk_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _CJK.match(c)) / len(letters)


# Words that carry no meaning for finding a similar problem, on top of STOPWORDS (which intake's duplicate
# check shares, where "not" is kept).
_SEARCH_STOPWORDS = STOPWORDS | frozenset(
    "not no doesn't don't won't cannot can't isn't any some very too also just still get got 怎么 怎么办 什么 "
    "一直 还是 没有 不能 不会 无法 需要 问题 师傅".split())


def search_terms(text: str) -> list[str]:
    """The distinct words a text is searched by: jieba's search mode also yields the shorter words inside a
    long one (「热水器」 gives 「热水」 and 「热水器」), so a text segmented before a word was added to the
    dictionary still meets one segmented after. Single Chinese characters and stop words are dropped."""
    seen: dict[str, None] = {}
    for token in jieba.cut_for_search(simplify(text)):
        token = token.strip()
        if not token or token in _SEARCH_STOPWORDS:
            continue
        if _CJK.search(token):
            if len(token) < 2 or not all(_CJK.match(c) or c.isalnum() for c in token):
                continue
        elif not token.isalnum() or (len(token) < 2 and not token.isdigit()):
            continue
        seen.setdefault(token, None)
    return list(seen)


@lru_cache(maxsize=4096)
def search_words(subject: str | None, description: str | None) -> tuple[str, ...]:
    """A ticket's search words (subject and description). Cached like `tokens`, and forgotten with it when the
    dictionary learns a word: generated, templated and merged texts repeat, and reindexing, bulk writing and
    recurring-problem grouping each meet them thousands of times."""
    return tuple(search_terms(f"{subject or ''} {description or ''}"))

