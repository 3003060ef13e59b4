"""Legacy Vietnamese encodings to Unicode NFC (gis/encoding.py).

TCVN3 and cp1258 bytes come from glibc's iconv, an implementation independent of ours;
the VNI spellings are those VNI-Windows users type ("Ñeà Thaùm").
"""

from __future__ import annotations

import subprocess
import unicodedata

import pytest

from gis.encoding import check, decode, detect, fix
from tests.layers.importfiles import ADDRESSES, legacy

NAMES = ADDRESSES


def iconv(text: str, charset: str) -> bytes:
    command = ["iconv", "-f", "UTF-8", "-t", charset]
    return subprocess.run(command, input=text.encode(), capture_output=True, check=True).stdout


def encoded(text: str, encoding: str) -> bytes:
    return text.encode() if encoding == "utf-8" else legacy(text, encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258", "tcvn3", "vni"])
@pytest.mark.parametrize("name", NAMES)
def test_each_encoding_decodes_to_nfc(name, encoding):
    text = decode(encoded(name, encoding), encoding)
    assert text == name
    assert unicodedata.is_normalized("NFC", text)


def test_cp1258_decomposed_tones_become_precomposed():
    # Windows Vietnamese writes ề as ê + combining grave (0xCC).
    raw = b"\xd0\xea\xcc Tha\xecm"
    assert decode(raw, "cp1258") == "Đề Thám"
    assert len(decode(raw, "cp1258")) == len("Đề Thám")


def test_tcvn3_table_agrees_with_iconv_on_every_high_byte():
    for byte in range(0x80, 0x100):
        expected = subprocess.run(
            ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"],
            input=bytes([byte]),
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert decode(bytes([byte]), "tcvn3") == unicodedata.normalize("NFC", expected), hex(byte)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1258", "tcvn3", "vni"])
def test_detect_picks_the_encoding_of_real_attribute_values(encoding):
    samples = [encoded(name, encoding) for name in NAMES]
    assert detect(samples) == encoding


def test_detect_on_plain_ascii_is_utf8():
    assert detect([b"ODT", b"12"]) == "utf-8"


def test_fix_redecodes_text_read_as_latin1():
    # What a reader gives for a TCVN3 .dbf opened as latin-1.
    as_read = iconv("Sông Bằng", "TCVN5712-1").decode("latin-1")
    assert fix(as_read, "tcvn3") == "Sông Bằng"


def test_an_unknown_encoding_is_an_error():
    with pytest.raises(LookupError):
        decode(b"abc", "no-such-encoding")
    with pytest.raises(LookupError):
        check("no-such-encoding")
    for known in ("utf-8", "cp1258", "tcvn3", "TCVN3", "vni", "VNI_Windows"):
        check(known)
