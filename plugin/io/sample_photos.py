"""Public-domain photos with faces that ship inside installed packages (used by the demo)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def write_sample_photos(folder: str | Path) -> list[Path]:
    """Write skimage's astronaut (PNG) and matplotlib's Grace Hopper (JPEG) into ``folder``.

    Existing files are kept, so a second demo run reuses them and the dataset stays stable.
    """
    import matplotlib.cbook
    import skimage.data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    astronaut = folder / "astronaut.png"
    if not astronaut.exists():
        Image.fromarray(skimage.data.astronaut()).save(astronaut)
    hopper = folder / "grace_hopper.jpg"
    if not hopper.exists():
        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as src:
            hopper.write_bytes(src.read())
    return [astronaut, hopper]
