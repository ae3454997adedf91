"""Deterministic test corpora: English from the standard library's docstrings, and a stress
corpus of hard Unicode text for tokenizer parity tests (no downloads; same lines on every run
with Python 3.11)."""
from __future__ import annotations

import functools
import importlib
import inspect
import random
import unicodedata
import warnings

# Standard library modules whose docstrings provide ordinary English text.
DOC_MODULES = (
    "argparse", "ast", "asyncio", "base64", "bisect", "calendar", "codecs", "collections",
    "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime",
    "decimal", "difflib", "doctest", "email", "enum", "fractions", "functools", "gettext", "glob",
    "gzip", "hashlib", "heapq", "html.parser", "http.client", "inspect", "io", "ipaddress",
    "itertools", "json", "locale", "logging", "mailbox", "math", "multiprocessing", "operator",
    "os", "pathlib", "pickle", "pprint", "queue", "random", "re", "shlex", "shutil", "smtplib",
    "socket", "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap",
    "threading", "tokenize", "traceback", "typing", "unittest", "urllib.parse", "uuid",
    "warnings", "weakref", "xml.etree.ElementTree", "zipfile",
)

NUM_STRESS_LINES = 12_000
SEED = 20181011  # the BERT paper's arXiv date


@functools.lru_cache(maxsize=1)
def docstring_lines() -> tuple[str, ...]:
    """Non-empty lines of the docstrings of `DOC_MODULES` and their members (~16k lines)."""
    docs: dict[str, None] = {}
    with warnings.catch_warnings():  # typing.io and typing.re warn when touched
        warnings.simplefilter("ignore", DeprecationWarning)
        _collect_docstrings(docs)
    return tuple(line for doc in docs for line in doc.splitlines() if line.strip())


def _collect_docstrings(docs: dict[str, None]) -> None:
    for name in DOC_MODULES:
        module = importlib.import_module(name)
        objects = [module, *vars(module).values()]
        for obj in list(objects):
            if inspect.isclass(obj):
                objects.extend(vars(obj).values())
        for obj in objects:
            if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj):
                doc = inspect.getdoc(obj)
                if doc:
                    docs[doc] = None


@functools.lru_cache(maxsize=1)
def _english_words() -> tuple[str, ...]:
    words = {w for line in docstring_lines() for w in line.split() if w.isalpha()}
    return tuple(sorted(words))


def _assigned(low: int, high: int, categories: str = "") -> tuple[str, ...]:
    """Assigned characters in [low, high] whose category starts with one of `categories`."""
    chars = []
    for cp in range(low, high + 1):
        category = unicodedata.category(chr(cp))
        if category not in ("Cn", "Cs") and (not categories or category[0] in categories):
            chars.append(chr(cp))
    return tuple(chars)


