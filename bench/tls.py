"""A throw-away certificate authority for the bench's TLS runs, made with the ``openssl`` command: a CA, the broker's
certificate (for 127.0.0.1) and the gateway's client certificate, as a commune's link to the hypervisor has them
(mutual TLS, the broker verified)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *curve, "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem"),
             "-days", "2", "-subj", "/O=edge-agent bench/CN=bench CA")
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                            ("client", "extendedKeyUsage=clientAuth")):
        (folder / f"{name}.ext").write_text(extension + "\n")
        _openssl("req", *curve, "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.csr"),
                 "-subj", f"/O=edge-agent bench/CN=bench-{name}")
        _openssl("x509", "-req", "-in", str(folder / f"{name}.csr"), "-CA", str(folder / "ca.pem"), "-CAkey",
                 str(folder / "ca.key"), "-CAcreateserial", "-days", "2", "-out", str(folder / f"{name}.pem"),
                 "-extfile", str(folder / f"{name}.ext"))
    return Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
               folder / "client.key")


def listener(port: int, pki: Pki) -> str:
    """Mosquitto's lines for a TLS listener that requires the client's certificate."""
    # As root, Mosquitto drops to its own user, which could not read the keys in the bench's private folder.
    user = "user root\n" if os.geteuid() == 0 else ""
    return (f"{user}listener {port} 127.0.0.1\ncafile {pki.ca}\ncertfile {pki.server_cert}\n"
            f"keyfile {pki.server_key}\nrequire_certificate true\n")


def upstream_tls(pki: Pki) -> dict[str, str]:
    """The site config's ``[upstream.tls]``."""
    return {"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
