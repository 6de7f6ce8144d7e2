"""Let widget messages reach Python between epochs while a foreground search keeps the kernel busy.

A running cell blocks the kernel's main thread, and with it every message from the
browser: a click on Stop would arrive only after the search. Between epochs
``CommPump`` reads what waits on the main shell channel: widget (comm) messages are
handled at once, everything else (the next cells' execute requests, kernel_info,
completions) goes back to the kernel's own queue in arrival order, to run after the
cell exactly as it would have. It relies on ipykernel internals, so ``attach``
returns None on a kernel that does not have them, and the dashboard then offers
the kernel's interrupt instead.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

#: Message types handled during the cell; every other type waits for the cell to end.
HANDLED_NOW = frozenset({"comm_msg"})


class CommPump:
    """Handles waiting widget messages of the main shell channel; call it between epochs."""

    def __init__(
        self,
        kernel: Any,
        stream: Any,
        handler: Callable[[Any, list[Any], dict[str, Any]], Any],
        requeue: Callable[[list[Any]], Any],
        min_interval: float = 0.1,
    ) -> None:
        self.kernel = kernel
        self.stream = stream
        self.handler = handler
        self.requeue = requeue
        self.min_interval = min_interval
        self._last = -min_interval

    @classmethod
    def attach(cls, kernel: Any) -> CommPump | None:
        """A pump for ``kernel``, or None where its message plumbing is not the one this was tested on."""
        try:
            stream = main_shell_stream(kernel)
            requeue = stream._recv_callback
            handler = kernel.shell_handlers["comm_msg"]
            socket = stream.socket
        except (AttributeError, KeyError, TypeError):
            return None
        if requeue is None or kernel.session is None or socket is None:
            return None
        return cls(kernel, stream, handler, requeue)

    def __call__(self) -> int:
        """Handle the widget messages waiting now; returns how many ran."""
        now = time.monotonic()
        if now - self._last < self.min_interval or threading.current_thread() is not threading.main_thread():
            return 0
        self._last = now
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return 0
        import zmq

        socket = self.stream.socket
        handled = 0
        while socket.poll(0, zmq.POLLIN):
            frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            if self._msg_type(frames) in HANDLED_NOW:
                self._handle(frames)
                handled += 1
            else:
                self._give_back(frames)
        return handled

    def _msg_type(self, frames: list[Any]) -> str | None:
        """Peek at the header without recording the signature, so the kernel can still read it later."""
        session = self.kernel.session
        try:
            _, parts = session.feed_identities(frames, copy=False)
            return session.deserialize(parts, content=False, copy=False)["header"].get("msg_type")
        except Exception:
            return None

    def _handle(self, frames: list[Any]) -> None:
        session = self.kernel.session
        try:
            idents, parts = session.feed_identities(frames, copy=False)
            self.handler(self.stream, idents, session.deserialize(parts, content=True, copy=False))
        except Exception:
            self.kernel.log.exception("nnhp-magics: a widget message failed during the search")

    def _give_back(self, frames: list[Any]) -> None:
        result = self.requeue(frames)
        if inspect.isawaitable(result):
            asyncio.ensure_future(result)


def main_shell_stream(kernel: Any) -> Any:
    """The stream on which the kernel's main thread receives shell messages (ipykernel 7 and 6)."""
    thread = getattr(kernel, "shell_channel_thread", None)
    if thread is not None:
        return thread.manager.get_shell_channel_to_subshell_pair(None).to_stream
    return kernel.shell_stream
