"""Several policies at once: every member decides, the highest-priority decision that can be carried out wins."""

from __future__ import annotations

from collections.abc import Sequence

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception
from audiointeract.interfaces import Decider, DecisionContext

__all__ = ["CompositePolicy"]


def _feasible(action: Action, agent_speaking: bool) -> bool:
    """Whether the session would carry ``action`` out in this state (others it would ignore)."""
    if agent_speaking:
        return action is Action.INTERRUPT
    return action in (Action.RESPOND, Action.BACKCHANNEL)


class CompositePolicy(Decider):
    """Runs every member at every decision point and returns the winning non-silent decision.

    ``policies`` are deciders or ``(decider, priority)`` pairs (plain deciders get
    priority 0). Among the non-silent decisions the session can carry out now (RESPOND
    or BACKCHANNEL while listening, INTERRUPT while the agent speaks) the winner has the
    highest member priority, then the highest priority of the standing task it names,
    then comes first in ``policies``. Decisions that lose, or that could not be carried
    out, and the members' own reasons for staying silent, are named in the reason of
    the result when nothing wins; then a member's SILENT that prepares a reply
    (``Decision.preparing``, while listening) or holds the reply in flight
    (``Decision.holding``, while the agent speaks) is passed on, the highest priority
    first. Every member sees every perception, so each keeps its own state.
    """

    name = "composite"

    def __init__(self, policies: Sequence[Decider | tuple[Decider, int]]) -> None:
        members: list[tuple[Decider, int]] = []
        for entry in policies:
            decider, priority = entry if isinstance(entry, tuple) else (entry, 0)
            if not isinstance(decider, Decider):
                raise ConfigurationError(f"CompositePolicy: {decider!r} is not a Decider")
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise ConfigurationError(f"CompositePolicy: priority of {decider.name!r} must be an int")
            members.append((decider, priority))
        if not members:
            raise ConfigurationError("CompositePolicy needs at least one policy")
        self.members = tuple(members)

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Ask every member; pick by feasibility, member priority, task priority, then order."""
        task_priority = {task.name: task.priority for task in context.tasks}
        best: tuple[tuple[int, int, int], Decision] | None = None
        prepared: tuple[tuple[int, int, int], Decision] | None = None
        held: tuple[tuple[int, int, int], Decision] | None = None
        dropped: list[str] = []
        for index, (member, priority) in enumerate(self.members):
            decision = await member.decide(context, perceptions)
            key = (priority, task_priority.get(decision.task or "", 0), -index)
            if decision.prepare and not context.agent_speaking and (prepared is None or key > prepared[0]):
                prepared = (key, decision)
            if decision.hold and context.agent_speaking and (held is None or key > held[0]):
                held = (key, decision)
            if decision.action is Action.SILENT:
                if decision.reason:
                    dropped.append(f"{member.name}: {decision.reason}")
                continue
            if not _feasible(decision.action, context.agent_speaking):
                dropped.append(f"{member.name}: {decision.action.value} not possible now")
                continue
            if best is None or key > best[0]:
                if best is not None:
                    dropped.append(f"{best[1].action.value} lost to {member.name}")
                best = (key, decision)
            else:
                dropped.append(f"{member.name}: {decision.action.value} lost")
        if best is not None:
            return best[1]
        if held is not None:  # a member is judging whether the user barges in: keep the reply paused
            return held[1]
        if prepared is not None:  # nothing to do now, but a member expects to respond soon: pass that on
            return prepared[1]
        return Decision.silent("; ".join(dropped))

    async def reset(self) -> None:
        """Reset every member."""
        for member, _ in self.members:
            await member.reset()

    async def aclose(self) -> None:
        """Close every member."""
        for member, _ in self.members:
            await member.aclose()
