"""Regenerate rpm_labelcompare.tsv: random rpm [E:]V[-R] pairs ordered by librpm itself.

Run with a Python that has rpm's own bindings (Debian: `apt-get install python3-rpm`), from
tests/data/versions: `/usr/bin/python3 make_rpm_vectors.py > rpm_labelcompare.tsv`.
The expected value is `rpm.labelCompare((E, V, R), (E, V, R))` with rpm's EVR split (epoch = the
digits before ":", release = after the last "-", None when absent) - what rpmdev-vercmp and dnf
use. Versions use only characters rpmbuild accepts in Version/Release (letters, digits, ._+%{}~^).
"""

from __future__ import annotations

import random
import sys

import rpm  # type: ignore[import-not-found]  # librpm's Python bindings, not in the venv

SEED = 20250501
PAIRS = 4000
NUMBERS = ["0", "00", "1", "01", "001", "2", "9", "10", "010", "11", "99", "100", "2023"]
NUMBERS += ["20240101", "4294967296", "18446744073709551616", "000000000000000000001"]
WORDS = ["a", "b", "z", "A", "Z", "aa", "rc", "beta", "alpha", "git", "el", "fc", "p", "pre"]
WORDS += ["post", "dfsg", "module", "Final", "GA", "el9_2"]
SEPARATORS = [".", ".", ".", "_", "+", "%", "{", "}", "", "~", "^"]
EDGES = [
    ("1.0", "1.0-1"),
    ("1.0", "1.0-~1"),
    ("1.0", "1.0-."),
    ("1.0", "1.0-0"),
    ("0:1.0-1", "1.0-1"),
    ("00:1.0-1", "1.0-1"),
    ("1:1.0-1", "2.0-1"),
    ("1.0~rc1-1", "1.0-1"),
    ("1.0^git1-1", "1.0-1"),
    ("1.0^git1-1", "1.01-1"),
    ("1.0-1~", "1.0-1"),
    ("1.0-1^", "1.0-1"),
    ("1.0.", "1.0"),
    ("1.0_", "1.0"),
    ("1..0", "1.0"),
    ("v1.0", "1.0"),
    ("1.0a", "1.0.a"),
    ("1a", "1.a"),
    ("%{version}", "1.0"),
    ("1.0-1.el9_2", "1.0-1.el9"),
    ("1.0-1.el9_2", "1.0-1.el9.1"),
    ("2.5.9-111.module+el8.9.0+19193+435404ae", "2.5.9-111.module+el8.8.0+18500+1a2b3c4d"),
    ("~", "^"),
    ("~", "."),
    ("^", "."),
    ("~~", "~"),
    ("^^", "^"),
    ("1~^", "1~"),
    ("1^~", "1^"),
]


def segment(rng: random.Random) -> str:
    return rng.choice(NUMBERS) if rng.random() < 0.6 else rng.choice(WORDS)


def part(rng: random.Random) -> str:
    text = segment(rng)
    for _ in range(rng.randint(0, 4)):
        text += rng.choice(SEPARATORS) + segment(rng)
    if rng.random() < 0.1:
        text += rng.choice(["~", "^", "~rc1", "^git1", "+", ".", "_"])
    return text


def evr(rng: random.Random, plain: bool) -> str:
    text = part(rng)
    if plain:
        return text
    if rng.random() < 0.8:
        text += "-" + part(rng)
    if rng.random() < 0.3:
        text = rng.choice(["0", "1", "2", "00", "10"]) + ":" + text
    return text


def edit(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 2)):
        i = rng.randint(0, len(text))
        draw = rng.random()
        if draw < 0.3:
            text = text[:i] + rng.choice(SEPARATORS) + segment(rng) + text[i:]
        elif draw < 0.5 and len(text) > 1:
            text = text[:i] + text[i + 1 :]
        elif draw < 0.8:
            text = text[:i] + rng.choice(["0", "1", "~", "^", "a", ".", "Z"]) + text[i:]
        else:
            text += rng.choice(SEPARATORS) + segment(rng)
    return text


def mutate(text: str, rng: random.Random) -> str:
    """A near neighbour of `text`: its version or its release edited, or its epoch changed."""
    epoch, version, release = split(text)
    draw = rng.random()
    if draw < 0.1:
        epoch = rng.choice([None, "0", "1", "2"])
    elif draw < 0.15:
        release = None if release is not None else part(rng)
    elif release is not None and draw < 0.55:
        release = edit(release, rng)
    else:
        version = edit(version, rng)
    head = f"{epoch}:" if epoch is not None else ""
    return head + version + (f"-{release}" if release is not None else "")


def split(text: str) -> tuple[str | None, str, str | None]:
    head, colon, rest = text.partition(":")
    epoch: str | None = head if colon else None
    if not colon:
        rest = text
    version, dash, release = rest.rpartition("-")
    if not dash:
        return epoch, rest, None
    return epoch, version, release


def valid(text: str) -> bool:
    epoch, version, release = split(text)
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+%{}~^")
    if epoch is not None and not (epoch.isdigit() and epoch.isascii()):
        return False
    return all(part and set(part) <= allowed for part in (version, release) if part is not None)


def main() -> None:
    rng = random.Random(SEED)
    pairs = list(EDGES)
    while len(pairs) < PAIRS:
        plain = rng.random() < 0.4
        a = evr(rng, plain)
        b = mutate(a, rng) if rng.random() < 0.75 else evr(rng, plain)
        if valid(a) and valid(b):
            pairs.append((a, b))
    out = sys.stdout
    out.write(
        f"# rpm {rpm.__version__} rpm.labelCompare on rpm's EVR split; "
        f"tests/data/versions/make_rpm_vectors.py, seed {SEED}\n"
    )
    out.write("# columns: a<TAB>b<TAB>expected\n")
    for a, b in pairs:
        out.write(f"{a}\t{b}\t{rpm.labelCompare(split(a), split(b))}\n")


if __name__ == "__main__":
    main()
