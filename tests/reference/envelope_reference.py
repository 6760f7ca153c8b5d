#!/usr/bin/env python3
"""Independent implementation of the medsec envelope format, written from
docs/envelope-format.md alone, on Python's `cryptography` package.

It shares no code with the Rust crate. Uses:
  envelope_reference.py vectors FILE                 check every vector: reproduce envelopes and
                                                     re-wraps byte for byte, open them, fail every
                                                     must-fail vector with its class, judge the
                                                     public key lines, parse keyring files
  envelope_reference.py open --keyring F [--recipient-key F] [--context k=v]...   (stdin -> stdout)
  envelope_reference.py seal --keyring F [--context k=v]... [--stored-context k=v]...
                             [--suite NAME] [--chunk-size N]              (stdin -> stdout)
Exit codes: 0 ok, 1 did not verify, 2 usage.
"""
import hashlib
import hmac
import json
import os
import re
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV
from cryptography.hazmat.primitives import serialization


class DidNotVerify(Exception):
    pass


class NoMatchingKey(DidNotVerify):
    """Section 8 step 4: no slot is addressed to the caller's keys (same kind and key id).
    A subclass, so callers that only distinguish "did not verify" treat it as such."""


LABEL = b"medsec-envelope-v1/"
SUITES = {1: AESGCMSIV, 2: AESGCM}
SUITE_NAMES = {"aes-256-gcm-siv": 1, "aes-256-gcm": 2}


# --- primitives (RFC 5869 HKDF with SHA-256) --------------------------------------------------
def hkdf_extract(salt, ikm):
    return hmac.new(salt if salt else b"\0" * 32, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def aead_seal(suite, key, nonce, aad, pt):
    return SUITES[suite](key).encrypt(nonce, pt, aad)


def aead_open(suite, key, nonce, aad, ct):
    try:
        return SUITES[suite](key).decrypt(nonce, ct, aad)
    except Exception as e:  # InvalidTag
        raise DidNotVerify() from e


# --- HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (RFC 9180) ---------
KEM_ID = b"KEM" + struct.pack(">H", 0x0020)
HPKE_ID = b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, 0x0002)


def labeled_extract(suite_id, salt, label, ikm):
    return hkdf_extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def labeled_expand(suite_id, prk, label, info, length):
    return hkdf_expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length)


def x25519_pub(sk_bytes):
    return X25519PrivateKey.from_private_bytes(sk_bytes).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def derive_keypair(ikm):
    prk = labeled_extract(KEM_ID, b"", b"dkp_prk", ikm)
    sk = labeled_expand(KEM_ID, prk, b"sk", b"", 32)
    return sk, x25519_pub(sk)


def dh(sk, pk):
    return X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))


def shared_secret(dh_out, kem_context):
    prk = labeled_extract(KEM_ID, b"", b"eae_prk", dh_out)
    return labeled_expand(KEM_ID, prk, b"shared_secret", kem_context, 32)


