"""Per-event CPU cost of the automation stage's pure logic, no broker: ``apply_signal`` (tagging,
sentiment, churn score and segment, automations, the policy gate) with the state stored and
loaded as JSON between events, as the agent does; the policy gate alone; and identity resolution
(``Resolver.observe``) over WhatsApp and CRM records of which a third link to another record.

    .venv/bin/python -m bench automation
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

from processors.engagement import Context, apply_signal
from processors.engagement_codec import dumps, loads
from processors.events import Signal, SignalKind
from processors.identity import Observation, Resolver
from processors.local_time import zone_for
from processors.phones import from_wa_id
from processors.policy import Action, PolicyFacts, decide, with_consent, with_human_reply, with_inbound
from streams.rules import read_automations, read_lexicon, read_pack

TEXTS = ["你好，這件外套多少錢？", "運費幾多？", "我的訂單 884213 出貨了嗎？", "收到，謝谢！", "好失望，我要投訴",
         "¿Cuánto cuesta el envío a Monterrey?", "Quanto custa o frete?", "送料はいくらですか", "Thanks, love it!",
         "Can I return these shoes?"]


def _signals(contacts: int, per_contact: int, rnd: random.Random) -> list[Signal]:
    out = []
    t0 = 1_790_820_300_000
    for n in range(per_contact):
        for c in range(contacts):
            wa = f"8529{c:07d}"
            ts = t0 + n * 9 * 3_600_000 + rnd.randrange(3_600_000)
            if n % 3 == 2:
                out.append(Signal(SignalKind.MESSAGE, f"out.{c}.{n}", f"pn:{wa}", ts, "pn", wamid=f"out.{c}.{n}",
                                  wa_id=wa, phone_e164="+" + wa, direction="outbound", sender_kind="agent",
                                  agent_id="a1", message_type="text", text="OK"))
            else:
                out.append(Signal(SignalKind.MESSAGE, f"in.{c}.{n}", f"pn:{wa}", ts, "pn", wamid=f"in.{c}.{n}",
                                  wa_id=wa, phone_e164="+" + wa, profile_name="陳小姐", direction="inbound",
                                  sender_kind="customer", message_type="text", text=rnd.choice(TEXTS)))
    return out


def run(contacts: int = 500, per_contact: int = 30) -> dict[str, float]:
    config = read_automations(None)
    ctx = Context(tags=read_pack(None), sentiment=read_lexicon(None), automations=config.automations,
                  policy=config.policy, churn=config.churn)
    rnd = random.Random(7)
    signals = _signals(contacts, per_contact, rnd)
    stored: dict[str, bytes] = {}
    decisions = 0
    state_bytes = 0
    t0 = time.perf_counter()
    for sig in signals:
        raw = stored.get(sig.contact_key)
        step = apply_signal(loads(raw) if raw is not None else None, sig, ctx)
        decisions += len(step.decisions)
        stored[sig.contact_key] = blob = dumps(step.state)
        state_bytes = max(state_bytes, len(blob))
    elapsed = time.perf_counter() - t0

    facts = with_human_reply(with_consent(with_inbound(PolicyFacts(), 1_000), 0, "in", "meta_preference"), 500)
    zone = zone_for("+85291234567")
    actions = [Action(f"a{i}", "r", "c", kind, "t", 0, category=cat, content=f"c{i % 7}")
               for i, (kind, cat) in enumerate([("text", "service"), ("template", "marketing"),
                                                ("template", "utility")] * 100)]
    gate_n = 0
    g0 = time.perf_counter()
    for i in range(100):
        for a in actions:
            decide(replace(a), facts, 2_000 + i * 3_600_000, config.policy, zone)
            gate_n += 1
    gate_s = time.perf_counter() - g0
    observations = _identities(20_000, rnd)
    resolver = Resolver({})
    i0 = time.perf_counter()
    merges = sum(len(resolver.observe(o).merges) for o in observations)
    identity_s = time.perf_counter() - i0
    return {"signals": len(signals), "contacts": contacts, "signals_per_s": round(len(signals) / elapsed),
            "us_per_signal": round(elapsed / len(signals) * 1e6, 1), "decisions": decisions,
            "largest_state_bytes": state_bytes, "gate_decisions_per_s": round(gate_n / gate_s),
            "us_per_gate_decision": round(gate_s / gate_n * 1e6, 2),
            "identity_observations": len(observations), "identity_merges": merges,
            "identity_observations_per_s": round(len(observations) / identity_s),
            "us_per_identity_observation": round(identity_s / len(observations) * 1e6, 1)}


NAMES = ["陳大文", "李小明", "María García", "João Silva", "佐藤花子", "Chan Tai Man", "Wong Mei Ling", "Ana Souza"]


def _identities(n: int, rnd: random.Random) -> list[Observation]:
    """WhatsApp contacts, and CRM contacts of which a third share a WhatsApp number, a sixth
    share an email with a similar name, and all bought one of 500 SKUs."""
    out = []
    t0 = 1_790_000_000_000
    for i in range(n):
        wa = f"8529{i:07d}"
        name = f"{rnd.choice(NAMES)} {i % 97}"
        if i % 2 == 0:
            phone = from_wa_id(wa)
            out.append(Observation(f"wa:pn:{wa}", "whatsapp", t0 + i, phone_keys=phone.keys, phone_e164=phone.e164,
                                   name=name, contact_key=f"pn:{wa}"))
        else:
            shared = from_wa_id(f"8529{i - 1:07d}") if i % 3 == 0 else None
            out.append(Observation(f"crm:hubspot:{i}", "hubspot", t0 + i,
                                   phone_keys=shared.keys if shared else (),
                                   email=f"user{i // 6}@example.com" if i % 6 == 1 else f"u{i}@example.com",
                                   name=name, purchases=((f"SKU-{rnd.randrange(500)}", t0 + i),)))
    return out
