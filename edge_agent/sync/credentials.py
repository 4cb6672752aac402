"""The secret files of the upstream link: broker credentials only the agent may read, and the TLS files."""

from __future__ import annotations

import stat
from pathlib import Path

from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError
from edge_agent.frozen import frozen


@frozen
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def read_credentials(path: Path) -> Credentials:
    """Two lines, username then password. A file readable by others is refused."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        problem = f"{path}: (credentials): cannot be read ({exc.strerror}); check upstream.credentials_file"
        raise ConfigError([problem]) from exc
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise ConfigError(
            [f"{path}: (credentials): is readable by other users; run 'chmod 600 {path}' (or 640 with the service's"
             " group) and start again"]
        )
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(lines) != 2:
        raise ConfigError([f"{path}: (credentials): expected two lines, the username then the password"])
    return Credentials(username=lines[0], password=lines[1])


def check_tls_files(config: SiteConfig) -> None:
    """Each TLS file given can be opened: the SSL library's own error would not say which one is missing."""
    tls = config.upstream.tls
    if tls is None:
        return
    problems = []
    for key, path in (("ca_file", tls.ca_file), ("cert_file", tls.cert_file), ("key_file", tls.key_file)):
        if path is None:
            continue
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            problems.append(f"{path}: (upstream.tls.{key}): cannot be read ({exc.strerror})")
    if problems:
        raise ConfigError(problems)
