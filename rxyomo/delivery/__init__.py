"""Delivery accounting, as pure objects beside the protocol core.

Nothing here does I/O or reads a clock: the client and zipper adapters feed these
objects what happened (a frame written, bytes confirmed, a receipt, a connection ended)
and act on what they answer. ``docs/architecture.md`` ("No silent loss") describes the
whole accounting.

- :mod:`.ledger`: the frames one connection wrote and its peer has not confirmed;
- :mod:`.link`: a client connection's half (transport confirmations or receipts), whose
  events each settle an :mod:`.outcome`;
- :mod:`.settlement`: the zipper's half (when a received frame is settled, receipts);
- :mod:`.destination`: the frames a zipper sent to one connection, and their tickets;
- :mod:`.relay`: what a mesh peer's verdicts mean for the tickets of forwarded frames;
- :mod:`.backpressure`: which senders a zipper holds paused for which slow destinations;
- :mod:`.stats`: what became of every frame a client wrote, across its connections.
"""