@functools.lru_cache(maxsize=1)
def _pools() -> dict[str, tuple[str, ...]]:
    """Character pools, each a tuple of single characters."""
    everything = [chr(cp) for cp in range(0x30000) if not 0xD800 <= cp <= 0xDFFF]
    by_category: dict[str, list[str]] = {}
    for char in everything:
        by_category.setdefault(unicodedata.category(char), []).append(char)
    scripts = [
        (0x0370, 0x03FF), (0x0400, 0x052F), (0x0530, 0x058F), (0x0590, 0x05FF), (0x0600, 0x06FF),
        (0x0900, 0x097F), (0x0980, 0x09FF), (0x0E00, 0x0E7F), (0x0F00, 0x0FFF), (0x10A0, 0x10FF),
        (0x1100, 0x11FF), (0x1200, 0x137F), (0x13A0, 0x13FF), (0x1780, 0x17FF), (0x1C80, 0x1CBF),
        (0x1E00, 0x1EFF), (0x1F00, 0x1FFF), (0x2C00, 0x2C7F), (0x3040, 0x30FF), (0xA640, 0xA69F),
        (0xAB70, 0xABBF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x10400, 0x1044F),
        (0x104B0, 0x104FF), (0x118A0, 0x118FF), (0x16E40, 0x16E9F), (0x1D400, 0x1D7FF),
        (0x1E900, 0x1E95F),
    ]
    return {
        "latin": tuple("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        "accented": _assigned(0x00C0, 0x024F, "L") + _assigned(0x1E00, 0x1EFF, "L"),
        "marks": tuple(by_category["Mn"] + by_category["Mc"] + by_category["Me"]),
        "greek_upper": tuple(c for c in _assigned(0x0391, 0x03A9, "L") if c != "Σ"),
        "scripts": tuple(c for low, high in scripts for c in _assigned(low, high, "LMN")),
        "cjk": _assigned(0x4E00, 0x9FFF) + _assigned(0x3400, 0x4DBF) + _assigned(0xF900, 0xFAFF)
        + _assigned(0x20000, 0x2FFFF, "L") + tuple(map(chr, range(0x2B800, 0x2B940)))
        + _assigned(0x2E80, 0x2FDF) + _assigned(0x3000, 0x303F),
        "emoji": _assigned(0x1F300, 0x1FAFF, "S") + _assigned(0x2600, 0x27BF, "S"),
        "invisible": tuple(by_category["Cf"] + by_category["Cc"])
        + ("\x00", "\ufffd", "\u034f", "\ufe0f", "\u200d", "\U000e0067"),
        "spaces": tuple(by_category["Zs"] + by_category["Zl"] + by_category["Zp"])
        + tuple("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u180e\u200b"),
        "punctuation": tuple(c for cat, chars in by_category.items() if cat[0] in "PS"
                             for c in chars),
        "special_case": tuple("İıßẞﬁﬀŉǅǈǋᾼᾈΩKÅϴΣςσͅＡᲀᲐᎠꭰⓐⒶⅫⅻ𐐀𐓀𞤀ΆΐŸǰẖ"),
        "private_use": tuple(map(chr, range(0xE000, 0xE100))) + ("\U000f0000", "\U00100001"),
        "any": tuple(everything),
    }


def _word(rng: random.Random, pool: tuple[str, ...], low: int, high: int) -> str:
    return "".join(rng.choice(pool) for _ in range(rng.randint(low, high)))


def _english(rng: random.Random) -> str:
    word = rng.choice(_english_words())
    return rng.choice([word, word, word.lower(), word.title(), word.upper()])


def _accented(rng: random.Random, pools: dict) -> str:
    chars = []
    for _ in range(rng.randint(1, 10)):
        chars.append(rng.choice(pools["accented"] + pools["latin"]))
        if rng.random() < 0.3:
            chars.append(_word(rng, pools["marks"][:120] if rng.random() < 0.8 else pools["marks"], 1, 3))
    return "".join(chars)


def _greek(rng: random.Random, pools: dict) -> str:
    """Upper-case Greek with Σ everywhere, next to case-ignorable and other characters."""
    neighbours = pools["greek_upper"] + ("'", ".", ":", "\u0301", "\u0345", "\u200d", "-", "·",
                                         "\u00ad", "Σ", "ʹ", "a", "1", "\u02b0", "\u0308")
    parts = [rng.choice(pools["greek_upper"] + ("Σ",)) for _ in range(rng.randint(0, 6))]
    for _ in range(rng.randint(1, 3)):
        parts.insert(rng.randint(0, len(parts)), "Σ")
    for _ in range(rng.randint(0, 3)):
        parts.insert(rng.randint(0, len(parts)), rng.choice(neighbours))
    return "".join(parts)


def _long_word(rng: random.Random, pools: dict) -> str:
    """Words around the 100 and 200 character limits, in 1- to 4-byte characters."""
    length = rng.choice([99, 100, 101, 150, 199, 200, 201, 202, 250, 300, 399, 400, 401, 800])
    pool = rng.choice([pools["latin"], pools["accented"], pools["scripts"], ("가", "힣", "A", "é"),
                       ("𐐀", "𞤀", "a"), ("a", "\u200b", "\u0301")])
    return _word(rng, pool, length, length)


def _emoji(rng: random.Random, pools: dict) -> str:
    emoji = _word(rng, pools["emoji"], 1, 3)
    extra = rng.choice(["", "\ufe0f", "\u200d" + rng.choice(pools["emoji"]), "\U0001F3FD",
                        "\ufe0f\u20e3", "\U0001F1EB\U0001F1F7", "\U000e0067\U000e007f"])
    return emoji + extra


def _segment(rng: random.Random, pools: dict) -> str:
    kind = rng.choices(
        ["english", "accented", "greek", "scripts", "cjk", "emoji", "invisible", "punctuation",
         "special_case", "numbers", "private_use", "long", "any", "mixed"],
        weights=[30, 10, 5, 12, 8, 4, 4, 8, 3, 3, 1, 0.6, 3, 8],
    )[0]
    if kind == "english":
        return _english(rng)
    if kind == "accented":
        return _accented(rng, pools)
    if kind == "greek":
        return _greek(rng, pools)
    if kind == "long":
        return _long_word(rng, pools)
    if kind == "emoji":
        return _emoji(rng, pools)
    if kind == "numbers":
        return rng.choice(["½", "²", "①", "٣", "१२", "3.14", "1,000", "10⁻⁹", "Ⅻ", "०", "12:30"])
    if kind == "mixed":  # characters of different kinds glued into one word
        picks = ["latin", "accented", "marks", "invisible", "punctuation", "cjk", "scripts"]
        return "".join(rng.choice(pools[rng.choice(picks)]) for _ in range(rng.randint(2, 12)))
    if kind == "punctuation":
        return _english(rng) + _word(rng, pools["punctuation"], 1, 3) + rng.choice(["", _english(rng)])
    low, high = {"cjk": (1, 8), "invisible": (1, 3), "any": (1, 8)}.get(kind, (1, 10))
    return _word(rng, pools[kind], low, high)


def _separator(rng: random.Random, pools: dict) -> str:
    choice = rng.random()
    if choice < 0.75:
        return " "
    if choice < 0.85:
        return ""
    if choice < 0.95:
        return _word(rng, pools["spaces"], 1, 2)
    return rng.choice(pools["invisible"])


def stress_lines(count: int = NUM_STRESS_LINES, seed: int = SEED) -> list[str]:
    """`count` lines of hard Unicode text: accents, combining marks, many scripts, CJK (incl.
    the edges of the original's ranges), emoji sequences, zero-width, control and format
    characters, Unicode spaces, punctuation, special casings, Final_Sigma contexts, private
    use and unassigned code points, words around 100 and 200 characters, empty lines."""
    rng = random.Random(seed)
    pools = _pools()
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.01:
            lines.append("")
        elif roll < 0.02:
            lines.append(_word(rng, pools["spaces"] + pools["invisible"], 1, 5))
        else:
            parts = [_segment(rng, pools) for _ in range(rng.randint(1, 16))]
            lines.append("".join(p + _separator(rng, pools) for p in parts).rstrip(" "))
    return lines
