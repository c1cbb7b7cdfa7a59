"""Publishes delivery bodies to MQTT brokers (paho-mqtt), one kept-alive connection per broker."""

from __future__ import annotations

import threading
import urllib.parse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class MqttError(Exception):
    """The broker could not be reached or did not acknowledge the message."""


def parse_endpoint(endpoint: str) -> tuple[str, int, str]:
    """`mqtt://host[:port]/a/b` → (host, port, "a/b")."""
    parts = urllib.parse.urlsplit(endpoint)
    return parts.hostname or "127.0.0.1", parts.port or 1883, urllib.parse.unquote(parts.path.lstrip("/"))


class MqttPublisher:
    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self._clients: dict[tuple[str, int], mqtt.Client] = {}
        self._lock = threading.Lock()

    def publish(self, endpoint: str, payload: str) -> None:
        host, port, topic = parse_endpoint(endpoint)
        client = self._client(host, port)
        try:
            info = client.publish(topic, payload.encode(), qos=1)
            info.wait_for_publish(self.timeout_s)
            if not info.is_published():
                raise MqttError(f"broker {host}:{port} did not acknowledge the message")
        except (OSError, RuntimeError, ValueError) as exc:
            self._drop(host, port)
            raise MqttError(f"MQTT publish to {host}:{port} failed: {exc}") from exc
        except MqttError:
            self._drop(host, port)
            raise

    def _client(self, host: str, port: int) -> mqtt.Client:
        with self._lock:
            client = self._clients.get((host, port))
            if client is not None and client.is_connected():
                return client
            if client is not None:
                self._stop(client)
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
            connected = threading.Event()
            client.on_connect = lambda *_args: connected.set()
            try:
                client.connect(host, port, keepalive=30)
            except OSError as exc:
                raise MqttError(f"cannot connect to MQTT broker {host}:{port}: {exc}") from exc
            client.loop_start()
            if not connected.wait(self.timeout_s):
                self._stop(client)
                raise MqttError(f"MQTT broker {host}:{port} did not accept the connection")
            self._clients[(host, port)] = client
            return client

    def _drop(self, host: str, port: int) -> None:
        with self._lock:
            client = self._clients.pop((host, port), None)
        if client is not None:
            self._stop(client)

    @staticmethod
    def _stop(client: mqtt.Client) -> None:
        try:
            client.disconnect()
        finally:
            client.loop_stop()

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for c in clients:
            self._stop(c)