def key_schedule(ss, info):
    psk_id_hash = labeled_extract(HPKE_ID, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(HPKE_ID, b"", b"info_hash", info)
    ctx = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(HPKE_ID, ss, b"secret", b"")
    return (labeled_expand(HPKE_ID, secret, b"key", ctx, 32),
            labeled_expand(HPKE_ID, secret, b"base_nonce", ctx, 12))


def hpke_seal(pk_r, info, aad, pt, ikm_e):
    sk_e, pk_e = derive_keypair(ikm_e)
    ss = shared_secret(dh(sk_e, pk_r), pk_e + pk_r)
    key, nonce = key_schedule(ss, info)
    return pk_e + AESGCM(key).encrypt(nonce, pt, aad)


def hpke_open(sk_r, info, aad, enc_ct):
    enc, ct = enc_ct[:32], enc_ct[32:]
    try:
        ss = shared_secret(dh(sk_r, enc), enc + x25519_pub(sk_r))
    except Exception as e:
        raise DidNotVerify() from e
    key, nonce = key_schedule(ss, info)
    try:
        return AESGCM(key).decrypt(nonce, ct, aad)
    except Exception as e:
        raise DidNotVerify() from e


# --- the format -----------------------------------------------------------------------------
def check_key(k):
    return 1 <= len(k) <= 32 and all(c in b"abcdefghijklmnopqrstuvwxyz0123456789-._" for c in k)


def context_digest(entries):
    """entries: list of (key bytes, value bytes)."""
    entries = sorted(entries, key=lambda e: e[0])
    keys = [k for k, _ in entries]
    if len(set(keys)) != len(keys) or len(entries) > 16:
        raise ValueError("bad context")
    m = LABEL + b"context" + bytes([len(entries)])
    for k, v in entries:
        if not check_key(k) or len(v) > 255:
            raise ValueError("bad context entry")
        m += bytes([len(k)]) + k + bytes([len(v)]) + v
    return hashlib.sha256(m).digest()


def message_keys(dk, salt, suite):
    prk = hkdf_extract(salt, dk)
    s = bytes([suite])
    return (hkdf_expand(prk, LABEL + b"payload-key" + s, 32),
            hkdf_expand(prk, LABEL + b"commitment" + s, 32),
            hkdf_expand(prk, LABEL + b"header-mac" + s, 32))


def binding(preamble, ctx_digest):
    return hashlib.sha256(LABEL + b"binding" + preamble + ctx_digest).digest()


def wrap_aad(bind, kind, key_id):
    return bind + bytes([kind, len(key_id)]) + key_id


def nonce(i, last):
    return b"\0" * 7 + struct.pack(">I", i) + bytes([1 if last else 0])


def seal(suite, chunk_size, context, keks, hpke_pks, plaintext, random):
    """context: list of (key, value, stored); keks: [(id, key)]; hpke_pks: [(id, pk)];
    random: callable n -> bytes. KEK slots first, then HPKE slots."""
    recipients = [("kek", kid, k) for kid, k in keks] + [("hpke", kid, pk) for kid, pk in hpke_pks]
    return seal_slots(suite, chunk_size, context, recipients, plaintext, random)


def encode_slot(kind, kid, body):
    return bytes([kind, len(kid)]) + kid + struct.pack(">H", len(body)) + body


def kek_slot(suite, bind, kid, kek, dk, random):
    """Section 5.1: a keyring wrap; draws wrap_salt."""
    wrap_salt = random(32)
    wk = hkdf_expand(hkdf_extract(wrap_salt, kek), LABEL + b"wrap-key" + bytes([suite]), 32)
    return encode_slot(1, kid, wrap_salt + aead_seal(suite, wk, b"\0" * 12, wrap_aad(bind, 1, kid), dk))


def hpke_slot(bind, kid, pk, dk, random):
    """Section 5.2: an HPKE wrap; draws ikmE."""
    return encode_slot(2, kid, hpke_seal(pk, LABEL + b"hpke", wrap_aad(bind, 2, kid), dk, random(32)))


def seal_slots(suite, chunk_size, context, recipients, plaintext, random):
    """recipients: [("kek", id, key) or ("hpke", id, public key)] in header order."""
    dk, salt = random(32), random(32)
    payload_key, commitment, mac_key = message_keys(dk, salt, suite)
    stored = sorted([(k, v) for k, v, s in context if s], key=lambda e: e[0])
    preamble = bytes([suite]) + struct.pack(">I", chunk_size) + salt + commitment + bytes([len(stored)])
    for k, v in stored:
        preamble += bytes([len(k)]) + k + bytes([len(v)]) + v
    bind = binding(preamble, context_digest([(k, v) for k, v, _ in context]))
    slots = b""
    for kind, kid, key in recipients:
        if kind == "kek":
            slots += kek_slot(suite, bind, kid, key, dk, random)
        else:
            slots += hpke_slot(bind, kid, key, dk, random)
    count = len(recipients)
    header_len = 7 + len(preamble) + 1 + len(slots) + 32
    header = b"MSEV\x01" + struct.pack(">H", header_len) + preamble + bytes([count]) + slots
    header += hmac.new(mac_key, header, hashlib.sha256).digest()
    if chunk_size == 0:
        return header + aead_seal(suite, payload_key, nonce(0, True), bind, plaintext)
    body, i = b"", 0
    full = len(plaintext) // chunk_size
    for i in range(full):
        body += aead_seal(suite, payload_key, nonce(i, False), bind, plaintext[i * chunk_size:(i + 1) * chunk_size])
    body += aead_seal(suite, payload_key, nonce(full, True), bind, plaintext[full * chunk_size:])
    return header + body


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        if self.p + n > len(self.b):
            raise DidNotVerify()
        out = self.b[self.p:self.p + n]
        self.p += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]


