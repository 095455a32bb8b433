"""Text normalisation: one form for every title, description, review and query (English and Chinese)."""

from __future__ import annotations

import re
import unicodedata


# Scripts written without spaces between words: Han characters (incl. 々 〆 〇) and Japanese kana.
CJK = "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_CHAR = re.compile(f"[{CJK}]")
_LATIN_OR_DIGIT = f"[^\\W_{CJK}]"  # a letter or digit of a space-separated script
_SCRIPT_BOUNDARY = re.compile(f"(?<=[{CJK}])(?={_LATIN_OR_DIGIT})|(?<={_LATIN_OR_DIGIT})(?=[{CJK}])")
_TOKEN = re.compile(f"[{CJK}]|[^\\s{CJK}]+")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,000,000 -> 1000000
_JOINER_VARIANTS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2019": "'", "\u02bc": "'"})

# Unit spellings (after case folding) -> the one spelling we keep. Units are rewritten only right after a
# number ("1kg", "1 KG", "1公斤" -> "1 kg") and only the spelling changes, never the value ("1000 g" stays).
UNITS = {
    "mg": ("mg", "milligram", "milligrams", "毫克"),
    "g": ("g", "gram", "grams", "克"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "公斤", "千克"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters", "毫升"),
    "l": ("l", "litre", "litres", "liter", "liters", "升"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters", "毫米"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters", "厘米"),
    "m": ("m", "metre", "metres", "meter", "meters", "米"),
    "oz": ("oz", "ounce", "ounces"),
    "lb": ("lb", "lbs"),
    "gb": ("gb", "gigabyte", "gigabytes"),
    "mah": ("mah",),
}
_CANONICAL_UNIT = {spelling: unit for unit, spellings in UNITS.items() for spelling in spellings}
_QUANTITY = re.compile(
    f"(?<!{_LATIN_OR_DIGIT})(?<!\\.)(\\d+(?:\\.\\d+)?) ?"  # a number, not glued to a word or another number
    f"({'|'.join(sorted(map(re.escape, _CANONICAL_UNIT), key=len, reverse=True))})"  # longest spelling first
    f"(?!{_LATIN_OR_DIGIT})"  # and the unit is not the start of a longer word ("5 great")
)


def normalize_text(text: str | bytes) -> str:
    """One canonical form of a title, query or review (the steps are in the module docstring).

    >>> normalize_text("ＲＥＤ　Ｔ－ｓｈｉｒｔ，1KG！")
    'red t-shirt 1 kg'
    >>> normalize_text("红色T恤 330毫升")
    '红色 t 恤 330 ml'

    Chinese: a space is never put between two Chinese characters, and always put where a Chinese character
    meets a Latin letter or digit, so "T恤" becomes "t 恤" too. One rule with no exceptions keeps the result
    predictable and lets any tokeniser split Chinese per character. Also: thousands separators go
    ("1,000" -> "1000"); symbols such as % $ & become spaces. Idempotent: normalising twice changes nothing.
    Text made only of punctuation becomes "" (blank text raises).
    """
    text = _fold(_as_text(text))
    text = _THOUSANDS_COMMA.sub("", text)
    text = _punctuation_to_spaces(text)
    text = _QUANTITY.sub(lambda m: f"{m[1]} {_CANONICAL_UNIT[m[2]]}", text)
    text = _SCRIPT_BOUNDARY.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str | bytes) -> list[str]:
    """The normalised text split for simple baselines: Latin words at spaces, each Chinese character alone.

    >>> tokens("红色T恤 Cotton")
    ['红', '色', 't', '恤', 'cotton']
    """
    return _TOKEN.findall(normalize_text(text))


def _as_text(text: object) -> str:
    """``text`` as a non-blank str (bytes are decoded as UTF-8), or a clear error."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"text is not valid UTF-8: byte 0x{error.object[error.start]:02x} at offset {error.start} cannot "
                "be decoded; decode it with its real encoding (e.g. data.decode('gbk')) or re-encode the source "
                "as UTF-8"
            ) from None
    if not isinstance(text, str):
        raise TypeError(f"text must be str or UTF-8 bytes, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"text is empty or only whitespace ({text!r}); drop it before normalising")
    return text


def _fold(text: str) -> str:
    """NFKC, case folding, NFKC again (folding can leave a string that NFKC would still change)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _punctuation_to_spaces(text: str) -> str:
    """Punctuation, symbols and control characters become spaces, invisible format characters vanish;
    kept: ``-`` between letters or digits, ``'`` between letters, ``.`` between digits."""
    text = text.translate(_JOINER_VARIANTS)
    out = []
    for i, char in enumerate(text):
        kind = unicodedata.category(char)
        if kind == "Cf":  # zero-width space, soft hyphen, byte-order mark
            continue
        if kind[0] in "PS" or kind == "Cc":
            out.append(char if _is_joiner(text, i) else " ")
        else:
            out.append(char)
    return "".join(out)


def _is_joiner(text: str, i: int) -> bool:
    before, after = text[i - 1 : i], text[i + 1 : i + 2]
    if text[i] == "-":
        return _is_latin_word_char(before) and _is_latin_word_char(after)
    if text[i] == "'":
        return _is_latin_word_char(before) and _is_latin_word_char(after) and (before + after).isalpha()
    return text[i] == "." and before.isdigit() and after.isdigit()


def _is_latin_word_char(char: str) -> bool:
    return char.isalnum() and not _CJK_CHAR.match(char)
