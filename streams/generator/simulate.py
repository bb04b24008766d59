"""The traffic itself: customers of two businesses writing over D days, a bot and agents
answering, receipts with realistic rates and Meta's error codes, weekly campaigns, orders and CRM
records, Meta's retries and out-of-order receipts. Deterministic for (seed, start, contacts, days).

Every post is kept with its arrival time (event time plus a small delay, larger for retries and
reordered receipts); ``Traffic.posts`` is in arrival order. ``Traffic.truth`` records what was
generated, for the report's figures to be checked against (``streams.generator.truth``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.generator import phrases, webhooks
from streams.generator.clock import WEEKDAY, local_at, next_local, pick_time
from streams.generator.people import Customer, Persona, customers, second_number
from streams.generator.webhooks import Business

BUSINESSES = (Business("109876543210001", "85230001234", "Lumi Fashion HK", "retail"),
              Business("109876543210002", "85230005678", "Lumi Wholesale", "b2b"))
AGENTS = (("agent-amy", 0.7), ("agent-ben", 1.0), ("agent-chloe", 1.3), ("agent-dev", 1.0), ("agent-eli", 2.0))
OFFICE_TZ, OFFICE_OPEN, OFFICE_CLOSE = "Asia/Hong_Kong", 9, 22  # agents work 09-22 Hong Kong time
WEEKLY_CONVERSATIONS = {Persona.LOYAL: 1.6, Persona.OCCASIONAL: 0.45, Persona.CHURNING: 1.8, Persona.BARGAIN: 1.3,
                        Persona.QUIET: 0.08}
MONTHLY_ORDERS = {Persona.LOYAL: 1.5, Persona.OCCASIONAL: 0.3, Persona.CHURNING: 0.6, Persona.BARGAIN: 0.7,
                  Persona.QUIET: 0.15}
TEMPLATE_REPLY = {Persona.LOYAL: 0.3, Persona.OCCASIONAL: 0.12, Persona.CHURNING: 0.03, Persona.BARGAIN: 0.35,
                  Persona.QUIET: 0.04}
FAILURES = ((131026, "Message undeliverable", 0.5), (131049, "This message was not delivered to maintain healthy "
            "ecosystem engagement.", 0.3), (130472, "User's number is part of an experiment", 0.1),
            (131000, "Something went wrong", 0.1))
SKUS = tuple(f"SKU-{i:03d}" for i in range(40))


@dataclass(frozen=True)
class Config:
    contacts: int = 2000
    days: int = 30
    seed: int = 7
    start: datetime = datetime(2026, 10, 21, tzinfo=UTC)  # the first simulated day (UTC midnight)
    retry_share: float = 0.03  # WhatsApp webhooks Meta delivers twice
    reorder_share: float = 0.08  # read receipts arriving before their delivered receipt
    delivered: float = 0.92
    read: float = 0.65  # of all outbound messages
    failed: float = 0.03

    @property
    def end_s(self) -> int:
        return int((self.start + timedelta(days=self.days)).timestamp())


@dataclass(frozen=True, slots=True)
class Post:
    at: float  # arrival, epoch seconds (simulated)
    seq: int
    source: str  # whatsapp | agent_inbox | cdc
    body: dict[str, Any]
    retry: bool = False

    def line(self) -> dict[str, Any]:
        received = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"source": self.source, "received_at": received, "body": self.body}


@dataclass
class Message:
    """One message as generated (the truth side): who, when, what."""
    wamid: str
    contact: int
    business: str
    ts: int
    direction: str  # inbound | outbound
    kind: str  # customer | bot | agent | template
    language: str
    intent: str | None = None
    agent_id: str | None = None
    template: str | None = None
    final: str | None = None  # outbound: sent | delivered | read | failed
    error_code: int | None = None
    read_ts: int | None = None  # outbound: when the customer read it


@dataclass
class Traffic:
    config: Config
    customers: list[Customer]
    posts: list[Post] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    crm_records: int = 0
    opt_outs: int = 0
    opted_out: dict[int, int] = field(default_factory=dict)  # customer index -> when Meta reported the opt-out

    def lines(self) -> Iterator[dict[str, Any]]:
        return (p.line() for p in self.posts)


class _Builder:
    def __init__(self, config: Config) -> None:
        self.c = config
        self.seq = 0
        self.traffic = Traffic(config, customers(config.contacts, random.Random(f"{config.seed}:people"),
                                                 len(BUSINESSES)))

    def post(self, rng: random.Random, at: float, source: str, body: dict[str, Any], retryable: bool = False) -> None:
        self.seq += 1
        self.traffic.posts.append(Post(at, self.seq, source, body))
        if retryable and rng.random() < self.c.retry_share:  # Meta did not see our 200 in time: it sends again
            self.seq += 1
            self.traffic.posts.append(Post(at + rng.uniform(20, 600), self.seq, source, body, retry=True))

    def build(self) -> Traffic:
        for cust in self.traffic.customers:
            self.customer(cust, random.Random(f"{self.c.seed}:{cust.index}"))
        self.traffic.posts.sort(key=lambda p: (p.at, p.seq))
        self.traffic.messages.sort(key=lambda m: (m.ts, m.wamid))
        return self.traffic

    # -- one customer's month -------------------------------------------------------------------
    def customer(self, cust: Customer, rng: random.Random) -> None:
        biz = BUSINESSES[cust.business]
        start_s = int(self.c.start.timestamp())
        if cust.in_crm:
            self.crm_contact(cust, rng, f"C-{cust.index}", cust.typed, start_s + rng.uniform(0, 3600))
            if cust.crm_duplicate:
                self.crm_contact(cust, rng, f"C-{cust.index}-b", second_number(cust, rng),
                                 start_s + rng.uniform(3600, 5 * 86400))
        if cust.opted_in:
            self.post(rng, start_s + rng.uniform(0, 7200), "whatsapp",
                      webhooks.preference(biz, cust.wa_id, start_s, "signup"), retryable=True)
        silent_from = rng.uniform(6, 12) if cust.persona is Persona.CHURNING else None
        busy: list[int] = []
        day = rng.expovariate(WEEKLY_CONVERSATIONS[cust.persona] / 7)
        while day < self.c.days:
            if silent_from is not None and day >= silent_from:
                break
            date = self.c.start + timedelta(days=int(day))
            if rng.random() < WEEKDAY[biz.profile][date.weekday()] / 1.25:
                t0 = pick_time(rng, date, biz.profile, cust.tz)
                if self.c.end_s - 86400 > t0 > start_s and all(abs(t0 - b) > 2 * 86400 for b in busy):
                    busy.append(t0)
                    self.conversation(cust, rng, t0, self.intent(cust, rng))
            day += rng.expovariate(WEEKLY_CONVERSATIONS[cust.persona] / 7)
        if biz.profile == "retail" and cust.opted_in:
            self.campaigns(cust, rng, silent_from)
        if cust.in_crm:
            self.orders(cust, rng, silent_from)

    def intent(self, cust: Customer, rng: random.Random) -> str:
        if cust.persona is Persona.BARGAIN and rng.random() < 0.75:
            return rng.choice(("price", "discount", "size"))
        if BUSINESSES[cust.business].profile == "b2b" and rng.random() < 0.4:
            return "quote"
        if cust.persona is Persona.CHURNING and rng.random() < 0.3:
            return "complaint"
        return rng.choices(("price", "discount", "shipping", "order_status", "returns", "complaint", "size",
                            "store", "greeting"), (18, 10, 14, 14, 7, 5, 12, 6, 6))[0]

    # -- a conversation: the customer writes, the bot and agents answer ---------------------------
    def conversation(self, cust: Customer, rng: random.Random, t0: int, intent: str,
                     context: str | None = None) -> None:
        biz = BUSINESSES[cust.business]
        n_in = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        follow_up = intent if cust.persona is Persona.BARGAIN else rng.choice((intent, "greeting"))
        at = t0
        for i in range(n_in):
            self.inbound(cust, rng, at, intent if i == 0 else follow_up, context if i == 0 else None)
            at += int(rng.uniform(15, 150))
        if biz.profile == "retail" and rng.random() < 0.7:  # the bot acknowledges first
            self.send(cust, rng, t0 + int(rng.uniform(2, 9)), "bot", phrases.BOT[cust.language])
        if rng.random() < (0.97 if cust.high_value else 0.88):
            agent, speed = rng.choice(AGENTS)
            reply = self.office(t0 + int(rng.lognormvariate(4.6 if cust.high_value else 5.3, 0.9) * speed), rng)
            reply = max(reply, at + 1)  # after the customer's last message of the burst
            self.send(cust, rng, reply, "agent", rng.choice(phrases.AGENT[cust.language]), agent)
            if rng.random() < 0.35:  # the customer comes back within the hour, the same agent answers
                back = reply + int(rng.uniform(60, 3000))
                self.inbound(cust, rng, back, rng.choice(("thanks", intent)))
                self.send(cust, rng, self.office(back + int(rng.lognormvariate(4.8, 0.8) * speed), rng), "agent",
                          rng.choice(phrases.AGENT[cust.language]), agent)

    @staticmethod
    def office(ts: int, rng: random.Random) -> int:
        """Agents answer during office hours; a message in the night waits for the morning."""
        hour = local_at(ts, OFFICE_TZ).hour
        if OFFICE_OPEN <= hour < OFFICE_CLOSE:
            return ts
        return next_local(ts, OFFICE_TZ, OFFICE_OPEN) + int(rng.lognormvariate(6.5, 0.6))

    def inbound(self, cust: Customer, rng: random.Random, ts: int, intent: str, context: str | None = None) -> None:
        biz = BUSINESSES[cust.business]
        wamid = f"wamid.gen.{self.c.seed}.{cust.index}.{ts}.{rng.randrange(1 << 30):x}"
        text = rng.choice(phrases.CUSTOMER[intent][cust.language])
        self.traffic.messages.append(Message(wamid, cust.index, biz.phone_number_id, ts, "inbound", "customer",
                                             cust.language, intent=intent))
        self.post(rng, ts + rng.uniform(0.2, 3), "whatsapp",
                  webhooks.inbound_text(biz, cust.wa_id, cust.name, wamid, ts, text, context), retryable=True)

    def send(self, cust: Customer, rng: random.Random, ts: int, kind: str, text: str, agent_id: str | None = None,
             template: str | None = None, category: str = "service") -> Message:
        biz = BUSINESSES[cust.business]
        wamid = f"wamid.gen.{self.c.seed}.{cust.index}.{ts}.out{rng.randrange(1 << 30):x}"
        tpl = {"name": template, "language": phrases.TEMPLATE_LANGUAGE[cust.language]} if template else None
        msg = Message(wamid, cust.index, biz.phone_number_id, ts, "outbound", kind, cust.language, agent_id=agent_id,
                      template=template)
        self.traffic.messages.append(msg)
        self.post(rng, ts + rng.uniform(0.1, 1), "agent_inbox",
                  webhooks.outbound(biz, cust.wa_id, wamid, ts, text, kind=kind, agent_id=agent_id, template=tpl))
        self.receipts(cust, rng, msg, category)
        return msg

    def receipts(self, cust: Customer, rng: random.Random, msg: Message, category: str) -> None:
        biz = BUSINESSES[cust.business]
        roll = rng.random()
        if roll < self.c.failed:
            code, title = rng.choices([(c, t) for c, t, _ in FAILURES], [w for *_, w in FAILURES])[0]
            msg.final, msg.error_code = "failed", code
            self.post(rng, msg.ts + rng.uniform(1, 30), "whatsapp",
                      webhooks.status(biz, cust.wa_id, msg.wamid, msg.ts + 1, "failed", error=(code, title)), True)
            return
        sent_at = msg.ts + 1
        self.post(rng, sent_at + rng.uniform(0.1, 2), "whatsapp",
                  webhooks.status(biz, cust.wa_id, msg.wamid, sent_at, "sent", category=category), True)
        msg.final = "sent"
        if roll >= self.c.failed + self.c.delivered:
            return
        delivered_at = sent_at + int(rng.expovariate(1 / 20)) + 1
        delivered_arrives = delivered_at + rng.uniform(0.1, 2)
        msg.final = "delivered"
        read_share = self.c.read / self.c.delivered
        read_at = None
        if rng.random() < read_share:
            read_at = delivered_at + int(rng.lognormvariate(6.0, 1.6)) + 1
            msg.final, msg.read_ts = "read", read_at
            read_arrives = read_at + rng.uniform(0.1, 2)
            if rng.random() < self.c.reorder_share:  # the delivered receipt arrives after the read one
                delivered_arrives = read_arrives + rng.uniform(1, 30)
            self.post(rng, read_arrives, "whatsapp", webhooks.status(biz, cust.wa_id, msg.wamid, read_at, "read"), True)
        self.post(rng, delivered_arrives, "whatsapp",
                  webhooks.status(biz, cust.wa_id, msg.wamid, delivered_at, "delivered", category=category), True)

    # -- campaigns, orders, the CRM ---------------------------------------------------------------
    def campaigns(self, cust: Customer, rng: random.Random, silent_from: float | None) -> None:
        opted_out = False
        for week in range(self.c.days // 7 + 1):
            for name, weekday, hour, every in (("weekly_promo", 1, 11, 1), ("restock_alert", 4, 19, 2)):
                if week % every or (name == "restock_alert" and not cust.high_value
                                    and cust.persona is not Persona.BARGAIN):
                    continue
                date = self.c.start + timedelta(days=week * 7)
                date += timedelta(days=(weekday - date.weekday()) % 7)
                local = datetime(date.year, date.month, date.day, hour, rng.randrange(60), tzinfo=ZoneInfo(cust.tz))
                ts = int(local.timestamp())
                if not int(self.c.start.timestamp()) < ts < self.c.end_s - 86400 or opted_out:
                    continue
                msg = self.send(cust, rng, ts, "template", phrases.TEMPLATE_TEXT[name][cust.language],
                                template=name, category="marketing")
                if msg.final != "read":
                    continue
                silent = silent_from is not None and ts > int(self.c.start.timestamp()) + silent_from * 86400
                if rng.random() < 0.01:  # a customer who has had enough: Meta reports the opt-out
                    self.post(rng, ts + 600, "whatsapp",
                              webhooks.preference(BUSINESSES[cust.business], cust.wa_id, ts + 600, "stop"), True)
                    self.traffic.opt_outs += 1
                    self.traffic.opted_out[cust.index] = ts + 600
                    opted_out = True
                elif not silent and rng.random() < TEMPLATE_REPLY[cust.persona]:
                    back = ts + int(rng.uniform(120, 6 * 3600))
                    self.conversation(cust, rng, back, rng.choice(("discount", "price", "size", "thanks")),
                                      context=msg.wamid)

    def orders(self, cust: Customer, rng: random.Random, silent_from: float | None) -> None:
        n = sum(1 for _ in range(3) if rng.random() < MONTHLY_ORDERS[cust.persona] * self.c.days / 30 / 3)
        horizon = silent_from if silent_from is not None else self.c.days - 1
        for k in range(n):
            at = int(self.c.start.timestamp() + rng.uniform(0.5, horizon) * 86400)
            lines = [(rng.choice(SKUS), rng.randint(1, 3), rng.choice((199, 299, 399)))
                     for _ in range(rng.randint(1, 3))]
            items = [{"sku": sku, "quantity": q, "price": price} for sku, q, price in lines]
            order_id = f"O-{cust.index}-{k}"
            self.traffic.orders.append({"order_id": order_id, "contact": cust.index, "at": at})
            self.post(rng, at + rng.uniform(1, 60), "cdc",
                      webhooks.cdc(f"ord-{cust.index}-{k}", "order", order_id, at, "create",
                                   contact_id=f"C-{cust.index}", items=items,
                                   total=sum(q * price for _, q, price in lines), currency="HKD"))
            if BUSINESSES[cust.business].profile == "retail" and at + 86400 < self.c.end_s - 86400:
                self.send(cust, rng, at + int(rng.uniform(6, 30) * 3600), "template",
                          phrases.TEMPLATE_TEXT["order_update"][cust.language], template="order_update",
                          category="utility")

    def crm_contact(self, cust: Customer, rng: random.Random, object_id: str, typed: str, at: float) -> None:
        self.traffic.crm_records += 1
        self.post(rng, at, "cdc", webhooks.cdc(f"ct-{object_id}", "contact", object_id, int(at), "upsert",
                                               phone=typed, region=cust.region, name=cust.name, email=cust.email))


def generate(config: Config) -> Traffic:
    return _Builder(config).build()
