"""YoMo's ``RxStream`` on reactivex: the operator API of stream functions.

The runtime wires a stream function like this::

    feeder, subscription = run_handler(handler, write=send_data_frame, loop=loop)
    feeder.feed(data_frame.payload)       # once per incoming Data frame
    feeder.complete()                     # when the connection ends

which is, spelled out::

    source, feeder = RxStream.from_source(loop=loop)
    output = handler(source)              # the user's Handler(rxstream) -> rxstream
    output.for_each(on_next=emit, on_error=failed, on_completed=done)

where ``emit`` sends each :class:`Encoded` as a Data frame (tag, payload) and hands any
other value to the sink.
"""

from . import operators
from ._encoded import Encoded
from ._handler import Handler, run_handler
from ._reporting import ErrorReporter, ItemError, ItemErrorHandler
from ._source import StreamClosedError, StreamFeeder
from ._stream import RxStream

__all__ = [
    "Encoded",
    "ErrorReporter",
    "Handler",
    "ItemError",
    "ItemErrorHandler",
    "RxStream",
    "StreamClosedError",
    "StreamFeeder",
    "operators",
    "run_handler",
]