class Header:
    """A header that passed opening steps 1-5 (section 8)."""


def verify_header(env, context, keks, hpke_sks, max_header=13214, allowed_suites=(1, 2)):
    """Opening steps 1-5. context: [(key, value)]; keks: {id: key}; hpke_sks: {id: sk}."""
    r = Reader(env)
    if r.take(4) != b"MSEV" or r.u8() != 1:
        raise DidNotVerify()
    header_len = r.u16()
    if header_len < 116 or header_len > max_header or header_len > len(env):
        raise DidNotVerify()
    r = Reader(env[:header_len])
    r.take(7)
    suite = r.u8()
    if suite not in SUITES or suite not in allowed_suites:
        raise DidNotVerify()
    chunk_size = r.u32()
    if chunk_size != 0 and not 4096 <= chunk_size <= 65536:
        raise DidNotVerify()
    salt, commitment = r.take(32), r.take(32)
    n_stored = r.u8()
    if n_stored > 16:
        raise DidNotVerify()
    prev, stored = None, []
    for _ in range(n_stored):
        k = r.take(r.u8())
        if not check_key(k) or (prev is not None and prev >= k):
            raise DidNotVerify()
        prev = k
        stored.append((k, r.take(r.u8())))
    preamble_end = r.p
    preamble = env[7:preamble_end]
    n_slots = r.u8()
    if not 1 <= n_slots <= 8:
        raise DidNotVerify()
    slots = []
    for _ in range(n_slots):
        kind = r.u8()
        kid = r.take(r.u8())
        body = r.take(r.u16())
        if kind not in (1, 2) or not 1 <= len(kid) <= 32:
            raise DidNotVerify()
        if (kind == 1 and not 1 <= len(body) <= 1024) or (kind == 2 and len(body) != 80):
            raise DidNotVerify()
        slots.append((kind, kid, body))
    if header_len - r.p != 32:
        raise DidNotVerify()
    mac = r.take(32)
    try:
        bind = binding(preamble, context_digest(context))
    except ValueError:
        raise DidNotVerify()
    dk, addressed = None, False
    for kind, kid, body in slots:
        try:
            if kind == 1 and kid in keks:
                addressed = True
                if len(body) != 80:
                    continue  # another backend's format under a colliding id: a failed slot
                wk = hkdf_expand(hkdf_extract(body[:32], keks[kid]), LABEL + b"wrap-key" + bytes([suite]), 32)
                dk = aead_open(suite, wk, b"\0" * 12, wrap_aad(bind, 1, kid), body[32:])
            elif kind == 2 and kid in hpke_sks:
                addressed = True
                dk = hpke_open(hpke_sks[kid], LABEL + b"hpke", wrap_aad(bind, 2, kid), body)
        except DidNotVerify:
            continue
        if dk is not None:
            break
    if dk is None:
        raise DidNotVerify() if addressed else NoMatchingKey()
    payload_key, expected_commitment, mac_key = message_keys(dk, salt, suite)
    expected_mac = hmac.new(mac_key, env[:header_len - 32], hashlib.sha256).digest()
    ok = hmac.compare_digest(expected_commitment, commitment) & hmac.compare_digest(expected_mac, mac)
    if not ok:
        raise DidNotVerify()
    # Section 8 step 5, only now that the header is authenticated: every stored entry must be
    # in the expected context with an equal value (expected entries not stored are bound only).
    expected = dict(context)
    for k, v in stored:
        if k not in expected or not hmac.compare_digest(expected[k], v):
            raise DidNotVerify()
    h = Header()
    h.len, h.suite, h.chunk_size, h.preamble_end = header_len, suite, chunk_size, preamble_end
    h.slots, h.bind, h.dk, h.payload_key, h.mac_key = slots, bind, dk, payload_key, mac_key
    return h


