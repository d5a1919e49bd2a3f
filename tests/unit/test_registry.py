from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from audiointeract import registry
from audiointeract.backends.mock import ScriptedResponder
from audiointeract.errors import BackendUnavailable, ConfigurationError


def test_builtin_mock_backends_load_by_name() -> None:
    responder = registry.load_backend("responder", "mock", reply="hi")
    assert isinstance(responder, ScriptedResponder)


def test_unknown_name_lists_the_alternatives() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown decider 'nope'; available: .*turn-end"):
        registry.load_backend("decider", "nope")
    with pytest.raises(ConfigurationError, match="unknown backend kind"):
        registry.load_backend("speaker", "mock")  # type: ignore[arg-type]


def test_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = registry.BackendInfo(kind="responder", name="fancy", target="fancy_mod:Fancy", extra="vllm",
                                requires=("a_module_that_is_not_installed",), description="")
    monkeypatch.setattr(registry, "_BUILTINS", (*registry._BUILTINS, fake))
    info = next(i for i in registry.available_backends("responder") if i.name == "fancy")
    assert not info.installed
    assert info.install_hint == "pip install 'audiointeract[vllm]'"
    with pytest.raises(BackendUnavailable, match=r"pip install 'audiointeract\[vllm\]'"):
        registry.load_backend("responder", "fancy")


def test_third_party_backends_register_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = EntryPoint(name="responder.echo", value="audiointeract.backends.mock:ScriptedResponder",
                       group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [entry] if group == registry.ENTRY_POINT_GROUP else [])
    assert isinstance(registry.load_backend("responder", "echo", reply="x"), ScriptedResponder)
    assert any(i.origin == "entry-point" for i in registry.available_backends())


def test_a_factory_of_the_wrong_kind_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = registry.BackendInfo(kind="decider", name="oops", target="audiointeract.backends.mock:ScriptedResponder",
                                 extra=None, requires=(), description="")
    monkeypatch.setattr(registry, "_BUILTINS", (wrong,))
    with pytest.raises(ConfigurationError, match="not a Decider"):
        registry.load_backend("decider", "oops")


def test_importing_the_package_and_cli_help_import_no_heavy_library() -> None:
    code = (
        "import sys, audiointeract, audiointeract.backends, audiointeract.policies, audiointeract.backends.hf, "
        "audiointeract.backends.embedded, audiointeract.backends.openai_compat\n"
        "from click.testing import CliRunner\nfrom audiointeract.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "heavy = [m for m in ('torch', 'transformers', 'httpx', 'faster_whisper', 'onnxruntime') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
