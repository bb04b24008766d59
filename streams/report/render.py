"""`scrm report` output: a terminal summary and a self-contained HTML page (inline CSS and SVG,
a few lines of inline script that only mark which charts drew; nothing is fetched)."""

from __future__ import annotations

from html import escape
from typing import Any

from streams.report import svg
from streams.report.figures import Figures


def _n(value: Any, fmt: str = "{:,.0f}") -> str:
    return "–" if value is None else fmt.format(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.1%}"


def _dur(seconds: Any) -> str:
    if seconds is None:
        return "–"
    s = float(seconds)
    return f"{s:.0f}s" if s < 90 else f"{s / 60:.1f} min" if s < 5400 else f"{s / 3600:.1f} h"


def headlines(f: Figures) -> list[tuple[str, str]]:
    h, r, frt, fun = f.one("headline"), f.one("receipts"), f.one("frt"), f.one("funnel")
    active = f.rows("active")
    last = active[-1] if active else {}
    return [
        ("customers who wrote", _n(h.get("customers"))),
        ("customer messages", _n(h.get("inbound"))),
        ("replies: agents / bot", f"{_n(h.get('agent_replies'))} / {_n(h.get('bot_replies'))}"),
        ("templates sent", _n(h.get("templates"))),
        ("delivery / read rate", f"{_pct(r.get('delivery_rate'))} / {_pct(r.get('read_rate'))}"),
        ("first response, human: median / p90", f"{_dur(frt.get('human_median_s'))} / {_dur(frt.get('human_p90_s'))}"),
        ("first response, bot: median", _dur(frt.get("bot_median_s"))),
        ("conversations → replied → resolved → ordered",
         " → ".join(_n(fun.get(k)) for k in ("contacted", "replied", "resolved", "ordered"))),
        ("active customers: last day / 30 days", f"{_n(last.get('dau'))} / {_n(last.get('mau'))}"),
        ("alerts: complaint-rate days / slow high-value", f"{_n(f.one('alerts').get('complaint_days'))} / "
                                                         f"{_n(f.one('alerts').get('slow_high_value'))}"),
        ("CRM writes: all / written / failed / 429s", f"{_n(f.one('crm').get('writes'))} / "
                                                      f"{_n(f.one('crm').get('written'))} / "
                                                f"{_n(f.one('crm').get('failed'))} / "
                                                f"{_n(f.one('crm').get('responses_429'))}"),
        ("dead letters", _n(f.one("dead_letters").get("dead_letters"))),
    ]


