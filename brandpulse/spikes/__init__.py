"""Streaming spike detection on per-bucket mention counts, one detector per series.

Pure Python with no I/O: the stream worker feeds each closed event-time bucket of a
(brand, platform, signal) series to that series' ``SpikeDetector`` and pages on the
``Transition`` it returns. ``bench/nab.py`` scores it the way NAB does.
"""

from brandpulse.spikes.detector import SpikeDetector, Transition
from brandpulse.spikes.settings import DetectorSettings

__all__ = ["DetectorSettings", "SpikeDetector", "Transition"]
