"""English text as words a lexicon can look up: numbers, money, times and symbols spelled out.

Kokoro's English lexicons (misaki's) hold words, not "$3.50" or "1999": each transcript
token is turned into the words a reader would say before lookup. Only the token's own
characters are used (no sentence context), so one token's cost is bounded by its length.
"""

from __future__ import annotations

import re

from num2words import num2words  # type: ignore[import-untyped]

#: Digits read as a number at most; longer runs are read digit by digit ("1234567890123456"
#: is a card number, not "one quadrillion ..."), which also bounds num2words' work.
MAX_NUMBER_DIGITS = 12

_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}
_ABBREVIATIONS = {
    "mr.": "mister", "mrs.": "missus", "ms.": "miz", "dr.": "doctor", "st.": "saint",
    "jr.": "junior", "sr.": "senior", "prof.": "professor", "vs.": "versus", "vs": "versus",
    "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is", "approx.": "approximately",
    "mt.": "mount", "ft.": "feet", "no.": "number", "inc.": "incorporated", "ltd.": "limited",
}  # fmt: skip
_SYMBOLS = {"&": "and", "+": "plus", "@": "at", "=": "equals", "%": "percent", "#": "number",
            "/": "slash", "°": "degrees", "×": "times"}  # fmt: skip
_DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MONEY = re.compile(r"([$£€])(\d+(?:\.\d{1,2})?)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?([ap])\.?m\.?|(\d{1,2}):(\d{2})", re.IGNORECASE)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SLASHED_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
#: "a.m.", "U.S.": letters each followed by a dot, read letter by letter.
DOTTED_LETTERS = re.compile(r"(?:[A-Za-z]\.){2,}")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
_MONTH_ABBREVIATIONS = {m[:3].lower(): m for m in MONTHS} | {"sept": "September"}
_YEAR = re.compile(r"1[1-9]\d\d|20\d\d")
_DECADE = re.compile(r"(1[1-9]|20)(\d)0s")
#: Runs a mixed token splits into: letters (with apostrophes), digits, other symbols.
_RUNS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:\.\d+)?|\S")


def is_abbreviation(token: str) -> bool:
    """ "Mr.", "Dec." or "U.S.": a dot that belongs to the word, not the end of a sentence
    (a guess without context: "in the U.S." at a sentence's end does not end it)."""
    lowered = token.lower()
    return (
        lowered.endswith(".")
        and (lowered in _ABBREVIATIONS or lowered[:-1] in _MONTH_ABBREVIATIONS)
    ) or DOTTED_LETTERS.fullmatch(token) is not None


def month_name(token: str) -> str | None:
    """The month `token` names ("Dec.", "december", "Sept"), or None."""
    word = token.rstrip(".").lower()
    return _MONTH_ABBREVIATIONS.get(word) or next((m for m in MONTHS if m.lower() == word), None)


def spoken_words(token: str, *, british: bool = False, after_month: bool = False) -> list[str]:
    """The words a reader says for `token` (a transcript word without its outer
    punctuation); a plain word comes back as itself. `british`: dates are day/month/year;
    `after_month`: the token follows a month's name, so a day number is read as an ordinal
    ("December 2" -> "December second")."""
    lowered = token.lower()
    if lowered in _ABBREVIATIONS:
        return _ABBREVIATIONS[lowered].split()
    if lowered.endswith(".") and lowered[:-1] in _MONTH_ABBREVIATIONS:
        return [_MONTH_ABBREVIATIONS[lowered[:-1]]]
    if DOTTED_LETTERS.fullmatch(token):
        return [token]
    if after_month and token.isdigit() and 1 <= int(token) <= 31:
        return _ordinal(token)
    if match := _ISO_DATE.fullmatch(token):
        return _date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _SLASHED_DATE.fullmatch(token):
        first, second, year = int(match.group(1)), int(match.group(2)), match.group(3)
        month, day = (second, first) if british else (first, second)
        full_year = int(year) if len(year) == 4 else 2000 + int(year)
        return _date(full_year, month, day)
    if _GROUPED.fullmatch(token):
        token = token.replace(",", "")
    if match := _MONEY.fullmatch(token):
        return _money(match.group(1), match.group(2))
    if match := _PERCENT.fullmatch(token):
        return [*_number(match.group(1)), "percent"]
    if match := _ORDINAL.fullmatch(token):
        return _ordinal(match.group(1))
    if match := _TIME.fullmatch(token):
        if match.group(3):  # "3pm", "10:30a.m."
            said = _time(int(match.group(1)), int(match.group(2) or 0), clock=False)
            return [*said, f"{match.group(3).upper()}.M."]
        return _time(int(match.group(4)), int(match.group(5)))
    if match := _DECADE.fullmatch(token):
        return _decade(match.group(0))
    if _YEAR.fullmatch(token):
        return _words(num2words(int(token), lang="en", to="year"))
    if _NUMBER.fullmatch(token):
        return _number(token)
    if token in _SYMBOLS:
        return [_SYMBOLS[token]]
    runs = _RUNS.findall(token)
    if len(runs) == 1 and runs[0] == token:
        return [token] if any(c.isalpha() for c in token) else []
    words: list[str] = []
    for run in runs:
        if run == "-" or run == "'":
            continue
        words += spoken_words(run)
    return words


def _number(text: str) -> list[str]:
    negative = text.startswith("-")
    digits = text.lstrip("-")
    whole, _, fraction = digits.partition(".")
    if len(whole) > MAX_NUMBER_DIGITS:
        said = [_DIGIT_NAMES[int(d)] for d in whole]
    else:
        said = _words(num2words(int(whole), lang="en"))
    if fraction:
        said += ["point", *(_DIGIT_NAMES[int(d)] for d in fraction[:MAX_NUMBER_DIGITS])]
    return ["minus", *said] if negative else said


def _ordinal(digits: str) -> list[str]:
    if len(digits) > MAX_NUMBER_DIGITS:
        return _number(digits)
    return _words(num2words(int(digits), lang="en", to="ordinal"))


def _money(symbol: str, amount: str) -> list[str]:
    one, many, small_one, small_many = _CURRENCIES[symbol]
    whole, _, cents = amount.partition(".")
    said = [*_number(whole), one if whole == "1" else many]
    if cents and int(cents.ljust(2, "0")):
        count = int(cents.ljust(2, "0"))
        said += ["and", *_number(str(count)), small_one if count == 1 else small_many]
    return said


def _time(hours: int, minutes: int, *, clock: bool = True) -> list[str]:
    said = _number(str(hours))
    if minutes == 0:
        return [*said, "o'clock"] if clock else said
    if minutes < 10:
        return [*said, "oh", *_number(str(minutes))]
    return said + _number(str(minutes))


def _date(year: int, month: int, day: int) -> list[str]:
    """ "December second, twenty twenty six"; an impossible date is read as its numbers."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return [*_number(str(year)), *_number(str(month)), *_number(str(day))]
    return [MONTHS[month - 1], *_ordinal(str(day)), *_words(num2words(year, lang="en", to="year"))]


def _decade(token: str) -> list[str]:
    # "1990s" -> "nineteen nineties": the year's last word made plural.
    words = _words(num2words(int(token[:-1]), lang="en", to="year"))
    last = words[-1]
    words[-1] = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return words


def _words(text: str) -> list[str]:
    """num2words' text as words: hyphens and commas dropped ("twenty-one," -> twenty one)."""
    return text.replace("-", " ").replace(",", " ").split()
