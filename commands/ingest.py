"""Ingestion from the command line: files through a saved mapping, and the MQTT listener.

Commands: ingest, mapping-save, mqtt-listen.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask


def register_ingest_cli(server: Flask) -> None:
    """Attach the ingest commands (ingest, mapping-save, mqtt-listen)."""

    @server.cli.command("ingest")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--mapping", "mapping_name", required=True, help="Name of a saved mapping (see mapping-save).")
    @click.option("--household", "household_id", type=int, default=None,
                  help="Household id; overrides the mapping's (one mapping reused for many homes).")
    @click.option("--chunk-rows", type=click.IntRange(1000, 2_000_000), default=50_000, show_default=True,
                  help="Rows read at a time: memory stays bounded by one chunk.")
    def ingest_command(file: str, mapping_name: str, household_id: int | None, chunk_rows: int) -> None:
        """Ingest a CSV, Excel or Parquet FILE through a saved mapping, as one batch, streaming it in chunks."""
        from services.ingestion.files import ingest_file

        started = time.perf_counter()
        try:
            report = ingest_file(file, mapping_name, household_id=household_id, channel="cli", chunk_rows=chunk_rows)
        except (LookupError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        elapsed = time.perf_counter() - started
        click.echo(f"Batch {report.batch_id}: {report.summary()} in {elapsed:.1f} s "
                   f"({report.received / max(elapsed, 1e-9):,.0f} rows/s).")
        for event in report.meter_events[:20]:
            click.echo(f"  {event.describe()}")
        if len(report.meter_events) > 20:
            click.echo(f"  ... and {len(report.meter_events) - 20} more meter events (Data page, batch {report.batch_id}).")
        if report.rejected:
            click.echo(f"Rejected rows by reason ({report.rejected:,} in all; {len(report.rejections):,} of them, "
                       f"with examples of every reason, are kept with batch {report.batch_id}: Data page, Batch "
                       "history, Download rejected rows):")
            for line in report.reason_lines():
                click.echo(f"  {line}")
            click.echo("First rejected rows:")
            for rejection in report.rejections[:10]:
                click.echo(f"  line {rejection.line}, {rejection.field}: {rejection.reason}")

    @server.cli.command("mapping-save")
    @click.argument("name")
    @click.argument("spec_file", type=click.Path(exists=True, dir_okay=False))
    def mapping_save_command(name: str, spec_file: str) -> None:
        """Save (or replace) the ingestion mapping NAME from a JSON file (its "name" field is set to NAME)."""
        import json

        from services.ingestion.mapping import mapping_from_dict, save_mapping

        try:
            spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{spec_file} is not valid JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise click.ClickException(f"{spec_file} must hold a JSON object describing the mapping")
        try:
            mapping = mapping_from_dict({**spec, "name": name})
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        save_mapping(mapping)
        click.echo(f"Mapping {name!r} saved ({mapping.layout}, {len(mapping.columns)} series).")

    @server.cli.command("mqtt-listen")
    @click.option("--host", default="127.0.0.1", show_default=True, envvar="MQTT_HOST", help="MQTT broker host.")
    @click.option("--port", type=click.IntRange(1, 65535), default=1883, show_default=True, envvar="MQTT_PORT")
    @click.option("--topic", "topics", multiple=True, envvar="MQTT_TOPICS",
                  help="Topic filter, repeatable (default energy/+/+/+ = energy/<household>/<device>/<metric>).")
    @click.option("--client-id", default="energy-dashboard-ingest", show_default=True, envvar="MQTT_CLIENT_ID",
                  help="Keep it stable: the broker holds messages for this id while the listener is down.")
    @click.option("--username", default=None, envvar="MQTT_USERNAME")
    @click.option("--password", default=None, envvar="MQTT_PASSWORD")
    @click.option("--batch-size", type=click.IntRange(1, 65535), default=500, show_default=True,
                  help="Messages per batch at most.")
    @click.option("--batch-seconds", type=click.FloatRange(0.01, 3600), default=2.0, show_default=True,
                  help="Longest wait before a batch is written [s].")
    def mqtt_listen_command(host, port, topics, client_id, username, password, batch_size, batch_seconds) -> None:
        """Listen to MQTT readings (QoS 1, persistent session) and ingest them in batches until stopped."""
        import logging

        from services.iot.listener import DEFAULT_TOPICS, ListenerConfig, listen

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        config = ListenerConfig(host=host, port=port, topics=tuple(topics) or DEFAULT_TOPICS, client_id=client_id,
                                username=username, password=password, batch_size=batch_size,
                                batch_seconds=batch_seconds)
        click.echo(f"Listening to {', '.join(config.topics)} on {host}:{port} as {client_id} (Ctrl+C stops).")
        listen(config)

    # --- forecasting and weather (pages and the API never train or fetch: these commands do) ---
