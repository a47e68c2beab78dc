"""Trace adapters: each reads one public trace format into ``TraceJob`` rows.

A format is a plugin: a function ``read(path) -> Trace`` registered in ``TRACE_FORMATS``
under the name used on the command line (``--trace FORMAT:PATH``).
"""

from suanli.sim.traces.base import TRACE_FORMATS, Trace, TraceJob, parse_trace_arg, read_trace

__all__ = ["TRACE_FORMATS", "Trace", "TraceJob", "parse_trace_arg", "read_trace"]
