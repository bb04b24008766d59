"""Synthetic customers: where they live, how their numbers look to WhatsApp and to a CRM, what they
are like. Deterministic for a random generator; no I/O.

Each market has the phone quirks seen in the field: Brazilian WhatsApp ids often lack the ninth
digit the CRM has, Mexican ids keep the old mobile ``1``, and CRMs hold numbers typed in the
national format ("0912-345-678", "(11) 98888-7777", "090-1234-5678")."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers


class Persona(StrEnum):
    LOYAL = "loyal"  # writes every week or so, buys
    OCCASIONAL = "occasional"  # a conversation or two a month
    CHURNING = "churning"  # active at first, then silent for the rest of the period
    BARGAIN = "bargain"  # asks for prices and discounts in bursts
    QUIET = "quiet"  # reads campaigns, rarely writes


@dataclass(frozen=True, slots=True)
class Market:
    region: str  # ISO 3166
    tz: str
    languages: tuple[tuple[str, float], ...]  # language code, share
    weight: float
    currency: str


MARKETS: dict[str, Market] = {
    "HK": Market("HK", "Asia/Hong_Kong", (("zh-Hant", 0.8), ("en", 0.2)), 0.26, "HKD"),
    "TW": Market("TW", "Asia/Taipei", (("zh-Hant", 1.0),), 0.16, "TWD"),
    "CN": Market("CN", "Asia/Shanghai", (("zh-Hans", 1.0),), 0.10, "CNY"),
    "JP": Market("JP", "Asia/Tokyo", (("ja", 1.0),), 0.14, "JPY"),
    "BR": Market("BR", "America/Sao_Paulo", (("pt", 1.0),), 0.14, "BRL"),
    "MX": Market("MX", "America/Mexico_City", (("es", 1.0),), 0.12, "MXN"),
    "IN": Market("IN", "Asia/Kolkata", (("en", 1.0),), 0.08, "INR"),
}

PERSONAS: tuple[tuple[Persona, float], ...] = (
    (Persona.LOYAL, 0.15), (Persona.OCCASIONAL, 0.40), (Persona.CHURNING, 0.15), (Persona.BARGAIN, 0.10),
    (Persona.QUIET, 0.20))

_GIVEN = {
    "zh-Hant": ("陳大文", "李嘉欣", "黃志明", "張美玲", "林家豪", "王淑芬", "吳俊傑", "劉雅婷", "蔡宗翰", "鄭佩珊"),
    "zh-Hans": ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴芳"),
    "ja": ("佐藤 健", "鈴木 花子", "高橋 翔", "田中 美咲", "伊藤 大輔", "渡辺 結衣", "山本 蓮", "中村 さくら"),
    "pt": ("João Silva", "Maria Souza", "Ana Oliveira", "Pedro Santos", "Lucas Pereira", "Juliana Costa",
           "Gabriel Rodrigues", "Fernanda Almeida"),
    "es": ("José García", "María Hernández", "Juan López", "Guadalupe Martínez", "Luis González", "Sofía Pérez",
           "Carlos Sánchez", "Valeria Ramírez"),
    "en": ("Priya Sharma", "Rahul Verma", "Amit Patel", "Sneha Iyer", "Chris Wong", "Karen Lee", "Jason Chan",
           "Emily Cheung"),
}


@dataclass(frozen=True, slots=True)
class Customer:
    index: int
    region: str
    tz: str
    language: str
    persona: Persona
    name: str
    e164: str  # the canonical number
    wa_id: str  # what WhatsApp sends (BR without the 9th digit, MX with the old 1, for some)
    typed: str  # the number as the CRM holds it (national format, the region given separately)
    email: str
    business: int  # index of the business (phone number id) the customer writes to
    high_value: bool
    opted_in: bool  # recorded marketing opt-in
    in_crm: bool
    crm_duplicate: bool  # the CRM has a second record of this person, another number, the same email


def customers(n: int, rng: random.Random, businesses: int) -> list[Customer]:
    regions = list(MARKETS)
    weights = [MARKETS[r].weight for r in regions]
    out: list[Customer] = []
    used: set[str] = set()
    for i in range(n):
        region = rng.choices(regions, weights)[0]
        market = MARKETS[region]
        language = rng.choices([lang for lang, _ in market.languages], [w for _, w in market.languages])[0]
        persona = rng.choices([p for p, _ in PERSONAS], [w for _, w in PERSONAS])[0]
        e164, wa_id, typed = _number(region, rng, used)
        name = rng.choice(_GIVEN[language])
        out.append(Customer(
            index=i, region=region, tz=market.tz, language=language, persona=persona, name=name, e164=e164,
            wa_id=wa_id, typed=typed, email=f"customer{i}@example.{region.lower()}",
            business=0 if businesses == 1 or rng.random() < 0.8 else 1, high_value=rng.random() < 0.12,
            opted_in=rng.random() < 0.6, in_crm=rng.random() < 0.7, crm_duplicate=rng.random() < 0.04))
    return out


def second_number(c: Customer, rng: random.Random) -> str:
    """Another valid number of the same market, as typed into a CRM (a duplicate record's phone)."""
    return _number(c.region, rng, set())[2]


def _number(region: str, rng: random.Random, used: set[str]) -> tuple[str, str, str]:
    """(E.164, WhatsApp id, CRM-typed form) of a new valid mobile number in the region."""
    while True:
        national, wa_id_of = _draw(region, rng)
        parsed = phonenumbers.parse(national, region)
        if not phonenumbers.is_valid_number(parsed):
            continue
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 in used:
            continue
        used.add(e164)
        typed = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        if rng.random() < 0.3:
            typed = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return e164, wa_id_of(e164[1:]), typed


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _same(digits: str) -> str:
    return digits


def _draw(region: str, rng: random.Random) -> tuple[str, Callable[[str], str]]:
    """A national number, and how WhatsApp writes its international digits."""
    same = _same
    if region == "HK":
        return rng.choice("569") + _digits(rng, 7), same
    if region == "TW":
        return "09" + _digits(rng, 8), same
    if region == "CN":
        return "1" + rng.choice("3456789") + _digits(rng, 9), same
    if region == "JP":
        return "0" + rng.choice(("90", "80", "70")) + _digits(rng, 8), same
    if region == "BR":
        old_id = rng.random() < 0.5  # an account older than the ninth digit: WhatsApp id without it
        national = rng.choice(("11", "21", "41", "31")) + "9" + rng.choice("6789") + _digits(rng, 7)
        return national, (lambda d: d[:4] + d[5:]) if old_id else same
    if region == "MX":
        old_id = rng.random() < 0.6  # a pre-2019 account: the id keeps the mobile 1 after 52
        national = rng.choice(("55", "33", "81")) + _digits(rng, 8)
        return national, (lambda d: "521" + d[2:]) if old_id else same
    if region == "IN":
        return rng.choice("6789") + _digits(rng, 9), same
    raise ValueError(f"no market {region}")
