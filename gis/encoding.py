"""Vietnamese text in the encodings survey and planning files still carry.

Attribute text in Vietnamese Shapefiles and drawings is often not UTF-8 but one of:

- **cp1258** (Windows Vietnamese): base letters with combining tone marks; Python has it.
- **TCVN3** ("ABC", TCVN 5712:1993 VN3, the .VnTime fonts): one byte per precomposed
  lowercase letter. Decoded with the TCVN 5712 table below, taken from glibc's iconv
  ``TCVN5712-1`` (a test checks it against iconv where iconv is installed).
- **VNI** (VNI-Windows fonts): text typed as Windows-1252 bytes, a letter being an ASCII
  base followed by a byte that the VNI fonts draw as its marks ("Ñeà Thaùm" is "Đề Thám").

Everything ends up as Unicode NFC. Files read by GDAL arrive as ``str``: read them as
latin-1 (each byte one code point) and :func:`decode` the bytes back, or let
:func:`detect` choose the encoding from the text itself.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable

ENCODINGS = ("utf-8", "cp1258", "tcvn3", "vni")

#: TCVN 5712 bytes 0x80–0xFF (glibc TCVN5712-1); bytes below 0x80 are ASCII.
_TCVN3_HIGH = (
    "\u00c0\u1ea2\u00c3\u00c1\u1ea0\u1eb6\u1eac\u00c8"  # 0x80
    "\u1eba\u1ebc\u00c9\u1eb8\u1ec6\u00cc\u1ec8\u0128"  # 0x88
    "\u00cd\u1eca\u00d2\u1ece\u00d5\u00d3\u1ecc\u1ed8"  # 0x90
    "\u1edc\u1ede\u1ee0\u1eda\u1ee2\u00d9\u1ee6\u0168"  # 0x98
    "\u00a0\u0102\u00c2\u00ca\u00d4\u01a0\u01af\u0110"  # 0xA0
    "\u0103\u00e2\u00ea\u00f4\u01a1\u01b0\u0111\u1eb0"  # 0xA8
    "\u0300\u0309\u0303\u0301\u0323\u00e0\u1ea3\u00e3"  # 0xB0
    "\u00e1\u1ea1\u1eb2\u1eb1\u1eb3\u1eb5\u1eaf\u1eb4"  # 0xB8
    "\u1eae\u1ea6\u1ea8\u1eaa\u1ea4\u1ec0\u1eb7\u1ea7"  # 0xC0
    "\u1ea9\u1eab\u1ea5\u1ead\u00e8\u1ec2\u1ebb\u1ebd"  # 0xC8
    "\u00e9\u1eb9\u1ec1\u1ec3\u1ec5\u1ebf\u1ec7\u00ec"  # 0xD0
    "\u1ec9\u1ec4\u1ebe\u1ed2\u0129\u00ed\u1ecb\u00f2"  # 0xD8
    "\u1ed4\u1ecf\u00f5\u00f3\u1ecd\u1ed3\u1ed5\u1ed7"  # 0xE0
    "\u1ed1\u1ed9\u1edd\u1edf\u1ee1\u1edb\u1ee3\u00f9"  # 0xE8
    "\u1ed6\u1ee7\u0169\u00fa\u1ee5\u1eeb\u1eed\u1eef"  # 0xF0
    "\u1ee9\u1ef1\u1ef3\u1ef7\u1ef9\u00fd\u1ef5\u1ed0"  # 0xF8
)
_TCVN3_TABLE = "".join(chr(i) for i in range(128)) + _TCVN3_HIGH

#: VNI: the mark a trailing Windows-1252 character stands for, per base letter group.
#: Lowercase marks; the uppercase mark characters are their uppercase forms.
_VNI_TONES = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
#: Marks that change the vowel (circumflex, breve) and combine with a tone.
_VNI_VOWEL_MARKS: dict[str, tuple[str, str | None]] = {
    # circumflex alone and with tones: â á à å ã ä
    "â": ("\u0302", None),
    "á": ("\u0302", "\u0301"),
    "à": ("\u0302", "\u0300"),
    "å": ("\u0302", "\u0309"),
    "ã": ("\u0302", "\u0303"),
    "ä": ("\u0302", "\u0323"),
    # breve alone and with tones (on a only): ê é è ú ü ë
    "ê": ("\u0306", None),
    "é": ("\u0306", "\u0301"),
    "è": ("\u0306", "\u0300"),
    "ú": ("\u0306", "\u0309"),
    "ü": ("\u0306", "\u0303"),
    "ë": ("\u0306", "\u0323"),
}
#: VNI single characters that are whole Vietnamese letters.
_VNI_SINGLE = {
    "ñ": "đ",
    "Ñ": "Đ",
    "ô": "ơ",
    "Ô": "Ơ",
    "ö": "ư",
    "Ö": "Ư",
    "í": "í",
    "Í": "Í",
    "ì": "ì",
    "Ì": "Ì",
    "æ": "ỉ",
    "Æ": "Ỉ",
    "ó": "ĩ",
    "Ó": "Ĩ",
    "ò": "ị",
    "Ò": "Ị",
    "î": "ỵ",
    "Î": "Ỵ",
}


def _vni_pairs() -> dict[str, str]:
    """Two-character VNI sequences (base + mark character) and the letters they spell."""
    pairs: dict[str, str] = {}
    for base in "aeouyAEOUY":  # i takes its tones as single characters (below)
        for mark, tone in _VNI_TONES.items():
            pairs[base + (mark if base.islower() else mark.upper())] = base + tone
    for base in "aeoAEO":
        for mark, (vowel, vowel_tone) in _VNI_VOWEL_MARKS.items():
            if vowel == "\u0306" and base not in "aA":
                continue  # the breve is only ever on a (ă)
            pairs[base + (mark if base.islower() else mark.upper())] = (
                base + vowel + (vowel_tone or "")
            )
    # ơ and ư (single VNI characters) with a trailing tone
    for single in "ôöÔÖ":
        for mark, tone in _VNI_TONES.items():
            pairs[single + (mark if single.islower() else mark.upper())] = (
                _VNI_SINGLE[single] + tone
            )
    return {key: unicodedata.normalize("NFC", value) for key, value in pairs.items()}


_VNI_PAIRS = _vni_pairs()


def _decode_vni(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        pair = _VNI_PAIRS.get(text[i : i + 2])
        if pair is not None:
            out.append(pair)
            i += 2
            continue
        out.append(_VNI_SINGLE.get(text[i], text[i]))
        i += 1
    return "".join(out)


_TCVN3_NAMES = ("tcvn3", "tcvn", "abc", "tcvn5712", "tcvn-5712")
_VNI_NAMES = ("vni", "vni-windows")


def check(encoding: str) -> None:
    """Raise LookupError unless :func:`decode` knows ``encoding``."""
    name = encoding.lower().replace("_", "-")
    if name not in (*_TCVN3_NAMES, *_VNI_NAMES):
        codecs.lookup(name)


def decode(data: bytes, encoding: str) -> str:
    """``data`` in ``encoding`` (one of :data:`ENCODINGS` or any Python codec) as NFC."""
    name = encoding.lower().replace("_", "-")
    if name in _TCVN3_NAMES:
        text, _ = codecs.charmap_decode(data, "strict", _TCVN3_TABLE)
    elif name in _VNI_NAMES:
        text = _decode_vni(data.decode("cp1252", errors="strict"))
    else:
        text = data.decode(name)
    return unicodedata.normalize("NFC", text)


def fix(text: str, encoding: str) -> str:
    """Text that was read as latin-1 (one code point per byte), decoded as ``encoding``."""
    return decode(text.encode("latin-1"), encoding)


_VOWELS = "aăâeêioôơuưy"
_TONES = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")
#: Every vowel letter, toneless and with each tone, lowercase NFC -> (base, toned?).
_VOWEL_FORMS = {
    unicodedata.normalize("NFC", base + tone): bool(tone)
    for base in _VOWELS
    for tone in ("", *_TONES)
}


def _plausible(word: str) -> bool:
    """Whether ``word`` (lowercase letters) could be a Vietnamese syllable: only Vietnamese
    letters, at most one tone, at most three vowels in a row, đ only first."""
    tones = run = 0
    for i, c in enumerate(word):
        if c in _VOWEL_FORMS:
            tones += _VOWEL_FORMS[c]
            run += 1
            if run > 3:
                return False
        elif c == "đ":
            if i:
                return False
            run = 0
        elif "a" <= c <= "z":
            run = 0
        else:
            return False
    return tones <= 1


def _score(text: str) -> float:
    """Share of the words with non-ASCII letters that read as Vietnamese syllables."""
    words = [w for w in re.split(r"[\s\d.,;:/()\-_'\"]+", text.lower()) if not w.isascii()]
    if not words:
        return 1.0
    return sum(_plausible(w) for w in words) / len(words)


def detect(samples: Iterable[bytes]) -> str:
    """The encoding of ``samples`` (attribute values as bytes) among :data:`ENCODINGS`.

    UTF-8 when every sample decodes as UTF-8; otherwise the legacy encoding whose reading
    gives the most plausible Vietnamese syllables (ties: cp1258, then TCVN3, then VNI).
    """
    data = [s for s in samples if any(b > 127 for b in s)]
    if not data:
        return "utf-8"
    try:
        for s in data:
            s.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best, best_score = "cp1258", -1.0
    for encoding in ENCODINGS[1:]:
        try:
            score = sum(_score(decode(s, encoding)) for s in data) / len(data)
        except UnicodeDecodeError:
            continue
        if score > best_score:
            best, best_score = encoding, score
    return best
