"""Faust agents: thin wiring (decode -> processor -> emit or sink). Importing registers the agents
of the stages the worker runs (``SCRM_STAGES``, ``streams.settings.STAGES``; all by default).

A stage left out is not consumed: its input topic keeps its records (for another deployment of the
same app id that runs it, or for later) and nothing downstream of it is produced."""

from importlib import import_module

from streams.app import settings

MODULES = {
    "normalize": ("normalize", "crm_normalize"),
    "state": ("state",),
    "automation": ("automation",),
    "identity": ("identity",),
    "crm": ("crm_writer",),
    "sender": ("sender",),
    "sinks": ("sink",),
}

for _stage in settings.stage_names:
    for _module in MODULES[_stage]:
        import_module(f"{__name__}.{_module}")
