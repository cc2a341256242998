"""JAX settings of the rnnlab command line and of sweep workers.

``configure_jax()`` turns on float64 and JAX's persistent compilation cache, so a second
run of the same work loads its compiled XLA programs from disk instead of compiling them
again (on a CPU, compiling is about half of ``rnnlab reproduce temporal-tasks --quick``).
The cache holds compiled programs keyed by their HLO, the JAX/XLA versions and flags, so a
cached program computes exactly what a fresh compile would.

Where: ``$RNNLAB_COMPILE_CACHE`` if set (``off`` or ``0``: no cache), else
``$XDG_CACHE_HOME/rnnlab/xla`` (``~/.cache/rnnlab/xla``). Library users who want the same
call :func:`configure_jax` themselves; importing rnnlab changes no JAX setting.
"""

import os
from pathlib import Path

CACHE_ENV = "RNNLAB_COMPILE_CACHE"
MIN_COMPILE_SECONDS = 0.2
"""Programs that compile faster than this are not written to the cache."""


def compile_cache_dir() -> Path | None:
    """The persistent compilation cache folder, or ``None`` when disabled."""
    setting = os.environ.get(CACHE_ENV, "").strip()
    if setting.lower() in {"0", "off", "false", "no"}:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnlab" / "xla"


def configure_jax() -> None:
    """float64 on, and the persistent compilation cache at :func:`compile_cache_dir`."""
    import jax

    jax.config.update("jax_enable_x64", True)
    folder = compile_cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: run without the cache
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
