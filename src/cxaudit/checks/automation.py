"""Chatbot automation checks over an interaction log (one row per turn).

The log's columns (names configurable per check):

- ``conversation_id``: the conversation (hashed in outputs);
- ``turn``: the turn's position in the conversation (1 = first);
- ``speaker``: ``bot`` (the automated assistant), ``customer`` or ``agent`` (a human);
- ``text``: what was said (read for disclosure and human-request phrases only,
  never copied into the report);
- ``sentiment`` (optional): the customer turn's sentiment score, negative below 0;
- the protected attributes of ``data.protected`` (e.g. ``language``), constant
  per conversation (the first value is used).

A conversation is *triggered* when the customer asks for a human (a phrase
matching ``request_patterns``) or stays negative (``sentiment`` below
``negative_below`` on ``sustained_turns`` consecutive customer turns); it is
*handed off* when an ``agent`` turn follows within ``max_turns`` turns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams, Threshold
from cxaudit.context import AuditContext
from cxaudit.masking import hash_ids
from cxaudit.result import Metric, Status

DISCLOSURE = [r"\b(virtual|digital|automated|ai)[ -]?(assistant|agent|chat ?bot|system)\b",
              r"\bchat ?bot\b", r"\bi am (a|an) (bot|ai|automated)", r"\bnot a (human|person)\b",
              r"\bartificial intelligence\b"]
HUMAN_REQUEST = [r"\b(real|actual|live) (person|human|agent)\b",
                 r"\b(talk|speak|chat) (to|with) (a |an |someone|somebody)?\s*(human|person|agent|"
                 r"representative|operator|someone|somebody)\b",
                 r"\bhuman (agent|being|please)\b", r"\b(representative|operator)\b"]


class LogParams(CheckParams):
    """Columns and speaker labels of the interaction log."""

    conversation: str = Field(default="conversation_id", description="Conversation id column.")
    turn: str = Field(default="turn", description="Turn number column (1 = first turn).")
    speaker: str = Field(default="speaker", description="Who spoke: bot, customer or agent.")
    text: str = Field(default="text", description="What was said.")
    bot: str = Field(default="bot", description="`speaker` value of the automated assistant.")
    agent: str = Field(default="agent", description="`speaker` value of a human agent.")
    customer: str = Field(default="customer", description="`speaker` value of the customer.")
    examples: int = Field(default=5, ge=0, le=50, description="Hashed example conversation ids.")


class DisclosureParams(LogParams):
    """Declaration of ``automation.disclosure``."""

    patterns: list[str] = Field(default_factory=lambda: list(DISCLOSURE), min_length=1,
                                description="Regular expressions (case-insensitive) that count "
                                "as telling the customer they talk to an AI.")
    column: str | None = Field(default=None, description="A boolean column marking disclosing "
                               "turns, used instead of the patterns.")
    threshold: Threshold = Field(default=Threshold(max=0.0), description="Largest share of "
                                 "conversations without disclosure at the bot's first turn.")


class HandoffParams(LogParams):
    """Declaration of ``automation.handoff`` and ``automation.escalation_parity``."""

    request_patterns: list[str] = Field(default_factory=lambda: list(HUMAN_REQUEST),
                                        description="Regular expressions (case-insensitive) of "
                                        "a customer asking for a human.")
    sentiment: str | None = Field(default=None, description="Customer sentiment column "
                                  "(optional): sustained negative sentiment also triggers.")
    negative_below: float = Field(default=-0.5, description="Sentiment below this is negative.")
    sustained_turns: int = Field(default=2, ge=1, description="Consecutive negative customer "
                                 "turns that trigger a handoff.")
    max_turns: int = Field(default=2, ge=1, description="A human must speak within this many "
                           "turns after the trigger.")
    threshold: Threshold = Field(default=Threshold(min=0.95), description="Handoff: smallest "
                                 "share of triggered conversations reaching a human in time. "
                                 "Parity: ratio of each group's share to the best group's.")
    min_group_size: int = Field(default=30, ge=1, description="Parity: smaller groups are "
                                "insufficient_data.")
    attributes: list[str] | None = Field(default=None, description="Parity: attributes to "
                                         "compare (default: data.protected).")


def _log(ctx: AuditContext, params: LogParams, extra: list[str]) -> pd.DataFrame | str:
    """The needed columns sorted by conversation and turn, or a message naming what is missing."""
    wanted = [params.conversation, params.turn, params.speaker, *extra]
    missing = [c for c in dict.fromkeys(wanted) if c not in ctx.data_columns]
    if missing:
        return (f"the interaction log has no column {', '.join(missing)}; name the columns in "
                "the check (conversation, turn, speaker, text, ...)")
    frame = ctx.engine.to_pandas(ctx.frame, list(dict.fromkeys(wanted)))
    frame = frame.assign(_turn=pd.to_numeric(frame[params.turn], errors="coerce"))
    return frame.sort_values([params.conversation, "_turn"], kind="stable")


def _matches(texts: pd.Series, patterns: list[str]) -> pd.Series:
    import warnings

    regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    with warnings.catch_warnings():   # user patterns may hold groups; only a match counts
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression")
        return texts.fillna("").astype(str).str.contains(regex, regex=True).astype(bool)


def _examples(ids: pd.Series | list, n: int) -> list[str]:
    return hash_ids(sorted(str(i) for i in ids)[:n]) if n else []


class Disclosure(Check):
    """AI disclosure: the assistant tells the customer it is automated at its first turn.

    Customers must be told they are talking to an AI system at the latest at
    the first interaction, unless it is obvious. For every conversation the
    check reads the bot's first turn and looks for a disclosure (phrases in
    ``patterns``, e.g. "I'm a virtual assistant", or a boolean ``column``).
    Conversations whose first bot turn does not disclose fail; the share may
    not exceed ``threshold.max`` (default 0). Example conversation ids are
    hashed; texts are never copied into the report.

    Failing example: the first bot message is "Hi! How can I help you today?".

    Example::

        - id: ai-disclosed
          type: automation.disclosure
          text: message
          threshold: {max: 0.0}
    """

    type = "automation.disclosure"
    params_model = DisclosureParams
    rule = "EU AI Act Art. 50(1)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: DisclosureParams = self.params  # type: ignore[assignment]
        log = _log(ctx, params, [params.column or params.text])
        if isinstance(log, str):
            return CheckOutcome(status=Status.ERROR, summary=f"Cannot check disclosure: {log}.")
        bot = log[log[params.speaker].astype(str) == params.bot]
        conversations = log[params.conversation].nunique()
        first = bot.drop_duplicates(params.conversation, keep="first")
        disclosed = (first[params.column].fillna(False).astype(bool) if params.column
                     else _matches(first[params.text], params.patterns))
        without = set(log[params.conversation].unique()) - set(
            first.loc[disclosed.to_numpy(), params.conversation])
        share = len(without) / conversations if conversations else float("nan")
        ok = params.threshold.holds(share)
        metrics = (Metric(name="conversations", value=float(conversations), n=conversations),
                   Metric(name="without_disclosure", value=float(len(without)), n=conversations),
                   Metric(name="without_disclosure_share", value=share, n=conversations,
                          threshold=params.threshold.as_dict(),
                          status=Status.PASS if ok else Status.FAIL))
        details = {"examples": _examples(list(without), params.examples),
                   "no_bot_turn": int(conversations - len(first))}
        if not conversations:
            return CheckOutcome(status=Status.INSUFFICIENT_DATA, summary="The log is empty.",
                                metrics=metrics)
        summary = (f"{len(without)} of {conversations:,} conversations ({share:.1%}) do not "
                   "disclose at the bot's first turn that the customer is talking to an AI"
                   + ("" if ok else f" (allowed: {params.threshold.describe()})") + ".")
        return CheckOutcome(status=Status.PASS if ok else Status.FAIL, summary=summary,
                            metrics=metrics, details=details)


def handoffs(ctx: AuditContext, params: HandoffParams) -> pd.DataFrame | str:
    """Per triggered conversation: trigger turn, why, and whether a human came in time."""
    extra = [params.text] + ([params.sentiment] if params.sentiment else [])
    extra += list(params.attributes or ctx.policy.data.protected)
    log = _log(ctx, params, extra)
    if isinstance(log, str):
        return log
    speaker = log[params.speaker].astype(str)
    is_customer = speaker == params.customer
    log = log.assign(_request=is_customer & _matches(log[params.text], params.request_patterns),
                     _agent=speaker == params.agent)
    if params.sentiment:
        negative = is_customer & (pd.to_numeric(log[params.sentiment], errors="coerce")
                                  < params.negative_below)
        cust = log[is_customer].assign(_neg=negative[is_customer].astype(int))
        # Consecutive negative customer turns: a run length that resets on a non-negative turn.
        block = (cust["_neg"] == 0).groupby(cust[params.conversation]).cumsum()
        run = cust.groupby([cust[params.conversation], block])["_neg"].cumsum()
        log["_sustained"] = False
        log.loc[cust.index, "_sustained"] = (run >= params.sustained_turns).to_numpy()
    else:
        log["_sustained"] = False
    conv = params.conversation
    attributes = list(params.attributes or ctx.policy.data.protected)
    # The first trigger of each conversation (the log is sorted by conversation, turn).
    first = log.loc[log["_request"] | log["_sustained"], [conv, "_turn", "_request"]]
    first = first.drop_duplicates(conv, keep="first")
    agents = log.loc[log["_agent"], [conv, "_turn"]].rename(columns={"_turn": "_agent_turn"})
    later = first[[conv, "_turn"]].merge(agents, on=conv, how="inner")
    later = later[later["_agent_turn"] > later["_turn"]]
    next_agent = later.groupby(conv, sort=False)["_agent_turn"].min()
    table = pd.DataFrame({
        "conversation": first[conv].to_numpy(),
        "trigger_turn": first["_turn"].to_numpy(),
        "why": np.where(first["_request"].to_numpy(), "asked for a human",
                        "sustained negative sentiment"),
    })
    gap = first[conv].map(next_agent).to_numpy(dtype=float) - table["trigger_turn"].to_numpy()
    table["reached"] = np.nan_to_num(gap, nan=np.inf) <= params.max_turns
    for attribute in attributes:
        values = log.groupby(conv, sort=False)[attribute].first()
        table[attribute] = (first[conv].map(values).astype("string").fillna("unknown")
                            .astype(str).to_numpy())
    return table.sort_values("conversation", kind="stable").reset_index(drop=True)


class Handoff(Check):
    """Human handoff: a customer who asks for a human, or stays upset, reaches one in time.

    A conversation is triggered when the customer asks for a person (phrases
    in ``request_patterns``: "talk to a human", "real person", "agent") or,
    with a ``sentiment`` column, when ``sustained_turns`` consecutive customer
    turns score below ``negative_below``. It is handed off when an ``agent``
    turn follows within ``max_turns`` turns of the trigger. The share of
    triggered conversations handed off in time must reach ``threshold.min``
    (default 0.95, a cxaudit default: no rule found sets a number).

    Failing example: the customer writes "let me talk to a real person" at
    turn 3 and the bot answers twice more without an agent joining.

    Example::

        - id: human-on-request
          type: automation.handoff
          sentiment: sentiment
          max_turns: 2
          threshold: {min: 0.95}
    """

    type = "automation.handoff"
    params_model = HandoffParams
    rule = "EU AI Act Art. 14 (human oversight); GDPR Art. 22(3) (human intervention)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: HandoffParams = self.params  # type: ignore[assignment]
        table = handoffs(ctx, params)
        if isinstance(table, str):
            return CheckOutcome(status=Status.ERROR, summary=f"Cannot check handoffs: {table}.")
        n = len(table)
        if not n:
            return CheckOutcome(status=Status.INSUFFICIENT_DATA, summary="No conversation asked "
                                "for a human or stayed negative: nothing to check.",
                                metrics=(Metric(name="triggered", value=0.0, n=0),))
        reached = int(table["reached"].sum())
        share = reached / n
        ok = params.threshold.holds(share)
        missed = table.loc[~table["reached"], "conversation"]
        metrics = (Metric(name="triggered", value=float(n), n=n),
                   Metric(name="handed_off_in_time", value=share, n=n,
                          threshold=params.threshold.as_dict(),
                          status=Status.PASS if ok else Status.FAIL),
                   *(Metric(name="handed_off_in_time", group={"trigger": why},
                            value=float(g["reached"].mean()), n=len(g))
                     for why, g in table.groupby("why")))
        summary = (f"{reached} of {n:,} conversations that needed a human reached one within "
                   f"{params.max_turns} turn(s) ({share:.1%}; needs {params.threshold.describe()}).")
        return CheckOutcome(status=Status.PASS if ok else Status.FAIL, summary=summary,
                            metrics=metrics,
                            details={"examples": _examples(list(missed), params.examples)})


class EscalationParity(Check):
    """Escalation parity: customers of every group who need a human get one at a similar rate.

    Among the conversations that needed a human (see ``automation.handoff``),
    the share handed off in time is computed per group of each protected
    attribute (e.g. ``language``) and compared with the best-off group as a
    ratio, held to ``threshold.min`` (default 0.8, a cxaudit default: the
    Aequitas fairness tree treats escalation as assistive, so recall parity).
    Groups with fewer than ``min_group_size`` triggered conversations are
    ``insufficient_data``, never pass.

    Failing example: Spanish-speaking customers who ask for a person reach one
    in 40 % of conversations, English speakers in 90 %.

    Example::

        data: {protected: [language]}
        checks:
          - id: escalation-parity
            type: automation.escalation_parity
            threshold: {min: 0.8}
    """

    type = "automation.escalation_parity"
    params_model = HandoffParams
    rule = "Aequitas fairness tree (assistive: recall parity); EU AI Act Art. 10(2)(f)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: HandoffParams = self.params  # type: ignore[assignment]
        attributes = list(params.attributes or ctx.policy.data.protected)
        if not attributes:
            return CheckOutcome(status=Status.ERROR, summary="No attribute to compare: list one "
                                "under data.protected (e.g. language) or in `attributes`.")
        table = handoffs(ctx, params)
        if isinstance(table, str):
            return CheckOutcome(status=Status.ERROR, summary=f"Cannot compare: {table}.")
        threshold = params.threshold if params.threshold.min is not None else Threshold(min=0.8)
        metrics, failing, insufficient = [], [], []
        for attribute in attributes:
            rates = table.groupby(attribute)["reached"].agg(["mean", "size"])
            eligible = rates[rates["size"] >= params.min_group_size]
            best = eligible["mean"].max() if len(eligible) else np.nan
            for group, row in rates.iterrows():
                label = f"{attribute}={group}"
                metrics.append(Metric(name="handed_off_in_time", group={attribute: str(group)},
                                      value=float(row["mean"]), n=int(row["size"])))
                if row["size"] < params.min_group_size or not best:
                    insufficient.append(label)
                    metrics.append(Metric(name="handed_off_ratio", group={attribute: str(group)},
                                          value=None, n=int(row["size"]),
                                          status=Status.INSUFFICIENT_DATA,
                                          note=f"fewer than {params.min_group_size} "
                                               "triggered conversations"))
                    continue
                ratio = float(row["mean"] / best)
                ok = threshold.holds(ratio)
                if not ok:
                    failing.append(f"{label} ({ratio:.2f})")
                metrics.append(Metric(name="handed_off_ratio", group={attribute: str(group)},
                                      value=ratio, n=int(row["size"]),
                                      threshold=threshold.as_dict(),
                                      status=Status.PASS if ok else Status.FAIL))
        if failing:
            status = Status.FAIL
            summary = (f"{len(failing)} group(s) reach a human less often than the best-off "
                       f"group (ratio {threshold.describe()}): {'; '.join(failing[:4])}.")
        elif insufficient and len(insufficient) == sum(1 for m in metrics
                                                       if m.name == "handed_off_ratio"):
            status = Status.INSUFFICIENT_DATA
            summary = (f"Too few triggered conversations per group to compare "
                       f"(min_group_size {params.min_group_size}).")
        else:
            status = Status.PASS
            summary = (f"Every group with enough data reaches a human at a rate whose ratio to "
                       f"the best-off group is {threshold.describe()}"
                       + (f"; too small to judge: {', '.join(insufficient[:4])}"
                          if insufficient else "") + ".")
        return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics),
                            details={"triggered": len(table)})


CHECKS = (Disclosure, Handoff, EscalationParity)
