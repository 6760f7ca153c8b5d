#!/usr/bin/env python3
"""Derives common-passwords.txt from Django's CommonPasswordValidator list.

Source: the `django` wheel on PyPI (we used django 5.2.19), file
`django/contrib/auth/common-passwords.txt.gz`: Royce Williams's 20,000 common passwords, unhexed,
lowercased and deduplicated by Django (password_validation.py says so), which leaves 19,640
distinct lines; BSD-3-Clause as part of Django. The file is in frequency order, most common first.

Derivation (deterministic):
  1. read the list in its original (frequency) order;
  2. NFKC-normalise and lowercase each entry, drop empty lines and duplicates;
  3. keep entries of at least 8 Unicode code points (the shortest password any medsec policy
     admits, so shorter entries could never match);
  4. take the first 5,000 such entries (the 5,000 most common that fit our policy);
  5. write them sorted by UTF-8 bytes, one per line, LF endings, so the crate can binary-search.

Usage: python3 derive-blocklist.py django-5.2.19-py3-none-any.whl > common-passwords.txt
"""
import gzip
import sys
import unicodedata
import zipfile

KEEP = 5000
MIN_CODE_POINTS = 8

wheel = zipfile.ZipFile(sys.argv[1])
raw = gzip.decompress(wheel.read("django/contrib/auth/common-passwords.txt.gz")).decode("utf-8")
seen = set()
kept = []
for line in raw.split("\n"):
    entry = unicodedata.normalize("NFKC", line.strip()).lower()
    if not entry or entry in seen or len(entry) < MIN_CODE_POINTS:
        continue
    seen.add(entry)
    kept.append(entry)
    if len(kept) == KEEP:
        break
assert len(kept) == KEEP, len(kept)
for entry in sorted(kept, key=lambda s: s.encode("utf-8")):
    sys.stdout.write(entry + "\n")
