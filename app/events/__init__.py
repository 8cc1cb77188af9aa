"""The event bus adapter: typed events as JSON over broadcaster channels (memory:// or Redis), bounded
per-subscriber queues with resyncs, and reconnection. The only place that imports ``broadcaster``."""

from app.events.bus import Backoff, BroadcastEventBus, BusSubscription
from app.events.codec import EventDecodeError, decode, encode
from app.events.opening import open_event_bus

__all__ = [
    "Backoff",
    "BroadcastEventBus",
    "BusSubscription",
    "EventDecodeError",
    "decode",
    "encode",
    "open_event_bus",
]
