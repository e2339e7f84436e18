"""Which language a text is in, as far as the avatars need to know: English or not.

The neural voices and the ears speak and hear English only, and the offline
dialogue engine answers English only; everything else goes to eSpeak NG (which
knows other languages' sounds) and gets an honest "English only" reply.
"""

from __future__ import annotations

import re

# Words nearly every English sentence has, and the commonest words of the languages nearest it in
# spelling: text is English when it has more of the first than of the second (and only English
# letters); anything else is spoken by eSpeak, which knows other languages' sounds.
_ENGLISH = set(
    "the a an and or but is are was were be been i you he she it we they me my your our his her their this "
    "that to of in on at for with not no yes do does did have has had what how why who when where can will "
    "would so just very really too hi hello thanks thank please sorry oh okay i'm it's don't".split()
)
_OTHER = set(
    "el la los las de que y en un una es por con para se del al lo le les des et est pas je tu il nous vous "
    "der die das und ist nicht ich du sie wir ein eine mit auf zu gli che non di da per sono não em um uma "
    "com os as mi te muy pero mucho gusta hola gracias bien como estoy tengo bonjour merci mon ami oui "
    "ciao grazie hallo danke ja nein sehr obrigado".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of ``text`` (letters, with an inner apostrophe: "don't"), as written."""
    return _WORD.findall(text)


def _read(text: str) -> tuple[int, bool, int, int]:
    """(words, another script than Latin, common English words, common words of other languages)."""
    found = words(text.lower())
    other_script = any(ord(c) > 0x24F for w in found for c in w)  # beyond the Latin alphabets
    return len(found), other_script, sum(w in _ENGLISH for w in found), sum(w in _OTHER for w in found)


def looks_english(text: str) -> bool:
    """Whether ``text`` reads as English (a cheap test: English letters and common English words)."""
    n, other_script, english, other = _read(text)
    if n == 0:
        return True
    return not other_script and (english > other or (english == other == 0 and n <= 3))


def looks_foreign(text: str) -> bool:
    """Whether ``text`` is clearly not English: another script, or more common words of other
    languages than of English. Stricter than ``not looks_english``: a short English line of
    rare words ("Beautiful sunset yesterday evening") is not foreign."""
    _, other_script, english, other = _read(text)
    return other_script or other > english
