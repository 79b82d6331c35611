"""WebAssembly test guests built from source with their real SDKs, cached by source hash.

The sources are in ``tests/guests/`` (each with a README naming its SDK and version):
Rust guests on crates from crates.io (``Cargo.lock`` committed), built with a rustc that
has the wasm32 WASI standard library (Debian's ``rustc`` with ``libstd-rust-dev-wasm32``),
and a Go guest built with the standard toolchain for ``GOOS=wasip1``. A build lands in
``<cache>/wasm-guests/<hash16>/<name>.wasm`` (the cache of :mod:`devtools.harness`), keyed
by the guest's sources, the example guest's modules it shares, its features and the
toolchain's version, and is made under a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from devtools.harness import cache_dir

__all__ = ["GUESTS", "Guest", "GuestUnavailable", "guest_wasm", "rust_toolchain"]

REPO = Path(__file__).resolve().parents[1]
GUEST_SOURCES = REPO / "tests" / "guests"
#: What the Rust classifiers share with each other and with the example guest.
SHARED_SOURCES = (
    GUEST_SOURCES / "shared" / "classify.rs",
    REPO / "examples" / "image_recognition" / "guest" / "src" / "host.rs",
    REPO / "examples" / "image_recognition" / "guest" / "src" / "zip.rs",
)
#: Upper bound for one build (the first downloads its crates or modules).
BUILD_TIMEOUT = 900.0
_OUTPUT_LINES = 40


class GuestUnavailable(Exception):
    """A guest cannot be built here (no toolchain, or the build failed)."""


@dataclass(frozen=True)
class Guest:
    """One build of a guest: its source folder, language and cargo features."""

    folder: str
    language: str
    features: tuple[str, ...] = ()


GUESTS = {
    "yomo_rust": Guest("yomo_rust", "rust"),
    "yomo_go": Guest("yomo_go", "go"),
    "bindgen_v04": Guest("bindgen_classifier", "rust", ("v04",)),
    "bindgen_v01": Guest("bindgen_classifier", "rust", ("v01",)),
    "wasinn_current": Guest("wasinn_classifier", "rust", ("current",)),
    "wasinn_legacy": Guest("wasinn_classifier", "rust", ("legacy",)),
}


def _run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GuestUnavailable(f"{command[0]} did not run: {exc}") from None
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-_OUTPUT_LINES:])
        raise GuestUnavailable(f"{' '.join(command[:3])} failed ({result.returncode}):\n{output}")
    return result.stdout


@dataclass(frozen=True)
class RustToolchain:
    """A rustc with a wasm32 WASI standard library, and the cargo beside it."""

    rustc: str
    cargo: str
    target: str
    version: str


def rust_toolchain() -> RustToolchain:
    """The first rustc (``$RXYOMO_WASM_RUSTC``, Debian's, the one on PATH) whose sysroot
    has the wasm32 WASI standard library; :class:`GuestUnavailable` if none has."""
    candidates = [os.environ.get("RXYOMO_WASM_RUSTC"), "/usr/bin/rustc", shutil.which("rustc")]
    for rustc in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        try:
            sysroot = Path(_run([rustc, "--print", "sysroot"]).strip())
            version = _run([rustc, "-V"]).strip()
        except GuestUnavailable:
            continue
        for target in ("wasm32-wasip1", "wasm32-wasi"):
            if (sysroot / "lib" / "rustlib" / target / "lib").is_dir():
                beside = Path(rustc).with_name("cargo")
                cargo = str(beside) if beside.is_file() else shutil.which("cargo")
                if cargo is not None:
                    return RustToolchain(rustc, cargo, target, version)
    raise GuestUnavailable(
        "no rustc with the wasm32 WASI standard library "
        "(apt-get install rustc cargo libstd-rust-dev-wasm32)"
    )


def _source_files(guest: Guest) -> list[Path]:
    folder = GUEST_SOURCES / guest.folder
    files = [
        p for p in folder.rglob("*") if p.is_file() and "target" not in p.relative_to(folder).parts
    ]
    if guest.language == "rust":
        files += SHARED_SOURCES
    return sorted(files)


def source_hash(guest: Guest, toolchain: str) -> str:
    """SHA-256 over the guest's sources (name and content), features and toolchain."""
    digest = hashlib.sha256(f"{guest.language}\0{','.join(guest.features)}\0{toolchain}".encode())
    for path in _source_files(guest):
        content = path.read_bytes()
        digest.update(str(path.relative_to(REPO)).encode() + b"\0")
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def _build_rust(guest: Guest, toolchain: RustToolchain, out: Path) -> None:
    env = dict(os.environ)
    env.update(
        RUSTC=toolchain.rustc,
        CARGO_HOME=str(cache_dir() / "cargo-home"),
        CARGO_TARGET_DIR=str(out.parent.parent / f"target-{toolchain.target}"),
        # Debian's cargo (1.65) reaches crates.io's sparse index only as an unstable
        # feature; newer cargo ignores both variables.
        CARGO_UNSTABLE_SPARSE_REGISTRY="true",
        __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS="nightly",
    )
    manifest = GUEST_SOURCES / guest.folder / "Cargo.toml"
    command = [toolchain.cargo, "build", "--locked", "--release", "--target", toolchain.target]
    command += ["--manifest-path", str(manifest), "--no-default-features"]
    command += ["--features", ",".join(guest.features)] if guest.features else []
    _run(command, env=env)
    built = Path(env["CARGO_TARGET_DIR"]) / toolchain.target / "release" / f"{guest.folder}.wasm"
    shutil.copyfile(built, out)


def _build_go(guest: Guest, out: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise GuestUnavailable("Go is not installed (go not on PATH)")
    env = dict(os.environ, GOOS="wasip1", GOARCH="wasm", GOFLAGS="-mod=mod")
    folder = GUEST_SOURCES / guest.folder
    _run(
        [go, "build", "-buildmode=c-shared", "-trimpath", "-o", str(out), "."], cwd=folder, env=env
    )


def _toolchain_version(guest: Guest) -> str:
    if guest.language == "rust":
        return rust_toolchain().version
    go = shutil.which("go")
    if go is None:
        raise GuestUnavailable("Go is not installed (go not on PATH)")
    return _run([go, "version"]).strip()


_lock = threading.Lock()


def guest_wasm(name: str) -> Path:
    """The built guest ``name`` (a key of :data:`GUESTS`), built on first use."""
    guest = GUESTS[name]
    with _lock:
        version = _toolchain_version(guest)
        target = cache_dir() / "wasm-guests" / source_hash(guest, version)[:16] / f"{name}.wasm"
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            if guest.language == "rust":
                _build_rust(guest, rust_toolchain(), temporary)
            else:
                _build_go(guest, temporary)
            os.replace(temporary, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        return target
