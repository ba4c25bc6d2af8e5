"""The SDK's public surface: exports, the exception tree, and its layering (it must not
load the server, engines or numpy)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import ttsd
import ttsd.client
from ttsd.client import errors

PACKAGE = Path(ttsd.client.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
#: Third-party packages the SDK may import.
ALLOWED_THIRD_PARTY = {"httpx", "websockets"}


def test_top_level_exports() -> None:
    assert ttsd.__all__ == ["AsyncClient", "Client", "__version__"]
    assert ttsd.Client is ttsd.client.Client
    assert ttsd.AsyncClient is ttsd.client.AsyncClient
    assert isinstance(ttsd.__version__, str)
    with pytest.raises(AttributeError):
        _ = ttsd.NoSuchThing


def test_client_all_is_complete_sorted_and_documented() -> None:
    names = ttsd.client.__all__
    assert len(names) == len(set(names))
    for name in names:
        obj = getattr(ttsd.client, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"
    public_classes = {
        name
        for module in (ttsd.client._sync, ttsd.client._async, errors, ttsd.client.types)
        for name in module.__all__
    }
    assert public_classes - {"api_error"} <= set(names)


def test_public_methods_are_documented() -> None:
    for name in ("Client", "AsyncClient", "WebSocket", "AsyncWebSocket", "Context", "AsyncContext"):
        cls = getattr(ttsd.client, name)
        for attr, value in vars(cls).items():
            if not attr.startswith("_") and callable(value):
                assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


def test_twins_have_the_same_methods_and_signatures() -> None:
    pairs = [
        ("Client", "AsyncClient"),
        ("TTS", "AsyncTTS"),
        ("Voices", "AsyncVoices"),
        ("WebSocket", "AsyncWebSocket"),
        ("Context", "AsyncContext"),
    ]
    for sync_name, async_name in pairs:
        sync_cls, async_cls = getattr(ttsd.client, sync_name), getattr(ttsd.client, async_name)
        sync_api = {a for a in vars(sync_cls) if not a.startswith("_")}
        async_api = {a for a in vars(async_cls) if not a.startswith("_")}
        assert sync_api <= async_api, (sync_name, sync_api - async_api)
        for attr in sync_api:
            sync_attr, async_attr = getattr(sync_cls, attr), getattr(async_cls, attr)
            if callable(sync_attr):
                sync_params = list(inspect.signature(sync_attr).parameters.values())
                async_params = list(inspect.signature(async_attr).parameters.values())
                assert [(p.name, p.kind, p.default) for p in sync_params] == [
                    (p.name, p.kind, p.default) for p in async_params
                ], f"{sync_name}.{attr}"


def test_exception_tree() -> None:
    assert all(
        issubclass(getattr(errors, n), errors.TtsdError) for n in errors.__all__ if n[0].isupper()
    )
    for cls in (
        errors.BadRequestError,
        errors.AuthenticationError,
        errors.PermissionDeniedError,
        errors.NotFoundError,
        errors.RateLimitError,
        errors.ServerError,
    ):
        assert issubclass(cls, errors.APIError)
    assert issubclass(errors.ContextLostError, errors.ConnectionClosedError)
    assert issubclass(errors.ConnectionClosedError, errors.TransportError)
    assert issubclass(errors.ConnectError, errors.TransportError)
    assert issubclass(errors.TransportError, ConnectionError)
    assert issubclass(errors.ReceiveTimeoutError, TimeoutError)
    assert not issubclass(errors.InputClosedError, errors.APIError)
    lost = errors.ContextLostError("gone", context_id="c", code=1001, reason="bye")
    assert (str(lost), lost.context_id, lost.code, lost.reason) == ("gone", "c", 1001, "bye")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_client_imports_only_stdlib_httpx_websockets_and_protocol(path: Path) -> None:
    for name in imported_modules(path):
        top = name.split(".")[0]
        if top == "ttsd":
            assert name in ("ttsd",) or name.startswith(("ttsd.client", "ttsd.protocol")), name
        else:
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, name


def test_importing_the_sdk_loads_no_server_engine_or_numpy() -> None:
    code = (
        "import sys, ttsd\n"
        "assert 'ttsd.client' not in sys.modules, 'import ttsd loaded the SDK'\n"
        "client = ttsd.Client\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'numpy', 'starlette',"
        " 'uvicorn', 'onnxruntime', 'piper'} or m.startswith(('ttsd.server', 'ttsd.engines',"
        " 'ttsd.audio.', 'ttsd.text.', 'ttsd.cli.')) or m in {'ttsd.audio', 'ttsd.text',"
        " 'ttsd.cli'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
