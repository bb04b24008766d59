"""Text folding for keyword matching across scripts and spellings. Pure.

``fold`` = NFKC (full-width and half-width forms, compatibility characters) + casefold +
traditional → simplified Chinese, character by character (OpenCC's TSCharacters table, so 退貨 and
退货 fold to the same text) + Latin diacritics removed (cuánto = cuanto, não = nao). Folding is
per character and context free, so a folded keyword is a substring of a folded text whenever the
keyword is a substring of the text. Japanese kana keep their (han)dakuten: only the Latin
combining marks U+0300–U+036F are dropped."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib.resources import files

_LATIN_MARKS = {cp: None for cp in range(0x300, 0x370)}


@cache
def _traditional_to_simplified() -> dict[int, str]:
    table: dict[int, str] = {}
    text = (files("opencc") / "dictionary" / "TSCharacters.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        traditional, _, simplified = line.partition("\t")
        if len(traditional) == 1 and simplified:
            table[ord(traditional)] = simplified.split(" ")[0]
    return table


def simplify(text: str) -> str:
    """Traditional Chinese characters -> simplified, nothing else touched (safe on regex patterns)."""
    return text.translate(_traditional_to_simplified())


def fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_traditional_to_simplified())
    if folded.isascii():
        return folded
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", folded).translate(_LATIN_MARKS))


def has_cjk(text: str) -> bool:
    """Han, kana or hangul: scripts written without spaces, matched as substrings, not words."""
    return any(0x2E80 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7AF or 0xF900 <= ord(ch) <= 0xFAFF
               or 0x20000 <= ord(ch) <= 0x3FFFF or 0xFF66 <= ord(ch) <= 0xFF9F for ch in text)
