"""audiointeract: online audio interaction — perceive, decide and respond on a live stream.

Importing this package never imports torch, transformers or httpx; heavy backends
load lazily by name (:func:`audiointeract.registry.load_backend`).
"""

from __future__ import annotations

from audiointeract.audio import AudioChunk as AudioChunk
from audiointeract.audio import AudioFormat as AudioFormat
from audiointeract.clock import Clock as Clock
from audiointeract.clock import LoopClock as LoopClock
from audiointeract.config import DecisionMode as DecisionMode
from audiointeract.config import FailureAction as FailureAction
from audiointeract.config import FailurePolicy as FailurePolicy
from audiointeract.config import Pacing as Pacing
from audiointeract.config import SessionConfig as SessionConfig
from audiointeract.errors import AudioFormatError as AudioFormatError
from audiointeract.errors import AudioInteractError as AudioInteractError
from audiointeract.errors import BackendError as BackendError
from audiointeract.errors import BackendUnavailable as BackendUnavailable
from audiointeract.errors import ConfigurationError as ConfigurationError
from audiointeract.events import Action as Action
from audiointeract.events import Decision as Decision
from audiointeract.events import Perception as Perception
from audiointeract.events import ResponseRequest as ResponseRequest
from audiointeract.events import SoundEvent as SoundEvent
from audiointeract.events import SpeechActivity as SpeechActivity
from audiointeract.events import StandingTask as StandingTask
from audiointeract.events import TextDelta as TextDelta
from audiointeract.events import TranscriptUpdate as TranscriptUpdate
from audiointeract.events import TurnEndEstimate as TurnEndEstimate
from audiointeract.interfaces import AudioSource as AudioSource
from audiointeract.interfaces import Decider as Decider
from audiointeract.interfaces import DecisionContext as DecisionContext
from audiointeract.interfaces import Observer as Observer
from audiointeract.interfaces import Perceiver as Perceiver
from audiointeract.interfaces import Responder as Responder
from audiointeract.queues import Overflow as Overflow
from audiointeract.session import Session as Session
from audiointeract.session import SessionStatistics as SessionStatistics
from audiointeract.sources import ArraySource as ArraySource
from audiointeract.sources import FileSource as FileSource
from audiointeract.trace import Trace as Trace

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ArraySource",
    "AudioChunk",
    "AudioFormat",
    "AudioFormatError",
    "AudioInteractError",
    "AudioSource",
    "BackendError",
    "BackendUnavailable",
    "Clock",
    "ConfigurationError",
    "Decider",
    "Decision",
    "DecisionContext",
    "DecisionMode",
    "FailureAction",
    "FailurePolicy",
    "FileSource",
    "LoopClock",
    "Observer",
    "Overflow",
    "Pacing",
    "Perceiver",
    "Perception",
    "Responder",
    "ResponseRequest",
    "Session",
    "SessionConfig",
    "SessionStatistics",
    "SoundEvent",
    "SpeechActivity",
    "StandingTask",
    "TextDelta",
    "Trace",
    "TranscriptUpdate",
    "TurnEndEstimate",
]