def open_envelope(env, context, keks, hpke_sks, max_header=13214, allowed_suites=(1, 2)):
    """context: [(key, value)]; keks: {id: key}; hpke_sks: {id: sk}. Returns plaintext."""
    h = verify_header(env, context, keks, hpke_sks, max_header, allowed_suites)
    suite, chunk_size, payload_key, bind = h.suite, h.chunk_size, h.payload_key, h.bind
    body = env[h.len:]
    if chunk_size == 0:
        # section 6.1: a one-shot plaintext is at most 2^32 bytes
        if len(body) < 16 or len(body) - 16 > 2 ** 32:
            raise DidNotVerify()
        return aead_open(suite, payload_key, nonce(0, True), bind, body)
    out, i, full, pos = [], 0, chunk_size + 16, 0
    while True:
        piece = body[pos:pos + full]
        pos += len(piece)
        if len(piece) == full:
            # section 7.2: index 2^32 - 1 is only ever a last chunk (at most 2^32 chunks)
            if i >= 2 ** 32 - 1:
                raise DidNotVerify()
            out.append(aead_open(suite, payload_key, nonce(i, False), bind, piece))
            i += 1
            continue
        if len(piece) < 16 or pos != len(body):
            raise DidNotVerify()
        out.append(aead_open(suite, payload_key, nonce(i, True), bind, piece))
        return b"".join(out)


# --- re-wrapping (section 9) ------------------------------------------------------------------
def rewrite_slots(env, h, replaced, new_slot):
    """Writes env again with one new slot: in place of the slots `replaced(kind, id)` selects
    (at the first one's position), or appended when `replaced` is None. h: verify_header's
    result. new_slot: callable h -> encoded slot."""
    out, count, placed = b"", 0, False
    for kind, kid, body in h.slots:
        if replaced is not None and replaced(kind, kid):
            if not placed:
                out += new_slot(h)
                placed, count = True, count + 1
            continue
        out += encode_slot(kind, kid, body)
        count += 1
    if replaced is None:
        out += new_slot(h)
        count += 1
    elif not placed:
        raise NoMatchingKey()
    if count > 8:
        raise ValueError("too many recipients")
    header = env[:5] + struct.pack(">H", h.preamble_end + 1 + len(out) + 32) + \
        env[7:h.preamble_end] + bytes([count]) + out
    if len(header) + 32 > 13214:
        raise ValueError("header too large")
    return header + hmac.new(h.mac_key, header, hashlib.sha256).digest() + env[h.len:]


def rewrap_keyring(env, context, keks, hpke_sks, keyring, random):
    """keyring: [(id, state, key)] as parse_keyring returns; replaces every kind 0x01 slot whose
    id is in the keyring (any state) by one slot under the primary."""
    h = verify_header(env, context, keks, hpke_sks)
    primary = [(kid, key) for kid, state, key in keyring if state == 1]
    if not primary:
        raise ValueError("no primary")
    ids = {kid for kid, _, _ in keyring}
    pid, pkey = primary[0]
    return rewrite_slots(env, h, lambda kind, kid: kind == 1 and kid in ids,
                         lambda h: kek_slot(h.suite, h.bind, pid, pkey, h.dk, random))


def rotate_recipient(env, context, keks, hpke_sks, retired_id, new_id, new_pk, random):
    h = verify_header(env, context, keks, hpke_sks)
    if any(kind == 2 and kid == new_id and kid != retired_id for kind, kid, _ in h.slots):
        raise ValueError("the successor already has a slot")
    return rewrite_slots(env, h, lambda kind, kid: kind == 2 and kid == retired_id,
                         lambda h: hpke_slot(h.bind, new_id, new_pk, h.dk, random))


def add_recipient(env, context, keks, hpke_sks, new_id, new_pk, random):
    h = verify_header(env, context, keks, hpke_sks)
    if any(kind == 2 and kid == new_id for kind, kid, _ in h.slots):
        raise ValueError("the recipient already has a slot")
    return rewrite_slots(env, h, None, lambda h: hpke_slot(h.bind, new_id, new_pk, h.dk, random))


# --- recipient key files (section 10.2) ----------------------------------------------------------
P25519 = 2 ** 255 - 19
# Space, TAB, LF, FF, CR (as Rust's split_ascii_whitespace; bytes.split() would add VT).
ASCII_WHITESPACE = re.compile(rb"[ \t\n\x0c\r]+")


