"""Where the CLI finds its API token, so that no command needs one spelled out.

In order: ``SUANLI_TOKEN``; the token ``suanli login`` saved for that server; and, for a
server on this machine (127.0.0.1, localhost), the operator token the embedded default
wrote into its data directory (``SUANLI_DATA_DIR`` or the user's data dir).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_config_dir, user_data_dir

from suanli.domain.access import OPERATOR_TOKEN_FILE

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def credentials_file() -> Path:
    explicit = os.environ.get("SUANLI_CREDENTIALS")
    return Path(explicit) if explicit else Path(user_config_dir("suanli")) / "credentials.json"


def local_data_dir() -> Path:
    return Path(os.environ.get("SUANLI_DATA_DIR") or user_data_dir("suanli")).expanduser()


def token_for(server: str) -> str | None:
    explicit = os.environ.get("SUANLI_TOKEN")
    if explicit:
        return explicit.strip()
    saved = saved_tokens().get(server.rstrip("/"))
    if saved:
        return saved
    if urlsplit(server).hostname in LOOPBACK:
        with contextlib.suppress(OSError):
            return (local_data_dir() / OPERATOR_TOKEN_FILE).read_text().strip() or None
    return None


def saved_tokens() -> dict[str, str]:
    try:
        data = json.loads(credentials_file().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_token(server: str, token: str) -> Path:
    """Remember ``token`` for ``server`` in the credentials file (mode 0600)."""
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = saved_tokens()
    tokens[server.rstrip("/")] = token
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(tokens, f, indent=2)
    os.replace(tmp, path)
    return path
