"""``ldfa plugin install|uninstall|path``: make the installed package visible to FiftyOne's App."""

from __future__ import annotations

import os
from pathlib import Path

from ldfa.cli.output import emit

LINK_NAME = "ldfa"


def add_parser(sub):
    p = sub.add_parser("plugin", help="install the FiftyOne plugin (App operators and panels)",
                       description="FiftyOne finds plugins by walking its plugins folder for "
                       "fiftyone.yml; `install` links this package's folder there.")
    p.add_argument("action", choices=["install", "uninstall", "path"],
                   help="install: link the package into the plugins folder; uninstall: remove the "
                   "link; path: print the package folder")
    p.add_argument("--plugins-dir", help="default: FiftyOne's configured plugins_dir")
    p.set_defaults(run=run)


def install(plugins_dir: Path) -> bool:
    """Link this package into ``plugins_dir`` unless it is there; True if a link was made."""
    import ldfa
    from ldfa.plugin.errors import ConfigError

    package = Path(ldfa.__file__).resolve().parent
    link = plugins_dir / LINK_NAME
    if link.is_symlink() or link.exists():
        if link.resolve() != package:
            raise ConfigError(f"{link} exists and is not this package; remove it first")
        return False
    plugins_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(package, link, target_is_directory=True)
    return True


def run(args) -> int:
    import fiftyone as fo

    import ldfa

    package = Path(ldfa.__file__).resolve().parent
    plugins_dir = Path(args.plugins_dir or fo.config.plugins_dir).expanduser()
    link = plugins_dir / LINK_NAME
    if args.action == "path":
        text = str(package)
    elif args.action == "install":
        install(plugins_dir)
        text = f"@ldfa/anonymization installed: {link} -> {package}"
        if not os.environ.get("FIFTYONE_PLUGINS_DIR") and not args.plugins_dir:
            text += f"\n(FiftyOne's plugins folder is {plugins_dir})"
    elif link.is_symlink():
        link.unlink()
        text = f"removed {link}"
    else:
        text = f"nothing to remove at {link}"
    emit(None, False, text)
    return 0
