"""``edge-agent ingest run|status``: the reference hypervisor ingest (needs the ``ingest`` extra: psycopg)."""

from __future__ import annotations

import os
import signal
import threading

import typer

from edge_agent.cli.output import fail, print_json

app = typer.Typer(help="The reference hypervisor ingest: MQTT shared subscription → PostgreSQL.",
                  no_args_is_help=True)


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        fail(f"--broker wants HOST:PORT, got {text!r}")
    return host, int(port)


@app.command("run")
def run(
    *,
    broker: str = typer.Option("127.0.0.1:1883", "--broker", help="the broker, HOST:PORT"),
    dsn: str = typer.Option(..., "--dsn", help="PostgreSQL connection string, e.g. postgresql://ingest@db/fute"),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="workers in this process (one connection each)"),
    prefix: str = typer.Option("fute", "--prefix", help="the agents' upstream.topic_prefix"),
    group: str = typer.Option("ingest", "--group", help="shared subscription group: every instance uses the same"),
    name: str = typer.Option("ingest", "--name", help="client id stem, unique per instance (host name is good)"),
    scan_interval: float = typer.Option(5.0, "--scan-interval", help="seconds between gap scans"),
    username: str | None = typer.Option(None, "--username", help="MQTT user name (password: $INGEST_MQTT_PASSWORD)"),
    ca_file: str | None = typer.Option(None, "--ca-file", help="TLS: the CA that signed the broker's certificate"),
    cert_file: str | None = typer.Option(None, "--cert-file", help="TLS client certificate (with --key-file)"),
    key_file: str | None = typer.Option(None, "--key-file", help="TLS client key"),
    log_format: str = typer.Option("auto", "--log-format", help="auto, json or console"),
) -> None:
    """Consume readings, events and status into PostgreSQL until SIGTERM or SIGINT (schema migrated first)."""
    from edge_agent.hypervisor.worker import IngestSettings, IngestWorker
    from edge_agent.logs import setup_logging

    setup_logging(log_format)
    host, port = _endpoint(broker)
    pool = [IngestWorker(IngestSettings(host=host, port=port, dsn=dsn, prefix=prefix, group=group,
                                        client_id=f"{name}-{n + 1}", scan_interval=scan_interval,
                                        username=username, password=os.environ.get("INGEST_MQTT_PASSWORD"),
                                        ca_file=ca_file, cert_file=cert_file, key_file=key_file))
            for n in range(workers)]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for worker in pool:
        worker.start()
    stop.wait()
    for worker in pool:
        worker.stop()


@app.command("status")
def status(
    dsn: str = typer.Option(..., "--dsn", help="PostgreSQL connection string"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Per-gateway freshness: last seen, backlog the gateway reported, gaps still open."""
    import psycopg

    from edge_agent.hypervisor import db

    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = db.freshness(conn)
    except psycopg.errors.UndefinedTable:
        fail("this database has no ingest schema yet: 'edge-agent ingest run' creates it when it first starts")
    except psycopg.OperationalError as exc:
        fail(f"cannot reach PostgreSQL: {str(exc).strip().splitlines()[0]}")
    if as_json:
        print_json(rows)
        return
    typer.echo(f"{'gateway':<24} {'last seen (UTC)':<20} {'silent s':>9} {'online':>6} {'backlog':>8} "
               f"{'max seq':>10} {'gaps':>5} {'missing':>8}")
    for row in rows:
        seen = row["last_seen"].strftime("%Y-%m-%d %H:%M:%S") if row["last_seen"] else "-"
        typer.echo(f"{row['gateway']:<24} {seen:<20} {row['silent_s']:>9.0f} {_flag(row['online']):>6} "
                   f"{_num(row['backlog']):>8} {row['max_seq']:>10} {row['gaps_open']:>5} "
                   f"{row['missing_records']:>8}")


def _flag(value: object) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _num(value: object) -> str:
    return "-" if value is None else str(value)
