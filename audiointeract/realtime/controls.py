"""What a client steers in its session: replies on request, cancels, turn detection, instructions.

The session takes every turn through its decider, so the client's wishes enter there:
:class:`ControlledDecider` wraps the session's decider and, at each decision point,
carries out a ``response.create`` (RESPOND) or ``response.cancel`` (INTERRUPT) and gates
the decider's own RESPOND/INTERRUPT by the client's turn-detection settings. The wrapped
decider still sees every decision point, so its state stays true to the stream.

Instructions reach a responder shared by all sessions through :class:`InstructionsPrompt`,
a prompt template that reads the instructions of the session whose reply it is writing
(a context variable set once per connection: every task of that session inherits it).
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

import attrs

from audiointeract.backends.prompting import ChatMessage, ChatPrompt
from audiointeract.events import Action, Decision, Perception, ResponseRequest
from audiointeract.interfaces import Decider, DecisionContext

__all__ = [
    "CLIENT_CANCEL",
    "CLIENT_CREATE",
    "ClientControls",
    "ControlledDecider",
    "InstructionsPrompt",
]

CLIENT_CREATE = "the client asked for a response (response.create)"
CLIENT_CANCEL = "the client cancelled the response (response.cancel)"

_CURRENT: contextvars.ContextVar[ClientControls | None] = contextvars.ContextVar("audiointeract_realtime_controls",
                                                                                  default=None)


@attrs.define
class ClientControls:
    """The client's standing wishes and its one-shot requests, read at the next decision point."""

    create_response: bool = True
    interrupt_response: bool = True
    instructions: str | None = None
    create_requested: bool = False
    cancel_requested: bool = False
    reply_instructions: str | None = None
    """Instructions for the reply requested by ``response.create`` (None: the session's)."""

    def activate(self) -> None:
        """Make these the controls of the current task and of every task it starts (one per connection)."""
        _CURRENT.set(self)

    def request_response(self, instructions: str | None) -> None:
        """``response.create``: reply at the next decision point."""
        self.create_requested = True
        self.reply_instructions = instructions

    def request_cancel(self) -> None:
        """``response.cancel``: withdraw a requested reply, or stop the one in flight."""
        if self.create_requested:
            self.create_requested = False
            self.reply_instructions = None
        else:
            self.cancel_requested = True


class ControlledDecider(Decider):
    """The session's decider, steered by the client's :class:`ClientControls`."""

    def __init__(self, inner: Decider, controls: ClientControls) -> None:
        self.inner = inner
        self.controls = controls
        self.name = inner.name

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        decision = await self.inner.decide(context, perceptions)
        controls = self.controls
        task = context.tasks[0].name if context.tasks else None
        if controls.cancel_requested:
            controls.cancel_requested = False
            if context.agent_speaking:
                return Decision(action=Action.INTERRUPT, task=decision.task, reason=CLIENT_CANCEL)
        if controls.create_requested and not context.agent_speaking:
            controls.create_requested = False
            return Decision(action=Action.RESPOND, task=task, reason=CLIENT_CREATE)
        if decision.action is Action.RESPOND and not controls.create_response:
            return Decision.silent(f"turn detection does not create responses (the policy said: {decision.reason})")
        if decision.action is Action.INTERRUPT and not controls.interrupt_response:
            return Decision.silent(f"turn detection does not interrupt responses (the policy said: {decision.reason})")
        return decision

    async def check(self) -> None:
        await self.inner.check()

    async def reset(self) -> None:
        await self.inner.reset()

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.frozen
class InstructionsPrompt:
    """A :class:`~audiointeract.backends.prompting.ChatPrompt` whose persona is the session's instructions.

    Outside a connection, or while the client set none, ``base`` is used as it is.
    """

    base: ChatPrompt = attrs.field(factory=ChatPrompt)

    def __call__(self, request: ResponseRequest) -> list[ChatMessage]:
        """The chat messages for ``request``, with the current session's instructions as the persona."""
        controls = _CURRENT.get()
        instructions = None
        if controls is not None:
            instructions = controls.reply_instructions or controls.instructions
            controls.reply_instructions = None
        if not instructions:
            return self.base(request)
        return attrs.evolve(self.base, persona=instructions)(request)
