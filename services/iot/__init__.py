"""IoT: the devices behind a household's streams, their rollups, and readings over MQTT.

- :mod:`~services.iot.devices`: devices (meters, sensors) registered per household, seen or
  offline, confirmed by a manager (:func:`list_devices`, :func:`confirm_device`, ...); the rollups
  of their series and reading them back (:func:`refresh_rollups`, :func:`read_series`);
- :mod:`~services.iot.listener`: the MQTT listener (``flask mqtt-listen``), which batches what it
  hears into ingestion (imported on its own: it needs paho-mqtt);
- :mod:`~services.iot.rejections`: messages the listener could not use, and why.
"""

from services.iot.devices import (
    DeviceInfo,
    DeviceNotFound,
    StreamDevice,
    confirm_device,
    create_device,
    data_clock,
    delete_device,
    device_for_stream,
    device_status,
    list_devices,
    mark_seen,
    on_series_touched,
    read_series,
    refresh_rollups,
    update_device,
)

__all__ = [
    "DeviceInfo",
    "DeviceNotFound",
    "StreamDevice",
    "confirm_device",
    "create_device",
    "data_clock",
    "delete_device",
    "device_for_stream",
    "device_status",
    "list_devices",
    "mark_seen",
    "on_series_touched",
    "read_series",
    "refresh_rollups",
    "update_device",
]
