"""LDFA: latent-diffusion inpainting of each face (``ldfa.plugin.anonymization.diffusion``).

Its parameters are the config's nested ``diffusion`` part (``DiffusionConfig``); torch and
diffusers load only when a worker builds the inpainter.
"""

from __future__ import annotations

from ldfa.plugin.anonymization.methods.base import Method


def load(config):
    """The inpainter of ``config.diffusion``: loads its pipeline once, on first use."""
    from ldfa.plugin.anonymization.diffusion import Inpainter

    return Inpainter(config.diffusion)


METHOD = Method("ldfa", "latent diffusion", load=load)