def parse_public_key_line(data):
    """A medsec-recipient-public-v1 file: returns (id, public key) or raises ValueError."""
    fields = [f for f in ASCII_WHITESPACE.split(data) if f]
    if len(fields) != 3 or fields[0] != b"medsec-recipient-public-v1":
        raise ValueError("not a public key file")
    kid, pk = bytes.fromhex(fields[1].decode("ascii")), bytes.fromhex(fields[2].decode("ascii"))
    if not 1 <= len(kid) <= 32 or len(pk) != 32:
        raise ValueError("bad id or key length")
    if int.from_bytes(pk, "little") >= P25519:  # also catches bit 255 set
        raise ValueError("non-canonical X25519 public key")
    try:  # small order: the shared secret with any scalar is zero
        dh(b"\x5a" * 32, pk)
    except Exception:
        raise ValueError("X25519 public key of small order")
    return kid, pk


def parse_keyring(data):
    if len(data) < 32 or hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise DidNotVerify()
    r = Reader(data[:-32])
    if r.take(4) != b"MSKR" or r.u8() != 1:
        raise DidNotVerify()
    keys, primaries = [], 0
    for _ in range(r.u8()):
        state = r.u8()
        kid = r.take(r.u8())
        if state not in (1, 2, 3) or not 1 <= len(kid) <= 32 or any(k[0] == kid for k in keys):
            raise DidNotVerify()
        key = None if state == 3 else r.take(32)
        primaries += state == 1
        keys.append((kid, state, key))
    if primaries > 1 or r.p != len(r.b):
        raise DidNotVerify()
    return keys


def serialize_keyring(keys):
    out = b"MSKR\x01" + bytes([len(keys)])
    for kid, state, key in keys:
        out += bytes([state, len(kid)]) + kid + (key if state != 3 else b"")
    return out + hashlib.sha256(out).digest()