def text(f: Figures) -> str:
    out = [f"SCRM report since {f.since} (local times: {f.tz})", ""]
    out += [f"  {label:<48} {value}" for label, value in headlines(f)]
    out += ["", "  templates                    sent   delivered   read   replied"]
    out += [f"  {t['template']:<24} {t['sent']:>8,}   {_pct(t['delivery_rate']):>9}  {_pct(t['read_rate']):>6}  "
            f"{_pct(t['reply_rate']):>7}" for t in f.rows("templates")]
    out += ["", "  segments now: " + ", ".join(f"{s['segment']} {s['contacts']:,}" for s in f.rows("segments"))]
    out += ["  decisions:    " + ", ".join(f"{d['outcome']}/{d['reason']} {d['decisions']:,}"
                                          for d in f.rows("decisions")[:6])]
    out += ["  hot words:    " + "; ".join(f"{w['language']}: " + ", ".join(word for word, _ in w["top"][:3])
                                           for w in f.rows("hot_words"))]
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK TC","Noto Sans CJK SC",sans-serif;margin:24px;
color:#0f172a;background:#f8fafc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}.sub{color:#64748b;margin-bottom:18px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:10px;margin-bottom:18px}
.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px}
.kpi b{display:block;font-size:18px;margin-top:4px}.kpi span{color:#64748b;font-size:12px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px;margin-bottom:16px;overflow-x:auto}
table{border-collapse:collapse;font-size:13px}td,th{padding:4px 10px;border-bottom:1px solid #f1f5f9;text-align:right}
td:first-child,th:first-child{text-align:left}
"""

MARK_DRAWN = """
addEventListener('load',()=>{const s=[...document.querySelectorAll('svg.chart')];
const drawn=s.filter(c=>{const b=c.getBBox();
  return b.width>0&&b.height>0&&c.querySelectorAll('rect,polyline').length>0});
document.body.dataset.charts=s.length;document.body.dataset.drawn=drawn.length;});
"""


def _table(columns: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html(f: Figures) -> str:
    kpis = "".join(f'<div class="kpi"><span>{escape(k)}</span><b>{escape(v)}</b></div>' for k, v in headlines(f))
    heat = {(int(r["weekday"]), int(r["hour"])): float(r["messages"]) for r in f.rows("heatmap")}
    fun = f.one("funnel")
    trend = f.rows("frt_trend")
    days = [str(r["day"])[5:] for r in trend]
    frt_chart = svg.lines("First response time per day (median, minutes)", days, {
        "human median": [None if r["human_median_s"] is None else r["human_median_s"] / 60 for r in trend],
        "bot median": [None if r["bot_median_s"] is None else r["bot_median_s"] / 60 for r in trend]}, " min")
    active = f.rows("active")
    templates = f.rows("templates")
    sections = [
        ("When customers write (messages by weekday and hour, local time)", svg.heatmap("Activity heatmap", heat)),
        ("Conversation funnel", svg.funnel("Conversation funnel", [
            ("conversations", fun.get("contacted") or 0), ("replied", fun.get("replied") or 0),
            ("resolved", fun.get("resolved") or 0), ("ordered within 7 days", fun.get("ordered") or 0)])),
        ("First response time per day, median (p90 per agent below)", frt_chart),
        ("First response by agent (human)", _table(
            ["agent", "conversations answered first", "median", "p90"],
            [[r["agent_id"], f"{r['answered']:,}", _dur(r["median_s"]), _dur(r["p90_s"])]
             for r in f.rows("frt_agents")])),
        ("Templates: delivery, read and reply rates", svg.hbars("Template read rate", [
            (f"{t['template']} read", float(t["read_rate"] or 0) * 100) for t in templates] + [
            (f"{t['template']} replied", float(t["reply_rate"] or 0) * 100) for t in templates], "{:.1f}%")
         + _table(["template", "sent", "delivered", "read", "replied"],
                  [[t["template"], f"{t['sent']:,}", _pct(t["delivery_rate"]), _pct(t["read_rate"]),
                    _pct(t["reply_rate"])] for t in templates])),
        ("Churn segments now", svg.hbars("Segment sizes", [(s["segment"], float(s["contacts"]))
                                                           for s in f.rows("segments")])),
        ("Segment moves", svg.hbars("Segment flows", [(f"{r['from_segment']} → {r['to_segment']}", float(r["moves"]))
                                                      for r in f.rows("flows")])),
        ("Automation decisions by reason", svg.hbars("Decision reasons", [
            (f"{d['outcome']}: {d['reason']}", float(d["decisions"])) for d in f.rows("decisions")])),
        ("Active customers", svg.lines("Daily and 30-day active customers", [str(r["day"])[5:] for r in active],
                                       {"daily": [r["dau"] for r in active], "30-day": [r["mau"] for r in active]})),
        ("Hot words per language", _table(["language", "top words (mentions)"], [
            [w["language"], ", ".join(f"{word} ({n:,})" for word, n in w["top"])] for w in f.rows("hot_words")])),
    ]
    body = "".join(f"<section><h2>{escape(t)}</h2>{content}</section>" for t, content in sections)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SCRM report</title>'
            f"<style>{CSS}</style></head><body><h1>WhatsApp SCRM report</h1>"
            f'<div class="sub">since {escape(f.since)} · local times {escape(f.tz)}</div>'
            f'<div class="grid">{kpis}</div>{body}<script>{MARK_DRAWN}</script></body></html>')
