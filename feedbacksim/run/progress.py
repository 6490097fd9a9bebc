"""Progress of a long run: a bar on a terminal, plain periodic lines otherwise, or nothing.

On a terminal, rich draws a bar with the count, the rate and the time left. When the
output is a file or a pipe (CI logs), a plain line is printed at most every ``interval``
seconds and once at the end, so logs stay short. ``quiet`` prints nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """Counts completed replications; subclasses decide how to show them."""

    def start(self, total: int, done: int = 0, label: str = "replications") -> None:
        """Begin: ``total`` replications, ``done`` of them already complete (resumed)."""
        self.total, self.done, self.label = total, done, label
        self._resumed = done
        self._started = time.perf_counter()

    def advance(self, count: int = 1) -> None:
        """``count`` more replications are complete."""
        self.done += count

    def finish(self) -> None:
        """The run is over (complete or interrupted)."""

    def rate(self) -> float:
        """Replications completed per second in this session (resumed ones excluded)."""
        elapsed = time.perf_counter() - self._started
        return (self.done - self._resumed) / elapsed if elapsed > 0 else 0.0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


class PlainProgress(Progress):
    """``120/2000 replications (6%), 14.2/s, ETA 2m12s`` every ``interval`` seconds."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval

    def start(self, total: int, done: int = 0, label: str = "replications") -> None:
        super().start(total, done, label)
        self._last = self._started
        if done:
            self._line(f"resuming: {done}/{total} {label} already complete")

    def advance(self, count: int = 1) -> None:
        super().advance(count)
        now = time.perf_counter()
        if now - self._last >= self.interval and self.done < self.total:
            self._last = now
            self._line(self.status())

    def finish(self) -> None:
        if hasattr(self, "total"):
            self._line(self.status())

    def status(self) -> str:
        """The count, the fraction, the rate and the time left."""
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f", ETA {format_seconds(left)}" if self.done < self.total and rate > 0 else ""
        elapsed = format_seconds(time.perf_counter() - self._started)
        share = self.done / self.total if self.total else 1.0
        return (
            f"{self.done}/{self.total} {self.label} ({share:.0%}), {rate:.1f}/s, "
            f"{elapsed} elapsed{eta}"
        )

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class BarProgress(Progress):
    """A rich progress bar: count, rate, elapsed and remaining time."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bar: Any = None

    def start(self, total: int, done: int = 0, label: str = "replications") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        super().start(total, done, label)
        self._bar = RichProgress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, completed=done, rate="")

    def advance(self, count: int = 1) -> None:
        super().advance(count)
        self._bar.update(self._task, advance=count, rate=f"{self.rate():.1f}/s")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def format_seconds(seconds: float) -> str:
    """``75`` -> ``1m15s``; ``3700`` -> ``1h01m``."""
    if seconds != seconds:  # NaN: unknown
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def make_progress(quiet: bool = False, stream: TextIO | None = None) -> Progress:
    """A bar when ``stream`` (default stderr) is a terminal, plain lines otherwise, none if quiet."""
    if quiet:
        return Progress()
    stream = stream or sys.stderr
    if stream.isatty():
        return BarProgress(stream)
    return PlainProgress(stream)