# --- commands --------------------------------------------------------------------------------
def check_vectors(path):
    data = json.load(open(path))
    n = 0
    for v in data["envelopes"]:
        h = bytes.fromhex
        random = h(v["random"])
        pos = [0]

        def draw(k):
            out = random[pos[0]:pos[0] + k]
            pos[0] += k
            return out
        context = [(e["key"].encode(), h(e["value"]), e["stored"]) for e in v["context"]]
        keks = [(h(v["kek"]["id"]), h(v["kek"]["key"]))] if v["kek"] else []
        rec = v["hpke_recipient"]
        pks = [(h(rec["id"]), h(rec["public_key"]))] if rec else []
        if rec:
            assert x25519_pub(h(rec["secret_key"])) == h(rec["public_key"]), v["name"]
        env = seal(SUITE_NAMES[v["suite"]], v["chunk_size"], context, keks, pks, h(v["plaintext"]), draw)
        assert env.hex() == v["envelope"], "reproduce %s" % v["name"]
        ctx = [(k, val) for k, val, _ in context]
        if keks:
            assert open_envelope(env, ctx, dict(keks), {}) == h(v["plaintext"]), v["name"]
        if rec:
            assert open_envelope(env, ctx, {}, {h(rec["id"]): h(rec["secret_key"])}) == h(v["plaintext"])
        # tamper: a flipped bit anywhere fails
        for bit in range(0, len(env) * 8, 97):
            t = bytearray(env)
            t[bit // 8] ^= 1 << (bit % 8)
            try:
                open_envelope(bytes(t), ctx, dict(keks), {h(rec["id"]): h(rec["secret_key"])} if rec else {})
                raise AssertionError("tampered %s bit %d opened" % (v["name"], bit))
            except DidNotVerify:
                pass
        n += 1
    for k in data["keyrings"]:
        raw = bytes.fromhex(k["file"])
        keys = parse_keyring(raw)
        states = {1: "primary", 2: "decrypt-only", 3: "destroyed"}
        assert [(kid.hex(), states[s]) for kid, s, _ in keys] == [(e["id"], e["state"]) for e in k["keys"]]
        assert serialize_keyring(keys) == raw
        n += 1
    counts = [n]
    for name, check in (("extended_envelopes", check_extended), ("rewraps", check_rewrap),
                        ("must_fail", check_must_fail), ("must_open", check_must_open),
                        ("recipient_public_keys", check_public_key_line)):
        for v in data[name]:
            check(v)
        counts.append(len(data[name]))
    print("reference implementation: %d vectors reproduced and opened; %d extended envelopes "
          "reproduced and opened; %d re-wraps reproduced; %d must-fail vectors failed as "
          "expected; %d crafted envelopes opened; %d public key lines judged" % tuple(counts))


def drawer(random):
    pos = [0]

    def draw(k):
        assert pos[0] + k <= len(random), "ran out of scripted randomness"
        out = random[pos[0]:pos[0] + k]
        pos[0] += k
        return out
    draw.used = lambda: pos[0]
    return draw


def load_keys(keys):
    """An open_with / recipients list -> (keks {id: key}, hpke_sks {id: sk})."""
    keks, sks = {}, {}
    for k in keys:
        kid = bytes.fromhex(k["id"])
        if k["kind"] == "kek":
            keks[kid] = bytes.fromhex(k["key"])
        else:
            sk = bytes.fromhex(k["secret_key"])
            assert x25519_pub(sk) == bytes.fromhex(k["public_key"])
            sks[kid] = sk
    return keks, sks


def load_context(entries):
    return [(e["key"].encode("ascii"), bytes.fromhex(e["value"])) for e in entries]


def policy_of(names):
    return tuple(SUITE_NAMES[n] for n in names)


def check_intermediate(v, env, ctx):
    h, i = bytes.fromhex, v["intermediate"]
    suite = SUITE_NAMES[v["suite"]]
    random = h(v["random"])
    payload_key, commitment, mac_key = message_keys(random[:32], random[32:64], suite)
    header_len = struct.unpack(">H", env[5:7])[0]
    r = Reader(env)
    r.take(76)
    for _ in range(r.u8()):
        r.take(r.u8())
        r.take(r.u8())
    cd = context_digest(ctx)
    assert (i["data_key"], i["salt"], i["payload_key"], i["commitment"], i["header_mac_key"],
            i["context_digest"], i["binding"], i["header_len"]) == \
        (random[:32].hex(), random[32:64].hex(), payload_key.hex(), commitment.hex(), mac_key.hex(),
         cd.hex(), binding(env[7:r.p], cd).hex(), header_len), v["name"]


def check_extended(v):
    """Reproduce byte for byte from the listed recipients and random bytes, then open with each
    recipient's key alone; a sample of single-bit flips must not open."""
    h = bytes.fromhex
    draw = drawer(h(v["random"]))
    context = [(e["key"].encode(), h(e["value"]), e["stored"]) for e in v["context"]]
    recipients = [(r["kind"], h(r["id"]), h(r["key"]) if r["kind"] == "kek" else h(r["public_key"]))
                  for r in v["recipients"]]
    plaintext = h(v["plaintext"])
    env = seal_slots(SUITE_NAMES[v["suite"]], v["chunk_size"], context, recipients, plaintext, draw)
    assert draw.used() == len(h(v["random"])), v["name"]
    assert env.hex() == v["envelope"], "reproduce %s" % v["name"]
    ctx = [(k, val) for k, val, _ in context]
    check_intermediate(v, env, ctx)
    for r in v["recipients"]:
        keks, sks = load_keys([r])
        assert open_envelope(env, ctx, keks, sks) == plaintext, v["name"]
    keks, sks = load_keys(v["recipients"])
    header_len = struct.unpack(">H", env[5:7])[0]
    bits = list(range(0, header_len * 8, 61)) + \
        [header_len * 8 + (len(env) - header_len) * 8 * j // 16 for j in range(16)]
    for bit in bits:
        t = bytearray(env)
        t[bit // 8] ^= 1 << (bit % 8)
        try:
            open_envelope(bytes(t), ctx, keks, sks)
            raise AssertionError("tampered %s bit %d opened" % (v["name"], bit))
        except DidNotVerify:
            pass


def check_rewrap(v):
    """Section 9, reproduced byte for byte from the input, the keys and the random bytes."""
    h = bytes.fromhex
    draw = drawer(h(v["random"]))
    env, ctx = h(v["input"]), load_context(v["context"])
    keks, sks = load_keys(v["open_with"])
    plaintext = h(v["plaintext"])
    assert open_envelope(env, ctx, keks, sks) == plaintext, v["name"]
    op = v["operation"]
    if op == "keyring-rewrap":
        states = {"primary": 1, "decrypt-only": 2, "destroyed": 3}
        keyring = [(h(k["id"]), states[k["state"]], h(k["key"]) if k["key"] else None) for k in v["keyring"]]
        out = rewrap_keyring(env, ctx, keks, sks, keyring, draw)
        new_keks, new_sks = {kid: key for kid, state, key in keyring if state == 1}, {}
    elif op == "rotate-recipient":
        s = v["successor"]
        out = rotate_recipient(env, ctx, keks, sks, h(v["retired_id"]), h(s["id"]), h(s["public_key"]), draw)
        new_keks, new_sks = load_keys([s])
    elif op == "add-recipient":
        s = v["new_recipient"]
        out = add_recipient(env, ctx, keks, sks, h(s["id"]), h(s["public_key"]), draw)
        new_keks, new_sks = load_keys([s])
    else:
        raise AssertionError(op)
    assert draw.used() == 32, v["name"]
    assert out.hex() == v["output"], "reproduce %s" % v["name"]
    assert open_envelope(out, ctx, new_keks, new_sks) == plaintext, v["name"]


def open_class(v):
    keks, sks = load_keys(v["open_with"])
    try:
        return "opened", open_envelope(bytes.fromhex(v["envelope"]), load_context(v["context"]),
                                       keks, sks, allowed_suites=policy_of(v["policy"]))
    except NoMatchingKey:
        return "no_matching_key", None
    except DidNotVerify:
        return "did_not_verify", None


def check_must_fail(v):
    cls, _ = open_class(v)
    assert cls == v["expected"], "%s: %s, expected %s" % (v["name"], cls, v["expected"])


def check_must_open(v):
    cls, pt = open_class(v)
    assert cls == "opened" and pt == bytes.fromhex(v["plaintext"]), v["name"]


def check_public_key_line(v):
    try:
        parse_public_key_line(v["line"].encode("ascii"))
        got = "accept"
    except ValueError:
        got = "refuse"
    assert got == v["expected"], "%s: %s" % (v["name"], got)


def parse_args(argv):
    opts = {"context": [], "stored-context": [], "keyring": None, "recipient-key": [],
            "suite": "aes-256-gcm-siv", "chunk-size": "0"}
    i = 0
    while i < len(argv):
        name = argv[i][2:]
        if name not in opts or i + 1 >= len(argv):
            raise SystemExit(2)
        if isinstance(opts[name], list):
            opts[name].append(argv[i + 1])
        else:
            opts[name] = argv[i + 1]
        i += 2
    return opts


def kv(items):
    return [(k.encode(), v.encode()) for k, v in (s.split("=", 1) for s in items)]


def main():
    if len(sys.argv) < 2:
        return 2
    cmd = sys.argv[1]
    if cmd == "vectors":
        check_vectors(sys.argv[2])
        return 0
    opts = parse_args(sys.argv[2:])
    keys = parse_keyring(open(opts["keyring"], "rb").read()) if opts["keyring"] else []
    data = sys.stdin.buffer.read()
    if cmd == "open":
        sks = {}
        for p in opts["recipient-key"]:
            label, kid, sk = open(p).read().split()
            assert label == "medsec-recipient-secret-v1"
            sks[bytes.fromhex(kid)] = bytes.fromhex(sk)
        keks = {kid: key for kid, state, key in keys if state != 3}
        try:
            sys.stdout.buffer.write(open_envelope(data, kv(opts["context"]), keks, sks))
        except DidNotVerify:
            sys.stderr.write("did not verify\n")
            return 1
        return 0
    if cmd == "seal":
        primary = [(kid, key) for kid, state, key in keys if state == 1]
        context = [(k, v, False) for k, v in kv(opts["context"])] + \
                  [(k, v, True) for k, v in kv(opts["stored-context"])]
        sys.stdout.buffer.write(seal(SUITE_NAMES[opts["suite"]], int(opts["chunk-size"]), context,
                                     primary, [], data, os.urandom))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
