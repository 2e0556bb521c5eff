"""The funnel, SLA and channel reports: pure aggregation over the journeys the state store
groups from its transitions (`StateStore.journeys`) and the opportunities' outcomes read from
Salesforce in one batch. No I/O here: `connector.commands.report` reads, these compute, and
the status page and alerts can call the same functions.

Rates over a period are computed over the cohort that entered the funnel in it (MQL, else
handoff), whatever happened to them later: a lead that became MQL in January and converted in
March counts in January's conversion rate.
"""

from __future__ import annotations

from connector.reports.channels import ChannelRow, channels
from connector.reports.funnel import FunnelRow, funnel
from connector.reports.sla import Breach, SlaReport, SlaRow, sla

__all__ = [
    "Breach",
    "ChannelRow",
    "FunnelRow",
    "SlaReport",
    "SlaRow",
    "channels",
    "funnel",
    "sla",
]
