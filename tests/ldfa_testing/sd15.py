"""The full-size Stable Diffusion 1.5 inpainting architecture with random weights (the compute
of the real model, nothing downloaded) and real faces to time it on.

Shared by ``bench/anonymize.py`` (CPU) and ``bench/gpu.py`` (CUDA).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "crowds" / "multiface.jpg"


def build_full_size(folder: Path) -> Path:
    """SD-1.5 inpainting's architecture with random weights, saved as a diffusers folder."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from ldfa_testing.tiny_pipeline import assemble  # the tiny test model's assembly

    torch.manual_seed(0)
    unet = UNet2DConditionModel(  # the remaining defaults are SD 1.x's
        in_channels=9, out_channels=4, sample_size=64, cross_attention_dim=768, attention_head_dim=8,
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    )
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2,
        sample_size=512,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(  # ViT-L/14's text tower
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, projection_dim=768, hidden_act="quick_gelu",
    ))
    pipe = assemble(unet, vae, text_encoder)
    pipe.save_pretrained(folder)
    return folder


def load_faces(count: int) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The ``count`` largest faces CenterFace finds on the group photo (or the sample photos)."""
    from PIL import Image

    from ldfa.plugin.models.detector.config import DetectorConfig
    from ldfa.plugin.models.detector.passes import detect

    if PHOTO.is_file():
        image = np.asarray(Image.open(PHOTO).convert("RGB"))
    else:  # a fresh clone without ../shared: the two packaged photos side by side
        from ldfa.plugin.io.sample_photos import write_sample_photos

        photos = [Image.open(p).convert("RGB").resize((512, 512))
                  for p in write_sample_photos(tempfile.mkdtemp())]
        image = np.concatenate([np.asarray(p) for p in photos], axis=1)
    [faces] = detect([image], DetectorConfig())
    faces = sorted(faces, key=lambda f: -f.size)
    regions = [tuple(int(round(v)) for v in face.box) for face in faces]
    return image, [regions[i % len(regions)] for i in range(count)]


def face_jobs(image: np.ndarray, regions) -> list:
    """Each face as the paper preset paints it: its box and blend ring, its own seed."""
    from ldfa.plugin.anonymization.config import PAPER
    from ldfa.plugin.anonymization.diffusion import FaceJob
    from ldfa.plugin.geometry.masks import face_shape, paste_region

    height, width = image.shape[:2]
    pastes = [paste_region(region, PAPER["mask_blur_px"], width, height) for region in regions]
    return [FaceJob(image, paste, face_shape(region, paste), seed=1000 + i)
            for i, (region, paste) in enumerate(zip(regions, pastes))]
